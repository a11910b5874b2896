#!/usr/bin/env bash
# The edgeq CLI end to end on the real SmolLM2 model: each command works, and bad input of
# every kind gives exit status != 0 with one line naming the file and the problem (no crash).
set -uo pipefail
cd "$(dirname "$0")/../.."
EDGEQ=${EDGEQ:-build/native/edgeq}
model=$(bash scripts/get-model.sh)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }

# expect_fail NAME PATTERN CMD...: non-zero exit (not a signal), one stderr line matching PATTERN
expect_fail() {
  local name=$1 pat=$2; shift 2
  "$@" > "$tmp/out" 2> "$tmp/err"; local rc=$?
  local lines; lines=$(grep -c . "$tmp/err")
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$lines" -eq 1 ] && grep -qE "$pat" "$tmp/err"; then ok "$name"
  else bad "$name" "rc=$rc stderr: $(head -c 300 "$tmp/err")"; fi
}

# --- the commands work
out=$($EDGEQ run -m "$model" -p "The capital of France is" -n 16 --temp 0 2>"$tmp/err"); rc=$?
[ $rc -eq 0 ] && [ -n "$out" ] && ! grep -q "capital of France" <<<"$out" && ok "run: greedy text, no prompt echo" || bad "run" "rc=$rc out=$out $(cat "$tmp/err")"
out2=$($EDGEQ run -m "$model" -p "The capital of France is" -n 16 --temp 0 -t 1 2>/dev/null)
[ "$out" = "$out2" ] && ok "run: same text with 1 thread" || bad "run: thread count changed the text" "'$out' vs '$out2'"
grep -q "t/s" "$tmp/err" && ok "run: timings on stderr" || bad "run: timings"
s1=$($EDGEQ run -m "$model" -p "Once upon a time" -n 24 --temp 0.9 --seed 7 2>/dev/null)
s2=$($EDGEQ run -m "$model" -p "Once upon a time" -n 24 --temp 0.9 --seed 7 -t 1 2>/dev/null)
s3=$($EDGEQ run -m "$model" -p "Once upon a time" -n 24 --temp 0.9 --seed 8 2>/dev/null)
[ "$s1" = "$s2" ] && ok "run: seeded sampling reproducible across thread counts" || bad "seeded" "'$s1' vs '$s2'"
[ "$s1" != "$s3" ] && ok "run: another seed, another text" || bad "seed ignored"
# no seed (or llama.cpp's --seed -1): a fresh random seed each run, as llama.cpp's tools do
r1=$($EDGEQ run -m "$model" -p "Once upon a time" -n 24 --temp 0.9 2>/dev/null)
r2=$($EDGEQ run -m "$model" -p "Once upon a time" -n 24 --temp 0.9 2>/dev/null)
r3=$($EDGEQ run -m "$model" -p "Once upon a time" -n 24 --temp 0.9 --seed -1 2>/dev/null)
r4=$($EDGEQ run -m "$model" -p "Once upon a time" -n 24 --temp 0.9 --seed -1 2>/dev/null)
[ -n "$r1" ] && [ "$r1" != "$r2" ] && [ "$r3" != "$r4" ] && [ "$r1" != "$s1" ] && ok "run: no seed / --seed -1 draw a fresh seed per run" \
  || bad "run: unseeded sampling repeats itself" "'$r1' / '$r2' / '$r3' / '$r4'"
ids=$($EDGEQ tokenize -m "$model" -p "Hello world" 2>&1)
[[ "$ids" =~ ^[0-9]+( [0-9]+)*$ ]] && ok "tokenize: ids on one line ($ids)" || bad "tokenize" "$ids"
$EDGEQ info -m "$model" > "$tmp/info" 2>&1 && grep -q "architecture:  llama" "$tmp/info" && grep -q "Q4_1" "$tmp/info" \
  && ok "info" || bad "info" "$(head -5 "$tmp/info")"
$EDGEQ bench -m "$model" -p 32 -n 8 -r 1 > "$tmp/bench" 2>&1 && grep -qE '^pp32 +[0-9.]+' "$tmp/bench" && grep -qE '^tg8 +[0-9.]+' "$tmp/bench" \
  && ok "bench" || bad "bench" "$(cat "$tmp/bench")"
$EDGEQ bench -m "$model" -p 16 -n 4 -r 1 --json 2>/dev/null | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['pp']['tps']>0 and d['tg']['tps']>0" \
  && ok "bench --json" || bad "bench --json"
$EDGEQ bench -m "$model" -p 8 -n 4 -d 20 -r 1 > "$tmp/bench" 2>&1 && grep -qE '^pp8 +[0-9.]+ .* @ d20$' "$tmp/bench" \
  && grep -qE '^tg4 +[0-9.]+ .* @ d20$' "$tmp/bench" && ok "bench -d" || bad "bench -d" "$(cat "$tmp/bench")"
$EDGEQ bench -m "$model" -p 0 -n 4 -d 20 -r 1 --json 2>/dev/null \
  | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['depth']==20 and d['tg']['tps']>0" \
  && ok "bench -d --json" || bad "bench -d --json"
