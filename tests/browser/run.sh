#!/usr/bin/env bash
# Browser tests of the npm package in the three engines Debian ships (no browser download):
# Chromium (playwright-core), Firefox ESR (puppeteer-core over WebDriver BiDi) and WebKitGTK
# (WebKitWebDriver + MiniBrowser, under xvfb-run): tests/browser/run.mjs. This script
#   1. installs what is missing (idempotent): chromium, firefox-esr, webkit2gtk-driver, xvfb,
#      nodejs, npm, cmake, emscripten (apt; only the engines in EQ_BROWSER_ENGINES)
#   2. npm ci in tests/browser/ (playwright-core, puppeteer-core, pinned by package-lock.json)
#   3. builds the native CLI (the reference) and the web modules (js/scripts/build.sh -> js/wasm/)
#      when they are absent (EQ_BROWSER_REBUILD=1 rebuilds the web modules anyway)
#   4. runs the tests; the last line is "N passed, M failed", the exit status non-zero on failure
# A few minutes on 2 cores. Environment: EQ_MODEL (default scripts/get-model.sh), EQ_NATIVE_CLI
# (default build/native/edgeq), EQ_BROWSER_ENGINES (default chromium,firefox,webkit), CHROMIUM,
# FIREFOX, MINIBROWSER, JOBS (default 2), and run.mjs's EQ_BROWSER_ONLY / EQ_BROWSER_FULL /
# EQ_BROWSER_NO_BIG / EQ_BROWSER_BIG_SPLIT.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export JOBS=${JOBS:-2}

fail() { echo "$*" >&2; echo "0 passed, 1 failed"; exit 1; }

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/apt.sh"   # apt_install
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export FIREFOX=${FIREFOX:-/usr/bin/firefox-esr}
export MINIBROWSER=${MINIBROWSER:-/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser}
export EQ_BROWSER_ENGINES=${EQ_BROWSER_ENGINES:-chromium,firefox,webkit}
engine() { [[ ",$EQ_BROWSER_ENGINES," == *",$1,"* ]]; }
missing=()
if engine chromium; then [ -x "$CHROMIUM" ] || missing+=(chromium); fi
if engine firefox; then [ -x "$FIREFOX" ] || missing+=(firefox-esr); fi
if engine webkit; then
    { command -v WebKitWebDriver >/dev/null && [ -x "$MINIBROWSER" ]; } || missing+=(webkit2gtk-driver)
    [ -n "${DISPLAY:-}" ] || command -v xvfb-run >/dev/null || missing+=(xvfb xauth)
fi
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v cmake >/dev/null || missing+=(cmake)
command -v emcc >/dev/null || missing+=(emscripten)
command -v clang-19 >/dev/null || missing+=(clang-19)   # the relaxed-SIMD kernels (js/scripts/build.sh)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt_install "${missing[@]}" || fail "apt-get install ${missing[*]} failed"
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "Node >= 20 is needed (found $(node --version))"

# npm ci only when the pinned drivers are not what is installed
want=$(node -p "const d = require('./tests/browser/package.json').devDependencies; d['playwright-core'] + ' ' + d['puppeteer-core']")
have=$(node -p "['playwright-core', 'puppeteer-core'].map((m) => require('./tests/browser/node_modules/' + m + '/package.json').version).join(' ')" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
    echo "== npm ci (tests/browser: playwright-core, puppeteer-core: $want)"
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
    || [ ! -f js/wasm/edgeq-st-relaxed.wasm ] || [ ! -f js/wasm/edgeq-mt-relaxed.wasm ] \
    || [ ! -f js/wasm/web/edgeq-web-st.js ] || [ ! -f js/wasm/web/edgeq-web-mt.js ] || [ ! -f js/wasm/web/edgeq-web-mt.worker.js ]; then
    echo "== building the web modules (js/scripts/build.sh)"
    bash js/scripts/build.sh || fail "web build failed"
fi

echo "== browser tests (tests/browser/run.mjs: $EQ_BROWSER_ENGINES)"
# WebKitGTK has no headless mode: it gets a virtual X server
if engine webkit && [ -z "${DISPLAY:-}" ]; then
    exec xvfb-run -a -s "-screen 0 1280x1024x24" node tests/browser/run.mjs
fi
exec node tests/browser/run.mjs
