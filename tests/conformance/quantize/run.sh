#!/usr/bin/env bash
# edgeq quantize against llama.cpp:
#   1. eq_quantize_rows vs ggml_quantize_chunk (prebuilt libggml-base from node-llama-cpp),
#      every type, with and without importance weights, built for this CPU and for x86-64;
#   2. whole files vs llama-quantize, byte for byte: random-weight llama (F16, GQA) and phi3
#      (F32, fused QKV, rows of 320 so the fallbacks run) in several mixtures, with and
#      without an importance matrix (GGUF and legacy formats);
#   3. the files we write run in llama.cpp and in edgeq with the same greedy text;
#   4. bad input: a clear error, non-zero exit, no output file.
# Needs the oracle (tests/oracle/setup.sh), which also builds llama-quantize from the bundled
# source against node-llama-cpp's prebuilt libraries.
# Env: EDGEQ (edgeq binary; default build/native/edgeq, built here when missing), QUICK=1
# (fewer mixtures). Prints "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cache=${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}
oracle=$cache/oracle
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

[ -f "$oracle/env.sh" ] || { bad "no oracle: run tests/oracle/setup.sh"; finish; }
source "$oracle/env.sh"
JOBS=${JOBS:-2}

# ---- edgeq ----
EDGEQ=${EDGEQ:-$root/build/native/edgeq}
if ! "$EDGEQ" quantize --help >/dev/null 2>&1; then  # missing, or built before quantize existed
    echo "== building edgeq (build/conf-quantize)"
    (cmake -S "$root" -B "$root/build/conf-quantize" -DEQ_TESTS=OFF >/dev/null &&
     cmake --build "$root/build/conf-quantize" -j"$JOBS" --target edgeq-cli >/dev/null) || { bad "build edgeq"; finish; }
    EDGEQ=$root/build/conf-quantize/edgeq
fi

# ---- llama-quantize: the bundled source's tool over the prebuilt libraries (tests/oracle/setup.sh) ----
QUANTIZE=${EQ_LLAMA_QUANTIZE:-$oracle/bin/llama-quantize}
[ -x "$QUANTIZE" ] || { bad "no llama-quantize at $QUANTIZE: run tests/oracle/setup.sh"; finish; }
echo "llama-quantize: $QUANTIZE"

