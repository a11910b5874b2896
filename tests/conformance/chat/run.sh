#!/bin/sh
# Chat-template conformance: our detect + format against llama.cpp's llama_chat_apply_template
# (the C API's builtin formatter) from a prebuilt libllama, byte for byte, on every template in
# llama.cpp's models/templates plus the small ones in this folder and every builtin family name.
#   EQ_LLAMA_LIB_DIR  folder with libllama*.so (default: node-llama-cpp's prebuilt bins)
#   EQ_LLAMA_SRC      llama.cpp checkout (default /tmp/llama-src/src)
#   CC, CFLAGS        compiler (default cc) and extra flags (e.g. -fsanitize=address)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
libdir=${EQ_LLAMA_LIB_DIR:-/tmp/scratch/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64}
src=${EQ_LLAMA_SRC:-/tmp/llama-src/src}
cc=${CC:-cc}

lib=$(ls "$libdir"/libllama.so "$libdir"/libllama.v*.so 2>/dev/null | head -n 1 || true)
if [ -z "$lib" ]; then
    echo "no libllama in $libdir (set EQ_LLAMA_LIB_DIR)" >&2
    exit 2
fi
out=${TMPDIR:-/tmp}/eq-chat-conf.$$
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
"$cc" -std=c11 -O1 -Wall ${CFLAGS:-} -I"$root/include" -I"$root/src" \
    "$here/driver.c" "$root/src/chat.c" "$lib" -Wl,-rpath,"$libdir" -o "$out/driver"

set -- "$here"/templates/*.jinja
if [ -d "$src/models/templates" ]; then
    set -- "$@" "$src"/models/templates/*.jinja
else
    echo "note: $src/models/templates not found; only local templates and builtin names" >&2
fi
"$out/driver" "$@"
