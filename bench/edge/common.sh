# Shared set-up of the edge benchmarks (sourced): the wasmtime venv, the model, the WASI module
# and its snapshot (build/edge/snapshot.wasm, remade when older than the module or the model).
# Sets PY, MODEL, WASM, SNAP. Environment: EQ_CACHE, JOBS, EQ_CTX (the snapshot's -c, 512).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
CACHE=${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}
VENV=$CACHE/wasi-venv
if ! "$VENV/bin/python" -c "import wasmtime" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check wasmtime
fi
PY=$VENV/bin/python
MODEL=$(bash scripts/get-model.sh)
WASM=build/wasi/edgeq.wasm
[ -f build/wasi/CMakeCache.txt ] || cmake --preset wasi >/dev/null
cmake --build --preset wasi -j "${JOBS:-2}" --target edgeq-cli >/dev/null
SNAP=build/edge/snapshot.wasm
mkdir -p build/edge
if [ ! -f "$SNAP" ] || [ "$SNAP" -ot "$WASM" ] || [ "$SNAP" -ot "$MODEL" ]; then
    bash scripts/edge-snapshot.sh "$MODEL" "$SNAP" -c "${EQ_CTX:-512}"
fi
