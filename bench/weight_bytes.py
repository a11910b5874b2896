#!/usr/bin/env python3
"""Weight bytes one generated token reads from a GGUF model: every tensor once, except the token
embedding table, of which one row is read (unless the model has no output.weight: then the table
is also the output matrix and is read whole). KV cache reads (small at tg64 contexts) are left out.
    bench/weight_bytes.py MODEL.gguf   ->   "<bytes per token> <all tensor bytes>"
Reads only the header (the file may be gigabytes)."""
import struct
import sys

ALIGN_KEY = "general.alignment"
SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}   # GGUF value type -> size
STRING, ARRAY = 8, 9


def main(path):
    with open(path, "rb") as f:
        def rd(fmt):
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]

        def rstr():
            return f.read(rd("<Q"))

        def skip(vt):
            if vt == STRING:
                rstr()
            elif vt == ARRAY:
                st, n = rd("<I"), rd("<Q")
                if st == STRING:
                    for _ in range(n):
                        rstr()
                else:
                    f.seek(SCALAR[st] * n, 1)
            else:
                f.seek(SCALAR[vt], 1)

        magic, version, n_tensors, n_kv = struct.unpack("<IIQQ", f.read(24))
        if magic != 0x46554747 or version < 2:
            sys.exit(f"weight_bytes.py: {path} is not a GGUF v2+ file")
        align = 32
        for _ in range(n_kv):
            key = rstr().decode("utf-8", "replace")
            vt = rd("<I")
            if key == ALIGN_KEY and vt == 4:
                align = rd("<I")
            else:
                skip(vt)
        tensors = []
        for _ in range(n_tensors):
            name = rstr().decode("utf-8", "replace")
            nd = rd("<I")
            dims = [rd("<Q") for _ in range(nd)]
            rd("<I")                      # type
            tensors.append((rd("<Q"), name, dims))
        data = (f.tell() + align - 1) // align * align
        f.seek(0, 2)
        end = f.tell() - data
    tensors.sort()
    size = {}
    for i, (off, name, dims) in enumerate(tensors):
        nxt = tensors[i + 1][0] if i + 1 < len(tensors) else end
        size[name] = (nxt - off, dims)   # padding to the alignment included: at most align - 1 bytes
    total = sum(s for s, _ in size.values())
    per_token = total
    if "token_embd.weight" in size and "output.weight" in size:
        s, dims = size["token_embd.weight"]
        per_token -= s - s // dims[1]     # one row of n_vocab rows
    print(per_token, total)


if __name__ == "__main__":
    main(sys.argv[1])
