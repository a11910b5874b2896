// Renumbers i32x4.relaxed_dot_i8x16_i7x16_add_s in a wasm module or object file, so that the
// relaxed-SIMD kernels (src/arch/wasm/quants_wasm.c, compiled by clang-19) survive Debian
// 12's Emscripten 3.1.6, whose binaryen 108 still uses the pre-standard numbering:
//   node relaxed-opcode.mjs to-old IN OUT   0xFD 0x113 -> 0xFD 0x114 (binaryen 108 reads that
//                                           as the same 3-operand i32x4.dot_i8x16_i7x16_add_s)
//   node relaxed-opcode.mjs to-std IN OUT   back, after emcc's wasm-opt
// Binaryen 108 reads the standard 0x113 as a 2-operand i16x8 dot and writes a module engines
// reject. Only instructions are rewritten: the code section is decoded instruction by
// instruction (data that happens to hold the bytes is left alone). Any other relaxed-SIMD
// opcode (0x100..0x1FF other than the one renumbered) is an error, as is finding none.
import fs from 'node:fs';

const [, , mode, inPath, outPath] = process.argv;
const FROM = { 'to-old': 0x113, 'to-std': 0x114 }[mode];
if (FROM === undefined || !inPath || !outPath) {
  console.error('usage: node relaxed-opcode.mjs to-old|to-std IN.wasm OUT.wasm');
  process.exit(2);
}
const TO = FROM === 0x113 ? 0x114 : 0x113;
const b = new Uint8Array(fs.readFileSync(inPath));
let p = 0;
const fail = (what) => { throw new Error(`${inPath}: ${what} at byte ${p}`); };
const u = () => { let r = 0, s = 0, c; do { c = b[p++]; r += (c & 0x7f) * 2 ** s; s += 7; } while (c & 0x80); return r; };
const skipLeb = () => { while (b[p++] & 0x80); };
const memarg = () => { skipLeb(); skipLeb(); };
let count = 0;

function simd() {
  const at = p;
  const op = u();
  if (op <= 0x0b || op === 0x5c || op === 0x5d) memarg();
  else if (op === 0x0c || op === 0x0d) p += 16;
  else if (op >= 0x15 && op <= 0x22) p += 1;
  else if (op >= 0x54 && op <= 0x5b) { memarg(); p += 1; }
  else if (op >= 0x100) {
    if (op !== FROM) fail(`unexpected relaxed SIMD opcode 0x${op.toString(16)}`);
    if (p - at !== 2) fail('non-minimal opcode encoding');
    b[at] = 0x80 | (TO & 0x7f); b[at + 1] = TO >> 7;
    count++;
  }
}

function expr(end) {
  while (p < end) {
    const op = b[p++];
    if (op === 0x02 || op === 0x03 || op === 0x04) { // block type: empty, a value type or a type index
      if (b[p] === 0x40 || (b[p] >= 0x6f && b[p] <= 0x7f)) p++; else skipLeb();
    } else if (op === 0x0c || op === 0x0d || op === 0x10 || (op >= 0x20 && op <= 0x26) || op === 0xd2) skipLeb();
    else if (op === 0x0e) { const n = u(); for (let i = 0; i <= n; i++) skipLeb(); }
    else if (op === 0x11) { skipLeb(); skipLeb(); }
    else if (op === 0x1c) { const n = u(); p += n; }
    else if (op >= 0x28 && op <= 0x3e) memarg();
    else if (op === 0x3f || op === 0x40 || op === 0xd0) p += 1;
    else if (op === 0x41 || op === 0x42) skipLeb();
    else if (op === 0x43) p += 4;
    else if (op === 0x44) p += 8;
    else if (op === 0xfc) {
      const s = u();
      if (s === 0x08) { skipLeb(); p += 1; } else if (s === 0x09 || s === 0x0d || (s >= 0x0f && s <= 0x11)) skipLeb();
      else if (s === 0x0a) p += 2; else if (s === 0x0b) p += 1; else if (s === 0x0c || s === 0x0e) { skipLeb(); skipLeb(); }
      else if (s > 0x11) fail(`unknown 0xFC opcode ${s}`);
    } else if (op === 0xfd) simd();
    else if (op === 0xfe) { const s = u(); if (s === 0x03) p += 1; else memarg(); }
    else if ((op >= 0x05 && op <= 0x0a) || (op >= 0x12 && op <= 0x19) || op === 0x1d || op === 0x1e || op === 0x27 || (op >= 0xc5 && op <= 0xcf) || op === 0xd1 || op >= 0xd3 && op < 0xfc) {
      if (op !== 0x05 && op !== 0x0b) fail(`unsupported opcode 0x${op.toString(16)}`);
    }
  }
  if (p !== end) fail('function body overrun');
}

if (b[0] !== 0 || b[1] !== 0x61 || b[2] !== 0x73 || b[3] !== 0x6d) fail('not a wasm file');
p = 8;
while (p < b.length) {
  const id = b[p++];
  const size = u();
  const end = p + size;
  if (id === 10) {
    const n = u();
    for (let f = 0; f < n; f++) {
      const len = u();
      const fend = p + len;
      const groups = u();
      for (let g = 0; g < groups; g++) { skipLeb(); p += 1; }
      expr(fend);
    }
  }
  p = end;
}
if (count === 0) fail(`no 0xFD 0x${FROM.toString(16)} found`);
fs.writeFileSync(outPath, b);
console.log(`${outPath}: ${count} x i32x4.relaxed_dot_i8x16_i7x16_add_s renumbered 0x${FROM.toString(16)} -> 0x${TO.toString(16)}`);
