#!/usr/bin/env bash
# Build the GGUF fuzz target with clang + libFuzzer + ASan/UBSan and run it briefly on a seed
# corpus (real vocabulary files when the oracle cache has them). Usage: run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
CLANG=${CLANG:-}
if [ -z "$CLANG" ]; then
  for c in clang-19 clang-16 clang-15 clang-14 clang; do command -v $c >/dev/null && { CLANG=$c; break; }; done
fi
[ -n "$CLANG" ] || { echo "fuzz: no clang found (apt-get install clang)"; exit 1; }
out=build/fuzz
mkdir -p $out/corpus
srcs=$(ls src/*.c src/gguf/*.c src/quant/*.c src/arch/*/*.c src/ops/*.c src/backend/*/*.c src/models/*.c src/tokenizer/*.c src/runtime/*.c)
$CLANG -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -DEQ_THREADS=1 \
  -Iinclude -Isrc tests/fuzz/fuzz_gguf.c $srcs -lm -lpthread -o $out/fuzz_gguf
# seeds: small GGUF files we have (vocab files are large; take their first 64 KiB as well)
cache=${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}
for f in "$cache"/oracle/llama.cpp/models/ggml-vocab-{phi-3,gpt-2}.gguf; do
  [ -f "$f" ] && head -c 65536 "$f" > "$out/corpus/$(basename "$f").head"
done
printf 'GGUF\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' > $out/corpus/empty.gguf
# -max_len lets inputs grow to headers of a million metadata keys (22 MB: where a quadratic
# duplicate check or key lookup shows); libFuzzer still starts small and grows lengths slowly
$out/fuzz_gguf -max_total_time="$secs" -max_len=$((32 << 20)) -rss_limit_mb=2048 -timeout=10 $out/corpus 2>&1 | tail -5
echo "fuzz: ${secs}s without a finding"
echo "fuzz: 1 passed, 0 failed"
