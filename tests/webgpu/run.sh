#!/usr/bin/env bash
# The WebGPU backend on a real WebGPU implementation in Node:
#   1. installs the `webgpu` npm package (Dawn for Node, pinned) into $EQ_CACHE/npm-webgpu once
#   2. builds tests/webgpu/oracle.c (target wgsl_oracle, the native build) and writes the cases
#   3. runs tests/webgpu/kernels.test.mjs (node:test): each kernel against the C reference
#   4. runs tests/webgpu/models.test.mjs: whole models through the npm package (js/, built by
#      js/scripts/build.sh unless EQ_WEBGPU_NO_BUILD=1) on the GPU path against its CPU path:
#      random llama/phi3/qwen2 models (tests/tools/make_model.py, cached in $EQ_CACHE) and the
#      real SmolLM2-135M (scripts/get-model.sh)
# With no GPU, Dawn runs on SwiftShader (Chromium's Vulkan CPU driver, Debian package chromium):
# correctness, never speed. No adapter is a failure, not a skip. Ends with "N passed, N failed".
# Environment: EQ_CACHE, EQ_WEBGPU_ICD (a Vulkan ICD json; default SwiftShader's when present).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
EQ_CACHE=${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}
WEBGPU_VERSION=0.6.2
fail() { echo "webgpu: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/apt.sh"   # apt_install
missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v cmake >/dev/null || missing+=(cmake)
# SwiftShader (Chromium's Vulkan CPU driver) is the adapter where there is no GPU
[ -z "${EQ_WEBGPU_ICD:-}" ] && [ ! -f /usr/lib/chromium/vk_swiftshader_icd.json ] && missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt_install "${missing[@]}" || fail "apt-get install ${missing[*]} failed"
fi

NM=$EQ_CACHE/npm-webgpu
have=$(node -p "try{require('$NM/node_modules/webgpu/package.json').version}catch(e){'none'}" 2>/dev/null)
if [ "$have" != "$WEBGPU_VERSION" ]; then
    echo "== npm install webgpu@$WEBGPU_VERSION into $NM"
    mkdir -p "$NM" && echo '{"name":"eq-webgpu","private":true}' > "$NM/package.json"
    (cd "$NM" && npm install --no-audit --no-fund "webgpu@$WEBGPU_VERSION" >/dev/null) || fail "npm install webgpu failed"
fi

# SwiftShader where there is no GPU driver (the CI machines); a real GPU's ICD is found as usual
SWS=/usr/lib/chromium
if [ -z "${EQ_WEBGPU_ICD:-}" ] && [ -f "$SWS/vk_swiftshader_icd.json" ]; then EQ_WEBGPU_ICD=$SWS/vk_swiftshader_icd.json; fi
if [ -n "${EQ_WEBGPU_ICD:-}" ]; then
    export VK_ICD_FILENAMES=$EQ_WEBGPU_ICD
    export LD_LIBRARY_PATH=$(dirname "$EQ_WEBGPU_ICD")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

echo "== oracle"
cmake --preset native >/dev/null && cmake --build build/native -j"${JOBS:-2}" --target wgsl_oracle edgeq-cli >/dev/null || fail "building wgsl_oracle and edgeq failed"
CASES=$(mktemp -d)
trap 'rm -rf "$CASES"' EXIT
build/native/wgsl_oracle "$CASES" "${EQ_WGSL_SEED:-1}" || fail "wgsl_oracle failed"

echo "== models"
[ "${EQ_WEBGPU_NO_BUILD:-}" = 1 ] || bash js/scripts/build.sh >/dev/null || fail "building the npm package's modules failed"
ORACLE=$EQ_CACHE/oracle
[ -f "$ORACLE/env.sh" ] && source "$ORACLE/env.sh"
VOCAB=${EQ_VOCAB_DIR:-$ORACLE/llama.cpp/models}
MD=$EQ_CACHE/models/random/webgpu
mkdir -p "$MD"
models='['
# mkmodel NAME make_model.py-ARGS...: built once (the file name hashes the arguments); prints the path
mkmodel() {
    local name=$1; shift
    local f=$MD/$name-$(echo "$*" | sha256sum | cut -c1-12).gguf
    if [ ! -f "$f" ]; then
        python3 tests/tools/make_model.py "$@" --out "$f.tmp" --quiet && mv "$f.tmp" "$f" || return 1
    fi
    echo "$f"
}
# model NAME KIND EXTRA-JSON ARGS...; a quantized (forced) model gets its F16 twin (same seed:
# the same weights before quantization) as the reference
model() {
    local name=$1 kind=$2 extra=$3; shift 3
    local f ref=
    f=$(mkmodel "$name" "$@") || fail "make_model.py $name failed"
    if [ "$kind" = forced ]; then
        ref=$(mkmodel "$name-ref" "$@" --type F16) || fail "make_model.py $name (F16) failed"
        extra+=",\"ref\":\"$ref\""
    fi
    models+="{\"name\":\"$name\",\"kind\":\"$kind\",\"path\":\"$f\"$extra},"
}
SPM=$VOCAB/ggml-vocab-llama-spm.gguf QW=$VOCAB/ggml-vocab-qwen2.gguf
small="--n-layer 2 --n-embd 128 --n-ff 256 --n-head 4 --n-head-kv 2"
k="--n-layer 2 --n-embd 256 --n-ff 512 --n-head 4 --n-head-kv 2"
model llama-F32 exact '' --arch llama --vocab "$SPM" --type F32 $small
# F16, its weights split into 64 KiB buffers (a 1 MiB token table: 16 of them)
model llama-F16-split exact ',"maxBuffer":65536' --arch llama --vocab "$SPM" --type F16 $small --tied
model phi3-F16-longrope exact ',"ctx":512' --arch phi3 --vocab "$SPM" --type F16 $small --n-rot 16 --longrope --ctx 128
model qwen2-F16 exact '' --arch qwen2 --vocab "$QW" --type F16 $small
model llama-Q4_K forced '' --arch llama --vocab "$SPM" --type Q4_K $k
model phi3-Q4_K-longrope forced ',"ctx":512' --arch phi3 --vocab "$SPM" --type Q4_K $k --n-rot 32 --longrope --ctx 128
model qwen2-Q8_0 forced '' --arch qwen2 --vocab "$QW" --type Q8_0 $k
# gemma3: 6 layers (5 windowed, one global), an 8-position window that forced decoding overruns
g3="--arch gemma3 --vocab $SPM --n-layer 6 --n-embd 128 --n-ff 256 --n-head 4 --n-head-kv 2 --swa 8"
model gemma3-F16-swa exact '' $g3 --type F16
model gemma3-Q4_K-swa forced '' $g3 --type Q4_K --n-embd 256 --n-ff 512 --logit-struct 0.3   # the default 4 makes it one-hot
SMOL=$(bash scripts/get-model.sh 2>/dev/null | tail -1)
[ -f "$SMOL" ] || fail "scripts/get-model.sh did not give SmolLM2"
SMOL16=$MD/smollm2-f16-$(sha256sum "$SMOL" | cut -c1-12).gguf   # its weights in F16: the reference
if [ ! -f "$SMOL16" ]; then
    build/native/edgeq quantize --allow-requantize "$SMOL" "$SMOL16.tmp" F16 >/dev/null 2>&1 && mv "$SMOL16.tmp" "$SMOL16" || fail "requantizing SmolLM2 to F16 failed"
fi
models+="{\"name\":\"SmolLM2-135M-Q4_1\",\"kind\":\"forced\",\"path\":\"$SMOL\",\"ref\":\"$SMOL16\"}]"
export EQ_WEBGPU_MODELS=$models

echo "== kernels and models on WebGPU"
export EQ_WGSL_CASES=$CASES EQ_WEBGPU_MODULE=$NM/node_modules/webgpu/index.js
out=$CASES/tap.txt
node --test --test-concurrency=1 --test-reporter=tap tests/webgpu/kernels.test.mjs tests/webgpu/models.test.mjs > "$out" 2>&1
rc=$?
grep -E '^# (adapter|worst)|^# \\# (adapter|worst|[A-Za-z0-9_.-]+: )' "$out" | sed 's/^# \\# /# /'
grep -E '^not ok' -A14 "$out" | head -80
pass=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$out" | tail -1)
nfail=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$out" | tail -1)
if [ -z "$pass" ]; then tail -n 30 "$out"; fail "the test run did not finish (rc=$rc)"; fi
[ $rc -ne 0 ] && [ "${nfail:-0}" -eq 0 ] && nfail=1
nfail=${nfail:-0}

echo "== the npm package on WebGPU in Chromium"
# Chromium and the pinned driver (tests/browser installs them; here only when missing)
if [ ! -d tests/browser/node_modules/playwright-core ]; then
    (cd tests/browser && npm ci --no-audit --no-fund >/dev/null) || fail "npm ci in tests/browser failed"
fi
bout=$CASES/browser.txt
node tests/webgpu/browser.mjs "$(mkmodel llama-F32 --arch llama --vocab "$SPM" --type F32 $small)" > "$bout" 2>&1
brc=$?
grep -E '^(ok|not ok|#)' "$bout"
bp=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$bout" | tail -1)
bf=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$bout" | tail -1)
if [ -z "$bp" ]; then tail -n 20 "$bout"; bp=0; bf=1; fi
[ $brc -ne 0 ] && [ "${bf:-0}" -eq 0 ] && bf=1
echo "$((pass + bp)) passed, $((nfail + bf)) failed"
[ $((nfail + bf)) -eq 0 ]
