#!/usr/bin/env bash
# fake_edgeq.sh — stands in for `edgeq run` using the llama.cpp oracle, to test the conformance
# runner itself:  EDGEQ=tests/oracle/fake_edgeq.sh tests/conformance/models/cases.py --quick
# FAKE_EDGEQ_VARIANT=x64 makes it a "different but correct" implementation (llama.cpp's generic,
# non-AVX CPU kernels) — shows how often float rounding alone changes greedy text.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ORACLE="${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}/oracle/bin/llama_oracle"
[[ "${1:-}" == run ]] || { echo "fake_edgeq: only 'run' is supported" >&2; exit 2; }
shift
m= p= n=32 t=1 c=0 lo=()
while (($#)); do
    case "$1" in
        -m) m="$2"; shift 2 ;;
        -p) p="$2"; shift 2 ;;
        -n) n="$2"; shift 2 ;;
        -t) t="$2"; shift 2 ;;
        -c) c="$2"; shift 2 ;;
        --temp) shift 2 ;;
        --logits-out) lo=(--logits-out "$2"); shift 2 ;;
        *) echo "fake_edgeq: unsupported option $1" >&2; exit 2 ;;
    esac
done
[[ -n "${FAKE_EDGEQ_VARIANT:-}" ]] && export EQ_ORACLE_CPU_VARIANT="$FAKE_EDGEQ_VARIANT"
exec "$ORACLE" generate "$m" "$p" -n "$n" -t "$t" -c "$c" "${lo[@]}" --quiet-ids
