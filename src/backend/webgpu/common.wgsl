// Shared helpers, prepended to every kernel (no bindings here).

// f32 -> IEEE half bits, round to nearest even, exactly as src/quant/fp16.h eq_fp32_to_fp16
// (overflow to inf, NaN to 0x7e00). Written in integer arithmetic because WGSL lets
// pack2x16float round either way: the K/V cache must hold the CPU's bits on every GPU.
fn f16_bits(f: f32) -> u32 {
    let x = bitcast<u32>(f);
    let sign = (x >> 16u) & 0x8000u;
    let a = x & 0x7fffffffu;
    if (a > 0x7f800000u) { return sign | 0x7e00u; }          // NaN
    if (a >= 0x477ff000u) { return sign | 0x7c00u; }         // >= 65520 rounds to inf
    if (a >= 0x38800000u) {                                  // normal half (>= 2^-14)
        let m = a + 0xfffu + ((a >> 13u) & 1u);
        return sign | ((m - 0x38000000u) >> 13u);
    }
    if (a < 0x33000000u) { return sign; }                    // < 2^-25: zero
    // subnormal half: the value in units of 2^-24, rounded to nearest even
    let sh = 126u - (a >> 23u);                              // 14..24
    let mant = (a & 0x7fffffu) | 0x800000u;
    let q = mant >> sh;
    let rem = mant & ((1u << sh) - 1u);
    let half = 1u << (sh - 1u);
    return sign | select(q, q + 1u, rem > half || (rem == half && (q & 1u) == 1u));
}

// x rounded to half precision and back (unpacking a half is exact)
fn f16_round(x: f32) -> f32 { return unpack2x16float(f16_bits(x)).x; }

// Workgroups of a 1-D problem laid out in 2-D (at most 65535 per dimension): the host passes
// the x extent as nwg_x.
fn linear_id(wg: vec3<u32>, lid: u32, nwg_x: u32, size: u32) -> u32 {
    return (wg.y * nwg_x + wg.x) * size + lid;
}
