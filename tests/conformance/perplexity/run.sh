#!/usr/bin/env bash
# edgeq perplexity against llama-perplexity (the bundled source's tool over node-llama-cpp's
# prebuilt libraries; tests/oracle/setup.sh builds it), on the same files and text:
#   1. SmolLM2-135M in F16 (dequantized from the Q4_1 release: the only real weights at hand):
#      the final estimate and its uncertainty within 0.1%, every chunk's running PPL within 0.2%;
#      the same runs save their logits: both files have the same header and token list byte
#      for byte (same tokenization and chunking), and each tool reads the other's: KLD ≈ 0;
#   2. KL divergence of the Q4_1 model, and of Q4_0 and Q8_0 ones quantized from the F16,
#      against the F16 base: edgeq's mean KLD, top-1 agreement and PPL against
#      llama-perplexity --kl-divergence's on the same files;
#   3. the batch size does not change the result, --json agrees with the text output;
#   4. bad input: a clear error, non-zero exit, no file left behind.
# (Random-weight models are no use here: on English text their PPL is 1e8 to 1e32, decided by
# far-tail log-probabilities.)
# The text is Debian's license texts (/usr/share/common-licenses, in every Debian install).
# Env: EDGEQ (default build/native/edgeq). Prints "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cache=${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

[ -f "$cache/oracle/env.sh" ] || { bad "no oracle: run tests/oracle/setup.sh"; finish; }
source "$cache/oracle/env.sh"
LPPL=${EQ_LLAMA_PERPLEXITY:-$cache/oracle/bin/llama-perplexity}
[ -x "$LPPL" ] || { bad "no llama-perplexity at $LPPL: run tests/oracle/setup.sh"; finish; }
EDGEQ=${EDGEQ:-$root/build/native/edgeq}
if ! "$EDGEQ" perplexity --help >/dev/null 2>&1; then
    (cmake --preset native >/dev/null && cmake --build --preset native --target edgeq-cli >/dev/null) || { bad "build edgeq"; finish; }
    EDGEQ=$root/build/native/edgeq
fi
SMOL=${EQ_SMOLLM2:-$(bash "$root/scripts/get-model.sh")}
T=2   # threads, both tools

