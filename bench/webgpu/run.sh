#!/usr/bin/env bash
# WebGPU path vs wasm CPU path of the npm package, same model, same process (not part of CI):
#   bash bench/webgpu/run.sh [MODEL.gguf | --model NAME] [-r REPS] [-t THREADS] [-p 128] [-n 64] [--chromium] [--no-node]
#   bash bench/webgpu/run.sh --quick          # tiny random model, -p 16 -n 8 -r 1: ~1 min on SwiftShader
# NAME: smollm2 (default), gemma3, 1b, phi35, tiny (bench/models.sh). -t: the CPU path's threads
# (default all cores). --chromium adds the same run in headless Chromium (tests/browser's driver).
# Prints the adapter, pp/tg tokens/s on both paths, dispatches and submits per token, kernel
# compile time, GPU memory against the file size (bench/webgpu/bench.mjs).
#
# The adapter: first Dawn's Vulkan backend as the system has it (no VK_ICD_FILENAMES forced: a
# real GPU's driver); when that finds none, or only a CPU one, SwiftShader (Chromium's Vulkan CPU
# driver, /usr/lib/chromium) with a loud warning that the numbers say nothing about speed.
#
# Offline use (a bare GPU machine without network): everything must already be there, this script
# installs nothing when it is:
#   $EQ_CACHE/npm-webgpu/node_modules/webgpu   npm webgpu (Dawn for Node; tests/webgpu/run.sh installs it)
#   js/wasm/                                   the built modules (bash js/scripts/build.sh)
#   the model file (pass a path, or have $EQ_CACHE/models/... made by bench/models.sh)
#   node >= 20; a Vulkan loader (libvulkan1) and the GPU's Vulkan ICD (NVIDIA: the driver's
#   nvidia_icd.json); for --chromium: tests/browser/node_modules and a chromium binary
# EQ_BENCH_NO_BUILD=1 never builds js/wasm (default: build only when js/wasm/webgpu.js is missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
export EQ_CACHE=${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}
NM=$EQ_CACHE/npm-webgpu
export EQ_WEBGPU_MODULE=${EQ_WEBGPU_MODULE:-$NM/node_modules/webgpu/index.js}
SWS=${EQ_SWIFTSHADER_DIR:-/usr/lib/chromium}

name=smollm2; model=; opts=(); quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --model) name=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    -r|-t|-p|-n) opts+=("$1" "$2"); shift 2 ;;
    --chromium|--no-node) opts+=("$1"); shift ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench/webgpu/run.sh: unknown option $1" >&2; exit 2 ;;
    *) model=$1; shift ;;
  esac
done
if [ $quick = 1 ]; then name=tiny; opts=(-p 16 -n 8 -r 1 "${opts[@]}"); fi

[ -f "$EQ_WEBGPU_MODULE" ] || { echo "bench/webgpu/run.sh: no $EQ_WEBGPU_MODULE (npm webgpu: run tests/webgpu/run.sh once, or copy $NM over)" >&2; exit 1; }
if [ ! -f js/wasm/webgpu.js ] && [ "${EQ_BENCH_NO_BUILD:-}" != 1 ]; then
  echo "building js/wasm (js/scripts/build.sh)..." >&2
  bash js/scripts/build.sh >/dev/null
fi
[ -f js/wasm/webgpu.js ] || { echo "bench/webgpu/run.sh: js/wasm is not built (bash js/scripts/build.sh)" >&2; exit 1; }
[ -n "$model" ] || model=$(bash bench/models.sh "$name" | tail -1)

# which adapter Dawn's Vulkan backend finds, as JSON (empty: none), under the current environment
probe() {
  timeout 60 node --input-type=module -e '
    const { create, globals } = await import(process.env.EQ_WEBGPU_MODULE);
    Object.assign(globalThis, globals);
    const gpu = create(["backend=vulkan"]);
    const a = await gpu.requestAdapter({ powerPreference: "high-performance" });
    console.log(a ? JSON.stringify({ vendor: a.info.vendor, architecture: a.info.architecture, device: a.info.device, description: a.info.description }) : "");
    process.exit(0);' 2>/dev/null || true
}
unset EQ_WEBGPU_CPU_ADAPTER
found=$(unset VK_ICD_FILENAMES; probe)   # the system's drivers, whatever the caller exported
if [ -n "$found" ] && ! grep -qiE 'swiftshader|llvmpipe|lavapipe|"cpu"' <<<"$found"; then
  echo "Dawn (Vulkan) found a GPU: $found"
  unset VK_ICD_FILENAMES
else
  echo "Dawn (Vulkan) found ${found:-no adapter} without forcing a driver; falling back to SwiftShader ($SWS)" >&2
  [ -f "$SWS/vk_swiftshader_icd.json" ] || { echo "bench/webgpu/run.sh: no SwiftShader either ($SWS/vk_swiftshader_icd.json): no WebGPU adapter at all (a GPU needs the Vulkan loader libvulkan.so.1 and its driver's ICD json, e.g. /usr/share/vulkan/icd.d/nvidia_icd.json; Chromium's package brings SwiftShader)" >&2; exit 1; }
  export VK_ICD_FILENAMES=$SWS/vk_swiftshader_icd.json
  export LD_LIBRARY_PATH=$SWS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export EQ_WEBGPU_CPU_ADAPTER=1
fi
exec node bench/webgpu/bench.mjs "${opts[@]}" "$model"
