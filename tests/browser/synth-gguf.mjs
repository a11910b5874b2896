// A valid GGUF larger than 2 GiB that is never written anywhere: "virtual files" whose bytes
// are computed from their offset, so the server can stream them (and answer Range requests) at a
// memory cost of a few MiB. It is a llama-architecture model with random Q8_0 weights (valid,
// small f16 scales: the forward pass stays finite, the text is garbage) and a minimal
// SentencePiece vocabulary (<unk>, <s>, </s>, the 256 byte tokens and a few words), which is all
// src/tokenizer/vocab.c and src/models/weights.c need.
//
// One file, or llama.cpp-style split parts (split.no / split.count / split.tensors.count, all
// other metadata in the first part). Layout of a part: header | F32 norm vectors (all 1.0) | its
// Q8_0 tensors, back to back. Q8_0 rows of 4096 or 14336 values are multiples of 32 bytes, so no
// padding is needed between tensors and the quantized region is just a sequence of 34-byte
// blocks, taken from a repeating 1 MiB pattern.

const GGUF_U16 = 2, GGUF_U32 = 4, GGUF_I32 = 5, GGUF_F32 = 6, GGUF_STR = 8, GGUF_ARR = 9;
const T_F32 = 0, T_Q8_0 = 8;
const Q8_BLOCK = 34; // f16 scale + 32 int8
const ALIGN = 32;
const PERIOD = 1 << 20;

class Writer {
  constructor() { this.parts = []; }
  raw(b) { this.parts.push(b); }
  u16(v) { const b = Buffer.alloc(2); b.writeUInt16LE(v); this.raw(b); }
  u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.raw(b); }
  i32(v) { const b = Buffer.alloc(4); b.writeInt32LE(v); this.raw(b); }
  f32(v) { const b = Buffer.alloc(4); b.writeFloatLE(v); this.raw(b); }
  u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.raw(b); }
  str(s) { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.raw(b); }
  buf() { return Buffer.concat(this.parts); }
}

/** The vocabulary: SPM with byte fallback, so any text tokenizes. */
function vocab() {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3]; // unknown, control, control
  for (let i = 0; i < 256; i++) { tokens.push(`<0x${i.toString(16).toUpperCase().padStart(2, '0')}>`); types.push(6); }
  for (const w of ['\u2581the', '\u2581a', '\u2581Hello', '\u2581world', 'e', 't', '\u2581']) { tokens.push(w); types.push(1); }
  const scores = tokens.map((_, i) => (types[i] === 1 ? -i : 0));
  return { tokens, types, scores };
}

// repeating patterns, each stored twice in a row so that any window up to one period is one slice
const ONES = Buffer.alloc(2 * PERIOD);
for (let i = 0; i < ONES.length; i += 4) ONES.writeFloatLE(1.0, i);
function q8Pattern(seed) {
  const nBlocks = Math.floor(PERIOD / Q8_BLOCK);
  const period = nBlocks * Q8_BLOCK;
  const q = Buffer.alloc(2 * period);
  let s = seed >>> 0 || 1;
  const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  for (let b = 0; b < nBlocks; b++) {
    const o = b * Q8_BLOCK;
    q.writeUInt16LE(0x1400 + (rnd() & 0x3ff), o); // f16 in [2^-10, 2^-9): normal, finite
    for (let k = 0; k < 32; k++) q.writeInt8((rnd() & 0xff) - 128, o + 2 + k);
  }
  q.copy(q, period, 0, period);
  return { q, period };
}

/** One GGUF file: kvs (writer callbacks) and tensors ({name, dims, type, bytes}, vectors first). */
function virtualFile(name, kvs, tensors, pattern, etagSeed) {
  const w = new Writer();
  w.raw(Buffer.from('GGUF', 'latin1'));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(kvs.length);
  for (const put of kvs) put(w);
  let off = 0, normBytes = 0;
  for (const t of tensors) {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(off);
    if (t.bytes % ALIGN) throw new Error('tensor size not aligned');
    if (t.type === T_F32) {
      if (off !== normBytes) throw new Error('vectors must come first');
      normBytes += t.bytes;
    }
    off += t.bytes;
  }
  let header = w.buf();
  header = Buffer.concat([header, Buffer.alloc((ALIGN - (header.length % ALIGN)) % ALIGN)]);
  const dataBytes = off;
  const h = header.length;
  const size = h + dataBytes;
  const regions = [
    { start: 0, end: h, period: Infinity, slice: (o, n) => header.subarray(o, o + n) },
    { start: h, end: h + normBytes, period: PERIOD, slice: (o, n) => { const k = o % PERIOD; return ONES.subarray(k, k + n); } },
    { start: h + normBytes, end: size, period: pattern.period, slice: (o, n) => { const k = o % pattern.period; return pattern.q.subarray(k, k + n); } },
  ];
  /** Buffers for bytes [start, end) of the file, at most maxChunk bytes each (views, no copy). */
  function* read(start = 0, end = size, maxChunk = 1 << 20) {
    let pos = start;
    for (const r of regions) {
      while (pos < end && pos >= r.start && pos < r.end) {
        const n = Math.min(end, r.end, pos + maxChunk, pos + r.period) - pos;
        yield r.slice(pos - r.start, n);
        pos += n;
      }
    }
  }
  return { name, size, dataBytes, headerBytes: h, read, etag: `"synth-${size.toString(16)}-${etagSeed}"` };
}

