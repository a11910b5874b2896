#!/usr/bin/env bash
# A pre-initialised edge module: the WASI build with MODEL.gguf already loaded into its linear
# memory (weights, vocabulary, tokenizer tables and a context), saved by Wizer, so that
#   wasmtime run OUT.wasm serve < request.json
# answers with no -m and no preopened directory (see wasm/wasi/README.md, "Pre-initialised").
#
#   bash scripts/edge-snapshot.sh MODEL.gguf OUT.wasm [-c N] [-b N]
#
# -c: the context the snapshot holds (default min(model's, 1024), as serve); -b: its batch (64).
# Builds build/wasi/edgeq.wasm when missing (EQ_WASM names another module); installs Wizer
# (npm @bytecodealliance/wizer, pinned) into $EQ_CACHE/npm-wizer once. The model goes in on
# stdin, so no directory is preopened while initialising (tools/snapshot.c says why).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EQ_CACHE=${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}
WIZER_VERSION=10.0.0
die() { echo "edge-snapshot: $*" >&2; exit 1; }

[ $# -ge 2 ] || die "usage: edge-snapshot.sh MODEL.gguf OUT.wasm [-c N] [-b N]"
model=$1; out=$2; shift 2
ctx=; batch=
while [ $# -gt 0 ]; do
    case $1 in
        -c) [ $# -ge 2 ] || die "-c needs a number"; ctx=$2; shift 2 ;;
        -b) [ $# -ge 2 ] || die "-b needs a number"; batch=$2; shift 2 ;;
        *) die "unknown option '$1'" ;;
    esac
done
[ -f "$model" ] || die "no model file '$model'"
for v in "$ctx" "$batch"; do
    [ -z "$v" ] || [[ $v =~ ^[0-9]+$ ]] || die "'$v' is not a number"
done

WASM=${EQ_WASM:-$ROOT/build/wasi/edgeq.wasm}
if [ -z "${EQ_WASM:-}" ] && [ ! -f "$WASM" ]; then
    (cd "$ROOT" && { [ -f build/wasi/CMakeCache.txt ] || cmake --preset wasi >/dev/null; } &&
        cmake --build --preset wasi -j "${JOBS:-2}" --target edgeq-cli >/dev/null) || die "building $WASM failed"
fi
[ -f "$WASM" ] || die "no module '$WASM'"

NM=$EQ_CACHE/npm-wizer
WIZER=$NM/node_modules/.bin/wizer
have=$(node -p "try{require('$NM/node_modules/@bytecodealliance/wizer/package.json').version}catch(e){'none'}" 2>/dev/null || echo none)
if [ "$have" != "$WIZER_VERSION" ]; then
    command -v npm >/dev/null || die "npm is needed to install Wizer (scripts/deps.sh --test)"
    echo "edge-snapshot: npm install @bytecodealliance/wizer@$WIZER_VERSION into $NM" >&2
    mkdir -p "$NM" && echo '{"name":"eq-wizer","private":true}' > "$NM/package.json"
    (cd "$NM" && npm install --no-audit --no-fund --loglevel=error "@bytecodealliance/wizer@$WIZER_VERSION" >/dev/null) \
        || die "npm install @bytecodealliance/wizer failed"
fi

name=$(basename "$model"); name=${name%.gguf}
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# --inherit-env: the EDGEQ_SNAPSHOT_* settings; stdio inherited: the model on stdin, the
# module's one log line on stderr. No --dir/--mapdir: nothing preopened.
env -i PATH="$PATH" EDGEQ_SNAPSHOT_NAME="$name" EDGEQ_SNAPSHOT_CTX="$ctx" EDGEQ_SNAPSHOT_BATCH="$batch" \
    "$WIZER" --allow-wasi --inherit-env true --inherit-stdio true --wasm-bulk-memory true \
    -o "$tmp" "$WASM" < "$model" || die "wizer failed"
mv -f "$tmp" "$out"
trap - EXIT
echo "edge-snapshot: $out ($(( $(stat -c %s "$out") / 1048576 )) MiB; the model $(( $(stat -c %s "$model") / 1048576 )) MiB, the module $(( $(stat -c %s "$WASM") / 1024 )) KiB)" >&2
