#!/bin/sh
# Build the conformance driver straight from the sources it needs (no CMake, so it works while
# other parts of the tree are mid-edit). usage: build.sh OUTDIR
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${1:-$root/build/h-tok}
mkdir -p "$out"
cd "$root"
# everything in src/tokenizer
srcs=$(ls src/tokenizer/*.c)
${CC:-cc} -std=c11 -O2 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Iinclude -Isrc \
    -o "$out/tokdrv" tests/conformance/tokenizer/tokdrv.c $srcs src/gguf/gguf.c \
    src/runtime/status.c src/quant/*.c -lm
