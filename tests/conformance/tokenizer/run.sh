#!/bin/sh
# Tokenizer conformance against llama.cpp: every case of llama.cpp's vocab test bundles
# (ggml-vocab-NAME.gguf + .inp/.out, tokenized with add_special = parse_special = false, as its
# test-tokenizer-0 does) and our extra hard cases in cases/ (expected ids produced by llama.cpp
# itself with llama_ref.c). Then the vocabularies of real models, which have no bundle (Gemma 3:
# 262k entries, scripts/get-gemma3.sh): every case input here and in the vocab dir, with
# add_special and parse_special each on and off, against ids llama.cpp computes now (llama_ref
# built against libllama), and every token's piece (special on and off), the special ids and
# the end-of-generation set (tokdrv --pieces against llama_ref --pieces).
# Prints "N passed, N failed"; exits non-zero on any failure.
#
#   EQ_VOCAB_DIR  folder with the ggml-vocab-*.gguf bundles (default /tmp/llama-src/src/models)
#   EQ_TOK_BUILD  where to build the driver (default build/h-tok)
#   EQ_TOK_VOCABS vocabularies to check (default: all below)
#   EQ_TOK_MODELS real-model vocabularies to check live (default: gemma3; "" skips them)
#   EQ_GEMMA3     the Gemma 3 GGUF (default: scripts/get-gemma3.sh, which fetches it once)
#   EQ_LLAMA_SRC, EQ_LLAMA_LIB_DIR (or EQ_LLAMA_LIBDIR): llama.h and libllama for llama_ref
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
check() {   # vocab inp out add_special parse_special label [vocab file]
    res=$("$drv" "${7:-$dir/ggml-vocab-$1.gguf}" "$2" "$3" "$4" "$5" 2>"$build/fail-$1-$6.txt")
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

# real models' vocabularies, live against llama.cpp
models=${EQ_TOK_MODELS-gemma3}
if [ -n "$models" ]; then
    libdir=${EQ_LLAMA_LIB_DIR:-${EQ_LLAMA_LIBDIR:-}}
    lib=$(ls "$libdir"/libllama.so "$libdir"/libllama.v*.so 2>/dev/null | head -n 1 || true)
    src=${EQ_LLAMA_SRC:-}
    if [ -z "$lib" ] || [ ! -f "$src/include/llama.h" ]; then
        echo "real-model vocabularies: no libllama / llama.h (set EQ_LLAMA_LIB_DIR and EQ_LLAMA_SRC)"
        fail=$((fail + 1))
        models=
    elif ! ${CC:-cc} -std=c11 -O1 -I"$src/include" -I"$src/ggml/include" "$here/llama_ref.c" "$lib" \
            -Wl,-rpath,"$libdir" -o "$build/llama_ref" 2>"$build/llama_ref.log"; then
        echo "llama_ref build failed: $(head -c 300 "$build/llama_ref.log")"
        fail=$((fail + 1))
        models=
    fi
fi
# the case inputs: ours and each distinct one of the bundles
inputs="$here/cases/extra.inp $here/cases/extra-bytes.inp $here/cases/extra-special.inp"
if [ -d "$dir" ]; then
    inputs="$inputs $(cksum "$dir"/ggml-vocab-*.gguf.inp | sort -k1,1 -u | awk '{print $3}' | tr '\n' ' ')"
fi
for m in $models; do
    case $m in
    gemma3) file=${EQ_GEMMA3:-$(bash "$root/scripts/get-gemma3.sh")} || file= ;;
    *) file= ;;
    esac
    if [ ! -f "$file" ]; then
        echo "$m: no model file (fetch failed?)"
        fail=$((fail + 1))
        continue
    fi
    for inp in "$here/cases/$m.inp" $inputs; do
        [ -f "$inp" ] || continue
        base=$(basename "$inp" .inp); base=${base%.gguf}
        for flags in 0:0 1:1 0:1 1:0; do
            as=${flags%:*} ps=${flags#*:}
            exp="$build/$m.$base.$as$ps.out"
            if ! "$build/llama_ref" "$file" "$inp" "$as" "$ps" > "$exp" 2>"$build/llama_ref.log"; then
                echo "$m $base: llama_ref failed: $(head -c 300 "$build/llama_ref.log")"
                fail=$((fail + 1))
                continue
            fi
            check "$m" "$inp" "$exp" "$as" "$ps" "$base-as$as-ps$ps" "$file"
        done
    done
    # token -> piece for every token (special off and on), the special ids, the EOG set
    if "$build/llama_ref" "$file" --pieces > "$build/$m.pieces.ref" 2>"$build/llama_ref.log" &&
       "$drv" "$file" --pieces > "$build/$m.pieces.out" 2>"$build/fail-$m-pieces.txt"; then
        if cmp -s "$build/$m.pieces.ref" "$build/$m.pieces.out"; then
            echo "$m pieces: $(($(wc -l < "$build/$m.pieces.ref") - 1)) tokens agree"
            pass=$((pass + 1))
        else
            echo "$m pieces: differ from llama.cpp (llama.cpp <, ours >):"
            diff "$build/$m.pieces.ref" "$build/$m.pieces.out" | head -n 20
            fail=$((fail + 1))
        fi
    else
        echo "$m pieces: driver error: $(head -c 300 "$build/llama_ref.log" "$build/fail-$m-pieces.txt")"
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
