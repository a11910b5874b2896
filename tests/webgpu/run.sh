#!/usr/bin/env bash
# The WebGPU kernels (src/backend/webgpu/*.wgsl) on a real WebGPU implementation in Node:
#   1. installs the `webgpu` npm package (Dawn for Node, pinned) into $EQ_CACHE/npm-webgpu once
#   2. builds tests/webgpu/oracle.c (target wgsl_oracle, the native build) and writes the cases
#   3. runs tests/webgpu/kernels.test.mjs (node:test) against wasm/web/webgpu.js
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
cmake --preset native >/dev/null && cmake --build build/native -j"${JOBS:-2}" --target wgsl_oracle >/dev/null || fail "building wgsl_oracle failed"
CASES=$(mktemp -d)
trap 'rm -rf "$CASES"' EXIT
build/native/wgsl_oracle "$CASES" "${EQ_WGSL_SEED:-1}" || fail "wgsl_oracle failed"

echo "== kernels on WebGPU"
export EQ_WGSL_CASES=$CASES EQ_WEBGPU_MODULE=$NM/node_modules/webgpu/index.js
out=$CASES/tap.txt
node --test --test-reporter=tap tests/webgpu/kernels.test.mjs > "$out" 2>&1
rc=$?
grep -E '^# (adapter|worst)|^# \\# (adapter|worst)' "$out" | sed 's/^# \\# /# /'
grep -E '^not ok' -A14 "$out" | head -80
pass=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$out" | tail -1)
nfail=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$out" | tail -1)
if [ -z "$pass" ]; then tail -n 30 "$out"; fail "the test run did not finish (rc=$rc)"; fi
[ $rc -ne 0 ] && [ "${nfail:-0}" -eq 0 ] && nfail=1
echo "${pass} passed, ${nfail:-0} failed"
[ "${nfail:-0}" -eq 0 ]
