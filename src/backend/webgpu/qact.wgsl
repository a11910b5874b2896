// Activations rounded as the CPU rounds them before a quantized matmul (its vec_dot_type), so
// the GPU multiplies the same numbers: S = dequant(quant(X)) per block of each of T rows.
//   mode 0, blocks of 32 (Q8_0 / Q8_1, for Q4_0 Q5_0 Q8_0 Q4_1 Q5_1): d = amax / 127,
//     q = round(x / d) half away from zero, value q * d rounded to F16 (the block's stored d);
//   mode 1, blocks of 256 (Q8_K, for the K-quants): iscale = -127 / (the value of largest
//     magnitude), q = min(127, round-half-even(iscale * x)), value q / iscale.
// One thread per block, no barriers (src/quant/legacy.c, kquants.c: eq_from_float_q8_*).
// WGSL's division is only good to 2.5 ULP: a code can land one off where x / d sits on a
// rounding boundary; such flips are rare and within the matmul's tolerance.

struct Params { n: u32, T: u32, nwg_x: u32, mode: u32, x_off: u32, ld_x: u32, pad0: u32, pad1: u32, }
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> S: array<f32>;

fn round_away(v: f32) -> f32 {
    let a = abs(v);
    var r = floor(a);
    if (a - r >= 0.5) { r += 1.0; }
    return select(r, -r, v < 0.0);
}

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let bs = select(32u, 256u, p.mode == 1u);
    let nb = p.n / bs;
    let id = linear_id(wg, lid, p.nwg_x, 64u);
    if (id >= nb * p.T) { return; }
    let t = id / nb;
    let x0 = p.x_off + t * p.ld_x + (id % nb) * bs;
    let s0 = t * p.n + (id % nb) * bs;
    var amax = 0.0;
    var mx = 0.0;
    for (var j = 0u; j < bs; j++) {
        let v = X[x0 + j];
        if (abs(v) > amax) { amax = abs(v); mx = v; }
    }
    if (p.mode == 0u) {
        let d = amax / 127.0;
        var id_ = 0.0;
        if (d != 0.0) { id_ = 1.0 / d; }
        let dh = f16_round(d);
        for (var j = 0u; j < bs; j++) { S[s0 + j] = round_away(X[x0 + j] * id_) * dh; }
    } else {
        if (amax == 0.0) {
            for (var j = 0u; j < bs; j++) { S[s0 + j] = 0.0; }
            return;
        }
        let iscale = -127.0 / mx;
        let d = 1.0 / iscale;
        for (var j = 0u; j < bs; j++) { S[s0 + j] = min(127.0, round(iscale * X[x0 + j])) * d; }
    }
}
