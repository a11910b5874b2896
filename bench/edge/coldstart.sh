#!/usr/bin/env bash
# Cold start of the edge function (bench/edge/coldstart.py), plain module vs pre-initialised
# snapshot, compiled vs precompiled (.cwasm): SmolLM2-135M-Instruct Q4_1, -c 512.
#   bash bench/edge/coldstart.sh [--reps N] [--json OUT]
# A benchmark, not a test: it prints a table and exits 0 unless a run fails.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec "$PY" bench/edge/coldstart.py --plain "$WASM" --snapshot "$SNAP" --model "$MODEL" --ctx "${EQ_CTX:-512}" "$@"
