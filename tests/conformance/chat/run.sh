#!/bin/sh
# Chat-template conformance: our detect + format against llama.cpp's llama_chat_apply_template
# (the C API's builtin formatter) from a prebuilt libllama, byte for byte, on every template in
# llama.cpp's models/templates plus the small ones in this folder and every builtin family name.
#   EQ_LLAMA_LIB_DIR  folder with libllama*.so (default: node-llama-cpp's prebuilt bins)
#   EQ_LLAMA_SRC      llama.cpp checkout (default /tmp/llama-src/src)
#   CC, CFLAGS        compiler (default cc) and extra flags (e.g. -fsanitize=address)
# Then gemma3.c: Gemma 3's prompts formatted and tokenized on its real vocabulary, text and ids
# against llama.cpp (needs libedgeq.a and the model):
#   EQ_LIB            libedgeq.a (default build/native/libedgeq.a)
#   EQ_GEMMA3         the Gemma 3 GGUF (default: scripts/get-gemma3.sh fetches it once)
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
"$out/driver" "$@" > "$out/driver.log" || true
cat "$out/driver.log"
counts() { sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$1" | tail -n 1; }
set -- $(counts "$out/driver.log")
pass=${1:-0} fail=${2:-1}

eqlib=${EQ_LIB:-$root/build/native/libedgeq.a}
gemma=${EQ_GEMMA3:-$(bash "$root/scripts/get-gemma3.sh" || true)}
if [ ! -f "$eqlib" ] || [ ! -f "$gemma" ]; then
    echo "gemma3: missing ${eqlib} or the model (fetch failed?)"
    fail=$((fail + 1))
elif "$cc" -std=c11 -O1 -Wall ${CFLAGS:-} -I"$root/include" -I"$root/src" -I"$src/include" -I"$src/ggml/include" \
        "$here/gemma3.c" "$eqlib" "$lib" -Wl,-rpath,"$libdir" -lm -lpthread -o "$out/gemma3"; then
    "$out/gemma3" "$gemma" "$here/templates/google-gemma-3-270m-it.jinja" > "$out/gemma3.log" || true
    cat "$out/gemma3.log"
    set -- $(counts "$out/gemma3.log")
    pass=$((pass + ${1:-0})) fail=$((fail + ${2:-1}))
else
    echo "gemma3: driver build failed"
    fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
