#!/usr/bin/env python3
"""long_token.py — copy a GGUF model, giving one of its tokens a very long text.

    long_token.py IN.gguf OUT.gguf [--piece " Paris"] [--bytes 3000]

The token whose text (as detokenized) is --piece gets a new text: the piece itself, then
"[0000:é日🌍 0001:é日🌍 ...]" up to about --bytes bytes of UTF-8 (numbered, so a cut or a
dropped stretch shows; multi-byte characters, so a cut inside one shows too; segment 0050 holds
a NUL character, which text handled as a C string would end at). Everything else
is copied: the other metadata, the tensor infos and the tensor data byte for byte, so the model
still generates that token where it did (e.g. " Paris" after "The capital of France is"), and
every program that prints tokens must now print a piece longer than any fixed buffer.
Byte-level BPE vocabularies (tokenizer.ggml.model "gpt2") store texts in GPT-2's byte-to-
code-point form, SentencePiece ones ("llama") with U+2581 for spaces; both are handled.
Prints {"id": ID, "text": NEW_TEXT} as JSON on stdout. Plain Python, no gguf-py or numpy.
"""
import argparse
import json
import struct
import sys

STRING, ARRAY = 8, 9
SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def byte_to_unicode():
    """GPT-2's printable code point for each byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def long_text(piece, size):
    parts, i = [piece, "["], 0
    while len("".join(parts).encode()) < size:
        parts.append(f"{i:04d}:é日🌍 " if i != 50 else f"{i:04d}:\0NUL ")
        i += 1
    parts.append("]")
    return "".join(parts)


class Reader:
    def __init__(self, buf):
        self.b, self.o = buf, 0

    def u32(self):
        v = struct.unpack_from("<I", self.b, self.o)[0]
        self.o += 4
        return v

    def u64(self):
        v = struct.unpack_from("<Q", self.b, self.o)[0]
        self.o += 8
        return v

    def raw_str(self):
        n = self.u64()
        s = self.b[self.o:self.o + n]
        self.o += n
        return s

    def skip(self, t):
        if t == STRING:
            self.raw_str()
        elif t == ARRAY:
            st, n = self.u32(), self.u64()
            if st in SCALAR:
                self.o += SCALAR[st] * n
            else:
                for _ in range(n):
                    self.skip(st)
        else:
            self.o += SCALAR[t]


def gstr(b):
    return struct.pack("<Q", len(b)) + b


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--piece", default=" Paris")
    ap.add_argument("--bytes", type=int, default=3000)
    a = ap.parse_args()

    buf = open(a.input, "rb").read()
    magic, version, n_tensors, n_kv = struct.unpack_from("<IIQQ", buf, 0)
    if magic != 0x46554747 or version < 2:
        sys.exit(f"long_token.py: {a.input}: not a GGUF v2/v3 file")
    r = Reader(buf)
    r.o = 24
    kvs = []        # (key, raw bytes of the whole entry)
    tokens_at = None
    model = b""
    alignment = 32
    for _ in range(n_kv):
        start = r.o
        key = r.raw_str().decode()
        t = r.u32()
        vstart = r.o
        if key == "tokenizer.ggml.tokens":
            st, n = r.u32(), r.u64()
            if t != ARRAY or st != STRING:
                sys.exit("long_token.py: tokenizer.ggml.tokens is not a string array")
            tokens_at = len(kvs)
            toks = [r.raw_str() for _ in range(n)]
        else:
            r.skip(t)
            if key == "tokenizer.ggml.model":
                model = buf[vstart + 8:r.o]
            if key == "general.alignment":
                alignment = struct.unpack_from("<I", buf, vstart)[0]
        kvs.append((key, buf[start:r.o]))
    if tokens_at is None:
        sys.exit("long_token.py: no tokenizer.ggml.tokens")
    header_end_kv = r.o
    for _ in range(n_tensors):
        r.raw_str()
        nd = r.u32()
        r.o += 8 * nd + 4 + 8
    infos = buf[header_end_kv:r.o]
    data_start = (r.o + alignment - 1) // alignment * alignment

    if model == b"gpt2":
        m = byte_to_unicode()
        enc = lambda s: "".join(m[b] for b in s.encode()).encode()  # noqa: E731
    elif model == b"llama":
        enc = lambda s: s.replace(" ", "\u2581").encode()  # noqa: E731
    else:
        sys.exit(f"long_token.py: tokenizer model {model!r} is not handled")
    want = enc(a.piece)
    ids = [i for i, s in enumerate(toks) if s == want]
    if len(ids) != 1:
        sys.exit(f"long_token.py: the piece {a.piece!r} is not exactly one token ({ids})")
    text = long_text(a.piece, a.bytes)
    toks[ids[0]] = enc(text)

    entry = gstr(b"tokenizer.ggml.tokens") + struct.pack("<IIQ", ARRAY, STRING, len(toks)) + b"".join(gstr(s) for s in toks)
    kvs[tokens_at] = ("tokenizer.ggml.tokens", entry)
    head = buf[:24] + b"".join(e for _, e in kvs) + infos
    head += b"\0" * ((alignment - len(head) % alignment) % alignment)
    with open(a.output, "wb") as f:
        f.write(head)
        f.write(memoryview(buf)[data_start:])
    print(json.dumps({"id": ids[0], "text": text}, ensure_ascii=False))


if __name__ == "__main__":
    main()
