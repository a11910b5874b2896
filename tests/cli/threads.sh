#!/usr/bin/env bash
# Thread counts on the real SmolLM2 model: the default follows the CPUs this process may use
# (taskset), more threads than CPUs and a busy machine degrade gracefully instead of collapsing
# (the old pool: 3.6 t/s under `taskset -c 1` against 100 with -t 1, -t 8 on 2 CPUs 0.5 t/s,
# -t 1024 never finished), the text never depends on the thread count, and absurd counts are
# refused by every command with one line. Speed checks compare runs made under the same
# conditions, best of two, with loose bounds (2x): they catch a collapse (10x and more), not noise.
set -uo pipefail
cd "$(dirname "$0")/../.."
EDGEQ=${EDGEQ:-build/native/edgeq}
model=$(bash scripts/get-model.sh)
tmp=$(mktemp -d)
hogs=()
cleanup() { for h in "${hogs[@]}"; do kill "$h" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
cores=$(nproc)   # the CPUs this process may use (nproc honours the affinity mask)

# bench ARGS...: "THREADS TG_TPS" from one short bench --json (0 0 on failure or timeout),
# run under $pre (e.g. taskset) when set
pre=
bench() {
  timeout 60 $pre $EDGEQ bench -m "$model" -p 0 -n 24 -r 1 --json "$@" 2>/dev/null \
    | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['threads'], d['tg']['tps'])" 2>/dev/null || echo "0 0"
}
# compare NAME FACTOR "ARGS A" "ARGS B": generation speed with A >= with B / FACTOR, each the
# best of two runs made in turns (noise from other load only ever slows a run down)
compare() {
  local name=$1 factor=$2 a=0 b=0 x
  for _ in 1 2; do
    x=$(bench $3 | cut -d' ' -f2); a=$(python3 -c "print(max($a, $x))")
    x=$(bench $4 | cut -d' ' -f2); b=$(python3 -c "print(max($b, $x))")
  done
  if python3 -c "import sys; sys.exit(0 if $a >= $b / $factor else 1)"; then ok "$name ($a against $b t/s)"
  else bad "$name" "$a t/s is under 1/$factor of $b t/s"; fi
}

# --- the default thread count is the CPUs we may use, not the CPUs the machine has
if command -v taskset >/dev/null && taskset -c 0 true 2>/dev/null; then
  pre="taskset -c 0"
  read -r th _ <<<"$(bench)"
  [ "$th" = 1 ] && ok "taskset -c 0: the default is 1 thread" || bad "taskset -c 0: default threads" "got '$th'"
  compare "taskset -c 0: default threads as fast as -t 1" 2 "" "-t 1"
  pre=
else
  bad "taskset missing (util-linux)"
fi
read -r th _ <<<"$(bench)"
[ "$th" -ge 1 ] && [ "$th" -le "$cores" ] && ok "default threads: $th (nproc $cores)" || bad "default threads" "got '$th', nproc $cores"

# --- more threads than CPUs: the pool runs one share per CPU, the rest is not waiting
compare "-t $((4 * cores)) on $cores CPUs against -t $cores" 2 "-t $((4 * cores))" "-t $cores"
start=$SECONDS
read -r th tps <<<"$(bench -t 512)"
[ "$th" -ge 1 ] && python3 -c "import sys; sys.exit(0 if $tps > 0 else 1)" \
  && ok "-t 512 (the maximum) runs, in $((SECONDS - start)) s" || bad "-t 512" "threads=$th tg=$tps"

# --- a busy machine: as many CPU hogs as CPUs; the old pool's spinning caller then waited
# whole time slices for descheduled workers (2.5 t/s against 30 with -t 1)
for _ in $(seq "$cores"); do (while :; do :; done) & hogs+=($!); done
sleep 0.2
compare "busy machine: -t $cores against -t 1" 3 "-t $cores" "-t 1"
compare "busy machine: -t $((2 * cores)) against -t $cores" 2 "-t $((2 * cores))" "-t $cores"
for h in "${hogs[@]}"; do kill "$h" 2>/dev/null; done; hogs=()

# --- the text does not depend on the thread count
t1=$($EDGEQ run -m "$model" -p "The capital of France is" -n 12 --temp 0 -t 1 2>/dev/null)
t3=$($EDGEQ run -m "$model" -p "The capital of France is" -n 12 --temp 0 -t 3 2>/dev/null)
t9=$($EDGEQ run -m "$model" -p "The capital of France is" -n 12 --temp 0 -t 9 2>/dev/null)
[ -n "$t1" ] && [ "$t1" = "$t3" ] && [ "$t1" = "$t9" ] && ok "same text with -t 1, 3 and 9" || bad "text depends on threads" "'$t1' '$t3' '$t9'"

# --- absurd counts: every command that takes -t refuses them with one line, at once
# refuse NAME PATTERN CMD...: exit 2 within 20 s, one stderr line matching PATTERN
refuse() {
  local name=$1 pat=$2; shift 2
  timeout 20 "$@" < /dev/null > "$tmp/out" 2> "$tmp/err"; local rc=$?
  if [ $rc -eq 2 ] && [ "$(grep -c . "$tmp/err")" -eq 1 ] && grep -qE "$pat" "$tmp/err"; then ok "$name"
  else bad "$name" "rc=$rc stderr: $(head -c 300 "$tmp/err")"; fi
}
too_many="1024 threads are too many \(at most 512\)"
refuse "run -t 1024" "option -t: $too_many" $EDGEQ run -m "$model" -p hi -n 2 -t 1024
refuse "run --threads 100000" "option --threads: 100000 threads are too many" $EDGEQ run -m "$model" -p hi --threads 100000
refuse "run -t 99999999999999999999" "99999999999999999999 threads are too many" $EDGEQ run -m "$model" -p hi -t 99999999999999999999
refuse "run -t 0" "option -t: '0' is not a thread count \(1 to 512\)" $EDGEQ run -m "$model" -p hi -t 0
refuse "run -t two" "option -t: 'two' is not a thread count" $EDGEQ run -m "$model" -p hi -t two
refuse "chat -t 1024" "$too_many" $EDGEQ chat -m "$model" -t 1024
refuse "bench -t 1024" "$too_many" $EDGEQ bench -m "$model" -p 1 -n 1 -t 1024
refuse "perplexity -t 1024" "$too_many" $EDGEQ perplexity -m "$model" -f /dev/null -t 1024
refuse "quantize -t 1024" "quantize: $too_many" $EDGEQ quantize -t 1024 "$model" "$tmp/q.gguf" Q4_0
refuse "quantize THREADS 1024" "quantize: $too_many" $EDGEQ quantize "$model" "$tmp/q.gguf" Q4_0 1024
# serve answers every failure with a JSON error on stdout and logs the reason on stderr
timeout 20 $EDGEQ serve -m "$model" -t 1024 < /dev/null > "$tmp/out" 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -qE "$too_many" "$tmp/err" && grep -q '"error"' "$tmp/out" && ok "serve -t 1024" \
  || bad "serve -t 1024" "rc=$rc stderr: $(head -c 300 "$tmp/err") stdout: $(head -c 200 "$tmp/out")"

echo "cli-threads: $pass passed, $fail failed"
[ $fail -eq 0 ]
