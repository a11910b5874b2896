#!/usr/bin/env bash
# The AVX2 kernels on a CPU with AVX-512: there the native build (EQ_NATIVE) picks the AVX-512
# VNNI kernels and the byte dots' vpdpbusd, so the AVX2 ones that every other x86 CPU runs
# would go untested. This builds the kernel tests again with AVX-512 off (-mno-avx512f) and
# runs them: test_quant (every kernel against the scalar refs), test_matmul (the 4-token
# kernels bit for bit) and test_repack (the packed Q4_K kernels, bit for bit). On a CPU
# without AVX-512 the native build already is this one: skip.
#   bash tests/cross/x86-avx2.sh          Environment: BUILD_DIR (default build/x86-avx2), JOBS
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build/x86-avx2}
if [ "$(uname -m)" != x86_64 ] || ! grep -qw avx2 /proc/cpuinfo; then
    echo "SKIP: not an x86-64 CPU with AVX2"; exit 0
fi
if ! grep -qw avx512f /proc/cpuinfo; then
    echo "SKIP: no AVX-512 here, so the native build's unit tests already run the AVX2 kernels"; exit 0
fi
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DEQ_NATIVE=ON -DCMAKE_C_FLAGS=-mno-avx512f >/dev/null
cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target test_quant test_matmul test_repack >/dev/null
for t in test_quant test_matmul test_repack; do
    out=$("$BUILD_DIR/$t") || { echo "$out" | tail -20; echo "FAIL: $t (AVX2 build)"; exit 1; }
    echo "$out" | grep -E "kernels in this build|passed" | sed "s/^/$t: /"
done
"$BUILD_DIR/test_matmul" | grep -q "(avx2)" || { echo "FAIL: the -mno-avx512f build did not pick the AVX2 kernels"; exit 1; }
"$BUILD_DIR/test_repack" | grep -q "packed Q4_K kernels in this build (avx2)" || { echo "FAIL: the -mno-avx512f build has no packed Q4_K kernels"; exit 1; }
echo "PASS: AVX2 kernels (AVX-512 off)"
