#!/bin/sh
# Compare edgeq's type kernels with ggml's (see check.c). Builds twice: tuned for this CPU
# (the SIMD table) and for baseline x86-64 (the scalar table), and runs both.
#   EQ_GGML_INCLUDE  ggml's include dir   (default: /tmp/llama-src/src/ggml/include)
#   EQ_GGML_LIB      path of libggml-base.so (default: node-llama-cpp's prebuilt linux-x64)
#   EQ_GGML_CPU_LIB  a libggml-cpu-*.so for the dot products (default: -haswell if this CPU
#                    has AVX2, else -x64, next to EQ_GGML_LIB)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
inc=${EQ_GGML_INCLUDE:-/tmp/llama-src/src/ggml/include}
lib=${EQ_GGML_LIB:-/tmp/scratch/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so}
libdir=$(cd "$(dirname "$lib")" && pwd)
cpu=${EQ_GGML_CPU_LIB:-}
if [ -z "$cpu" ]; then
    if grep -qw avx2 /proc/cpuinfo 2>/dev/null && [ -f "$libdir/libggml-cpu-haswell.so" ]; then
        cpu=$libdir/libggml-cpu-haswell.so
    else
        cpu=$libdir/libggml-cpu-x64.so
    fi
fi
for f in "$inc/ggml.h" "$lib" "$cpu"; do
    [ -e "$f" ] || { echo "missing $f (set EQ_GGML_INCLUDE / EQ_GGML_LIB / EQ_GGML_CPU_LIB)"; echo "0 passed, 1 failed"; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/eq_ggml_types.XXXXXX")
trap 'rm -rf "$work"' EXIT
pass=0; fail=0
for flags in "-march=native" "-march=x86-64"; do
    echo "== build $flags"
    # -ffp-contract=off as the library builds them (ISO C mode; gnu11 alone would fuse multiply-adds)
    if ! ${CC:-gcc} -std=gnu11 -O2 -ffp-contract=off $flags -Wall -Wno-unused-parameter -I"$inc" -I"$root/src" -I"$root/include" \
            "$here/check.c" "$root"/src/quant/*.c "$root"/src/arch/x86/*.c \
            "$lib" -Wl,-rpath,"$libdir" -ldl -lm -o "$work/check" 2>"$work/cc.log"; then
        cat "$work/cc.log"; fail=$((fail + 1)); continue
    fi
    "$work/check" "$cpu" | tee "$work/out.txt"
    last=$(tail -n 1 "$work/out.txt")
    p=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then fail=$((fail + 1)); else pass=$((pass + p)); fail=$((fail + f)); fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
