#!/usr/bin/env bash
# Corrupt models that load fine: the real SmolLM2 model with one defect each
# (tests/tools/corrupt_gguf.py). Numbers that turn NaN/inf (a negative norm epsilon, a NaN
# weight scale, a NaN norm weight) must fail the decode with one line naming the problem, in
# run, bench, perplexity and serve (the old code exited 0 with empty or garbage text); a
# million metadata keys must load in seconds (100k took 41 s) and a duplicate among them must
# still be refused.
set -uo pipefail
cd "$(dirname "$0")/../.."
EDGEQ=${EDGEQ:-build/native/edgeq}
model=$(bash scripts/get-model.sh)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
corrupt() { python3 tests/tools/corrupt_gguf.py "$model" "$@"; }

# expect_fail NAME PATTERN CMD...: exit status 1 (not a signal) within 60 s, one stderr line
# matching PATTERN, nothing on stdout
expect_fail() {
  local name=$1 pat=$2; shift 2
  timeout 60 "$@" < /dev/null > "$tmp/out" 2> "$tmp/err"; local rc=$?
  if [ $rc -eq 1 ] && [ "$(grep -c . "$tmp/err")" -eq 1 ] && grep -qE "$pat" "$tmp/err" && [ ! -s "$tmp/out" ]; then ok "$name"
  else bad "$name" "rc=$rc stdout: $(head -c 100 "$tmp/out") stderr: $(head -c 300 "$tmp/err")"; fi
}
nan="not finite \(NaN or inf\)"

# --- a negative rms_norm epsilon: every activation is NaN from the first norm on
corrupt "$tmp/m.gguf" --set-f32 llama.attention.layer_norm_rms_epsilon=-1
expect_fail "run: negative norm epsilon" "m.gguf: the model's numbers are $nan in layer 0's attention input at position 0" \
  $EDGEQ run -m "$tmp/m.gguf" -p "Hello" -n 4 --temp 0
expect_fail "bench: negative norm epsilon" "decode failed: .*$nan" $EDGEQ bench -m "$tmp/m.gguf" -p 4 -n 4 -r 1
python3 -c "print('The quick brown fox jumps over the lazy dog. ' * 30)" > "$tmp/text.txt"
timeout 60 $EDGEQ perplexity -m "$tmp/m.gguf" -f "$tmp/text.txt" -c 64 > "$tmp/out" 2> "$tmp/err"; rc=$?
# (its progress goes to stderr too: one error line among them)
[ $rc -eq 1 ] && [ "$(grep -c '^edgeq:' "$tmp/err")" -eq 1 ] && grep -qE "^edgeq: .*$nan" "$tmp/err" && ! grep -qi "estimate" "$tmp/out" \
  && ok "perplexity: negative norm epsilon" || bad "perplexity" "rc=$rc stderr: $(head -c 300 "$tmp/err")"
# serve: an OpenAI error object, the reason in it, exit 1 when run directly
echo '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":4}' \
  | timeout 60 $EDGEQ serve -m "$tmp/m.gguf" > "$tmp/out" 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && python3 -c "
import json, sys
e = json.load(open(sys.argv[1]))['error']
assert e['type'] == 'server_error' and 'not finite (NaN or inf)' in e['message'], e" "$tmp/out" 2>/dev/null \
  && ok "serve: negative norm epsilon" || bad "serve" "rc=$rc stdout: $(head -c 300 "$tmp/out")"

# --- a NaN weight scale in a Q/K/V projection: the NaN would be laundered into finite garbage
# by the next matmul's activation quantization, so the logits alone would not show it
corrupt "$tmp/m.gguf" --nan-scale blk.0.attn_q.weight
expect_fail "run: NaN scale in blk.0.attn_q.weight" "m.gguf: the model's numbers are $nan in layer 0's attention at" \
  $EDGEQ run -m "$tmp/m.gguf" -p "Hello" -n 4 --temp 0
# --- a NaN in the final norm's weights
corrupt "$tmp/m.gguf" --nan-f32 "output_norm.weight[7]"
expect_fail "run: NaN in output_norm.weight" "m.gguf: the model's numbers are $nan in the output at position" \
  $EDGEQ run -m "$tmp/m.gguf" -p "Hello" -n 4 --temp 0
rm -f "$tmp/m.gguf"

# --- a million extra metadata keys (a 25 MB header): info lists them in seconds
if corrupt "$tmp/keys.gguf" --extra-keys 1000000; then
  start=$(date +%s.%N)
  timeout 60 $EDGEQ info -m "$tmp/keys.gguf" > "$tmp/out" 2> "$tmp/err"; rc=$?
  secs=$(python3 -c "import time; print(round(time.time() - $start, 2))")
  [ $rc -eq 0 ] && grep -qE "^  x\.0999999 +999999$" "$tmp/out" && grep -q "architecture:  llama" "$tmp/out" \
    && python3 -c "import sys; sys.exit(0 if $secs < 20 else 1)" \
    && ok "info: 1M metadata keys in $secs s" || bad "info: 1M metadata keys" "rc=$rc in $secs s: $(head -c 300 "$tmp/err")"
  o=$(timeout 60 $EDGEQ run -m "$tmp/keys.gguf" -p "The capital of France is" -n 8 --temp 0 2>/dev/null)
  r=$($EDGEQ run -m "$model" -p "The capital of France is" -n 8 --temp 0 2>/dev/null)
  [ -n "$o" ] && [ "$o" = "$r" ] && ok "run: 1M metadata keys, same text" || bad "run with 1M keys" "'$o' vs '$r'"
  rm -f "$tmp/keys.gguf"
else
  bad "corrupt_gguf.py --extra-keys failed"
fi
corrupt "$tmp/dup.gguf" --extra-keys 100000 --dup-key
expect_fail "info: duplicate among 100k keys" "dup.gguf: duplicate metadata key 'x.0000000'" $EDGEQ info -m "$tmp/dup.gguf"

# --- a 6000-byte metadata string: info shows its head cut between characters, marked "..."
corrupt "$tmp/long.gguf" --long-str x.long=3000
line=$($EDGEQ info -m "$tmp/long.gguf" 2>/dev/null | grep "^  x\.long ")
python3 - "$line" <<'PY' && ok "info: a long value shown in part, whole characters, '...'" || bad "info: long value" "$line"
import sys
v = sys.argv[1].split(None, 1)[1]
sys.exit(0 if v.endswith("...") and set(v[:-3]) == {"\u00e9"} and 90 <= len(v) - 3 <= 100 else 1)
PY
rm -f "$tmp/long.gguf"

echo "cli-corrupt: $pass passed, $fail failed"
[ $fail -eq 0 ]
