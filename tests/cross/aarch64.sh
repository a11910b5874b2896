#!/usr/bin/env bash
# Builds the quant tests for AArch64 and runs them under qemu-user:
#   tests/unit/test_quant.c  (every kernel against the scalar refs; when present)
#   tests/cross/simd_check.c (the SIMD corner cases: rounding ties, random weight bytes)
# twice: -march=armv8.2-a+dotprod (SDOT kernels) and plain -march=armv8-a (widening-multiply
# fallback). Only the quant sources are compiled, so unrelated work in progress elsewhere
# in src/ cannot break it. Installs gcc-aarch64-linux-gnu and qemu-user with apt-get when
# missing (as root, or through sudo). Exits non-zero if any build or test fails.
# Environment: CC_AARCH64 (default aarch64-linux-gnu-gcc), EXTRA_CFLAGS, BUILD_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."

CC_AARCH64=${CC_AARCH64:-aarch64-linux-gnu-gcc}
SYSROOT=/usr/aarch64-linux-gnu
BUILD_DIR=${BUILD_DIR:-build/cross-aarch64}

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/apt.sh"   # apt_install

find_qemu() { command -v qemu-aarch64 || command -v qemu-aarch64-static || true; }

missing=()
command -v "$CC_AARCH64" >/dev/null || missing+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
[ -n "$(find_qemu)" ] || missing+=(qemu-user)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt_install "${missing[@]}"
fi
QEMU=$(find_qemu)
[ -n "$QEMU" ] || { echo "qemu-aarch64 not found after install" >&2; exit 1; }

SRCS=(src/quant/*.c src/arch/arm/*.c)
OPS_SRCS=(src/ops/matmul.c src/ops/vec.c src/ops/activation.c src/runtime/threadpool.c) # for test_matmul
TESTS=(tests/cross/simd_check.c)
if [ -f tests/unit/test_quant.c ]; then
    TESTS=(tests/unit/test_quant.c "${TESTS[@]}")
else
    echo "note: tests/unit/test_quant.c not found; running simd_check only"
fi
TESTS+=(tests/unit/test_matmul.c)
CFLAGS=(-std=c11 -O2 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Isrc -Iinclude -Itests/unit)
# shellcheck disable=SC2206
CFLAGS+=(${EXTRA_CFLAGS:-})

mkdir -p "$BUILD_DIR"
status=0
for march in armv8.2-a+dotprod armv8-a; do
    tag=${march//+/_}
    # The quant sources once per -march, shared by the tests.
    objs=()
    ok=1
    for src in "${SRCS[@]}" "${OPS_SRCS[@]}"; do
        obj="$BUILD_DIR/$tag-$(basename "${src%.c}").o"
        "$CC_AARCH64" "${CFLAGS[@]}" -march="$march" -c "$src" -o "$obj" || { ok=0; break; }
        objs+=("$obj")
    done
    if [ $ok -eq 0 ]; then echo "build failed: quant sources ($march)"; status=1; continue; fi
    for t in "${TESTS[@]}"; do
        name=$(basename "${t%.c}")
        exe="$BUILD_DIR/$name-$tag"
        echo "== aarch64 -march=$march: $name"
        if ! "$CC_AARCH64" "${CFLAGS[@]}" -march="$march" "$t" "${objs[@]}" -lm -pthread -o "$exe"; then
            echo "build failed: $name ($march)"; status=1; continue
        fi
        if ! "$QEMU" -L "$SYSROOT" "$exe"; then status=1; fi
    done
done
[ $status -eq 0 ] && echo "aarch64: all passed" || echo "aarch64: FAILED"
exit $status
