#!/usr/bin/env bash
# Every test edgeq has, as CI runs them: unit tests (native, then ASan+UBSan), conformance
# against llama.cpp (tokenizers, chat templates, tensor types, whole models), the NEON and
# WASM SIMD128 kernels under qemu-user / Node WASI, and a short fuzz run of the GGUF reader.
# Installs what it needs (scripts/deps.sh --test, the oracle via npm/pip into .cache/).
# Ends with one line "N passed, N failed" summing every suite's checks.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export EQ_CACHE=${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}
JOBS=$(nproc)
FUZZ_SECS=${EQ_FUZZ_SECS:-60}
log=$ROOT/build/test-logs; mkdir -p "$log"

bash scripts/deps.sh --test || { echo "deps failed"; echo "0 passed, 1 failed"; exit 1; }

total_pass=0; total_fail=0; failed_suites=()
suite() {  # suite NAME COMMAND...: run, show its output, add its counts
  local name=$1; shift
  echo "=== $name"
  local start=$SECONDS
  "$@" > "$log/$name.log" 2>&1
  local rc=$?
  tail -n 25 "$log/$name.log"
  local p=0 f=0 counts
  # ctest runs many programs (each prints its own "N passed, N failed", prefixed "K: " by -V):
  # sum them; other suites end with one total line: take the last
  counts=$(grep -aoE '^([0-9]+: )?[A-Za-z_:-]*[ ]*[0-9]+ passed, [0-9]+ failed' "$log/$name.log" | sed -E 's/.*[^0-9]([0-9]+) passed, ([0-9]+) failed/\1 \2/; s/^([0-9]+) passed, ([0-9]+) failed/\1 \2/')
  case $name in unit-*|cross-*) ;; *) counts=$(tail -n 1 <<<"$counts");; esac
  while read -r a b; do [ -n "$a" ] && { p=$((p + a)); f=$((f + b)); }; done <<<"$counts"
  if [ $rc -ne 0 ] && [ $f -eq 0 ]; then f=1; fi
  [ $rc -ne 0 ] && failed_suites+=("$name")
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  echo "--- $name: rc=$rc, $p passed, $f failed, $((SECONDS - start)) s"
}

# 1. llama.cpp oracle (npm node-llama-cpp: prebuilt libllama + the source bundle) and the model
suite oracle-setup bash tests/oracle/setup.sh
ORACLE=$EQ_CACHE/oracle
[ -f "$ORACLE/env.sh" ] && source "$ORACLE/env.sh"
LLAMA_SRC=$ORACLE/llama.cpp
LLAMA_LIB_DIR=$(dirname "$(find "$ORACLE/node_modules/@node-llama-cpp" -name 'libllama*.so' -path '*linux-x64/*' 2>/dev/null | grep -v cuda | grep -v vulkan | head -1)" 2>/dev/null)
export EQ_LLAMA_SRC=$LLAMA_SRC EQ_LLAMA_LIB_DIR=$LLAMA_LIB_DIR EQ_VOCAB_DIR=$LLAMA_SRC/models
export EQ_GGML_INCLUDE=$LLAMA_SRC/ggml/include EQ_GGML_LIB=$LLAMA_LIB_DIR/libggml-base.so
export EDGEQ=$ROOT/build/native/edgeq


# 2. unit tests, optimised native build
suite build-native bash -c "cmake --preset native >/dev/null && cmake --build --preset native -j$JOBS"
suite unit-native ctest --test-dir build/native -V
# 3. the same under AddressSanitizer + UndefinedBehaviorSanitizer
suite build-sanitize bash -c "cmake --preset sanitize >/dev/null && cmake --build --preset sanitize -j$JOBS >/dev/null"
suite unit-sanitize ctest --test-dir build/sanitize -V

# 4. conformance against llama.cpp
suite conf-tokenizer bash tests/conformance/tokenizer/run.sh
suite conf-chat bash tests/conformance/chat/run.sh
suite conf-ggml-types bash tests/conformance/ggml_types/run.sh
suite conf-models python3 tests/conformance/models/cases.py ${EQ_MODELS_ARGS:-}
suite conf-quantize bash tests/conformance/quantize/run.sh
suite conf-perplexity bash tests/conformance/perplexity/run.sh
suite conf-real python3 tests/conformance/real/run.py
suite conf-convert bash tests/conformance/convert/run.sh
suite cli bash tests/cli/run.sh
suite cli-files bash tests/cli/files.sh
suite cli-text python3 tests/cli/text.py
suite cli-threads bash tests/cli/threads.sh
suite cli-corrupt bash tests/cli/corrupt.sh

# 5. WebAssembly: the browser/Node module and the npm package; the WASI module under wasmtime
suite js bash tests/js/run.sh
suite webgpu bash tests/webgpu/run.sh
suite browser bash tests/browser/run.sh
suite web-demo bash tests/web-demo/run.sh
suite wasi bash tests/wasi/run.sh

# 6. other ISAs: NEON under qemu-aarch64, WASM SIMD128 under Node's WASI, AVX2 where native is AVX-512
suite cross-aarch64 bash tests/cross/aarch64.sh
suite cross-wasm bash tests/cross/wasm.sh
suite cross-x86-avx2 bash tests/cross/x86-avx2.sh

# 7. fuzz the GGUF reader briefly
suite fuzz bash tests/fuzz/run.sh "$FUZZ_SECS"

echo
if [ ${#failed_suites[@]} -gt 0 ]; then
    # what failed, again at the end: a CI report that keeps only the head and tail of this
    # output still names the failed checks (each suite's whole log is in build/test-logs/)
    for name in "${failed_suites[@]}"; do
        lines=$(grep -aE '(^|[[:space:]])(FAIL|not ok|FAILED)|\*\*\*Failed' "$log/$name.log" | head -n 12)
        [ -n "$lines" ] || lines=$(tail -n 3 "$log/$name.log")
        cut -c1-400 <<<"$lines" | sed "s/^/[$name] /"
    done
    echo "failed suites: ${failed_suites[*]}"
fi
echo "$total_pass passed, $total_fail failed"
[ $total_fail -eq 0 ] && [ ${#failed_suites[@]} -eq 0 ]
