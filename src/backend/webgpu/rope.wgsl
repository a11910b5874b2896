// Rotary position embedding in place, as src/ops/rope.c: NORM rotates adjacent pairs, NEOX
// the halves of the first n_rot dims; dims from n_rot on are left alone. freq factors
// (LongRoPE) divide the angle when has_ff; YaRN mixes extrapolation when ext_factor != 0.
// One thread per (token, head, pair).
//
// The angle is pos * theta_scale^i by repeated multiplication in f32, as the CPU does, with
// theta_scale computed by the host (powf): the same bits. WGSL's sin/cos promise only 2^-11
// absolute error in [-pi, pi] and nothing outside, and positions make angles of thousands of
// radians: the angle is reduced by pi/2 in three exact-product parts (Cody-Waite) and fed to
// minimax polynomials (cephes sinf/cosf), ~1e-7 for |angle| < 1e5.

struct Params {
    n_head: u32, head_dim: u32, n_rot: u32, mode: u32,   // mode: 0 NORM, 2 NEOX
    pos0: u32, T: u32, ld: u32, off: u32,                // token t is at position pos0 + t
    theta_scale: f32, freq_scale: f32, attn_factor: f32, ext_factor: f32,
    corr0: f32, corr1: f32, has_ff: u32, nwg_x: u32,
    yarn_mscale: f32,                                    // attn_factor * (1 + 0.1 ln(1/freq_scale))
}
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read_write> X: array<f32>;
@group(0) @binding(3) var<storage, read> FF: array<f32>;

// cos and sin of a, accurate for |a| < 1e5
fn cos_sin(a: f32) -> vec2<f32> {
    let j = round(a * 0.63661977236758134);               // 2/pi
    let r = ((a - j * 1.5703125) - j * 4.837512969970703125e-4) - j * 7.54978995489188216e-8;
    let z = r * r;
    let s = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
    let c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
    let q = u32(i32(j) & 3);
    if (q == 0u) { return vec2<f32>(c, s); }
    if (q == 1u) { return vec2<f32>(-s, c); }
    if (q == 2u) { return vec2<f32>(-c, -s); }
    return vec2<f32>(s, -c);
}

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let half = p.n_rot / 2u;
    let id = linear_id(wg, lid, p.nwg_x, 64u);
    if (id >= p.T * p.n_head * half) { return; }
    let i = id % half;
    let h = (id / half) % p.n_head;
    let t = id / (half * p.n_head);
    var theta = f32(p.pos0 + t);
    for (var k = 0u; k < i; k++) { theta *= p.theta_scale; }
    var ff = 1.0;
    if (p.has_ff != 0u) { ff = FF[i]; }
    let extrap = theta / ff;
    var a = p.freq_scale * extrap;
    var mscale = p.attn_factor;
    if (p.ext_factor != 0.0) {
        let y = (f32(i) - p.corr0) / max(0.001, p.corr1 - p.corr0);
        let mix = (1.0 - min(1.0, max(0.0, y))) * p.ext_factor;
        a = a * (1.0 - mix) + extrap * mix;
        mscale = p.yarn_mscale;
    }
    let cs = cos_sin(a) * mscale;
    let base = p.off + t * p.ld + h * p.head_dim;
    var i0 = base + 2u * i;
    var i1 = i0 + 1u;
    if (p.mode == 2u) { i0 = base + i; i1 = base + i + half; }
    let x0 = X[i0];
    let x1 = X[i1];
    X[i0] = x0 * cs.x - x1 * cs.y;
    X[i1] = x0 * cs.y + x1 * cs.x;
}
