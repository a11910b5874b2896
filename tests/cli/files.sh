#!/usr/bin/env bash
# The CLI's file safety and output hygiene (issue #8), end to end on the real SmolLM2 model:
#   - outputs (quantize, convert, perplexity --save-logits, run --logits-out) go through an
#     exclusive temporary file renamed at the end: an input named like a temporary, a symlink
#     planted at a predictable name, a concurrent run, a full disk (ulimit -f) or a signal
#     never destroy a file or leave a partial one; stale temporaries of killed runs are removed
#   - the output is never an input under another name, nor a directory
#   - a failing stdout (/dev/full) fails every command with one line
#   - control characters from files (info metadata, error messages) and in generated text on a
#     terminal are escaped
#   - numeric options are range-checked
# EDGEQ (default build/native/edgeq) may name another binary, e.g. an older build to show
# that these checks fail there. Ends with "N passed, N failed". About half a minute.
set -uo pipefail
cd "$(dirname "$0")/../.."
EDGEQ=${EDGEQ:-build/native/edgeq}
case $EDGEQ in /*) ;; *) EDGEQ=$PWD/$EDGEQ;; esac
EQ_CACHE=${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}
model=$(bash scripts/get-model.sh)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
# check NAME CMD...: CMD (a command, a function, or eval '...') decides; $detail explains a failure
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name" "${detail:-}"; fi; detail=; }

# one_line_error RC_FILE ERR_FILE PATTERN: exit status 1..127 and exactly one stderr line matching
one_line_error() {
  local rc=$1 err=$2 pat=$3
  detail="rc=$rc stderr: $(head -c 400 "$err" | cat -v)"
  [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && [ "$(grep -c . "$err")" -eq 1 ] && grep -qE -- "$pat" "$err"
}
# no_temps DIR: no temporary file of ours (or the old ".tmp"/".part" names) left in DIR
no_temps() {
  local left; left=$(ls -A "$1" | grep -E '\.edgeq-.*\.tmp$|\.gguf\.tmp$|\.part$' | grep -v '^keep' | tr '\n' ' ')
  detail="left behind: $left"
  [ -z "$left" ]
}
same() { cmp -s "$1" "$2"; }
no_raw_controls() {  # no_raw_controls FILE: no ESC, BEL, CR, DEL or C1 CSI byte in FILE
  python3 -c 'import sys; b = open(sys.argv[1], "rb").read(); sys.exit(any(c in b for c in (b"\x1b", b"\x07", b"\r", b"\x7f", b"\xc2\x9b")))' "$1"
}
quant() { "$EDGEQ" quantize --allow-requantize "$@"; }   # the model is Q4_1 already (not for jobs: $! must be edgeq)

# ---------------------------------------------------------------- 1-2. temporaries
mkdir t1 && cd t1
cp "$model" x.gguf.tmp
quant x.gguf.tmp x.gguf Q4_0 > /dev/null 2> err; rc=$?
detail="rc=$rc $(tail -n 1 err)"
check "quantize: an input named OUT.tmp is neither overwritten nor removed" same x.gguf.tmp "$model"
check "quantize: ... and the output is made" eval '[ $rc -eq 0 ] && "$EDGEQ" info -m x.gguf > /dev/null 2>&1'
rm -f x.gguf.tmp
check "quantize: no temporary left" no_temps .
cd .. && rm -rf t1

mkdir t2 && cd t2
echo "precious" > victim.txt
ln -s victim.txt o.gguf.tmp
quant "$model" o.gguf Q4_0 > /dev/null 2>&1
check "quantize: a symlink at OUT.tmp is not followed (victim intact)" grep -qx precious victim.txt
check "quantize: the output is a regular file, not a link to the victim" eval '[ -f o.gguf ] && [ ! -L o.gguf ]'
check "quantize: the planted symlink is left alone" test -L o.gguf.tmp
ln -s victim.txt kl.bin.part
python3 -c "print('The quick brown fox jumps over the lazy dog. ' * 40)" > text.txt
"$EDGEQ" perplexity -m "$model" -f text.txt -c 32 --chunks 2 --save-logits kl.bin > /dev/null 2>&1
check "perplexity --save-logits: a symlink at F.part is not followed" grep -qx precious victim.txt
check "perplexity --save-logits: F is a regular file of saved logits" eval '[ -f kl.bin ] && [ ! -L kl.bin ] && [ "$(head -c 8 kl.bin)" = _logits_ ]'
cd .. && rm -rf t2

# ---------------------------------------------------------------- 3. input = output, directories
mkdir t3 && cd t3
cp "$model" a.gguf
quant a.gguf ./a.gguf Q4_0 > /dev/null 2> err; rc=$?
check "quantize a.gguf ./a.gguf: refused, one line" one_line_error $rc err "same file"
check "quantize a.gguf ./a.gguf: the input is intact" same a.gguf "$model"
ln -s a.gguf link.gguf; ln a.gguf hard.gguf
quant a.gguf link.gguf Q4_0 > /dev/null 2> err; rc=$?
check "quantize to a symlink to the input: refused" one_line_error $rc err "same file"
quant link.gguf hard.gguf Q4_0 > /dev/null 2> err; rc=$?
check "quantize to a hard link of the input: refused" one_line_error $rc err "same file"
check "... the input is intact" same a.gguf "$model"
mkdir empty
quant a.gguf empty Q4_0 > /dev/null 2> err; rc=$?
check "quantize to an existing empty directory: refused" one_line_error $rc err "is a directory"
check "... the directory is still there" test -d empty
"$EDGEQ" run -m a.gguf -p Hi -n 1 --logits-out ./a.gguf > /dev/null 2> err; rc=$?
check "run --logits-out onto the model: refused" one_line_error $rc err "same file"
check "... the model is intact" same a.gguf "$model"
python3 -c "print('The quick brown fox jumps over the lazy dog. ' * 40)" > text.txt
cp text.txt text.orig
"$EDGEQ" perplexity -m a.gguf -f text.txt -c 32 --chunks 2 --save-logits ./text.txt > /dev/null 2> err; rc=$?
check "perplexity --save-logits onto the text: refused" one_line_error $rc err "same file"
check "... the text is intact" same text.txt text.orig
"$EDGEQ" run -m a.gguf -p Hi -n 1 --logits-out /dev/null > /dev/null 2> err; rc=$?
detail="rc=$rc $(cat err)"
check "run --logits-out /dev/null: written to the device (no temporary in /dev)" eval '[ $rc -eq 0 ] && [ -c /dev/null ]'
cd .. && rm -rf t3

hf=$(ls -d "$EQ_CACHE"/convert/*/models/smollm2-tiny-360M-Instruct 2>/dev/null | head -n 1)
if [ -n "$hf" ] && [ -f "$hf/model.safetensors" ]; then
  mkdir t4 && cp -r "$hf" t4/hf && cd t4
  cp hf/model.safetensors st.orig; cp hf/config.json cfg.orig
  "$EDGEQ" convert hf hf/model.safetensors > /dev/null 2> err; rc=$?
  check "convert hf hf/model.safetensors: refused" one_line_error $rc err "same file|is the input"
  check "... the weights are intact" same hf/model.safetensors st.orig
  "$EDGEQ" convert hf ./hf/../hf/config.json > /dev/null 2> err; rc=$?
  check "convert hf hf/../hf/config.json: refused" one_line_error $rc err "same file|is the input"
  check "... config.json is intact" same hf/config.json cfg.orig
  mkdir out.gguf
  "$EDGEQ" convert hf out.gguf > /dev/null 2> err; rc=$?
  check "convert to an existing directory: refused" one_line_error $rc err "is a directory"
  check "... the directory is kept" test -d out.gguf
  "$EDGEQ" convert hf hf/model.gguf > /dev/null 2> err; rc=$?
  detail="rc=$rc $(cat err)"
  check "convert into the model folder itself (a new file): works" eval '[ $rc -eq 0 ] && [ -s hf/model.gguf ]'
  check "convert: no temporary left" no_temps hf
  cd .. && rm -rf t4
