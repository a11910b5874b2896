#!/usr/bin/env bash
# The benchmark models by name: prints the GGUF path of each NAME (fetching or making it into
# $EQ_CACHE/models/ once). Shared by bench/compare.sh, bench/web/run.sh and bench/webgpu/run.sh.
#   bash bench/models.sh NAME [NAME ...]
# Names:
#   smollm2  SmolLM2-135M-Instruct Q4_1, the real release (scripts/get-model.sh)
#   gemma3   Gemma 3 270M Q4_K_M, the real release (scripts/get-gemma3.sh, the real-model suite's)
#   1b       synthetic 1.1B llama Q4_K_M: 16 layers, n_embd 2048, n_ff 8192, 32 heads (kv 8),
#            llama SPM vocab (32000); random weights (0.7 GB)
#   phi35    synthetic Phi-3.5-mini shape Q4_K_M: phi3 arch (fused QKV, fused gate|up), 32 layers,
#            n_embd 3072, n_ff 8192, 32 heads (kv 32), Phi-3 vocab (32064), ctx 4096, no LongRoPE
#            factors; random weights (2.4 GB; the F16 it is made from needs 7.7 GB of disk and
#            as much RAM, make_model.py holding it whole; it is removed afterwards)
#   1b-TYPE  the 1b shape in another llama-quantize type: 1b-q4_0, 1b-q8_0, 1b-q5_k_m, 1b-f16, ...
#   tiny     a small random llama Q4_K (4 layers, n_embd 256): smoke runs (--quick), no speed meaning
# Anything else that names a file is printed as given. The synthetic ones are made with
# tests/tools/make_model.py (F16) and llama.cpp's llama-quantize (the oracle's, tests/oracle/setup.sh),
# one thread, so that other work on the machine goes on.
set -euo pipefail
cd "$(dirname "$0")/.."
export EQ_CACHE=${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}
bdir=$EQ_CACHE/models/bench

oracle() {
  bash tests/oracle/setup.sh >/dev/null
  # shellcheck disable=SC1091
  source "$EQ_CACHE/oracle/env.sh"
}

# synth NAME TYPE make_model-args...: $bdir/NAME.gguf made once from an F16 of the given shape
synth() {
  local name=$1 qtype=$2; shift 2
  local out=$bdir/$name.gguf
  if [ ! -s "$out" ]; then
    oracle
    mkdir -p "$bdir"
    local f16=$bdir/.$name-f16.$$.gguf t0=$SECONDS
    trap 'rm -f "$f16" "$out.$$.part"' EXIT
    echo "bench/models.sh: making $name (F16, random weights, then $qtype)..." >&2
    python3 tests/tools/make_model.py --type F16 --quiet --out "$f16" "$@" >&2
    "$EQ_LLAMA_QUANTIZE" "$f16" "$out.$$.part" "$qtype" 1 >/dev/null 2>&1 \
      || { echo "bench/models.sh: llama-quantize $qtype failed for $name" >&2; exit 1; }
    rm -f "$f16"
    mv "$out.$$.part" "$out"
    trap - EXIT
    echo "bench/models.sh: $out made in $((SECONDS - t0)) s" >&2
  fi
  echo "$out"
}

vocab() { oracle; echo "$EQ_VOCAB_DIR/ggml-vocab-$1.gguf"; }

[ $# -gt 0 ] || { sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
for n in "$@"; do
  case $n in
    smollm2) bash scripts/get-model.sh ;;
    gemma3) bash scripts/get-gemma3.sh ;;
    1b) synth synth-1b-q4_k_m Q4_K_M --arch llama --vocab "$(vocab llama-spm)" \
          --n-layer 16 --n-embd 2048 --n-ff 8192 --n-head 32 --n-head-kv 8 --ctx 2048 ;;
    1b-*) t=${n#1b-}; T=${t^^}
       case $T in Q4_0|Q4_1|Q5_0|Q5_1|Q8_0|Q2_K|Q3_K_S|Q3_K_M|Q3_K_L|Q4_K_S|Q4_K_M|Q5_K_S|Q5_K_M|Q6_K|F16|BF16) ;;
         *) echo "bench/models.sh: '$n': no such type for the 1b shape" >&2; exit 1 ;; esac
       synth "synth-1b-${t,,}" "$T" --arch llama --vocab "$(vocab llama-spm)" \
          --n-layer 16 --n-embd 2048 --n-ff 8192 --n-head 32 --n-head-kv 8 --ctx 2048 ;;
    phi35) synth synth-phi35-q4_k_m Q4_K_M --arch phi3 --vocab "$(vocab phi-3)" \
          --n-layer 32 --n-embd 3072 --n-ff 8192 --n-head 32 --n-head-kv 32 --ctx 4096 ;;
    tiny) synth synth-tiny-q4_k_m Q4_K_M --arch llama --vocab "$(vocab llama-spm)" \
          --n-layer 4 --n-embd 256 --n-ff 768 --n-head 4 --n-head-kv 2 --ctx 512 ;;
    *) if [ -f "$n" ]; then echo "$n"
       else echo "bench/models.sh: '$n' is neither a model name (smollm2 gemma3 1b 1b-TYPE phi35 tiny) nor a file" >&2; exit 1; fi ;;
  esac
done
