#!/usr/bin/env bash
# tests/conformance/convert/run.sh — `edgeq convert` against llama.cpp's convert_hf_to_gguf.py.
#
# 1. Random-weight Hugging Face folders (tests/tools/make_hf_model.py: llama/SmolLM2 with GPT-2
#    BPE, llama 3 sharded with llama3 rope, qwen2, phi3 with tokenizer.model + LongRoPE), the
#    same bytes on every machine (numpy and gguf-py only, no torch).
# 2. Each converted by edgeq for --outtype f32 f16 bf16 q8_0, and the card-* folders (the
#    SmolLM2 folder plus a README.md each) at f16, against the script's output for the same
#    folder. For a card the script cannot read (it stops), the reference is its output for
#    ref-cards/card-* (no README.md, or the card minus what edgeq skips), and edgeq must warn
#    about the card. Two modes:
#    - recorded (the default on a machine without the script's venv): reference.txt holds the
#      SHA-256 and size of each of the script's outputs, and of the folders they came from;
#      edgeq's file must have that hash. Nothing else to install.
#    - live (EQ_LIVE_CONVERT=1, and the default when the venv is already in the cache, as on CI
#      machines that keep theirs, even from older REQS): runs the script (its Python needs from PyPI in a venv under
#      $EQ_CACHE, torch included: ~5.6 GB the first time) and wants byte-identical files (else
#      compare.py names the differing metadata and tensors); the script's outputs must also
#      still have the recorded hashes, or reference.txt is stale.
#    EQ_LIVE_CONVERT=0 forces the recorded mode; EQ_LIVE_CONVERT=record runs the script and
#    rewrites reference.txt (after changing make_hf_model.py, the vocab files or llama.cpp).
# 3. Round trip: greedy text of `edgeq run` == llama.cpp's (llama_oracle generate) on our file.
# 4. Bad input (truncated, malformed, hostile, mismatched, unsupported): non-zero exit, one
#    line naming the culprit, no output file left behind.
#
# Installs idempotently under $EQ_CACHE (default ~/.cache/edgeq): the oracle
# (tests/oracle/setup.sh); live mode also the full llama.cpp source (from node-llama-cpp's
# bundle) and the venv, and caches the script's outputs by the hash of its inputs.
# Env: EDGEQ (binary, default build/native/edgeq), EQ_LIVE_CONVERT (above).
# Prints "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
cd "$REPO"
EQ_CACHE="${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}"
EDGEQ="${EDGEQ:-$REPO/build/native/edgeq}"
[[ "$EDGEQ" = /* ]] || EDGEQ="$REPO/$EDGEQ"
RECORD="$HERE/reference.txt"
log() { echo "convert/run.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -x "$EDGEQ" ]] || die "no edgeq binary at $EDGEQ (build first, or set EDGEQ)"
bash tests/oracle/setup.sh >&2 || die "oracle set-up failed"
# shellcheck disable=SC1091
source "$EQ_CACHE/oracle/env.sh"
export PYTHONPATH="$EQ_GGUF_PY${PYTHONPATH:+:$PYTHONPATH}"

# ---------------------------------------------------------------- mode
FULL="$EQ_CACHE/oracle/llama.cpp-full"
VENV="$EQ_CACHE/convert-venv"
REQS="numpy==2.4.6 torch==2.15.0 safetensors==0.8.0 sentencepiece==0.2.3 transformers==5.23.0 tokenizers==0.23.3 protobuf==7.36.2 pyyaml"
venv_ready() { [[ "$(cat "$VENV/.eq-stamp" 2>/dev/null)" == "$REQS" && -x "$VENV/bin/python" ]]; }
case "${EQ_LIVE_CONVERT:-auto}" in
    1|live) MODE=live ;;
    0|recorded) MODE=recorded ;;
    record) MODE=record ;;
    # a venv from an earlier run means this machine runs the script (CI keeps its cache); it
    # is brought up to date below when REQS changed
    auto) if [[ -d "$VENV" ]]; then MODE=live; else MODE=recorded; fi ;;
    *) die "EQ_LIVE_CONVERT=$EQ_LIVE_CONVERT: expected 1, 0 or record" ;;
esac
log "mode: $MODE (EQ_LIVE_CONVERT=${EQ_LIVE_CONVERT:-unset}; 1: run convert_hf_to_gguf.py, 0: recorded hashes, record: rewrite $RECORD)"

if [[ $MODE != recorded ]]; then
    if [[ ! -f "$FULL/convert_hf_to_gguf.py" ]]; then
        BUNDLE="$EQ_CACHE/oracle/node_modules/node-llama-cpp/llama/gitRelease.bundle"
        log "cloning the full llama.cpp source from $BUNDLE"
        rm -rf "$FULL"
        git clone -q "$BUNDLE" "$FULL" || die "git clone of $BUNDLE failed"
    fi
    if ! venv_ready; then
        log "installing the converter's Python needs into $VENV (first time: several GB) ..."
        python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
        "$VENV/bin/pip" install -q --upgrade pip >&2 || die "pip upgrade failed"
        # shellcheck disable=SC2086
        "$VENV/bin/pip" install -q $REQS >&2 || die "pip install failed"
        echo "$REQS" > "$VENV/.eq-stamp"
    fi
    export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
fi

# ---------------------------------------------------------------- the folders
VOCABS=(gpt-2 llama-bpe qwen2 phi-3)
KEY=$( (cat tests/tools/make_hf_model.py; for v in "${VOCABS[@]}"; do sha256sum < "$EQ_VOCAB_DIR/ggml-vocab-$v.gguf"; done) \
       | sha256sum | cut -c1-16)
WORK="$EQ_CACHE/convert/$KEY"
MODELS="$WORK/models"
if [[ ! -f "$MODELS/.done" ]]; then
    rm -rf "$EQ_CACHE/convert"; mkdir -p "$MODELS"
    log "writing random-weight HF folders into $MODELS"
    python3 tests/tools/make_hf_model.py "$MODELS" --vocab-dir "$EQ_VOCAB_DIR" --cards || die "make_hf_model.py failed"
    # what reference.txt's hashes were computed from: every file, by path
    (cd "$MODELS" && find . -type f ! -name .done -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64) \
        > "$WORK/inputs.sha256"
    touch "$MODELS/.done"
fi
INPUTS=$(cat "$WORK/inputs.sha256")
NAMES=(smollm2-tiny-360M-Instruct llama3-tiny qwen2-tiny-0.5B phi3-tiny-mini-128k)
TYPES=(f32 f16 bf16 q8_0)
LLAMA_REV=$(git -C "$FULL" rev-parse HEAD 2>/dev/null || echo "?")
REF="$WORK/ref-$( (echo "$LLAMA_REV"; echo "$REQS") | sha256sum | cut -c1-16)"   # live mode's outputs
mkdir -p "$REF"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "PASS $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# reference.txt: "inputs HASH" and "SHA256 SIZE NAME" lines (and comments)
declare -A REC_HASH=()
REC_INPUTS=""
if [[ -f "$RECORD" ]]; then
    while read -r a b c; do
        case $a in '#'*|'') ;; inputs) REC_INPUTS=$b ;; llama.cpp|python) ;; *) REC_HASH[$c]="$a $b" ;; esac
    done < "$RECORD"
fi
NEW_RECORD="$TMP/reference.txt"
if [[ $MODE == recorded && "$REC_INPUTS" != "$INPUTS" ]]; then
    bad "the test folders (inputs $INPUTS) are not the ones $RECORD was made from (${REC_INPUTS:-none}):" \
        "make_hf_model.py or the vocab files changed; run EQ_LIVE_CONVERT=record bash $0"
fi
if [[ $MODE == live && "$REC_INPUTS" != "$INPUTS" ]]; then
    bad "reference.txt is stale: made from other folders (${REC_INPUTS:-none}, now $INPUTS); EQ_LIVE_CONVERT=record bash $0"
fi

# ref_for NAME FOLDER OUTTYPE: the script's output (live/record modes), echoes its path or fails
ref_for() {
    local name=$1 src=$2 t=$3 ref="$REF/$1"
    if [[ ! -f "$ref" ]]; then
        if ! "$VENV/bin/python" "$FULL/convert_hf_to_gguf.py" "$src" --outfile "$ref.part" --outtype "$t" > "$TMP/ref.log" 2>&1; then
            tail -5 "$TMP/ref.log" >&2; return 1
        fi
        mv "$ref.part" "$ref"
    fi
    echo "$ref"
}
sha_size() { echo "$(sha256sum < "$1" | cut -c1-64) $(stat -c %s "$1")"; }

# check NAME FOLDER OUTTYPE OURS: edgeq's output against the script's (file or recorded hash)
check() {
    local name=$1 src=$2 t=$3 ours=$4 got ref
    got=$(sha_size "$ours")
    if [[ $MODE == recorded ]]; then
        [[ "$REC_INPUTS" == "$INPUTS" ]] || return 0   # reported once above
        if [[ -z "${REC_HASH[$name]:-}" ]]; then bad "$name: not in $RECORD"
        elif [[ "$got" == "${REC_HASH[$name]}" ]]; then ok "$name (the recorded reference's bytes)"
        else bad "$name: sha256/size $got, convert_hf_to_gguf.py's (recorded) ${REC_HASH[$name]}; EQ_LIVE_CONVERT=1 shows what differs"; fi
        return 0
    fi
    if ! ref=$(ref_for "$name" "$src" "$t"); then bad "$name (convert_hf_to_gguf.py failed)"; return 0; fi
    local want; want=$(sha_size "$ref")
    echo "$want $name" >> "$NEW_RECORD"
    if [[ $MODE == live && -n "${REC_HASH[$name]:-}" && "${REC_HASH[$name]}" != "$want" ]]; then
        bad "$name: reference.txt is stale (convert_hf_to_gguf.py now writes $want); EQ_LIVE_CONVERT=record bash $0"
    fi
    # byte-identical is the usual answer (and implies every check); otherwise compare.py says
    # what differs (it passes files that differ only in metadata key order, except for cards)
    if cmp -s "$ref" "$ours"; then ok "$name (byte-identical)"
    elif [[ $name != card-* ]] && python3 "$HERE/compare.py" "$ref" "$ours"; then ok "$name (same values)"
    else [[ $name == card-* ]] && python3 "$HERE/compare.py" "$ref" "$ours"; bad "$name (differs from llama.cpp)"; fi
}

for m in "${NAMES[@]}"; do
    for t in "${TYPES[@]}"; do
        ours="$TMP/$m.$t.gguf"
        if ! "$EDGEQ" convert "$MODELS/$m" "$ours" --outtype "$t" 2> "$TMP/err"; then
            bad "convert $m $t: $(cat "$TMP/err")"; continue
        fi
        check "$m.$t.gguf" "$MODELS/$m" "$t" "$ours"
    done
done

# ---------------------------------------------------------------- model cards
for dir in "$MODELS"/card-*; do
    m=$(basename "$dir")
    src="$MODELS/$m"
    [[ -d "$MODELS/ref-cards/$m" ]] && src="$MODELS/ref-cards/$m"
    ours="$TMP/$m.f16.gguf"
    if ! "$EDGEQ" convert "$dir" "$ours" --outtype f16 2> "$TMP/err"; then
        bad "card $m: $(cat "$TMP/err")"; continue
    fi
    if [[ "$src" != "$dir" ]] && ! grep -q "warning: .*README.md" "$TMP/err"; then
        bad "card $m: no warning about the card the script cannot read"; continue
    fi
    check "$m.f16.gguf" "$src" f16 "$ours"
    rm -f "$ours"
done

if [[ $MODE == record ]]; then
    {
        echo "# What llama.cpp's convert_hf_to_gguf.py writes for the folders tests/tools/make_hf_model.py makes"
        echo "# (SHA-256, size, output): tests/conformance/convert/run.sh compares \`edgeq convert\` with these"
        echo "# unless it runs the script itself. Written by: EQ_LIVE_CONVERT=record bash tests/conformance/convert/run.sh"
        echo "llama.cpp $LLAMA_REV"
        echo "python $REQS"
        echo "inputs $INPUTS"
        LC_ALL=C sort -k3 "$NEW_RECORD"
    } > "$RECORD"
    log "wrote $RECORD ($(grep -c gguf "$RECORD") outputs)"
fi

# ---------------------------------------------------------------- round trip
PROMPT="The capital of France is"
# f32 and f16 only: with random weights, Q8_0 matmuls (accumulated in a different order) can
# flip near-tie argmaxes between the two runtimes, which says nothing about the file.
for m in "${NAMES[@]}"; do
    for t in f32 f16; do
        f="$TMP/$m.$t.gguf"
        [[ -f "$f" ]] || { bad "roundtrip $m $t (no converted file)"; continue; }
        want=$("$EQ_ORACLE" generate "$f" "$PROMPT" -n 16 -c 256 2>"$TMP/oerr") || { bad "roundtrip $m $t: llama.cpp: $(tail -1 "$TMP/oerr")"; continue; }
        got=$("$EDGEQ" run -m "$f" -p "$PROMPT" -n 16 -c 256 --temp 0 2>"$TMP/eerr") || { bad "roundtrip $m $t: edgeq: $(tail -1 "$TMP/eerr")"; continue; }
        if [[ "$want" == "$got" ]]; then ok "roundtrip $m $t"; else bad "roundtrip $m $t: edgeq '$got' != llama.cpp '$want'"; fi
    done
done

# ---------------------------------------------------------------- bad input
SRC="$MODELS/smollm2-tiny-360M-Instruct"
mkcase() { rm -rf "$TMP/case"; mkdir -p "$TMP/case"; cp "$SRC"/*.json "$TMP/case/"; cp "$SRC/model.safetensors" "$TMP/case/"; }
expect_fail() {  # name, expected substring
    local name="$1" want="$2" out="$TMP/case-out.gguf"
    rm -f "$out" "$out.tmp"
    if "$EDGEQ" convert "$TMP/case" "$out" 2> "$TMP/err"; then bad "reject $name (converted)"; return; fi
    local lines; lines=$(wc -l < "$TMP/err")
    if [[ -e "$out" || -e "$out.tmp" ]] || compgen -G "$TMP/.case-out.gguf.edgeq-*.tmp" > /dev/null; then bad "reject $name (left an output file)"
    elif [[ "$lines" != 1 ]]; then bad "reject $name ($lines lines of error)"
    elif ! grep -qF -- "$want" "$TMP/err"; then bad "reject $name: '$(cat "$TMP/err")' does not mention '$want'"
    else ok "reject $name"; fi
}
mkcase; size=$(stat -c %s "$TMP/case/model.safetensors"); truncate -s $((size - 100)) "$TMP/case/model.safetensors"
expect_fail "truncated safetensors" "model.safetensors"
mkcase; truncate -s 5 "$TMP/case/model.safetensors"; expect_fail "safetensors without a header" "model.safetensors"
mkcase; printf '{"architectures": ["LlamaForCausalLM"], "hidden_size": 64,' > "$TMP/case/config.json"
expect_fail "malformed config.json" "config.json"
mkcase; python3 -c 'print("[" * 5000 + "]" * 5000)' > "$TMP/case/tokenizer.json"; expect_fail "deeply nested tokenizer.json" "tokenizer.json"
mkcase; python3 - "$TMP/case/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1])); c["hidden_size"] = "64"; json.dump(c, open(sys.argv[1], "w"))
EOF
expect_fail "string hidden_size" "hidden_size"
mkcase; python3 - "$TMP/case/config.json" <<'EOF'
import sys
s = open(sys.argv[1]).read().replace('"num_hidden_layers": 2', '"num_hidden_layers": 1e400'); open(sys.argv[1], "w").write(s)
EOF
expect_fail "huge num_hidden_layers" "num_hidden_layers"
mkcase; python3 - "$TMP/case/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1])); c["intermediate_size"] = 192; json.dump(c, open(sys.argv[1], "w"))
EOF
expect_fail "shape mismatch" "mlp."
mkcase; python3 - "$TMP/case/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1])); c["architectures"] = ["GPTBigCodeForCausalLM"]; json.dump(c, open(sys.argv[1], "w"))
EOF
expect_fail "unsupported architecture" "GPTBigCodeForCausalLM"
mkcase; python3 - "$TMP/case/model.safetensors" "$REPO/tests/tools" <<'EOF'
import json, struct, sys
sys.path.insert(0, sys.argv[2])
import numpy as np
from make_hf_model import Tensor, save_safetensors
b = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
meta = h.pop("__metadata__", None)
t = {k: Tensor(v["dtype"], v["shape"], b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]) for k, v in h.items()}
norm = t["model.norm.weight"]   # BF16 -> I32, a well-formed tensor of a type nobody converts
t["model.norm.weight"] = Tensor("I32", norm.shape, np.ones(norm.shape, "<i4").tobytes())
save_safetensors(sys.argv[1], t, meta)
EOF
expect_fail "unsupported dtype" "model.norm.weight"
mkcase; python3 - "$TMP/case/model.safetensors" <<'EOF'
import json, struct, sys
b = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
h["model.norm.weight"]["data_offsets"][1] += 10 ** 12
hb = json.dumps(h).encode(); open(sys.argv[1], "wb").write(struct.pack("<Q", len(hb)) + hb + b[8 + n:])
EOF
expect_fail "offsets past the end" "model.norm.weight"

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
