// Whether this engine runs WebAssembly relaxed SIMD (Chromium 114+ and Firefox ESR 153 validate
// it): the browser worker then loads the relaxed-SIMD build of the module
// (wasm/edgeq-{st,mt}-relaxed.wasm: faster K-quant dot products, same results), else the
// SIMD128 one. The probe is a function returning
// i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.const 0, v128.const 0, v128.const 0).
const ZERO = [0xfd, 0x0c, ...new Array(16).fill(0)];
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section
  0x0a, 0x3d, 0x01, 0x3b, 0x00, ...ZERO, ...ZERO, ...ZERO, 0xfd, 0x93, 0x02, 0x0b, // code
]);

export function hasRelaxedSimd() {
  try {
    return WebAssembly.validate(PROBE);
  } catch {
    return false;
  }
}
