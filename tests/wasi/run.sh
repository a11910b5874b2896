#!/usr/bin/env bash
# The WASI module (build/wasi/edgeq.wasm) under real wasmtime (PyPI's `wasmtime`, which embeds
# the engine, in a venv under the cache dir) and Node's node:wasi, against the native CLI:
# tokenize/info/run/bench/chat parity, the edge-function mode (`serve`: OpenAI JSON and SSE,
# CGI headers, errors) and linear-memory caps; then the Wizer snapshot (scripts/edge-snapshot.sh,
# npm @bytecodealliance/wizer into $EQ_CACHE/npm-wizer) and the WAGI-style HTTP front
# (tools/wagi_front.py) on loopback. See tests/wasi/test_wasi.py for what is checked.
#
# Builds what it needs (-j2): the `wasi` and `native` presets, plus scalar twins of both
# (build/wasi-scalar: no -msimd128; build/native-scalar: EQ_NATIVE=OFF, compiled against musl,
# whose cosf/sinf are wasi-libc's: glibc's differ in the last bit for ~2% of rope angles)
# whose outputs must be bit-identical. Installs missing tools idempotently: clang-19 lld-19
# wasi-libc libclang-rt-19-dev-wasm32 musl-tools (apt, as root or through sudo), nodejs, the
# wasmtime wheel.
# Prints "N passed, N failed"; exits non-zero on any failure.
# Environment: WASI_SDK_PATH (a wasi-sdk instead of Debian's packages), NODE, JOBS (2),
# EQ_RANDOM_MODELS (':'-separated extra GGUFs; default: one Q4_K random model from
# .cache/models/random when the conformance tests left one), EQ_WASI_NO_BUILD=1 with
# EQ_WASM/EQ_WASM_SCALAR/EQ_NATIVE/EQ_NATIVE_SCALAR to test existing binaries.
set -euo pipefail
cd "$(dirname "$0")/../.."
JOBS=${JOBS:-2}
NODE=${NODE:-node}
CACHE=${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/apt.sh"   # apt_install

missing=()
if [ -z "${WASI_SDK_PATH:-}" ]; then
    command -v clang-19 >/dev/null || missing+=(clang-19)
    command -v wasm-ld-19 >/dev/null || command -v wasm-ld >/dev/null || missing+=(lld-19)
    [ -f /usr/lib/wasm32-wasi/libc.a ] || missing+=(wasi-libc)
    ls /usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1 \
        || missing+=(libclang-rt-19-dev-wasm32)
fi
command -v cmake >/dev/null || missing+=(cmake)
command -v musl-gcc >/dev/null || missing+=(musl-tools)
command -v "$NODE" >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)   # Wizer, for the snapshot
python3 -c "import venv" 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    echo "wasi: installing ${missing[*]}"
    apt_install "${missing[@]}"
fi
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
    echo "wasi: node $node_major is too old (node:wasi's preview1 API needs Node 20+)"; exit 1
fi

# wasmtime: the engine as a Python wheel, in a venv of its own
VENV=$CACHE/wasi-venv
if ! "$VENV/bin/python" -c "import wasmtime" 2>/dev/null; then
    echo "wasi: installing the wasmtime wheel into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check wasmtime
fi

if [ "${EQ_WASI_NO_BUILD:-0}" != 1 ]; then
    log=build/wasi-tests/build.log
    mkdir -p build/wasi-tests
    : > "$log"
    build() {  # name, then the commands' arguments
        local name=$1; shift
        if ! "$@" >>"$log" 2>&1; then
            echo "wasi: build failed ($name); the end of $log:"; tail -30 "$log"; exit 1
        fi
    }
    echo "wasi: building (wasi, wasi-scalar, native, native-scalar; log in $log)"
    [ -f build/wasi/CMakeCache.txt ] || build "configure wasi" cmake --preset wasi
    build "wasi" cmake --build --preset wasi -j "$JOBS" --target edgeq-cli
    [ -f build/wasi-scalar/CMakeCache.txt ] || build "configure wasi-scalar" \
        cmake -S . -B build/wasi-scalar -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/wasi.cmake" -DCMAKE_BUILD_TYPE=Release \
            -DEQ_NATIVE=OFF -DEQ_THREADS=OFF -DEQ_TESTS=OFF -DEQ_SIMD_FLAGS=
    build "wasi-scalar" cmake --build build/wasi-scalar -j "$JOBS" --target edgeq-cli
    [ -f build/native/CMakeCache.txt ] || build "configure native" cmake --preset native
    build "native" cmake --build --preset native -j "$JOBS" --target edgeq-cli
    [ -f build/native-scalar/CMakeCache.txt ] || build "configure native-scalar" \
        cmake -S . -B build/native-scalar -DCMAKE_C_COMPILER=musl-gcc -DCMAKE_BUILD_TYPE=Release \
            -DEQ_NATIVE=OFF -DEQ_TESTS=OFF -DEQ_SIMD_FLAGS=
    build "native-scalar" cmake --build build/native-scalar -j "$JOBS" --target edgeq-cli
fi

model=$(bash scripts/get-model.sh)
if [ -z "${EQ_RANDOM_MODELS+x}" ]; then
    EQ_RANDOM_MODELS=$(ls "$CACHE"/models/random/*-Q4_K-*.gguf 2>/dev/null | head -1 || true)
fi

EQ_MODEL=$model EQ_WASMTIME_PY=$VENV/bin/python EQ_NODE=$NODE EQ_RANDOM_MODELS=$EQ_RANDOM_MODELS \
    "$VENV/bin/python" tests/wasi/test_wasi.py
