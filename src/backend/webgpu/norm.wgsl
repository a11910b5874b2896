// RMS norm: Y[t] = X[t] / sqrt(mean(X[t]^2) + eps) * Wn, as src/ops/norm.c (the CPU sums the
// squares in double; here a float tree over 256 partial sums, well inside the tolerance).
// One workgroup per row (token); 256 threads stride the row (coalesced), reduce in workgroup
// memory. Entry `inplace`: Y[t] normed where it is (post-norms, QK-norm), no X.

struct Params {
    n: u32, has_w: u32, x_off: u32, ld_x: u32, out_off: u32, ld_out: u32, eps: f32, pad: u32,
}
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> Wn: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

var<workgroup> red: array<f32, 256>;

// 1 / sqrt(mean of squares + eps) from each thread's partial sum of squares (a tree over 256)
fn inv_rms(tid: u32, s: f32) -> f32 {
    red[tid] = s;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k >>= 1u) {
        if (tid < k) { red[tid] += red[tid + k]; }
        workgroupBarrier();
    }
    return 1.0 / sqrt(red[0] / f32(p.n) + p.eps);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let x0 = p.x_off + wg.x * p.ld_x;
    var s = 0.0;
    for (var i = tid; i < p.n; i += 256u) { let v = X[x0 + i]; s += v * v; }
    let scale = inv_rms(tid, s);
    let y0 = p.out_off + wg.x * p.ld_out;
    for (var i = tid; i < p.n; i += 256u) {
        var v = X[x0 + i] * scale;
        if (p.has_w != 0u) { v *= Wn[i]; }
        Y[y0 + i] = v;
    }
}

@compute @workgroup_size(256)
fn inplace(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let y0 = p.out_off + wg.x * p.ld_out;
    var s = 0.0;
    for (var i = tid; i < p.n; i += 256u) { let v = Y[y0 + i]; s += v * v; }
    let scale = inv_rms(tid, s);
    for (var i = tid; i < p.n; i += 256u) {
        var v = Y[y0 + i] * scale;
        if (p.has_w != 0u) { v *= Wn[i]; }
        Y[y0 + i] = v;
    }
}
