#!/bin/sh
# Tokenizer conformance against llama.cpp: every case of llama.cpp's vocab test bundles
# (ggml-vocab-NAME.gguf + .inp/.out, tokenized with add_special = parse_special = false, as its
# test-tokenizer-0 does) and our extra hard cases in cases/ (expected ids produced by llama.cpp
# itself with llama_ref.c). Prints "N passed, N failed"; exits non-zero on any failure.
#
#   EQ_VOCAB_DIR  folder with the ggml-vocab-*.gguf bundles (default /tmp/llama-src/src/models)
#   EQ_TOK_BUILD  where to build the driver (default build/h-tok)
#   EQ_TOK_VOCABS vocabularies to check (default: all below)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
dir=${EQ_VOCAB_DIR:-/tmp/llama-src/src/models}
build=${EQ_TOK_BUILD:-$root/build/h-tok}
vocabs=${EQ_TOK_VOCABS:-"phi-3 llama-spm llama-bpe gpt-2 qwen2 qwen35 deepseek-coder deepseek-llm falcon mpt starcoder refact command-r gemma-4"}

if [ ! -d "$dir" ]; then
    echo "skipping tokenizer conformance: no vocab dir $dir (set EQ_VOCAB_DIR)"
    echo "0 passed, 0 failed"
    exit 0
fi
"$here/build.sh" "$build" || { echo "driver build failed"; echo "0 passed, 1 failed"; exit 1; }
drv="$build/tokdrv"

pass=0
fail=0
check() {   # vocab inp out add_special parse_special label
    res=$("$drv" "$dir/ggml-vocab-$1.gguf" "$2" "$3" "$4" "$5" 2>"$build/fail-$1-$6.txt")
    p=$(echo "$res" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(echo "$res" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then
        echo "$1 $6: driver error: $(head -c 300 "$build/fail-$1-$6.txt")"
        fail=$((fail + 1))
        return
    fi
    echo "$1 $6: $p passed, $f failed"
    [ "$f" = 0 ] || head -c 2000 "$build/fail-$1-$6.txt"
    pass=$((pass + p))
    fail=$((fail + f))
}

for v in $vocabs; do
    if [ ! -f "$dir/ggml-vocab-$v.gguf" ]; then
        echo "$v: missing $dir/ggml-vocab-$v.gguf"
        fail=$((fail + 1))
        continue
    fi
    [ -f "$dir/ggml-vocab-$v.gguf.inp" ] && check "$v" "$dir/ggml-vocab-$v.gguf.inp" "$dir/ggml-vocab-$v.gguf.out" 0 0 bundle
    for c in extra:0:0 extra-bytes:0:0 extra-special:1:1; do
        name=${c%%:*}
        flags=${c#*:}
        [ -f "$here/cases/$v.$name.out" ] &&
            check "$v" "$here/cases/$name.inp" "$here/cases/$v.$name.out" "${flags%:*}" "${flags#*:}" "$name"
    done
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
