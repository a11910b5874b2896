// Just enough GGUF for the tests: split a file like llama.cpp's gguf-split (split.no,
// split.count, split.tensors.count; all metadata in the first part) and write small headers.
import fs from 'node:fs';

const SCALAR = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

class Reader {
  constructor(buf) { this.b = buf; this.o = 0; }
  u32() { const v = this.b.readUInt32LE(this.o); this.o += 4; return v; }
  u64() { const v = Number(this.b.readBigUInt64LE(this.o)); this.o += 8; return v; }
  str() { const n = this.u64(); const s = this.b.toString('utf8', this.o, this.o + n); this.o += n; return s; }
  skipValue(type) {
    if (type === 8) { this.str(); return; }
    if (type === 9) {
      const t = this.u32();
      const n = this.u64();
      for (let i = 0; i < n; i++) this.skipValue(t);
      return;
    }
    this.o += SCALAR[type];
  }
}

/** Parse the header: raw KV entries, tensor infos, data offset. */
export function parseHeader(buf) {
  const r = new Reader(buf);
  if (buf.toString('latin1', 0, 4) !== 'GGUF') throw new Error('not GGUF');
  r.o = 4;
  const version = r.u32();
  const nTensors = r.u64();
  const nKv = r.u64();
  const kvs = [];
  let alignment = 32;
  for (let i = 0; i < nKv; i++) {
    const start = r.o;
    const key = r.str();
    const type = r.u32();
    const vstart = r.o;
    r.skipValue(type);
    if (key === 'general.alignment') alignment = buf.readUInt32LE(vstart);
    kvs.push({ key, raw: buf.subarray(start, r.o) });
  }
  const tensors = [];
  for (let i = 0; i < nTensors; i++) {
    const name = r.str();
    const nd = r.u32();
    const dims = [];
    for (let d = 0; d < nd; d++) dims.push(r.u64());
    const type = r.u32();
    const offset = r.u64();
    tensors.push({ name, dims, type, offset });
  }
  const dataStart = Math.ceil(r.o / alignment) * alignment;
  return { version, kvs, tensors, alignment, dataStart };
}

function strBuf(s) {
  const b = Buffer.from(s, 'utf8');
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(b.length));
  return Buffer.concat([n, b]);
}
function u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; }
function u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; }
function kvRaw(key, type, value) {
  const parts = [strBuf(key), u32(type)];
  if (type === 8) parts.push(strBuf(value));
  else if (type === 2) { const b = Buffer.alloc(2); b.writeUInt16LE(value); parts.push(b); }
  else if (type === 4) parts.push(u32(value));
  else if (type === 5) { const b = Buffer.alloc(4); b.writeInt32LE(value); parts.push(b); }
  else throw new Error('type');
  return Buffer.concat(parts);
}

/** A GGUF header (no data) with the given KVs (raw buffers) and tensors ({name, dims, type, offset}). */
export function writeHeader(kvRaws, tensors, alignment = 32) {
  const parts = [Buffer.from('GGUF', 'latin1'), u32(3), u64(tensors.length), u64(kvRaws.length), ...kvRaws];
  for (const t of tensors) {
    parts.push(strBuf(t.name), u32(t.dims.length), ...t.dims.map(u64), u32(t.type), u64(t.offset));
  }
  const h = Buffer.concat(parts);
  const pad = (alignment - (h.length % alignment)) % alignment;
  return Buffer.concat([h, Buffer.alloc(pad)]);
}

export const kv = { str: (k, v) => kvRaw(k, 8, v), u32: (k, v) => kvRaw(k, 4, v) };

/** Split `path` into n parts at tensor boundaries; returns the part paths. */
export function splitFile(path, outPrefix, n) {
  const buf = fs.readFileSync(path);
  const h = parseHeader(buf);
  const dataSize = buf.length - h.dataStart;
  const ts = h.tensors.map((t, i) => ({
    ...t,
    end: i + 1 < h.tensors.length ? h.tensors[i + 1].offset : dataSize,
  }));
  // tensors are laid out in order of offset in files written by llama.cpp
  for (let i = 1; i < ts.length; i++) if (ts[i].offset < ts[i - 1].offset) throw new Error('unordered tensors');
  const per = Math.ceil(ts.length / n);
  const out = [];
  for (let k = 0; k < n; k++) {
    const mine = ts.slice(k * per, (k + 1) * per);
    const splitKvs = [kvRaw('split.no', 2, k), kvRaw('split.count', 2, n), kvRaw('split.tensors.count', 5, ts.length)];
    const kvs = k === 0 ? [...h.kvs.map((x) => x.raw), ...splitKvs] : splitKvs;
    let off = 0;
    const infos = mine.map((t) => {
      const r = { name: t.name, dims: t.dims, type: t.type, offset: off };
      off += Math.ceil((t.end - t.offset) / h.alignment) * h.alignment;
      return r;
    });
    const header = writeHeader(kvs, infos, k === 0 ? h.alignment : 32);
    const file = `${outPrefix}-${String(k + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.gguf`;
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, header);
    for (const t of mine) {
      const len = Math.ceil((t.end - t.offset) / h.alignment) * h.alignment;
      const data = Buffer.alloc(len);
      buf.copy(data, 0, h.dataStart + t.offset, Math.min(buf.length, h.dataStart + t.end));
      fs.writeSync(fd, data);
    }
    fs.closeSync(fd);
    out.push(file);
  }
  return out;
}
