#!/usr/bin/env bash
# tests/conformance/convert/run.sh — `edgeq convert` against llama.cpp's convert_hf_to_gguf.py.
#
# 1. Random-weight Hugging Face folders (tests/tools/make_hf_model.py: llama/SmolLM2 with GPT-2
#    BPE, llama 3 sharded with llama3 rope, qwen2, phi3 with tokenizer.model + LongRoPE).
# 2. Each converted by both, for --outtype f32 f16 bf16 q8_0: byte-identical files, or else
#    compare.py (gguf-py) names the differing metadata (keys, types, values) and tensors
#    (names, order, shapes, types, bytes).
#    Model cards: card-* folders (make_hf_model.py --cards: the SmolLM2 folder plus a README.md
#    each) converted by both at f16, byte-identical (metadata key order included). For a card
#    the script cannot read (it stops), the reference is its output for ref-cards/card-* (no
#    README.md, or the card minus what edgeq skips), and edgeq must warn about the card.
# 3. Round trip: greedy text of `edgeq run` == llama.cpp's (llama_oracle generate) on our file.
# 4. Bad input (truncated, malformed, hostile, mismatched, unsupported): non-zero exit, one
#    line naming the culprit, no output file left behind.
#
# Installs idempotently under $EQ_CACHE (default .cache): the oracle (tests/oracle/setup.sh),
# the full llama.cpp source (from node-llama-cpp's bundle), a venv with the script's Python
# needs from PyPI (torch from PyPI is the CUDA build, ~5 GB, run on CPU). Reference GGUFs are
# cached by the hash of the inputs. Env: EDGEQ (binary, default build/native/edgeq).
# Prints "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
cd "$REPO"
EQ_CACHE="${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}"
EDGEQ="${EDGEQ:-$REPO/build/native/edgeq}"
[[ "$EDGEQ" = /* ]] || EDGEQ="$REPO/$EDGEQ"
log() { echo "convert/run.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -x "$EDGEQ" ]] || die "no edgeq binary at $EDGEQ (build first, or set EDGEQ)"
bash tests/oracle/setup.sh >&2 || die "oracle set-up failed"
# shellcheck disable=SC1091
source "$EQ_CACHE/oracle/env.sh"

# ---------------------------------------------------------------- llama.cpp source + venv
FULL="$EQ_CACHE/oracle/llama.cpp-full"
BUNDLE="$EQ_CACHE/oracle/node_modules/node-llama-cpp/llama/gitRelease.bundle"
if [[ ! -f "$FULL/convert_hf_to_gguf.py" ]]; then
    log "cloning the full llama.cpp source from $BUNDLE"
    rm -rf "$FULL"
    git clone -q "$BUNDLE" "$FULL" || die "git clone of $BUNDLE failed"
fi
VENV="$EQ_CACHE/convert-venv"
REQS="numpy==2.4.6 torch==2.15.0 safetensors==0.8.0 sentencepiece==0.2.3 transformers==5.23.0 tokenizers==0.23.3 protobuf==7.36.2 pyyaml"
if [[ "$(cat "$VENV/.eq-stamp" 2>/dev/null)" != "$REQS" ]]; then
    log "installing the converter's Python needs into $VENV (first time: several GB) ..."
    python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$VENV/bin/pip" install -q --upgrade pip >&2 || die "pip upgrade failed"
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install -q $REQS >&2 || die "pip install failed"
    echo "$REQS" > "$VENV/.eq-stamp"
fi
PY="$VENV/bin/python"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONPATH="$EQ_GGUF_PY${PYTHONPATH:+:$PYTHONPATH}"

# ---------------------------------------------------------------- models and references
KEY=$( (cat tests/tools/make_hf_model.py; git -C "$FULL" rev-parse HEAD 2>/dev/null; echo "$REQS") | sha256sum | cut -c1-16)
WORK="$EQ_CACHE/convert/$KEY"
MODELS="$WORK/models"
if [[ ! -f "$MODELS/.done" ]]; then
    rm -rf "$EQ_CACHE/convert"; mkdir -p "$MODELS"
    log "writing random-weight HF folders into $MODELS"
    "$PY" tests/tools/make_hf_model.py "$MODELS" --vocab-dir "$FULL/models" --cards || die "make_hf_model.py failed"
    touch "$MODELS/.done"
fi
NAMES=(smollm2-tiny-360M-Instruct llama3-tiny qwen2-tiny-0.5B phi3-tiny-mini-128k)
TYPES=(f32 f16 bf16 q8_0)
mkdir -p "$WORK/ref"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "PASS $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

for m in "${NAMES[@]}"; do
    for t in "${TYPES[@]}"; do
        ref="$WORK/ref/$m.$t.gguf"
        if [[ ! -f "$ref" ]]; then
            if ! "$PY" "$FULL/convert_hf_to_gguf.py" "$MODELS/$m" --outfile "$ref.part" --outtype "$t" > "$TMP/ref.log" 2>&1; then
                tail -5 "$TMP/ref.log"; bad "convert $m $t (convert_hf_to_gguf.py failed)"; continue
            fi
            mv "$ref.part" "$ref"
        fi
        ours="$TMP/$m.$t.gguf"
        if ! "$EDGEQ" convert "$MODELS/$m" "$ours" --outtype "$t" 2> "$TMP/err"; then
            bad "convert $m $t: $(cat "$TMP/err")"; continue
        fi
        # byte-identical is the usual answer (and implies every check); otherwise compare.py
        # says what differs, and passes files that differ only in metadata key order
        if cmp -s "$ref" "$ours"; then ok "convert $m $t (byte-identical)"
        elif "$PY" "$HERE/compare.py" "$ref" "$ours"; then ok "convert $m $t (same values)"
        else bad "convert $m $t (differs from llama.cpp)"; fi
    done
done

# ---------------------------------------------------------------- model cards
for dir in "$MODELS"/card-*; do
    m=$(basename "$dir")
    src="$MODELS/$m"
    [[ -d "$MODELS/ref-cards/$m" ]] && src="$MODELS/ref-cards/$m"
    ref="$WORK/ref/$m.f16.gguf"
    if [[ ! -f "$ref" ]]; then
        if ! "$PY" "$FULL/convert_hf_to_gguf.py" "$src" --outfile "$ref.part" --outtype f16 > "$TMP/ref.log" 2>&1; then
            tail -5 "$TMP/ref.log"; bad "card $m (convert_hf_to_gguf.py failed)"; continue
        fi
        mv "$ref.part" "$ref"
    fi
    ours="$TMP/$m.f16.gguf"
    if ! "$EDGEQ" convert "$dir" "$ours" --outtype f16 2> "$TMP/err"; then
        bad "card $m: $(cat "$TMP/err")"; continue
    fi
    if [[ "$src" != "$dir" ]] && ! grep -q "warning: .*README.md" "$TMP/err"; then
        bad "card $m: no warning about the card the script cannot read"; continue
    fi
    # byte-identical or fail (metadata key order included); compare.py says what differs
    if cmp -s "$ref" "$ours"; then ok "card $m (byte-identical)"
    else "$PY" "$HERE/compare.py" "$ref" "$ours"; bad "card $m (differs from llama.cpp)"; fi
    rm -f "$ours"
done

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
mkcase; "$PY" - "$TMP/case/model.safetensors" <<'EOF'
import sys, torch
from safetensors.torch import load_file, save_file
t = load_file(sys.argv[1]); t["model.norm.weight"] = t["model.norm.weight"].to(torch.int32); save_file(t, sys.argv[1])
EOF
expect_fail "unsupported dtype" "model.norm.weight"
mkcase; "$PY" - "$TMP/case/model.safetensors" <<'EOF'
import json, struct, sys
b = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
h["model.norm.weight"]["data_offsets"][1] += 10 ** 12
hb = json.dumps(h).encode(); open(sys.argv[1], "wb").write(struct.pack("<Q", len(hb)) + hb + b[8 + n:])
EOF
expect_fail "offsets past the end" "model.norm.weight"

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
