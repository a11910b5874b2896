#!/usr/bin/env python3
"""corrupt_gguf.py — copy a GGUF file with one deliberate defect, for tests of hostile input.

    corrupt_gguf.py IN OUT --set-f32 llama.attention.layer_norm_rms_epsilon=-1
    corrupt_gguf.py IN OUT --nan-f32 output_norm.weight[7]      # one F32 tensor element -> NaN
    corrupt_gguf.py IN OUT --nan-scale blk.0.attn_q.weight      # first block's f16 scale -> NaN
    corrupt_gguf.py IN OUT --extra-keys 1000000 [--dup-key]     # a million more metadata keys
    corrupt_gguf.py IN OUT --long-str x.long=3000               # a string key: "é" x 3000 (6000 bytes)

Only the header is parsed (little-endian GGUF v2/v3); tensor data is copied as it is, moved
as a whole when the header grows (offsets are relative to the data section).
"""
import argparse
import re
import shutil
import struct

F32, STRING, ARRAY = 6, 8, 9
SIZE = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
BLOCK = {8: (32, 34), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24)}  # Q8_0 Q4_0 Q4_1 Q5_0 Q5_1: (elements, bytes)


def parse_header(b):
    assert b[:4] == b"GGUF", "not a GGUF file"
    n_tensors, n_kv = struct.unpack_from("<QQ", b, 8)
    off = 24

    def rstr(o):
        n, = struct.unpack_from("<Q", b, o)
        return o + 8 + n, bytes(b[o + 8:o + 8 + n])

    kv = {}
    for _ in range(n_kv):
        off, key = rstr(off)
        t, = struct.unpack_from("<I", b, off)
        off += 4
        kv[key.decode()] = (t, off)
        if t == STRING:
            off, _ = rstr(off)
        elif t == ARRAY:
            at, n = struct.unpack_from("<IQ", b, off)
            off += 12
            if at == STRING:
                for _ in range(n):
                    off, _ = rstr(off)
            else:
                off += SIZE[at] * n
        else:
            off += SIZE[t]
    kv_end = off
    tensors = {}
    for _ in range(n_tensors):
        off, name = rstr(off)
        nd, = struct.unpack_from("<I", b, off)
        off += 4
        ne = struct.unpack_from("<%dQ" % nd, b, off)
        off += 8 * nd
        tt, to = struct.unpack_from("<IQ", b, off)
        off += 12
        tensors[name.decode()] = (tt, to, ne)
    align = 32
    if "general.alignment" in kv:
        align, = struct.unpack_from("<I", b, kv["general.alignment"][1])
    data = (off + align - 1) // align * align
    return kv, kv_end, off, data, tensors, align


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--set-f32", help="KEY=VALUE: an f32 metadata value")
    ap.add_argument("--nan-f32", help="TENSOR[i]: element i of an F32 tensor becomes NaN")
    ap.add_argument("--nan-scale", help="TENSOR: the f16 scale of its first block becomes NaN")
    ap.add_argument("--extra-keys", type=int, default=0, help="append this many u32 metadata keys")
    ap.add_argument("--dup-key", action="store_true", help="the last extra key repeats the first")
    ap.add_argument("--long-str", help="KEY=N: append a string key holding 'é' N times")
    a = ap.parse_args()

    with open(a.src, "rb") as f:
        head = bytearray(f.read(64 << 20))
    kv, kv_end, hdr_end, data, tensors, align = parse_header(head)
    assert data <= len(head), "header larger than 64 MiB"

    def patch_data(tensor, rel, fmt, value):
        tt, to, ne = tensors[tensor]
        with open(a.dst, "r+b") as f:
            f.seek(data + to + rel)
            f.write(struct.pack(fmt, value))
        return tt

    if a.extra_keys or a.long_str:
        extra, n_extra = bytearray(), a.extra_keys
        for i in range(a.extra_keys):
            k = b"x.%07d" % (0 if a.dup_key and i == a.extra_keys - 1 else i)
            extra += struct.pack("<Q", len(k)) + k + struct.pack("<II", 4, i)
        if a.long_str:
            key, count = a.long_str.split("=", 1)
            k, v = key.encode(), ("\u00e9" * int(count)).encode()
            extra += struct.pack("<Q", len(k)) + k + struct.pack("<IQ", STRING, len(v)) + v
            n_extra += 1
        n_kv, = struct.unpack_from("<Q", head, 16)
        new = bytearray(head[:kv_end]) + extra + head[kv_end:hdr_end]
        struct.pack_into("<Q", new, 16, n_kv + n_extra)
        new += b"\0" * ((-len(new)) % align)
        with open(a.src, "rb") as f, open(a.dst, "wb") as g:
            g.write(new)
            f.seek(data)
            shutil.copyfileobj(f, g, 1 << 22)
        return
    shutil.copyfile(a.src, a.dst)
    if a.set_f32:
        key, value = a.set_f32.split("=", 1)
        t, off = kv[key]
        assert t == F32, f"{key} is not f32"
        with open(a.dst, "r+b") as f:
            f.seek(off)
            f.write(struct.pack("<f", float(value)))
    if a.nan_f32:
        m = re.fullmatch(r"(.+)\[(\d+)\]", a.nan_f32)
        assert patch_data(m.group(1), 4 * int(m.group(2)), "<f", float("nan")) == 0, "not an F32 tensor"
    if a.nan_scale:
        assert tensors[a.nan_scale][0] in BLOCK, "not a legacy block type (Q4_0..Q8_0)"
        patch_data(a.nan_scale, 0, "<H", 0x7E00)  # f16 NaN


if __name__ == "__main__":
    main()