/**
 * The synthetic model, as nParts files. Defaults: Llama-3-8B-sized layers (n_embd 4096, n_ff
 * 14336, 32 heads, 8 KV heads), 10 of them: 2,318,866,720 bytes in one file, past the 2 GiB mark.
 */
export function synthGGUF({ nParts = 1, nLayer = 10, nEmbd = 4096, nFF = 14336, nHead = 32, nHeadKV = 8, seed = 1 } = {}) {
  const { tokens, types, scores } = vocab();
  const V = tokens.length, E = nEmbd, F = nFF, KV = (nEmbd / nHead) * nHeadKV;
  if (E % 32 || F % 32 || KV % 32) throw new Error('row lengths must be multiples of the Q8_0 block');
  const q8 = (name, ne0, ne1) => ({ name, dims: [ne0, ne1], type: T_Q8_0, bytes: (ne0 / 32) * Q8_BLOCK * ne1 });
  const vec = (name) => ({ name, dims: [E], type: T_F32, bytes: E * 4 });

  // tensors per part: the vectors and token_embd in the first, the layers spread evenly
  const perPart = Array.from({ length: nParts }, () => []);
  perPart[0].push(vec('output_norm.weight'));
  for (let i = 0; i < nLayer; i++) perPart[0].push(vec(`blk.${i}.attn_norm.weight`), vec(`blk.${i}.ffn_norm.weight`));
  perPart[0].push(q8('token_embd.weight', E, V));
  for (let i = 0; i < nLayer; i++) {
    const p = `blk.${i}.`;
    perPart[Math.floor((i * nParts) / nLayer)].push(q8(p + 'attn_q.weight', E, E), q8(p + 'attn_k.weight', E, KV),
      q8(p + 'attn_v.weight', E, KV), q8(p + 'attn_output.weight', E, E), q8(p + 'ffn_gate.weight', E, F),
      q8(p + 'ffn_up.weight', E, F), q8(p + 'ffn_down.weight', F, E));
  }
  const nTensors = perPart.reduce((a, l) => a + l.length, 0);

  const kvStr = (k, v) => (x) => { x.str(k); x.u32(GGUF_STR); x.str(v); };
  const kvU16 = (k, v) => (x) => { x.str(k); x.u32(GGUF_U16); x.u16(v); };
  const kvU32 = (k, v) => (x) => { x.str(k); x.u32(GGUF_U32); x.u32(v); };
  const kvI32 = (k, v) => (x) => { x.str(k); x.u32(GGUF_I32); x.i32(v); };
  const kvF32 = (k, v) => (x) => { x.str(k); x.u32(GGUF_F32); x.f32(v); };
  const kvArr = (k, t, arr, put) => (x) => { x.str(k); x.u32(GGUF_ARR); x.u32(t); x.u64(arr.length); for (const a of arr) put(x, a); };
  const model = [
    kvStr('general.architecture', 'llama'),
    kvStr('general.name', 'edgeq-synthetic-q8_0'),
    kvU32('general.file_type', 7), // MOSTLY_Q8_0
    kvU32('llama.context_length', 2048),
    kvU32('llama.embedding_length', E),
    kvU32('llama.feed_forward_length', F),
    kvU32('llama.block_count', nLayer),
    kvU32('llama.attention.head_count', nHead),
    kvU32('llama.attention.head_count_kv', nHeadKV),
    kvF32('llama.attention.layer_norm_rms_epsilon', 1e-5),
    kvF32('llama.rope.freq_base', 10000),
    kvU32('llama.vocab_size', V),
    kvStr('tokenizer.ggml.model', 'llama'),
    kvArr('tokenizer.ggml.tokens', GGUF_STR, tokens, (x, s) => x.str(s)),
    kvArr('tokenizer.ggml.scores', GGUF_F32, scores, (x, s) => x.f32(s)),
    kvArr('tokenizer.ggml.token_type', GGUF_I32, types, (x, t) => x.i32(t)),
    kvU32('tokenizer.ggml.bos_token_id', 1),
    kvU32('tokenizer.ggml.eos_token_id', 2),
    kvU32('tokenizer.ggml.unknown_token_id', 0),
  ];
  const pattern = q8Pattern(seed);
  const parts = perPart.map((tensors, k) => {
    const split = nParts > 1 ? [kvU16('split.no', k), kvU16('split.count', nParts), kvI32('split.tensors.count', nTensors)] : [];
    const name = nParts > 1 ? `synth-${String(k + 1).padStart(5, '0')}-of-${String(nParts).padStart(5, '0')}.gguf` : 'synth.gguf';
    return virtualFile(name, k === 0 ? [...model, ...split] : split, tensors, pattern, `${seed}-${k}`);
  });
  return {
    parts,
    url: '/' + parts[0].name,
    size: parts.reduce((a, p) => a + p.size, 0),
    dataBytes: parts.reduce((a, p) => a + p.dataBytes, 0),
    nVocab: V, nLayer, nEmbd: E,
  };
}
