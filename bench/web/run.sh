#!/usr/bin/env bash
# The browser peer benchmark (not part of CI): edgeq's browser module vs wllama (npm
# @wllama/wllama, llama.cpp in wasm; pinned in bench/web/package-lock.json) in each engine
# (Chromium, Firefox ESR, WebKitGTK under xvfb-run: tests/browser/engines.mjs), same GGUF file,
# same threads, cross-origin isolated page; plus native edgeq bench.
#   bash bench/web/run.sh [-b chromium,firefox,webkit] [-r REPS] [-t 1,2] [-p 128] [-n 64] [-c 2048] [--no-native]
#                         [--no-cache]  (edgeq: no Cache API copy written on the side while loading)
#                         [--load-only] (the cold load and first token alone)
#                         [--model NAME[,NAME...]]... [MODEL.gguf ...]
# NAME: smollm2, gemma3, 1b, phi35, tiny (bench/models.sh, fetched or made once into $EQ_CACHE).
# Without --model the default model (smollm2: SmolLM2-135M-Instruct Q4_1) is run, and the files
# given are added; with --model only the named models and the files given, e.g.
#   bash bench/web/run.sh -b chromium -r 3 --model gemma3,1b
# A model an engine cannot load is reported as such in the tables (e.g. "wllama: failed: ...").
# Run it on a quiet machine: other processes skew browser timings even more than native ones.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash scripts/web-demo.sh --setup-only   # emscripten, node, the web build, the default model
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/apt.sh"   # apt_install
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export FIREFOX=${FIREFOX:-/usr/bin/firefox-esr}
export MINIBROWSER=${MINIBROWSER:-/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser}
missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
[ -x "$FIREFOX" ] || missing+=(firefox-esr)
{ command -v WebKitWebDriver >/dev/null && [ -x "$MINIBROWSER" ]; } || missing+=(webkit2gtk-driver)
[ -n "${DISPLAY:-}" ] || command -v xvfb-run >/dev/null || missing+=(xvfb xauth)
if [ ${#missing[@]} -gt 0 ]; then echo "installing: ${missing[*]}" >&2; apt_install "${missing[@]}"; fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { echo "playwright-core needs Node >= 20 (found $(node --version))" >&2; exit 1; }

# the native CLI for the wasm/native column
if [ ! -x build/native/edgeq ]; then
    echo "building the native CLI..." >&2
    cmake --preset native >/dev/null
    cmake --build --preset native -j"$(nproc)" --target edgeq-cli >/dev/null
fi
(cd bench/web && npm ci --no-audit --no-fund --silent)
(cd tests/browser && npm ci --no-audit --no-fund --silent)   # the drivers (engines.mjs)

opts=(); models=(); names=()
while [ $# -gt 0 ]; do
  case $1 in
    --model) IFS=, read -ra n <<<"$2"; names+=("${n[@]}"); shift 2 ;;
    *.gguf) models+=("$1"); shift ;;
    *) opts+=("$1"); shift ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=(smollm2)
named=(); for n in "${names[@]}"; do named+=("$(bash bench/models.sh "$n" | tail -1)"); done
models=("${named[@]}" "${models[@]}")
xvfb=(); [ -n "${DISPLAY:-}" ] || xvfb=(xvfb-run -a -s "-screen 0 1280x1024x24")
exec "${xvfb[@]}" node bench/web/bench.mjs "${opts[@]}" "${models[@]}"
