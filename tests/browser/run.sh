#!/usr/bin/env bash
# Browser tests of the npm package in Debian's Chromium, driven by playwright-core (no browser
# download): tests/browser/run.mjs. This script
#   1. installs what is missing (idempotent): chromium, nodejs, npm, cmake, emscripten (apt)
#   2. npm ci in tests/browser/ (playwright-core, pinned by package-lock.json)
#   3. builds the native CLI (the reference) and the web modules (js/scripts/build.sh -> js/wasm/)
#      when they are absent (EQ_BROWSER_REBUILD=1 rebuilds the web modules anyway)
#   4. runs the tests; the last line is "N passed, M failed", the exit status non-zero on failure
# A few minutes on 2 cores. Environment: EQ_MODEL (default scripts/get-model.sh), EQ_NATIVE_CLI
# (default build/native/edgeq), CHROMIUM (default /usr/bin/chromium), JOBS (default 2), and
# run.mjs's EQ_BROWSER_ONLY / EQ_BROWSER_NO_BIG / EQ_BROWSER_BIG_SPLIT.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export JOBS=${JOBS:-2}

fail() { echo "$*" >&2; echo "0 passed, 1 failed"; exit 1; }

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/apt.sh"   # apt_install
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v cmake >/dev/null || missing+=(cmake)
command -v emcc >/dev/null || missing+=(emscripten)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt_install "${missing[@]}" || fail "apt-get install ${missing[*]} failed"
fi
[ -x "$CHROMIUM" ] || fail "no Chromium at $CHROMIUM"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "Node >= 20 is needed (found $(node --version))"

# npm ci only when the pinned playwright-core is not what is installed
want=$(node -p "require('./tests/browser/package.json').devDependencies['playwright-core']")
have=$(node -p "require('./tests/browser/node_modules/playwright-core/package.json').version" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
    echo "== npm ci (tests/browser: playwright-core $want)"
    (cd tests/browser && npm ci --prefer-offline --no-audit --no-fund --silent) || fail "npm ci failed"
fi

export EQ_MODEL=${EQ_MODEL:-$(bash scripts/get-model.sh)}
export EQ_NATIVE_CLI=${EQ_NATIVE_CLI:-$ROOT/build/native/edgeq}
if [ ! -x "$EQ_NATIVE_CLI" ]; then
    echo "== building the native CLI (reference)"
    { cmake --preset native >/dev/null && cmake --build build/native -j"$JOBS" --target edgeq-cli >/dev/null; } \
        || fail "native build failed"
fi
# Debian's emscripten runs its JS tools with the system node and its packaged modules
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
if [ -n "${EQ_BROWSER_REBUILD:-}" ] || [ ! -f js/wasm/edgeq-st.wasm ] || [ ! -f js/wasm/edgeq-mt.wasm ] \
    || [ ! -f js/wasm/web/edgeq-web-st.js ] || [ ! -f js/wasm/web/edgeq-web-mt.js ] || [ ! -f js/wasm/web/edgeq-web-mt.worker.js ]; then
    echo "== building the web modules (js/scripts/build.sh)"
    bash js/scripts/build.sh || fail "web build failed"
fi

echo "== browser tests (tests/browser/run.mjs)"
exec node tests/browser/run.mjs
