// Weights as raw GGUF blocks (src/quant/blocks.h, byte for byte), read from array<u32> with
// byte offsets: blocks are 18, 20, 22, 24, 34, 84, 110, 144, 176 or 210 bytes, so a field is
// not 4-byte aligned. Every deq4_<type>(o, k) returns the 4 weights k..k+3 (k % 4 == 0) of the
// row whose first byte is o, with the scalar reference's arithmetic (src/quant/legacy.c,
// kquants.c, float.c). The host appends `fn deq4(...)` naming the one its pipeline uses.
//
// Four values per call: 4 codes of one block are adjacent bytes (or nibbles of adjacent
// bytes), so one unaligned 32-bit load feeds all four; the block's scale is re-read per call
// from cache rather than staged, which keeps one code path for matvec, matmul and embedding.

@group(0) @binding(0) var<storage, read> W: array<u32>;

fn ld8(b: u32) -> u32 { return (W[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu; }
// b even: a half never straddles two words in these layouts (every field offset is even)
fn ld16(b: u32) -> u32 { return (W[b >> 2u] >> ((b & 2u) * 8u)) & 0xffffu; }
// Unaligned, W[i + 1] holds byte b + 3: inside the (4-byte padded) buffer whenever the bytes read are.
fn ld32(b: u32) -> u32 {
    let i = b >> 2u;
    let s = (b & 3u) * 8u;
    if (s == 0u) { return W[i]; }
    return (W[i] >> s) | (W[i + 1u] << (32u - s));
}
fn f16at(b: u32) -> f32 { return unpack2x16float(ld16(b)).x; }
// the 4 bytes of q, each shifted right by sh and masked
fn bytes4(q: u32, sh: u32, mask: u32) -> vec4<u32> {
    return (vec4<u32>(q, q >> 8u, q >> 16u, q >> 24u) >> vec4<u32>(sh)) & vec4<u32>(mask);
}
fn sbytes4(q: u32) -> vec4<f32> {
    return vec4<f32>(vec4<i32>(bitcast<i32>(q << 24u), bitcast<i32>(q << 16u), bitcast<i32>(q << 8u), bitcast<i32>(q)) >> vec4<u32>(24u));
}
fn sbyte(v: u32) -> i32 { return bitcast<i32>(v << 24u) >> 24u; }

fn deq4_f32(o: u32, k: u32) -> vec4<f32> {
    let i = (o >> 2u) + k;   // F32 rows start 4-byte aligned
    return vec4<f32>(bitcast<f32>(W[i]), bitcast<f32>(W[i + 1u]), bitcast<f32>(W[i + 2u]), bitcast<f32>(W[i + 3u]));
}

fn deq4_f16(o: u32, k: u32) -> vec4<f32> {
    let b = o + 2u * k;
    return vec4<f32>(unpack2x16float(ld32(b)), unpack2x16float(ld32(b + 4u)));
}

// Q4_0 {d; qs[16]}: value j is the low nibble of qs[j] (j < 16), else the high nibble of qs[j-16]
fn deq4_q4_0(o: u32, k: u32) -> vec4<f32> {
    let bo = o + (k >> 5u) * 18u;
    let j = k & 31u;
    let q = bytes4(ld32(bo + 2u + (j & 15u)), (j >> 4u) * 4u, 15u);
    return (vec4<f32>(q) - 8.0) * f16at(bo);
}

fn deq4_q4_1(o: u32, k: u32) -> vec4<f32> {
    let bo = o + (k >> 5u) * 20u;
    let j = k & 31u;
    let q = bytes4(ld32(bo + 4u + (j & 15u)), (j >> 4u) * 4u, 15u);
    return vec4<f32>(q) * f16at(bo) + f16at(bo + 2u);
}

// Q5_0 {d; qh[4]; qs[16]}: the fifth bit of value j is bit j of qh
fn deq4_q5_0(o: u32, k: u32) -> vec4<f32> {
    let bo = o + (k >> 5u) * 22u;
    let j = k & 31u;
    let h = (vec4<u32>(ld32(bo + 2u)) >> (vec4<u32>(j) + vec4<u32>(0u, 1u, 2u, 3u))) & vec4<u32>(1u);
    let q = bytes4(ld32(bo + 6u + (j & 15u)), (j >> 4u) * 4u, 15u) | (h << vec4<u32>(4u));
    return (vec4<f32>(q) - 16.0) * f16at(bo);
}

fn deq4_q5_1(o: u32, k: u32) -> vec4<f32> {
    let bo = o + (k >> 5u) * 24u;
    let j = k & 31u;
    let h = (vec4<u32>(ld32(bo + 4u)) >> (vec4<u32>(j) + vec4<u32>(0u, 1u, 2u, 3u))) & vec4<u32>(1u);
    let q = bytes4(ld32(bo + 8u + (j & 15u)), (j >> 4u) * 4u, 15u) | (h << vec4<u32>(4u));
    return vec4<f32>(q) * f16at(bo) + f16at(bo + 2u);
}

fn deq4_q8_0(o: u32, k: u32) -> vec4<f32> {
    let bo = o + (k >> 5u) * 34u;
    return sbytes4(ld32(bo + 2u + (k & 31u))) * f16at(bo);
}

// Q2_K {scales[16]; qs[64]; d; dmin}: per 128 values, 4 shifts of the same 32 bytes
fn deq4_q2_K(o: u32, k: u32) -> vec4<f32> {
    let bo = o + (k >> 8u) * 84u;
    let e = k & 255u;
    let n = e >> 7u;
    let s = (e >> 5u) & 3u;
    let l = e & 31u;
    let sc = ld8(bo + n * 8u + s * 2u + (l >> 4u));
    let q = bytes4(ld32(bo + 16u + n * 32u + l), 2u * s, 3u);
    let dl = f16at(bo + 80u) * f32(sc & 15u);
    let ml = f16at(bo + 82u) * f32(sc >> 4u);
    return dl * vec4<f32>(q) - ml;
}

// Q3_K {hmask[32]; qs[64]; scales[12]; d}: 6-bit signed scales, a cleared hmask bit subtracts 4
fn deq4_q3_K(o: u32, k: u32) -> vec4<f32> {
    let bo = o + (k >> 8u) * 110u;
    let e = k & 255u;
    let n = e >> 7u;
    let s = (e >> 5u) & 3u;
    let l = e & 31u;
    let j = n * 8u + s * 2u + (l >> 4u);
    var lo: u32;
    if (j < 8u) { lo = ld8(bo + 96u + j) & 15u; } else { lo = ld8(bo + 88u + j) >> 4u; }
    let hi = (ld8(bo + 104u + (j & 3u)) >> (2u * (j >> 2u))) & 3u;
    let dl = f16at(bo + 108u) * f32(i32(lo | (hi << 4u)) - 32);
    let q = vec4<i32>(bytes4(ld32(bo + 32u + n * 32u + l), 2u * s, 3u));
    let hm = bytes4(ld32(bo + l), n * 4u + s, 1u);
    return dl * vec4<f32>(q - select(vec4<i32>(4), vec4<i32>(0), hm == vec4<u32>(1u)));
}

// 6-bit scale and min of sub-block j from Q4_K/Q5_K's 12 packed bytes at s
fn scale_min_k4(s: u32, j: u32) -> vec2<f32> {
    if (j < 4u) { return vec2<f32>(f32(ld8(s + j) & 63u), f32(ld8(s + j + 4u) & 63u)); }
    let b = ld8(s + j + 4u);
    return vec2<f32>(f32((b & 15u) | ((ld8(s + j - 4u) >> 6u) << 4u)), f32((b >> 4u) | ((ld8(s + j) >> 6u) << 4u)));
}

// Q4_K {d; dmin; scales[12]; qs[128]}: per 64 values, 32 low nibbles then 32 high nibbles
fn deq4_q4_K(o: u32, k: u32) -> vec4<f32> {
    let bo = o + (k >> 8u) * 144u;
    let e = k & 255u;
    let jj = e >> 6u;
    let hi = (e >> 5u) & 1u;
    let sm = scale_min_k4(bo + 4u, 2u * jj + hi);
    let q = bytes4(ld32(bo + 16u + 32u * jj + (e & 31u)), 4u * hi, 15u);
    return (f16at(bo) * sm.x) * vec4<f32>(q) - f16at(bo + 2u) * sm.y;
}

// Q5_K {d; dmin; scales[12]; qh[32]; qs[128]}: Q4_K plus a fifth bit, bit 2*jj+hi of qh[l]
fn deq4_q5_K(o: u32, k: u32) -> vec4<f32> {
    let bo = o + (k >> 8u) * 176u;
    let e = k & 255u;
    let jj = e >> 6u;
    let hi = (e >> 5u) & 1u;
    let l = e & 31u;
    let sm = scale_min_k4(bo + 4u, 2u * jj + hi);
    let q = bytes4(ld32(bo + 48u + 32u * jj + l), 4u * hi, 15u) + 16u * bytes4(ld32(bo + 16u + l), 2u * jj + hi, 1u);
    return (f16at(bo) * sm.x) * vec4<f32>(q) - f16at(bo + 2u) * sm.y;
}

// Q6_K {ql[128]; qh[64]; scales[16] (int8); d}: per 128 values, quarter t takes the low (t < 2)
// or high nibbles of ql[32*(t&1) + l] and bits 2t..2t+1 of qh[l]
fn deq4_q6_K(o: u32, k: u32) -> vec4<f32> {
    let bo = o + (k >> 8u) * 210u;
    let e = k & 255u;
    let n = e >> 7u;
    let t = (e >> 5u) & 3u;
    let l = e & 31u;
    let ql = bytes4(ld32(bo + n * 64u + 32u * (t & 1u) + l), 4u * (t >> 1u), 15u);
    let qh = bytes4(ld32(bo + 128u + n * 32u + l), 2u * t, 3u);
    let a = vec4<i32>(ql | (qh << vec4<u32>(4u))) - 32;
    return (f16at(bo + 208u) * f32(sbyte(ld8(bo + 192u + (e >> 4u))))) * vec4<f32>(a);
}
