#!/usr/bin/env python3
"""compare.py REF.gguf OURS.gguf: same metadata (keys, value types, values; key order is only
reported) and same tensors (names, order, shapes, types, bytes). Exit 0 when equal, 1 with one
line per difference (at most 20) otherwise. Needs gguf-py on PYTHONPATH (EQ_GGUF_PY)."""
import sys

import numpy as np
import gguf


def kvs(r):
    out = {}
    for k, f in r.fields.items():
        if k.startswith("GGUF."):
            continue
        t = tuple(int(x) for x in f.types)
        if f.types[0] == gguf.GGUFValueType.ARRAY:
            if len(f.types) > 1 and f.types[1] == gguf.GGUFValueType.STRING:
                v = [bytes(f.parts[i]) for i in f.data]
            else:
                v = [f.parts[i].tobytes() for i in f.data]
        else:
            v = f.parts[f.data[0]].tobytes() if f.data else None
        out[k] = (t, v)
    return out


def short(v):
    s = repr(v)
    return s if len(s) < 120 else s[:117] + "..."


def main():
    ref, ours = gguf.GGUFReader(sys.argv[1]), gguf.GGUFReader(sys.argv[2])
    diffs = []
    a, b = kvs(ref), kvs(ours)
    for k in a:
        if k not in b:
            diffs.append(f"key {k}: missing (llama.cpp has {short(a[k][1])})")
        elif a[k][0] != b[k][0]:
            diffs.append(f"key {k}: type {b[k][0]} != llama.cpp's {a[k][0]}")
        elif a[k][1] != b[k][1]:
            va, vb = a[k][1], b[k][1]
            if isinstance(va, list) and len(va) == len(vb):
                i = next(i for i in range(len(va)) if va[i] != vb[i])
                diffs.append(f"key {k}: element {i}: {short(vb[i])} != llama.cpp's {short(va[i])}")
            else:
                diffs.append(f"key {k}: {short(vb)} != llama.cpp's {short(va)}")
    for k in b:
        if k not in a:
            diffs.append(f"key {k}: extra ({short(b[k][1])})")
    order_a = [k for k in a if k in b]
    order_b = [k for k in b if k in a]
    ta = [(t.name, t.tensor_type.name, [int(x) for x in t.shape]) for t in ref.tensors]
    tb = [(t.name, t.tensor_type.name, [int(x) for x in t.shape]) for t in ours.tensors]
    if ta != tb:
        na, nb = [t[0] for t in ta], [t[0] for t in tb]
        if sorted(na) != sorted(nb):
            diffs.append(f"tensors: names differ: missing {sorted(set(na) - set(nb))[:5]}, extra {sorted(set(nb) - set(na))[:5]}")
        elif na != nb:
            diffs.append("tensors: order differs")
        for x, y in zip(sorted(ta), sorted(tb)):
            if x != y:
                diffs.append(f"tensor {x[0]}: {y[1]} {y[2]} != llama.cpp's {x[1]} {x[2]}")
    else:
        for x, y in zip(ref.tensors, ours.tensors):
            da, db = np.asarray(x.data).tobytes(), np.asarray(y.data).tobytes()
            if da != db:
                n = next(i for i in range(min(len(da), len(db))) if da[i] != db[i]) if len(da) == len(db) else -1
                diffs.append(f"tensor {x.name}: data differs (first at byte {n} of {len(da)})")
    for d in diffs[:20]:
        print("  " + d)
    if not diffs and order_a != order_b:
        print("  (note: metadata key order differs)")
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
