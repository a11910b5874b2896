#!/usr/bin/env bash
# End-to-end test of the web demo (web-demo/) in headless Chromium, driven by npm playwright-core
# (pinned in tests/web-demo/package-lock.json) with Debian's /usr/bin/chromium:
#   1. scripts/web-demo.sh --setup-only: emscripten/node/npm/cmake (apt, idempotent), the web
#      modules (built when missing or outdated), the default model
#   2. chromium (apt) when missing; npm ci here
#   3. node tests/web-demo/demo.test.mjs (starts web-demo/serve.mjs itself, on random ports)
# Last line "N passed, M failed"; exits non-zero on any failure. About a minute once set up.
# Environment: EQ_MODEL (default: scripts/get-model.sh), EQ_GEMMA (default: scripts/get-gemma3.sh),
# CHROMIUM (default /usr/bin/chromium).
set -uo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "web-demo: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

bash scripts/web-demo.sh --setup-only || fail "set-up failed (scripts/web-demo.sh --setup-only)"

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/apt.sh"   # apt_install
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
    echo "installing: chromium" >&2
    apt_install chromium || fail "cannot install chromium"
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "playwright-core needs Node >= 20 (found $(node --version))"
(cd tests/web-demo && npm ci --no-audit --no-fund --silent) || fail "npm ci failed in tests/web-demo"

model=${EQ_MODEL:-$(bash scripts/get-model.sh)}
# the two-model checks (issue #12); without the file they are skipped
export EQ_GEMMA=${EQ_GEMMA:-$(bash scripts/get-gemma3.sh || true)}
node tests/web-demo/demo.test.mjs "$model"