work=$(mktemp -d "${TMPDIR:-/tmp}/eq_quantize.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---- 1. row quantizers vs ggml_quantize_chunk ----
inc=$EQ_LLAMA_SRC/ggml/include
lib=$EQ_LLAMA_LIBDIR/libggml-base.so
for flags in "-march=native" "-march=x86-64"; do
    if ${CC:-gcc} -std=c11 -O2 $flags -Wall -I"$inc" -I"$root/src" -I"$root/include" "$here/check_chunk.c" \
            "$root"/src/quant/*.c "$root"/src/arch/x86/*.c "$lib" -Wl,-rpath,"$(dirname "$lib")" -lm \
            -o "$work/check_chunk" 2>"$work/cc.log" && "$work/check_chunk" > "$work/chunk.txt"; then
        ok "ggml_quantize_chunk $flags: $(tail -n 1 "$work/chunk.txt")"
    else
        cat "$work/cc.log"; grep FAIL "$work/chunk.txt" 2>/dev/null | head -20
        bad "ggml_quantize_chunk $flags: $(tail -n 1 "$work/chunk.txt" 2>/dev/null)"
    fi
done

# ---- 2. whole files vs llama-quantize ----
cd "$work"
vocab=$EQ_VOCAB_DIR/ggml-vocab-llama-spm.gguf
python3 "$root/tests/tools/make_model.py" --arch llama --vocab "$vocab" --type F16 --out llama.gguf \
    --n-layer 8 --n-embd 256 --n-ff 512 --n-head 4 --n-head-kv 1 --seed 3 --quiet || { bad "make llama model"; finish; }
python3 "$root/tests/tools/make_model.py" --arch phi3 --vocab "$vocab" --type F32 --out phi3.gguf \
    --n-layer 3 --n-embd 320 --n-ff 640 --n-head 5 --n-head-kv 5 --seed 4 --quiet || { bad "make phi3 model"; finish; }
for m in llama phi3; do
    python3 "$here/make_imatrix.py" $m.gguf $m.imatrix.gguf --seed 5 || { bad "make imatrix"; finish; }
done
python3 "$here/make_imatrix.py" llama.gguf llama.imatrix.dat --legacy --seed 6 || { bad "make legacy imatrix"; finish; }

compare() {  # compare MODEL TYPE [extra args...]: both tools, same arguments, same bytes?
    local model=$1 type=$2; shift 2
    local what="$model $type${*:+ $*}"
    rm -f ref.gguf our.gguf
    if ! "$QUANTIZE" "$@" $model.gguf ref.gguf $type 2 > ref.log 2>&1; then
        tail -n 3 ref.log; bad "$what: llama-quantize failed"; return
    fi
    if ! "$EDGEQ" quantize "$@" $model.gguf our.gguf $type --threads 2 > our.log 2>&1; then
        tail -n 3 our.log; bad "$what: edgeq quantize failed"; return
    fi
    if cmp -s ref.gguf our.gguf; then
        ok "$what: identical ($(stat -c %s our.gguf) bytes)"
    else
        bad "$what: files differ ($(cmp ref.gguf our.gguf 2>&1 | head -n 1))"
    fi
}

types="Q4_K_M Q4_0 Q8_0 Q5_1 Q2_K"
[ -z "${QUICK:-}" ] && more="Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q5_K_S Q5_K_M Q6_K Q4_1 Q5_0 F16 BF16 F32" || more=""
for m in llama phi3; do
    for t in $types; do
        compare $m $t
        compare $m $t --imatrix $m.imatrix.gguf
    done
done
for t in $more; do compare llama $t --imatrix llama.imatrix.gguf; done
compare llama Q4_K_M --imatrix llama.imatrix.dat
compare llama Q3_K_M --pure --output-tensor-type q8_0 --token-embedding-type q5_1
# a quantized input, dequantized and requantized
"$EDGEQ" quantize llama.gguf llama-q8.gguf Q8_0 >/dev/null 2>&1 && cp llama-q8.gguf llamaq8.gguf
compare llamaq8 Q4_K_M --allow-requantize

# ---- 3. what we wrote runs, in llama.cpp and in edgeq, with the same greedy text ----
# (make_model's default shapes and each architecture's own vocabulary, as the models suite has
# them; roundtrip.py: PASS identical text, SKIP parted at a rounding-level near tie, else FAIL)
python3 "$root/tests/tools/make_model.py" --arch llama --vocab "$vocab" --type F16 --out rt-llama.gguf --seed 11 --quiet &&
python3 "$root/tests/tools/make_model.py" --arch phi3 --vocab "$EQ_VOCAB_DIR/ggml-vocab-phi-3.gguf" --type F16 \
    --n-head-kv 4 --out rt-phi3.gguf --seed 12 --quiet || { bad "make round-trip models"; finish; }
for m in rt-llama rt-phi3; do
    python3 "$here/make_imatrix.py" $m.gguf $m.imatrix.gguf --seed 13
    for spec in "Q4_K_M --imatrix $m.imatrix.gguf" "Q2_K" "Q8_0"; do
        set -- $spec
        t=$1; shift
        if ! "$EDGEQ" quantize "$@" $m.gguf $m-$t.gguf $t > q.log 2>&1; then
            tail -n 2 q.log; bad "round trip $m $spec: quantize failed"; continue
        fi
        python3 "$here/roundtrip.py" "$EDGEQ" "$EQ_ORACLE" $m-$t.gguf > rt.log 2>&1
        verdict=$(tail -n 1 rt.log)
        case $verdict in
            PASS) ok "round trip $m $spec: $(head -n 1 rt.log)";;
            SKIP) ok "round trip $m $spec: (skip: parted at a near tie) $(tail -n 2 rt.log | head -n 1)";;
            *) cat rt.log; bad "round trip $m $spec";;
        esac
    done
done

# a real model (SmolLM2-135M, shipped as Q4_1: so requantized), byte-compared and run
if [ -n "${EQ_SMOLLM2:-}" ] && [ -f "$EQ_SMOLLM2" ]; then
    cp "$EQ_SMOLLM2" smol.gguf
    compare smol Q4_K_M --allow-requantize
    if [ -f our.gguf ]; then
        mv our.gguf smol-Q4_K_M.gguf
        python3 "$here/roundtrip.py" "$EDGEQ" "$EQ_ORACLE" smol-Q4_K_M.gguf --tie-factor 1 > rt.log 2>&1
        # The file is byte-identical to llama-quantize's (above), so this runs inference, and a
        # quantized file's greedy text may part at a near tie (8-bit activations: a last-bit
        # difference flips a rounding). Measured on this file: edgeq with and without Q6_K
        # repacked differ by mean KLD 0.0059 (same top 95.5%), as much as llama.cpp and edgeq do
        # (0.0065, 95.1%). So a part is allowed only where llama.cpp's own top-1 margin is below
        # the largest difference of the two engines' prompt logits (the synthetic cases: twice).
        # Seen: llama.cpp ends after "2." (end of text over "\n" by 0.35; the engines' prompt
        # logits differ by up to 0.9-1.6 by CPU) where edgeq goes on.
        # Equal quality is conf-real's check (KLD against llama.cpp's F16 logits).
        case $(tail -n 1 rt.log) in
            PASS) ok "round trip SmolLM2 Q4_K_M: $(head -n 1 rt.log)";;
            SKIP) ok "round trip SmolLM2 Q4_K_M: (parted at a near tie) $(tail -n 2 rt.log | head -n 1)";;
            *) cat rt.log; bad "round trip SmolLM2 Q4_K_M";;
        esac
    fi
fi

# ---- 4. bad input ----
expect_fail() {  # expect_fail RC PATTERN ARGS...: exit status RC, stderr matches, no output left
    local rc_want=$1 pat=$2; shift 2
    rm -f out.gguf out.gguf.tmp
    "$EDGEQ" quantize "$@" > /dev/null 2> err.txt
    local rc=$?
    if [ $rc -eq "$rc_want" ] && grep -q -- "$pat" err.txt && [ ! -e out.gguf ] && [ ! -e out.gguf.tmp ] \
       && ! compgen -G '.out.gguf.edgeq-*.tmp' > /dev/null; then
        ok "error: $(tail -n 1 err.txt)"
    else
        bad "expected rc $rc_want and '$pat' for: $* (rc $rc: $(tail -n 1 err.txt))"
    fi
}
head -c $(( $(stat -c %s llama.gguf) - 1000 )) llama.gguf > trunc.gguf
head -c 300 llama.gguf > trunc-header.gguf
expect_fail 2 "unknown or unsupported type 'Q4_K_X'" llama.gguf out.gguf Q4_K_X
expect_fail 2 "unknown or unsupported tensor type" --output-tensor-type q9_9 llama.gguf out.gguf Q4_0
expect_fail 1 "requantizing is disabled" llamaq8.gguf out.gguf Q4_K_M
expect_fail 1 "trunc.gguf.*past the end of the file" trunc.gguf out.gguf Q4_0
expect_fail 1 "trunc-header.gguf.*truncated" trunc-header.gguf out.gguf Q4_0
expect_fail 1 "phi3.imatrix.gguf.*has 320 values" --imatrix phi3.imatrix.gguf llama.gguf out.gguf Q4_K_M
expect_fail 1 "cannot be stored as Q6_K" --output-tensor-type q6_K phi3.gguf out.gguf Q4_0
expect_fail 1 "cannot open" missing.gguf out.gguf Q4_0
printf 'GGUF\3\0\0\0\1\0\0\0\0\0\0\0' > bad.imatrix
expect_fail 1 "bad.imatrix" --imatrix bad.imatrix llama.gguf out.gguf Q4_0
finish
