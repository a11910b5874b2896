#!/usr/bin/env python3
"""Write a plausible random importance matrix in llama-imatrix's GGUF format for a model:
for every 2-D+ weight the model multiplies activations with, '<name>.in_sum2' (F32
[ne0, n_mat]: sums of squared activations) and '<name>.counts' (F32 [1, n_mat]: tokens
seen), plus the metadata llama-quantize requires (imatrix.datasets, imatrix.chunk_count,
imatrix.chunk_size). Usage: make_imatrix.py MODEL.gguf OUT.gguf [--seed N] [--legacy]"""
import argparse, os, struct, sys

import numpy as np

sys.path.insert(0, os.environ.get("EQ_GGUF_PY", ""))
from gguf import GGUFReader  # noqa: E402


def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--legacy", action="store_true", help="the old .dat format instead of GGUF")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    r = GGUFReader(a.model)
    entries = []
    for t in r.tensors:
        ne = [int(x) for x in t.shape]
        if len(ne) < 2 or not t.name.endswith(".weight") or "norm" in t.name or t.name == "token_embd.weight":
            continue
        n_mat = ne[2] if len(ne) > 2 else 1
        count = float(rng.integers(1, 4) * 512)
        counts = np.full(n_mat, count, dtype=np.float32)
        if len(entries) == 3:
            counts[:] = 0  # a tensor never activated: llama uses weights of 1
        # squared activations: log-normal, a few columns much larger (outlier channels)
        v = np.exp(rng.normal(0.0, 1.0, ne[0] * n_mat)).astype(np.float32)
        v[rng.integers(0, v.size, max(1, v.size // 64))] *= 50
        entries.append((t.name, ne[0], n_mat, (v * max(count, 1.0)).astype(np.float32), counts))

    if a.legacy:
        with open(a.out, "wb") as f:
            f.write(struct.pack("<i", len(entries)))
            for name, ne0, n_mat, sums, counts in entries:
                nb = name.encode()
                ncall = int(counts[0]) // 512
                f.write(struct.pack("<i", len(nb)) + nb + struct.pack("<ii", ncall, sums.size))
                # legacy files store (sum/count)*ncall
                vals = sums / np.maximum(counts.repeat(ne0), 1.0) * ncall
                f.write(vals.astype(np.float32).tobytes())
            f.write(struct.pack("<i", 7))
            ds = b"random.txt"
            f.write(struct.pack("<i", len(ds)) + ds)
        return

    kv = [
        (gguf_str("general.type") + struct.pack("<I", 8) + gguf_str("imatrix")),
        (gguf_str("imatrix.datasets") + struct.pack("<IIQ", 9, 8, 1) + gguf_str("random-" + str(a.seed) + ".txt")),
        (gguf_str("imatrix.chunk_count") + struct.pack("<II", 4, 7)),
        (gguf_str("imatrix.chunk_size") + struct.pack("<II", 4, 512)),
    ]
    infos, datas, off = [], [], 0
    for name, ne0, n_mat, sums, counts in entries:
        for tname, shape, arr in ((name + ".in_sum2", (ne0, n_mat), sums), (name + ".counts", (1, n_mat), counts)):
            infos.append(gguf_str(tname) + struct.pack("<I", 2) + struct.pack("<QQ", *shape) + struct.pack("<IQ", 0, off))
            b = arr.astype(np.float32).tobytes()
            pad = (-len(b)) % 32
            datas.append(b + b"\0" * pad)
            off += len(b) + pad
    head = b"GGUF" + struct.pack("<IQQ", 3, len(infos), len(kv)) + b"".join(kv) + b"".join(infos)
    head += b"\0" * ((-len(head)) % 32)
    with open(a.out, "wb") as f:
        f.write(head)
        f.write(b"".join(datas))


if __name__ == "__main__":
    main()
