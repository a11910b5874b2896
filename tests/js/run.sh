#!/usr/bin/env bash
# The npm package's tests (node:test) against the Emscripten build, in Node:
#   1. installs what is missing: Debian's emscripten (apt, idempotent), nodejs/npm
#   2. builds the native CLI (the reference) when absent, and the `web` preset modules, copied
#      into js/wasm/ (js/scripts/build.sh)
#   3. npm ci in js/ (no runtime dependencies; TypeScript as a devDependency; checks the lock)
#   4. type-checks js/src/index.d.ts: tsc --noEmit over tests/js/types/usage.ts, and
#      tests/js/types/exports.mjs (the declared values are what src/node.js, src/browser.js export)
#   5. runs tests/js/edgeq.test.mjs against js/src
#   6. npm pack, installs the tarball into a temp project and runs tests/js/pack.test.mjs there
# Prints node:test's summary; exits non-zero on any failure. A few minutes on 2 cores.
# Environment: EQ_MODEL (default: scripts/get-model.sh), EQ_NATIVE_CLI (default
# build/native/edgeq), JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export JOBS=${JOBS:-2}

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/apt.sh"   # apt_install
missing=()
command -v emcc >/dev/null || missing+=(emscripten)
command -v clang-19 >/dev/null || missing+=(clang-19)   # the relaxed-SIMD kernels (js/scripts/build.sh)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v cmake >/dev/null || missing+=(cmake)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt_install "${missing[@]}"
fi
# Debian's emscripten runs its JS tools with the system node and its packaged modules
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { echo "Node >= 20 is needed (found $(node --version))" >&2; exit 1; }

export EQ_MODEL=${EQ_MODEL:-$(bash scripts/get-model.sh)}
export EQ_NATIVE_CLI=${EQ_NATIVE_CLI:-$ROOT/build/native/edgeq}
if [ ! -x "$EQ_NATIVE_CLI" ]; then
    echo "== building the native CLI (reference)"
    cmake --preset native >/dev/null
    cmake --build build/native -j"$JOBS" --target edgeq-cli >/dev/null
fi

echo "== building the web modules (cmake --preset web)"
t0=$(date +%s)
bash js/scripts/build.sh
echo "   ($(( $(date +%s) - t0 )) s)"

echo "== npm ci (js/)"
(cd js && npm ci --no-audit --no-fund --silent)

status=0
# the hand-written types: tsc (a devDependency) over a usage file, then the declared values
# against what src/node.js and src/browser.js export
echo "== types: tsc --noEmit -p tests/js/types; tests/js/types/exports.mjs"
types_p=0; types_f=0
for check in "js/node_modules/.bin/tsc -p tests/js/types" "node tests/js/types/exports.mjs"; do
    if $check; then types_p=$((types_p + 1)); else types_f=$((types_f + 1)); status=1; echo "FAILED: $check"; fi
done

echo "== node:test tests/js/edgeq.test.mjs"
jslog=$(mktemp)
if ! node --test --test-reporter=spec tests/js/edgeq.test.mjs 2>&1 | tee "$jslog"; then status=1; fi

echo "== npm pack + install into a temp project"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd js && npm pack --ignore-scripts --silent --pack-destination "$tmp" >/dev/null)  # built above
tarball=$(ls "$tmp"/edgeq-*.tgz)
tar -tzf "$tarball" | sed 's/^/   /'
mkdir -p "$tmp/app"
(cd "$tmp/app" && echo '{ "name": "app", "private": true, "type": "module" }' > package.json \
    && npm install --no-audit --no-fund --silent "$tarball")
cp tests/js/pack.test.mjs "$tmp/app/"
if ! (cd "$tmp/app" && node --test --test-reporter=spec pack.test.mjs) 2>&1 | tee -a "$jslog"; then status=1; fi

[ $status -eq 0 ] && echo "js: all passed" || echo "js: FAILED"
# one total line for tests/run-all.sh: node:test's pass/fail counts of both runs
p=$(grep -aoE 'ℹ pass [0-9]+' "$jslog" | awk -v t=$types_p '{s+=$3} END {print s+t}')
f=$(grep -aoE 'ℹ fail [0-9]+' "$jslog" | awk -v t=$types_f '{s+=$3} END {print s+t}')
rm -f "$jslog"
echo "js: $p passed, $f failed"
exit $status
