#!/usr/bin/env bash
# Builds the quant tests for WebAssembly (wasm32-wasi) and runs them under Node's node:wasi
# (tests/cross/run-wasi.mjs):
#   tests/unit/test_quant.c  (every kernel against the scalar refs; when present)
#   tests/cross/simd_check.c (the SIMD corner cases: rounding ties, random weight bytes,
#                             4-token kernels bit for bit, the attention's F16 helpers)
#   tests/unit/test_matmul.c (matmul, with the 4-token kernels, equals vec_dot; when present)
#   tests/unit/test_repack.c (rows repacked eight at a time: kernels and matmul)
# once with -msimd128 (the browser build's kernels), once without (scalar path) and once with
# -mrelaxed-simd (the relaxed-SIMD build's kernels; where Node has relaxed SIMD).
# Only the quant sources are compiled (plus matmul, vec and the thread pool for
# test_matmul), so unrelated work in progress elsewhere in src/ cannot break it.
#   bash tests/cross/wasm.sh --bench [filter] [seconds]
# runs tests/cross/kernel_bench.c (SIMD128 kernel throughput) instead of the tests.
# Toolchain: $WASI_SDK_PATH when set (its clang and wasi-sysroot), otherwise Debian's
# clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32, installed with apt-get when missing
# (as root, or through sudo), as is nodejs when there is no node.
# Exits non-zero if any build or test fails.
# Environment: WASI_SDK_PATH, WASI_CC (default clang-19), NODE (default node), EXTRA_CFLAGS,
# BUILD_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD_DIR=${BUILD_DIR:-build/cross-wasm}
NODE=${NODE:-node}

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/apt.sh"   # apt_install

CC_FLAGS=(--target=wasm32-wasi)
missing=()
if [ -n "${WASI_SDK_PATH:-}" ]; then
    WASI_CC="$WASI_SDK_PATH/bin/clang"
    CC_FLAGS+=(--sysroot="$WASI_SDK_PATH/share/wasi-sysroot")
    [ -x "$WASI_CC" ] || { echo "no clang in WASI_SDK_PATH=$WASI_SDK_PATH" >&2; exit 1; }
else
    WASI_CC=${WASI_CC:-clang-19}
    # Debian's clang finds /usr/include/wasm32-wasi and /usr/lib/wasm32-wasi by itself.
    command -v "$WASI_CC" >/dev/null || missing+=(clang-19)
    command -v wasm-ld-19 >/dev/null || command -v wasm-ld >/dev/null || missing+=(lld-19)
    [ -f /usr/lib/wasm32-wasi/libc.a ] || missing+=(wasi-libc)
    ls /usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1 \
        || missing+=(libclang-rt-19-dev-wasm32)
fi
command -v "$NODE" >/dev/null || missing+=(nodejs)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt_install "${missing[@]}"
fi

# node:wasi needs no flag from Node 20 on; Node 18 (Debian 12's nodejs) wants one.
NODE_FLAGS=(--no-warnings)
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || NODE_FLAGS+=(--experimental-wasi-unstable-preview1)

SRCS=(src/quant/*.c src/arch/wasm/*.c)
OPS_SRCS=(src/ops/matmul.c src/ops/vec.c src/ops/activation.c src/runtime/threadpool.c) # for test_matmul
TESTS=(tests/cross/simd_check.c)
if [ -f tests/unit/test_quant.c ]; then
    TESTS=(tests/unit/test_quant.c "${TESTS[@]}")
else
    echo "note: tests/unit/test_quant.c not found; running simd_check only"
fi
[ -f tests/unit/test_matmul.c ] && TESTS+=(tests/unit/test_matmul.c)
TESTS+=(tests/unit/test_repack.c)
BENCH=0
if [ "${1:-}" = --bench ]; then BENCH=1; shift; fi
CFLAGS=(-std=c11 -O2 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Isrc -Iinclude -Itests/unit)
# shellcheck disable=SC2206
CFLAGS+=(${EXTRA_CFLAGS:-})
# wasm's default 64 KiB stack is too small for tests with big local arrays.
LDFLAGS=(-Wl,-z,stack-size=8388608 -lm)

mkdir -p "$BUILD_DIR"
if [ $BENCH -eq 1 ]; then
    exe="$BUILD_DIR/kernel_bench.wasm"
    "$WASI_CC" "${CC_FLAGS[@]}" "${CFLAGS[@]}" -O3 -msimd128 "${SRCS[@]}" src/ops/vec.c tests/cross/kernel_bench.c \
        "${LDFLAGS[@]}" -o "$exe"
    exec "$NODE" "${NODE_FLAGS[@]}" tests/cross/run-wasi.mjs "$exe" "$@"
fi
# The relaxed-SIMD kernels (the browser's edgeq-*-relaxed.wasm) run too where Node has relaxed
# SIMD: Node 20 (V8 11.3) only behind a flag, and its baseline compiler (Liftoff) gets some of
# their dot products wrong there (Chromium 156's does not), so they run optimized only. Linked
# at -O0: clang runs a wasm-opt found on PATH after an optimized link, and Debian 12's binaryen
# 108 mis-decodes the relaxed dot product (see wasm/web/relaxed-opcode.mjs).
RELAXED_NODE_FLAGS=(--experimental-wasm-relaxed-simd --no-liftoff)
variants=(simd128 scalar)
probe="import('./js/src/relaxed.js').then((m) => process.exit(m.hasRelaxedSimd() ? 0 : 1))"
if "$NODE" "${RELAXED_NODE_FLAGS[@]}" -e "$probe" 2>/dev/null; then
    variants+=(relaxed)
else
    echo "note: $NODE has no relaxed SIMD; the relaxed-SIMD kernels are not run"
fi
status=0
for simd in "${variants[@]}"; do
    flags=() link=() run=()
    [ "$simd" = scalar ] || flags=(-msimd128)
    [ "$simd" = relaxed ] && flags+=(-mrelaxed-simd) link=(-O0) run=("${RELAXED_NODE_FLAGS[@]}")
    objs=()
    ok=1
    for src in "${SRCS[@]}"; do
        obj="$BUILD_DIR/$simd-$(basename "${src%.c}").o"
        "$WASI_CC" "${CC_FLAGS[@]}" "${CFLAGS[@]}" "${flags[@]}" -c "$src" -o "$obj" || { ok=0; break; }
        objs+=("$obj")
    done
    if [ $ok -eq 0 ]; then echo "build failed: quant sources ($simd)"; status=1; continue; fi
    for t in "${TESTS[@]}"; do
        name=$(basename "${t%.c}")
        exe="$BUILD_DIR/$name-$simd.wasm"
        extra=()
        case $name in test_matmul|test_repack) extra=("${OPS_SRCS[@]}");; esac
        echo "== wasm32-wasi $simd: $name"
        if ! "$WASI_CC" "${CC_FLAGS[@]}" "${CFLAGS[@]}" "${flags[@]}" "${link[@]}" "$t" "${extra[@]}" "${objs[@]}" "${LDFLAGS[@]}" -o "$exe"; then
            echo "build failed: $name ($simd)"; status=1; continue
        fi
        if ! "$NODE" "${NODE_FLAGS[@]}" "${run[@]}" tests/cross/run-wasi.mjs "$exe"; then status=1; fi
    done
done
[ $status -eq 0 ] && echo "wasm: all passed" || echo "wasm: FAILED"
exit $status
