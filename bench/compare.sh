#!/usr/bin/env bash
# Side-by-side speed: edgeq bench vs llama.cpp's llama-bench (built from the source bundled in
# npm node-llama-cpp, -march=native, CPU only) on the same GGUF files, same thread count, in one
# run. Prints pp/tg tokens per second and the edgeq/llama.cpp ratios, and tg as a fraction of
# the memory-bound ceiling (read bandwidth / weight bytes read per token). Not part of CI.
#   bench/compare.sh [-t THREADS] [-r REPS] [--model NAME[,NAME...]]... [--no-1b] [--avx2] [MODEL.gguf ...]
# --avx2: both built for AVX2 (+FMA, F16C) only, AVX-512 and AVX-VNNI off (edgeq: build/x86-avx2 as
# tests/cross/x86-avx2.sh; llama.cpp: $EQ_CACHE/oracle/build-avx2): what an AVX2-only CPU runs.
# NAME (bench/models.sh; fetched or made into $EQ_CACHE/models/ once):
#   smollm2  SmolLM2-135M-Instruct Q4_1 (real)       gemma3  Gemma 3 270M Q4_K_M (real)
#   1b       synthetic 1.1B llama Q4_K_M (0.7 GB)    phi35   synthetic Phi-3.5-mini shape Q4_K_M (2.4 GB;
#                                                            making it needs 7.7 GB of free disk, once)
#   1b-TYPE  the 1b shape in another type (1b-q4_0, 1b-q8_0, 1b-q5_k_m, 1b-f16, ...)
#   tiny     a 20M random llama (smoke runs only)
# Default (no --model, no file): smollm2 and 1b (--no-1b: smollm2 only). -t: default all cores.
# Bandwidth: bench/bandwidth.c, a streaming sum over 1 GiB on 1 and on THREADS threads, in 4 KiB
# and in 2 MiB pages, measured once per run; "tg/BW" = tg tokens/s x bench/weight_bytes.py's
# bytes per token / the faster of the two (1.00 would be a decoder limited by nothing but reading
# its weights once per token). edgeq asks for 2 MiB pages for its weights; llama.cpp reads them
# from the file's page cache (4 KiB pages): both are measured against the same ceiling.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export EQ_CACHE=${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}
threads=$(nproc); reps=3; big=1; avx2=0; models=(); names=()
while [ $# -gt 0 ]; do
  case $1 in
    -t) threads=$2; shift 2;; -r) reps=$2; shift 2;; --no-1b) big=0; shift;; --avx2) avx2=1; shift;;
    --model) IFS=, read -ra n <<<"$2"; names+=("${n[@]}"); shift 2;;
    -*) echo "bench/compare.sh: unknown option $1" >&2; exit 2;;
    *) models+=("$1"); shift;;
  esac
done
bash tests/oracle/setup.sh >/dev/null
LSRC=$EQ_CACHE/oracle/llama.cpp-full   # the whole bundled source (the oracle keeps only a subset)
LBUILD=$EQ_CACHE/oracle/build-native
[ $avx2 = 1 ] && LBUILD=$EQ_CACHE/oracle/build-avx2
if [ ! -f "$LSRC/CMakeLists.txt" ]; then
  rm -rf "$LSRC"
  git clone -q "$EQ_CACHE/oracle/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$LSRC" 2>/dev/null
fi
if [ ! -x "$LBUILD/bin/llama-bench" ] || [ ! -x "$LBUILD/bin/llama-quantize" ]; then
  echo "building llama-bench and llama-quantize from the bundled llama.cpp source (once)..." >&2
  isa=(-DGGML_NATIVE=ON)
  [ $avx2 = 1 ] && isa=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON)
  # its AMX kernels crash (SIGSEGV in ggml::cpu::amx) on the Xeon VMs that have AMX: there, the
  # same ISA as -march=native without AMX (edgeq has no AMX kernels either)
  if [ $avx2 = 0 ] && grep -qw amx_int8 /proc/cpuinfo; then
    isa=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON)
    for f in avx512f:AVX512 avx512vbmi:AVX512_VBMI avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16 avx_vnni:AVX_VNNI; do
      grep -qw "${f%%:*}" /proc/cpuinfo && isa+=("-DGGML_${f##*:}=ON")
    done
  fi
  cmake -S "$LSRC" -B "$LBUILD" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF "${isa[@]}" \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null
  cmake --build "$LBUILD" -j"$(nproc)" --target llama-bench llama-quantize >/dev/null