printf 'What is the capital of France?\n\n' | $EDGEQ chat -m "$model" -n 48 --temp 0 > "$tmp/chat" 2>/dev/null
grep -qi "paris" "$tmp/chat" && ok "chat: answers sensibly ($(head -c 80 "$tmp/chat" | tr '\n' ' '))" || bad "chat" "$(head -c 300 "$tmp/chat")"
# multi-turn: the second answer draws on the first turn (and the same question alone does not)
printf 'Remember the number 42.\nWhich number did I ask you to remember?\n\n' | $EDGEQ chat -m "$model" -n 40 --temp 0 > "$tmp/chat2" 2>/dev/null
printf 'Which number did I ask you to remember?\n\n' | $EDGEQ chat -m "$model" -n 40 --temp 0 > "$tmp/chat3" 2>/dev/null
turns=$(grep -c . "$tmp/chat2")
[ "$turns" -ge 2 ] && tail -n 1 "$tmp/chat2" | grep -q 42 && ! grep -q 42 "$tmp/chat3" && ok "chat: multi-turn keeps the conversation" \
  || bad "chat multi-turn" "$(head -c 300 "$tmp/chat2")"

# split files (llama.cpp's gguf-split layout) load from their first part, same text
if python3 tests/tools/split_gguf.py "$model" "$tmp/split" --max-tensors 100 >/dev/null 2>&1; then
  o=$($EDGEQ run -m "$tmp/split-00001-of-00003.gguf" -p "The capital of France is" -n 16 --temp 0 2>/dev/null)
  [ "$o" = "$out" ] && ok "split model: same text as the single file" || bad "split model" "'$o' vs '$out'"
  rm "$tmp/split-00003-of-00003.gguf"
  expect_fail "split model with a part missing" "split-00003-of-00003.gguf.*cannot open" $EDGEQ run -m "$tmp/split-00001-of-00003.gguf" -p hi
else
  bad "split_gguf.py failed (gguf-py from the oracle set-up missing?)"
fi

# --- bad input
expect_fail "missing file" "nope.gguf.*cannot open" $EDGEQ run -m "$tmp/nope.gguf" -p hi
echo "just some text, not a model" > "$tmp/text.gguf"
expect_fail "not a GGUF" "text.gguf.*not a GGUF" $EDGEQ run -m "$tmp/text.gguf" -p hi
: > "$tmp/empty.gguf"
expect_fail "empty file" "empty.gguf.*empty" $EDGEQ run -m "$tmp/empty.gguf" -p hi
head -c 100 "$model" > "$tmp/t1.gguf"
expect_fail "truncated in header" "t1.gguf.*truncated" $EDGEQ run -m "$tmp/t1.gguf" -p hi
head -c 50000000 "$model" > "$tmp/t2.gguf"
expect_fail "truncated in tensor data" "t2.gguf.*(truncated|past the end)" $EDGEQ run -m "$tmp/t2.gguf" -p hi
python3 - "$model" "$tmp" <<'PY'
import sys
src, tmp = sys.argv[1], sys.argv[2]
head = bytearray(open(src, "rb").read(4 << 20))
def patch(name, old, new, count=1):
    b = bytearray(head); i = b.find(old)
    assert i >= 0, old
    b[i:i+len(new)] = new
    with open(f"{tmp}/{name}", "wb") as f:
        f.write(b)
        with open(src, "rb") as s:
            s.seek(len(head)); f.write(s.read())
patch("arch.gguf", b"\x05\x00\x00\x00\x00\x00\x00\x00llama", b"\x05\x00\x00\x00\x00\x00\x00\x00llamb")
patch("tensor.gguf", b"output_norm.weight", b"output_norX.weight")
patch("version.gguf", b"GGUF\x03\x00\x00\x00", b"GGUF\x07\x00\x00\x00")
import struct
i = head.find(b"blk.0.attn_q.weight")
b = bytearray(head); struct.pack_into("<I", b, i + 19 + 4 + 16, 99)   # tensor type -> 99
open(f"{tmp}/ttype.gguf", "wb").write(bytes(b) + open(src, "rb").read()[len(head):])
b = bytearray(head); struct.pack_into("<Q", b, 8, 1 << 50)              # tensor count
open(f"{tmp}/count.gguf", "wb").write(bytes(b))
b = bytearray(head); struct.pack_into("<Q", b, i + 19 + 4, 1 << 39)    # absurd dimension
open(f"{tmp}/dim.gguf", "wb").write(bytes(b) + open(src, "rb").read()[len(head):])
PY
expect_fail "unknown architecture" "arch.gguf.*unsupported architecture 'llamb'" $EDGEQ run -m "$tmp/arch.gguf" -p hi
expect_fail "missing tensor" "tensor.gguf.*missing tensor 'output_norm.weight'" $EDGEQ run -m "$tmp/tensor.gguf" -p hi
expect_fail "unknown version" "version.gguf.*version 7" $EDGEQ run -m "$tmp/version.gguf" -p hi
expect_fail "unknown tensor type" "ttype.gguf.*type 99" $EDGEQ run -m "$tmp/ttype.gguf" -p hi
expect_fail "absurd tensor count" "count.gguf.*absurd tensor count" $EDGEQ info -m "$tmp/count.gguf"
expect_fail "absurd dimension" "dim.gguf.*(absurd|past the end|shape)" $EDGEQ run -m "$tmp/dim.gguf" -p hi
long=$(python3 -c "print('word ' * 400)")
expect_fail "prompt longer than context" "prompt is [0-9]+ tokens, the context only 64" $EDGEQ run -m "$model" -c 64 -p "$long"
expect_fail "unknown option" "unknown option '--bogus'" $EDGEQ run -m "$model" -p hi --bogus
expect_fail "bad number" "option -n: 'many'" $EDGEQ run -m "$model" -p hi -n many
expect_fail "unknown command" "unknown command 'fly'" $EDGEQ fly
expect_fail "no model" "no model given" $EDGEQ run -p hi

echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
