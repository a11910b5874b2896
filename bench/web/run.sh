#!/usr/bin/env bash
# The browser peer benchmark (not part of CI): edgeq's browser module vs wllama (npm
# @wllama/wllama, llama.cpp in wasm; pinned in bench/web/package-lock.json) in each engine
# (Chromium, Firefox ESR, WebKitGTK under xvfb-run: tests/browser/engines.mjs), same GGUF file,
# same threads, cross-origin isolated page; plus native edgeq bench.
#   bash bench/web/run.sh [-b chromium,firefox,webkit] [-r REPS] [-t 1,2] [-p 128] [-n 64] [-c 2048] [--no-native] [MODEL.gguf ...]
# The default model (SmolLM2-135M-Instruct Q4_1, scripts/get-model.sh) is always run; models
# given are added, e.g. the Q4_K_M 1.1B that bench/compare.sh makes:
#   bash bench/web/run.sh -r 3 ~/.cache/edgeq/models/bench/synth-1b-q4_k_m.gguf
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

opts=(); models=()
for a in "$@"; do case $a in *.gguf) models+=("$a") ;; *) opts+=("$a") ;; esac; done
xvfb=(); [ -n "${DISPLAY:-}" ] || xvfb=(xvfb-run -a -s "-screen 0 1280x1024x24")
exec "${xvfb[@]}" node bench/web/bench.mjs "${opts[@]}" "$(bash scripts/get-model.sh)" "${models[@]}"