else
  echo "note: no converted-model folder under $EQ_CACHE/convert (tests/conformance/convert/run.sh makes it); convert checks skipped"
fi

# ---------------------------------------------------------------- 4. interrupted and full
mkdir t5 && cd t5
cp "$model" in.gguf
: > keep.gguf.tmp; : > .o.gguf.edgeq-not-ours.tmp   # look like temporaries, are not ours
# wait_temp: until the running quantize's temporary file exists (ours or the old o.gguf.tmp)
wait_temp() {
  for _ in $(seq 1000); do
    compgen -G '.o.gguf.edgeq-*-*-*.tmp' > /dev/null && return 0
    [ -e o.gguf.tmp ] && return 0
    sleep 0.01
  done
  return 1
}
for sig in INT TERM; do
  rm -f o.gguf
  # a terminal's foreground job gets SIGINT; a background job of a non-interactive shell (as in
  # CI) inherits it ignored, which edgeq respects: reset both to the default first
  python3 -c 'import os, signal, sys
for s in (signal.SIGINT, signal.SIGTERM): signal.signal(s, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$EDGEQ" quantize --allow-requantize -t 1 in.gguf o.gguf Q4_K_M > /dev/null 2>&1 & pid=$!
  if wait_temp; then
    kill -STOP $pid; kill -$sig $pid; kill -CONT $pid
    wait $pid; rc=$?
    want=$(( 128 + $(kill -l $sig) ))
    detail="rc=$rc (want $want), files: $(ls -A | tr '\n' ' ')"
    check "quantize interrupted by SIG$sig: dies of the signal, temporary removed, no output" \
      eval '[ $rc -eq $want ] && [ ! -e o.gguf ] && [ -z "$(ls -A | grep -E "^\.o\.gguf\.edgeq-.*-[0-9a-f]{8}\.tmp$|^o\.gguf\.tmp$")" ]'
  else
    wait $pid; bad "quantize: no temporary file seen (SIG$sig)"
  fi
done
# killed outright: the temporary stays, and the next run to that output removes it
"$EDGEQ" quantize --allow-requantize -t 1 in.gguf o.gguf Q4_K_M > /dev/null 2>&1 & pid=$!
if wait_temp; then
  kill -KILL $pid; wait $pid 2>/dev/null
  stale=$(ls -A | grep -E '^\.o\.gguf\.edgeq-|^o\.gguf\.tmp$' | grep -v not-ours)
  quant in.gguf o.gguf Q4_0 > /dev/null 2>&1; rc=$?
  detail="rc=$rc stale '$stale' files now: $(ls -A | tr '\n' ' ')"
  check "a killed run's temporary is removed by the next run to the same output" \
    eval '[ $rc -eq 0 ] && [ -n "$stale" ] && [ ! -e "$stale" ] && [ -s o.gguf ]'
else
  wait $pid; bad "quantize: no temporary file seen (KILL)"
fi
# a run in progress is not disturbed by another run to the same output
rm -f o.gguf
"$EDGEQ" quantize --allow-requantize -t 1 in.gguf o.gguf Q4_0 > /dev/null 2>&1 & pid=$!
if wait_temp; then
  kill -STOP $pid
  theirs=$(ls -A | grep -E '^\.o\.gguf\.edgeq-|^o\.gguf\.tmp$' | grep -v not-ours)
  quant in.gguf o.gguf Q4_0 > /dev/null 2>&1; rc2=$?
  there=0; [ -e "$theirs" ] && there=1
  kill -CONT $pid; wait $pid; rc1=$?
  cp o.gguf o1.gguf
  quant in.gguf ref.gguf Q4_0 > /dev/null 2>&1
  detail="rc $rc1/$rc2, other's temporary kept: $there"
  check "two runs to one output: the paused one's temporary is kept, both succeed, same bytes" \
    eval '[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ $there -eq 1 ] && cmp -s o1.gguf ref.gguf'
else
  wait $pid; bad "quantize: no temporary file seen (concurrent)"
fi
check "files that only look like temporaries are left alone" eval '[ -e keep.gguf.tmp ] && [ -e .o.gguf.edgeq-not-ours.tmp ]'
rm -f keep.gguf.tmp .o.gguf.edgeq-not-ours.tmp
check "no temporaries left" no_temps .

# a full disk: ulimit -f (KiB) makes writes past the limit fail
(ulimit -f 100; exec "$EDGEQ" run -m in.gguf -p Hi -n 1 --logits-out lg.bin > /dev/null 2> err); rc=$?
check "run --logits-out on a full disk: one-line error" one_line_error $rc err "lg.bin.*(write failed|too large)"
check "... and no truncated file" test ! -e lg.bin
python3 -c "print('The quick brown fox jumps over the lazy dog. ' * 40)" > text.txt
(ulimit -f 50; exec "$EDGEQ" perplexity -m in.gguf -f text.txt -c 32 --chunks 2 --save-logits kl.bin > /dev/null 2> err); rc=$?
detail="rc=$rc $(tail -n 1 err)"
check "perplexity --save-logits on a full disk: fails, no partial file" \
  eval '[ $rc -eq 1 ] && grep -q "kl.bin.*write failed" err && [ ! -e kl.bin ] && [ ! -e kl.bin.part ]'
(ulimit -f 10000; exec "$EDGEQ" quantize --allow-requantize in.gguf full.gguf Q4_0 > /dev/null 2> err); rc=$?
detail="rc=$rc $(tail -n 1 err)"
check "quantize on a full disk: fails with the reason, nothing left" \
  eval '[ $rc -eq 1 ] && tail -n 1 err | grep -q "full.gguf.*write failed" && [ ! -e full.gguf ]'
check "no temporaries left" no_temps .
cd .. && rm -rf t5

# ---------------------------------------------------------------- 5. stdout write errors
printf '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":4}' > req.json
python3 -c "print('The quick brown fox jumps over the lazy dog. ' * 40)" > text.txt
full_fails() {  # full_fails NAME CMD...: with stdout on /dev/full, exit 1 and "write error"
  local name=$1; shift
  "$@" > /dev/full 2> err; local rc=$?
  detail="rc=$rc stderr: $(tail -n 2 err)"
  check "stdout full: $name" eval '[ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q "write error" err'
}
full_fails "run" "$EDGEQ" run -m "$model" -p Hi -n 5
full_fails "tokenize" "$EDGEQ" tokenize -m "$model" -p "Hello world"
full_fails "info" "$EDGEQ" info -m "$model"
full_fails "bench" "$EDGEQ" bench -m "$model" -p 8 -n 2 -r 1
full_fails "serve" "$EDGEQ" serve -m "$model" < req.json
full_fails "perplexity" "$EDGEQ" perplexity -m "$model" -f text.txt -c 32 --chunks 2
full_fails "--version" "$EDGEQ" --version
full_fails "run --help" "$EDGEQ" run --help
printf 'Hi\n\n' > chat.txt
full_fails "chat" "$EDGEQ" chat -m "$model" -n 4 < chat.txt
full_fails "quantize" "$EDGEQ" quantize --allow-requantize "$model" q.gguf Q4_0
check "quantize with a failing stdout leaves no output" eval '[ ! -e q.gguf ] && [ -z "$(ls -A | grep -e edgeq- -e q.gguf)" ]'

# ---------------------------------------------------------------- 13. control characters
python3 - "$model" <<'PY'
import sys
src = open(sys.argv[1], "rb").read()
def patch(out, pairs):
    b = bytearray(src)
    for old, new in pairs:
        assert len(old) == len(new) and b.count(old) == 1, old
        i = b.find(old); b[i:i + len(new)] = new
    open(out, "wb").write(b)
name = b"Smollm2 135M 8k Lc100K Mix1 Ep2"
evil = b"\x1b]0;PWNED\x07\x1b[31mRED\r\n\xc2\x9b2J\x7fxxxxxx"
# the token " Paris" (greedy's first) becomes ESC[31mX: U+011B is byte 0x1b in GPT-2's byte map
tok = (7).to_bytes(8, "little") + "\u0120Paris".encode()
etok = (7).to_bytes(8, "little") + "\u011b[31mX".encode()
patch("crafted.gguf", [(name, evil), (tok, etok)])
arch = (5).to_bytes(8, "little") + b"llama"
patch("badarch.gguf", [(arch, (5).to_bytes(8, "little") + b"\x1b[2J\x07")])
PY
"$EDGEQ" info -m crafted.gguf > info.txt 2> err; rc=$?
detail="rc=$rc $(grep general.name info.txt | cat -v)"
check "info: no raw control characters from the metadata reach the terminal" eval '[ $rc -eq 0 ] && no_raw_controls info.txt'
check "info: they are shown escaped" grep -qF 'general.name                             \x1b]0;PWNED\x07\x1b[31mRED\r\n\u009b2J\x7fxxxxxx' info.txt
"$EDGEQ" run -m badarch.gguf -p Hi > /dev/null 2> err; rc=$?
check "error message quoting the file: one line, escaped" one_line_error $rc err "unsupported architecture '\\\\x1b\[2J\\\\x07'"
check "... with no raw control character" no_raw_controls err
"$EDGEQ" run -m "$tmp/a"$'\n\x1b[31m'"b.gguf" -p Hi > /dev/null 2> err; rc=$?
check "error message naming a path with control characters: one line" one_line_error $rc err 'a\\n\\x1b\[31mb.gguf'
# generated text: raw bytes into a pipe (as llama.cpp prints them), escaped on a terminal
"$EDGEQ" run -m crafted.gguf -p "The capital of France is" -n 1 --temp 0 2>/dev/null > piped.txt
check "run into a pipe: the model's bytes as they are" grep -q $'^\x1b\\[31mX' piped.txt
verdict=$(python3 - "$EDGEQ" <<'PY'
import os, pty, select, subprocess, sys
m, s = pty.openpty()
p = subprocess.Popen([sys.argv[1], "run", "-m", "crafted.gguf", "-p", "The capital of France is", "-n", "1", "--temp", "0"],
                     stdout=s, stderr=subprocess.DEVNULL)
os.close(s)
out = b""
while True:
    r, _, _ = select.select([m], [], [], 30)
    if not r: break
    try: chunk = os.read(m, 4096)
    except OSError: break
    if not chunk: break
    out += chunk
p.wait()
print("raw" if b"\x1b" in out else "escaped" if b"\\x1b[31mX" in out else "neither: " + repr(out))
PY
)
detail="the terminal got: $verdict"
check "run on a terminal: control characters in generated text are escaped" test "$verdict" = escaped

# ---------------------------------------------------------------- 14. numeric options
opt_refused() {  # opt_refused OPTION VALUE: rc 2, one line naming the option
  "$EDGEQ" run -m "$model" -p Hi -n 1 "$1" "$2" > /dev/null 2> err; rc=$?
  opt=$1
  detail="rc=$rc $(cat err)"
  check "run $1 $2: refused" eval '[ $rc -eq 2 ] && [ $(grep -c . err) -eq 1 ] && grep -qF -- "option $opt:" err'
}
opt_refused --top-p 2
opt_refused --top-p -1
opt_refused --temp -1
opt_refused --temp inf
opt_refused --temp nan
opt_refused --min-p 5
opt_refused --min-p -0.5
opt_refused --repeat-penalty 0
opt_refused --repeat-penalty -1
opt_refused --seed -2
opt_refused --seed x1
opt_refused --seed 99999999999999999999
opt_refused --top-k -1
opt_refused --repeat-last-n -1
opt_refused -n -2
opt_refused -c -1
opt_refused -b 0
"$EDGEQ" run -m "$model" -p Hi -n 1 --temp 0 --top-p 1 --min-p 0 --top-k 0 --repeat-penalty 1 --seed 18446744073709551615 > /dev/null 2> err; rc=$?
detail="rc=$rc $(cat err)"
check "run: the range ends are accepted" test $rc -eq 0

echo "cli-files: $pass passed, $fail failed"
[ $fail -eq 0 ]