fi
if [ $avx2 = 1 ]; then
  EDGEQ=build/x86-avx2/edgeq
  cmake -S . -B build/x86-avx2 -DCMAKE_BUILD_TYPE=Release -DEQ_NATIVE=ON "-DCMAKE_C_FLAGS=-mno-avx512f -mno-avxvnni" >/dev/null
  cmake --build build/x86-avx2 -j"$(nproc)" --target edgeq-cli >/dev/null
else
  EDGEQ=build/native/edgeq
  cmake --preset native >/dev/null && cmake --build --preset native -j"$(nproc)" --target edgeq-cli >/dev/null
fi

if [ ${#models[@]} -eq 0 ] && [ ${#names[@]} -eq 0 ]; then
  names=(smollm2); [ $big = 1 ] && names+=(1b)
fi
for n in "${names[@]}"; do models+=("$(bash bench/models.sh "$n" | tail -1)"); done

# the machine's read bandwidth, once: 1 thread and $threads threads
mkdir -p build/bench
cc -std=c11 -O2 -march=native -pthread bench/bandwidth.c -o build/bench/bandwidth
bw=$(build/bench/bandwidth "$threads" 1024)
echo "$bw" | sed 's/ (sum.*//'
# the ceiling: the faster of the two page sizes (2 MiB pages where Linux gives them)
bw1=$(sed -nE 's/.*: 1 thread ([0-9.]+).*/\1/p' <<<"$bw" | sort -g | tail -1)
bwn=$(sed -nE 's/.*threads? ([0-9.]+) \(sum.*/\1/p' <<<"$bw" | sort -g | tail -1)
# one thread: both columns measured it, and the faster is the ceiling (the first alone once
# read 16.46 GB/s where the second read 17.96: tg/BW 0.95 then, 0.87 against the faster)
[ "$threads" = 1 ] && bwn=$(printf '%s\n' "$bw1" "$bwn" | sort -g | tail -1)

printf '%-36s %-6s %12s %12s %8s %19s\n' model test edgeq llama.cpp ratio "tg/BW edgeq llama"
for m in "${models[@]}"; do
  # one run each, alternating, same threads; llama-bench: pp128 and tg64 on an empty cache
  e=$("$EDGEQ" bench -m "$m" -p 128 -n 64 -t "$threads" -r "$reps" --json)
  l=$("$LBUILD/bin/llama-bench" -m "$m" -p 128 -n 64 -t "$threads" -r "$reps" -o json 2>/dev/null)
  wb=$(python3 bench/weight_bytes.py "$m")
  python3 - "$m" "$e" "$l" "$wb" "$bwn" <<'PY'
import json, os, sys
name, e, l = os.path.basename(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
per_tok, bw = int(sys.argv[4].split()[0]), float(sys.argv[5]) * 1e9
ll = {}
for r in l:
    key = "pp" if r.get("n_prompt", 0) > 0 else "tg"
    ll[key] = r["avg_ts"]
for key in ("pp", "tg"):
    n = e[key]["n"]
    frac = f"{e[key]['tps'] * per_tok / bw:9.2f} {ll[key] * per_tok / bw:9.2f}" if key == "tg" else ""
    print(f"{name[:36]:<36} {key}{n:<4} {e[key]['tps']:12.2f} {ll[key]:12.2f} {e[key]['tps']/ll[key]:7.2f}x {frac}")
print(f"{name[:36]:<36} weights read per token {per_tok / 1e6:.1f} MB: the bandwidth allows {bw / per_tok:.1f} tokens/s")
PY
done
