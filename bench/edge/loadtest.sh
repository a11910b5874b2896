#!/usr/bin/env bash
# Load test of the WAGI-style front (bench/edge/loadtest.py): N concurrent clients for a fixed
# time, the plain module (model read from a preopened directory by every instance) and the
# pre-initialised snapshot, both precompiled (.cwasm), each instance capped at 128 MiB.
#   bash bench/edge/loadtest.sh [CLIENTS [SECONDS]]     (default 4 clients, 30 s each)
# Loopback only; at most 500 requests per run. Exits non-zero when any request failed.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
clients=${1:-4}; secs=${2:-30}
mdir=$(cd "$(dirname "$MODEL")" && pwd)
rc=0
"$PY" bench/edge/loadtest.py --label plain -c "$clients" --seconds "$secs" --json build/edge/load-plain.json \
    --front-args "--aot --max-memory 134217728 --dir $mdir::/m $WASM -- serve -m /m/$(basename "$MODEL") -c ${EQ_CTX:-512}" || rc=1
"$PY" bench/edge/loadtest.py --label snapshot -c "$clients" --seconds "$secs" --json build/edge/load-snapshot.json \
    --front-args "--aot --max-memory 134217728 $SNAP -- serve" || rc=1
exit $rc
