#!/usr/bin/env bash
# The plain AVX2 kernels on a CPU with AVX-512 or AVX-VNNI: there the native build (EQ_NATIVE)
# picks the AVX-512 kernels or the byte dots' vpdpbusd, so the AVX2 ones that every other
# x86 CPU runs (Zen 2 and 3, Intel before Alder Lake) would go untested. This builds the
# kernel tests again with both off (-mno-avx512f -mno-avxvnni) and runs them: test_quant
# (every kernel against the scalar refs), test_matmul (the 4-token kernels bit for bit) and
# test_repack (the packed kernels, bit for bit); then, on a CPU with AVX-512 and AVX-VNNI,
# again with AVX-VNNI on. On a CPU with AVX-512, whole models too: every kernel of both builds
# matches the same scalar procedure or the AVX2 kernel bit for bit, so the AVX2 CLI's logits
# must be the native one's, byte for byte, on each random model the conformance tests left in
# $EQ_CACHE/models/random (a prompt, then generation). On a CPU with neither the native build
# already is the first one: skip.
#   bash tests/cross/x86-avx2.sh          Environment: BUILD_DIR (default build/x86-avx2), JOBS,
#                                         EQ_CACHE, EQ_NATIVE_CLI (default build/native/edgeq)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build/x86-avx2}
if [ "$(uname -m)" != x86_64 ] || ! grep -qw avx2 /proc/cpuinfo; then
    echo "SKIP: not an x86-64 CPU with AVX2"; exit 0
fi
if ! grep -qw avx512f /proc/cpuinfo && ! grep -qw avx_vnni /proc/cpuinfo; then
    echo "SKIP: no AVX-512 or AVX-VNNI here, so the native build's unit tests already run the AVX2 kernels"; exit 0
fi
# build_and_run DIR CFLAGS LABEL TAG: the three kernel tests of a build with CFLAGS (their
# counts as "test_quant-TAG: N passed", letters only, which tests/run-all.sh adds up)
build_and_run() {
    cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Release -DEQ_NATIVE=ON "-DCMAKE_C_FLAGS=$2" >/dev/null
    cmake --build "$1" -j"${JOBS:-2}" --target test_quant test_matmul test_repack >/dev/null
    for t in test_quant test_matmul test_repack; do
        out=$("$1/$t") || { echo "$out" | tail -20; echo "FAIL: $t ($3 build)"; exit 1; }
        echo "$out" | grep -E "kernels in this build|passed" | sed "s/^/$t-$4: /"
    done
    "$1/test_matmul" | grep -q "(avx2)" || { echo "FAIL: the $3 build ($2) did not pick the AVX2 kernels"; exit 1; }
    for q in Q4_K Q5_K Q6_K Q4_0 Q8_0; do
        "$1/test_repack" | grep -q "packed $q kernels in this build (avx2)" || { echo "FAIL: the $3 build ($2) has no packed $q kernels"; exit 1; }
    done
}
build_and_run "$BUILD_DIR" "-mno-avx512f -mno-avxvnni" AVX2 plain
NATIVE_CLI=${EQ_NATIVE_CLI:-build/native/edgeq}
CACHE=${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}
models=$(ls "$CACHE"/models/random/*.gguf 2>/dev/null || true)
if grep -qw avx512f /proc/cpuinfo && [ -x "$NATIVE_CLI" ] && [ -n "$models" ]; then
    cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target edgeq-cli >/dev/null
    same=0 differ=0 tmp=$(mktemp -d)
    for m in $models; do
        for b in native:"$NATIVE_CLI" avx2:"$BUILD_DIR/edgeq"; do
            "${b#*:}" run -m "$m" -p "The quick brown fox jumps over the lazy dog, again and again" -n 3 --temp 0 -t 2 \
                --logits-out "$tmp/${b%%:*}.bin" >/dev/null 2>&1 || { echo "FAIL: ${b#*:} run -m $m"; exit 1; }
        done
        if [ -s "$tmp/native.bin" ] && cmp -s "$tmp/native.bin" "$tmp/avx2.bin"; then
            same=$((same + 1))
        else
            differ=$((differ + 1)); echo "logits differ: $(basename "$m")"
        fi
    done
    rm -rf "$tmp"
    echo "whole-models-plain: $same passed, $differ failed (AVX2 CLI's logits = the native build's, byte for byte)"
    [ $differ -eq 0 ] || { echo "FAIL: the AVX2 build's logits differ from the native build's"; exit 1; }
else
    echo "note: no whole-model check (needs AVX-512 here, $NATIVE_CLI and the conformance tests' random models)"
fi
# With AVX-VNNI (and AVX-512 off: Intel's client CPUs) the byte dots and the packed Q4_K
# 4-token kernel take vpdpbusd through its VEX form, which no other build compiles.
if grep -qw avx_vnni /proc/cpuinfo && grep -qw avx512f /proc/cpuinfo; then
    build_and_run "${BUILD_DIR}-vnni" "-mno-avx512f" AVX-VNNI vnni
fi
echo "PASS: AVX2 kernels (AVX-512 and AVX-VNNI off; and AVX-VNNI alone where the CPU has it)"