work=$(mktemp -d "${TMPDIR:-/tmp}/eq_ppl.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
lic=/usr/share/common-licenses
cat "$lic/GPL-3" "$lic/Apache-2.0" "$lic/LGPL-2.1" "$lic/MPL-2.0" > text.txt || { bad "no license texts in $lic"; finish; }

# llama-perplexity's chunk values "[i]x," and final "PPL = x +/- u", one per line
llama_ppl() { "$LPPL" -t $T -fa off "$@" > llama.out 2>&1; }
edgeq_ppl() { "$EDGEQ" perplexity -t $T "$@" > edgeq.out 2> edgeq.err; }
values() { grep -oE '\[[0-9]+\][0-9.]+' "$1" | sed 's/.*\]//'; grep -oE 'PPL = [0-9.]+ \+/- [0-9.]+' "$1" | awk '{print $3; print $5}'; }
# compare two value lists (chunk values, final, uncertainty): same count, the final two within
# rel_final, the chunk values within rel_chunk (early chunks average few tokens: noisier)
close() {  # close FILE_A FILE_B REL_FINAL REL_CHUNK
    python3 - "$@" <<'EOF'
import sys
a = [float(x) for x in open(sys.argv[1]).read().split()]
b = [float(x) for x in open(sys.argv[2]).read().split()]
rf, rc = float(sys.argv[3]), float(sys.argv[4])
if len(a) < 3 or len(a) != len(b):
    print(f"{len(a)} vs {len(b)} values"); sys.exit(1)
r = [abs(x - y) / abs(y) for x, y in zip(a, b)]
print(f"final PPL {a[-2]} vs {b[-2]} ({100*r[-2]:.3f}%), ± {a[-1]} vs {b[-1]}, "
      f"worst of {len(a)-2} chunk values {100*max(r[:-2]):.3f}%")
sys.exit(0 if max(r[-2:]) <= rf and max(r[:-2]) <= rc else 1)
EOF
}

# ---- 1. SmolLM2 F16: perplexity, and the saved logits ----
if ! "$EDGEQ" quantize "$SMOL" smol-f16.gguf F16 --allow-requantize > q.log 2>&1; then bad "dequantize SmolLM2 to F16: $(tail -n 2 q.log)"; finish; fi
llama_ppl -m smol-f16.gguf -f text.txt -c 128 --chunks 8 --kl-divergence-base llama.kl || bad "llama-perplexity: $(tail -n 3 llama.out)"
values llama.out > l.txt
edgeq_ppl -m smol-f16.gguf -f text.txt -c 128 --chunks 8 --save-logits edgeq.kl || bad "edgeq perplexity: $(cat edgeq.err)"
values edgeq.out > e.txt
if msg=$(close e.txt l.txt 0.001 0.002); then ok "SmolLM2 F16, -c 128, 8 chunks: $msg"; else bad "SmolLM2 F16, -c 128, 8 chunks: $msg"; fi
if [ -s llama.kl ] && [ -s edgeq.kl ]; then
    hdr=$((20 + 4 * 8 * 128))
    if [ "$(stat -c %s llama.kl)" = "$(stat -c %s edgeq.kl)" ] && cmp -s -n $hdr llama.kl edgeq.kl; then
        ok "saved logits: same size ($(stat -c %s edgeq.kl) bytes), header and the $((8 * 128)) tokens identical"
    else
        bad "saved logits differ in size or header/tokens: $(stat -c %s llama.kl) vs $(stat -c %s edgeq.kl); $(cmp -n $hdr llama.kl edgeq.kl)"
    fi
    kl_check() {  # kl_check NAME OUTFILE MAX_KLD MIN_TOP: from the summary printed by either tool
        local kld top
        kld=$(grep -a "^Mean    KLD" "$2" | awk '{print $3}')
        top=$(grep -a "^Same top p" "$2" | awk '{print $4}')
        if [ -n "$kld" ] && [ -n "$top" ] && awk -v k="$kld" -v t="$top" -v mk="$3" -v mt="$4" 'BEGIN{exit !(k <= mk && t >= mt)}'; then
            ok "$1: mean KLD $kld, same top $top%"
        else
            bad "$1: mean KLD '$kld' (max $3), same top '$top'% (min $4)"
        fi
    }
    edgeq_ppl -m smol-f16.gguf --kl-base llama.kl && kl_check "edgeq F16 against llama-perplexity's F16 logits" edgeq.out 0.0001 98 \
        || bad "edgeq --kl-base llama.kl: $(cat edgeq.err)"
    llama_ppl -m smol-f16.gguf --kl-divergence --kl-divergence-base edgeq.kl && kl_check "llama-perplexity F16 against edgeq's F16 logits" llama.out 0.0001 98 \
        || bad "llama-perplexity --kl-divergence edgeq.kl: $(tail -n 3 llama.out)"

    # ---- 2. quantized models against the F16 base, both tools: the Q4_1 release, and Q4_0 and
    # Q8_0 made from the F16 by edgeq quantize (byte-identical to llama-quantize's; their rows
    # run repacked eight at a time on x86) ----
    # Both tools round activations to 8 bits before every quantized matmul; a last-bit difference
    # upstream flips some roundings, and over 30 layers the two runs end up with independent
    # rounding noise of the same size. So the KLD of each against the base agrees closely, the
    # PPL within ~1% on these 504 tokens; the noise shrinks as 1/sqrt(tokens): at -c 256 over 30
    # chunks (3810 tokens) the two give 20.4511 and 20.4690 on the Q4_1, 0.09% apart.
    for q in Q4_1 Q4_0 Q8_0; do
        m=$SMOL
        if [ $q != Q4_1 ]; then
            m=smol-$q.gguf
            "$EDGEQ" quantize smol-f16.gguf $m $q > q.log 2>&1 || { bad "quantize SmolLM2 to $q: $(tail -n 2 q.log)"; continue; }
        fi
        llama_ppl -m $m --kl-divergence --kl-divergence-base llama.kl || bad "llama-perplexity $q KL: $(tail -n 3 llama.out)"
        edgeq_ppl -m $m --kl-base llama.kl || bad "edgeq $q KL: $(cat edgeq.err)"
        python3 - llama.out edgeq.out <<'EOF' && ok "$q vs F16 base: $(cat kl.txt)" || bad "$q vs F16 base: $(cat kl.txt)"
import re, sys
def stats(f):
    t = open(f, encoding="utf-8", errors="replace").read()
    g = lambda k: float(re.search(re.escape(k) + r"\s*:\s*([-0-9.]+)", t).group(1))
    return {"ppl": g("Mean PPL(Q)"), "base": g("Mean PPL(base)"), "kld": g("Mean    KLD"), "top": g("Same top p")}
try:
    l, e = stats(sys.argv[1]), stats(sys.argv[2])
except Exception as ex:
    open("kl.txt", "w").write(f"no summary ({ex})"); sys.exit(1)
msg = (f"KLD {e['kld']:.6f} vs llama {l['kld']:.6f}, same top {e['top']:.2f}% vs {l['top']:.2f}%, "
       f"PPL {e['ppl']:.4f} vs {l['ppl']:.4f}, PPL(base) {e['base']:.4f} vs {l['base']:.4f}")
open("kl.txt", "w").write(msg)
good = (abs(e["base"] - l["base"]) / l["base"] < 1e-4            # the same file, read by both
        and 0.7 < e["kld"] / l["kld"] < 1.4 and abs(e["top"] - l["top"]) < 3
        and abs(e["ppl"] - l["ppl"]) / l["ppl"] < 0.015)
sys.exit(0 if good else 1)
EOF
    done
fi

# ---- 3. batch size, --json ----
edgeq_ppl -m smol-f16.gguf -f text.txt -c 128 --chunks 2 && values edgeq.out > b0.txt
edgeq_ppl -m smol-f16.gguf -f text.txt -c 128 --chunks 2 -b 20 --json && cp edgeq.out b1.json
if [ -s b0.txt ] && python3 -c '
import json
j = json.load(open("b1.json")); v = open("b0.txt").read().split()
assert "%.4f" % j["ppl"] == v[-2] and j["chunks"] == 2 and j["tokens"] == 2 * 63, (j, v)' 2>err.txt; then
    ok "-b 20 --json gives the PPL of one batch per chunk ($(cat b1.json))"
else
    bad "-b 20 --json vs one batch: $(cat b1.json 2>/dev/null) vs $(paste -sd' ' b0.txt): $(tail -n 1 err.txt)"
fi

# ---- 4. bad input ----
expect_fail() {  # expect_fail NAME PATTERN ARGS...: non-zero exit, the message matches, no saved file
    local name=$1 pat=$2; shift 2
    rm -f out.kl out.kl.part
    if "$EDGEQ" perplexity "$@" > /dev/null 2> err.txt; then bad "$name: succeeded"; return; fi
    if ! grep -qiE "$pat" err.txt; then bad "$name: message '$(cat err.txt)' lacks /$pat/"; return; fi
    if [ -e out.kl ] || [ -e out.kl.part ] || compgen -G '.out.kl.edgeq-*.tmp' > /dev/null; then bad "$name: left a file behind"; return; fi
    ok "$name: $(head -n 1 err.txt)"
}
head -c 600 text.txt > short.txt
expect_fail "text shorter than 2 contexts" "tokens.*at least" -m smol-f16.gguf -f short.txt -c 128 --save-logits out.kl
[ -s llama.kl ] && head -c 100000 llama.kl > trunc.kl
expect_fail "truncated base file" "trunc.kl.*bytes" -m smol-f16.gguf --kl-base trunc.kl
printf 'GGUF not logits at all, just some bytes' > junk.kl
expect_fail "not a saved-logits file" "junk.kl.*not a saved-logits" -m smol-f16.gguf --kl-base junk.kl
expect_fail "--kl-base with --save-logits" "exclude" -m smol-f16.gguf --kl-base llama.kl --save-logits out.kl
expect_fail "missing text file" "no-such.txt" -m smol-f16.gguf -f no-such.txt
if [ -s llama.kl ]; then  # a base file of another model: its vocabulary size patched to 10000
    cp llama.kl vocab.kl && printf '\x10\x27\x00\x00' | dd of=vocab.kl bs=1 seek=12 conv=notrunc 2>/dev/null
    expect_fail "base from another vocabulary" "vocab.kl.*vocabulary of 10000" -m smol-f16.gguf --kl-base vocab.kl
fi
expect_fail "--kl-divergence without a base" "kl-divergence-base" -m smol-f16.gguf --kl-divergence

finish
