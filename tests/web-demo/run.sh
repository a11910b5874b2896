#!/usr/bin/env bash
# End-to-end test of the web demo (web-demo/) in headless Chromium, driven by npm playwright-core
# (pinned in tests/web-demo/package-lock.json) with Debian's /usr/bin/chromium, then (the page
# loads and answers) in Firefox ESR and WebKitGTK through tests/browser/engines.mjs:
#   1. scripts/web-demo.sh --setup-only: emscripten/node/npm/cmake (apt, idempotent), the web
#      modules (built when missing or outdated), the default model
#   2. chromium, firefox-esr, webkit2gtk-driver, xvfb (apt) when missing; npm ci here and in
#      tests/browser (puppeteer-core) when Firefox or WebKit is asked for
#   3. node tests/web-demo/demo.test.mjs (starts web-demo/serve.mjs itself, on random ports)
# Last line "N passed, M failed"; exits non-zero on any failure. About a minute once set up.
# Environment: EQ_MODEL (default: scripts/get-model.sh), EQ_GEMMA (default: scripts/get-gemma3.sh),
# EQ_BROWSER_ENGINES (default chromium,firefox,webkit), CHROMIUM, FIREFOX, MINIBROWSER
# (tests/browser/engines.mjs).
set -uo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "web-demo: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

bash scripts/web-demo.sh --setup-only || fail "set-up failed (scripts/web-demo.sh --setup-only)"

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/apt.sh"   # apt_install
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export FIREFOX=${FIREFOX:-/usr/bin/firefox-esr}
export MINIBROWSER=${MINIBROWSER:-/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser}
export EQ_BROWSER_ENGINES=${EQ_BROWSER_ENGINES:-chromium,firefox,webkit}
engine() { [[ ",$EQ_BROWSER_ENGINES," == *",$1,"* ]]; }
missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium) # the HTTP checks and the full page tests
if engine firefox; then [ -x "$FIREFOX" ] || missing+=(firefox-esr); fi
if engine webkit; then
    { command -v WebKitWebDriver >/dev/null && [ -x "$MINIBROWSER" ]; } || missing+=(webkit2gtk-driver)
    [ -n "${DISPLAY:-}" ] || command -v xvfb-run >/dev/null || missing+=(xvfb xauth)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    apt_install "${missing[@]}" || fail "cannot install ${missing[*]}"
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "playwright-core needs Node >= 20 (found $(node --version))"
(cd tests/web-demo && npm ci --no-audit --no-fund --silent) || fail "npm ci failed in tests/web-demo"
if engine firefox || engine webkit; then
    have=$(node -p "require('./tests/browser/node_modules/puppeteer-core/package.json').version" 2>/dev/null || true)
    want=$(node -p "require('./tests/browser/package.json').devDependencies['puppeteer-core']")
    if [ "$have" != "$want" ]; then
        (cd tests/browser && npm ci --no-audit --no-fund --silent) || fail "npm ci failed in tests/browser"
    fi
fi

model=${EQ_MODEL:-$(bash scripts/get-model.sh)}
# the two-model checks (issue #12); without the file they are skipped
export EQ_GEMMA=${EQ_GEMMA:-$(bash scripts/get-gemma3.sh || true)}
if engine webkit && [ -z "${DISPLAY:-}" ]; then
    exec xvfb-run -a -s "-screen 0 1280x1024x24" node tests/web-demo/demo.test.mjs "$model"
fi
node tests/web-demo/demo.test.mjs "$model"
