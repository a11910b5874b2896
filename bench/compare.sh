#!/usr/bin/env bash
# Side-by-side speed: edgeq bench vs llama.cpp's llama-bench (built from the source bundled in
# npm node-llama-cpp, -march=native, CPU only) on the same GGUF files, same thread count, in one
# run. Prints pp/tg tokens per second and the edgeq/llama.cpp ratios. Not part of CI.
#   bench/compare.sh [-t THREADS] [-r REPS] [--no-1b] [MODEL.gguf ...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export EQ_CACHE=${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}
threads=$(nproc); reps=3; big=1; models=()
while [ $# -gt 0 ]; do
  case $1 in
    -t) threads=$2; shift 2;; -r) reps=$2; shift 2;; --no-1b) big=0; shift;;
    *) models+=("$1"); shift;;
  esac
done
bash tests/oracle/setup.sh >/dev/null
LSRC=$EQ_CACHE/oracle/llama.cpp-full   # the whole bundled source (the oracle keeps only a subset)
LBUILD=$EQ_CACHE/oracle/build-native
if [ ! -f "$LSRC/CMakeLists.txt" ]; then
  rm -rf "$LSRC"
  git clone -q "$EQ_CACHE/oracle/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$LSRC" 2>/dev/null
fi
if [ ! -x "$LBUILD/bin/llama-bench" ] || [ ! -x "$LBUILD/bin/llama-quantize" ]; then
  echo "building llama-bench and llama-quantize from the bundled llama.cpp source (once)..." >&2
  cmake -S "$LSRC" -B "$LBUILD" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DGGML_NATIVE=ON \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null
  cmake --build "$LBUILD" -j"$(nproc)" --target llama-bench llama-quantize >/dev/null
fi
cmake --preset native >/dev/null && cmake --build --preset native -j"$(nproc)" --target edgeq-cli >/dev/null

if [ ${#models[@]} -eq 0 ]; then
  models+=("$(bash scripts/get-model.sh)")
  if [ $big = 1 ]; then
    d=$EQ_CACHE/models/bench; mkdir -p "$d"
    if [ ! -s "$d/synth-1b-q4_k_m.gguf" ]; then
      echo "making a synthetic 1B-class llama (F16, random weights) and quantizing it to Q4_K_M..." >&2
      python3 tests/tools/make_model.py --arch llama --vocab "$LSRC/models/ggml-vocab-llama-spm.gguf" --type F16 \
        --n-layer 16 --n-embd 2048 --n-ff 8192 --n-head 32 --n-head-kv 8 --ctx 2048 --out "$d/synth-1b-f16.gguf" >&2
      "$LBUILD/bin/llama-quantize" "$d/synth-1b-f16.gguf" "$d/synth-1b-q4_k_m.gguf" Q4_K_M >/dev/null 2>&1
      rm -f "$d/synth-1b-f16.gguf"
    fi
    models+=("$d/synth-1b-q4_k_m.gguf")
  fi
fi

printf '%-36s %-6s %12s %12s %8s\n' model test edgeq llama.cpp ratio
for m in "${models[@]}"; do
  # one run each, alternating, same threads; llama-bench: pp128 and tg64 on an empty cache
  e=$(build/native/edgeq bench -m "$m" -p 128 -n 64 -t "$threads" -r "$reps" --json)
  l=$("$LBUILD/bin/llama-bench" -m "$m" -p 128 -n 64 -t "$threads" -r "$reps" -o json 2>/dev/null)
  python3 - "$m" "$e" "$l" <<'PY'
import json, os, sys
name, e, l = os.path.basename(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
ll = {}
for r in l:
    key = "pp" if r.get("n_prompt", 0) > 0 else "tg"
    ll[key] = r["avg_ts"]
for key in ("pp", "tg"):
    n = e[key]["n"]
    print(f"{name[:36]:<36} {key}{n:<4} {e[key]['tps']:12.2f} {ll[key]:12.2f} {e[key]['tps']/ll[key]:7.2f}x")
PY
done
