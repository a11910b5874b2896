// Elementwise ops over T rows of n (row strides ld_*, offsets in floats); one thread per value.
// Entry points: add (residual: Y += X), bias (Y += B, one bias row for every token), scale
// (Y *= s), copy (Y = X: columns of a fused QKV row), swiglu (Y = silu(G) * U as
// src/ops/activation.c; for a fused gate|up projection bind the same buffer as G and U with
// u_off = g_off + n_ff), geglu (Y = gelu(G) * U, gelu's tanh form through F16 as the CPU),
// softcap (Y = s * tanh(Y / s)); swiglu_ip and geglu_ip gate Y in place (Y = act(Y) * U: WebGPU
// forbids binding one buffer as both G and Y).

struct Params {
    n: u32, T: u32, nwg_x: u32, s: f32,
    y_off: u32, y_ld: u32, x_off: u32, x_ld: u32,
    u_off: u32, u_ld: u32, pad0: u32, pad1: u32,
}
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> X: array<f32>;     // add: X; bias: B; swiglu: G
@group(0) @binding(3) var<storage, read> U: array<f32>;     // swiglu only
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

// (row, column) of this thread, or n rows when out of range
fn at(wg: vec3<u32>, lid: u32) -> vec2<u32> {
    let id = linear_id(wg, lid, p.nwg_x, 256u);
    if (id >= p.n * p.T) { return vec2<u32>(p.T, 0u); }
    return vec2<u32>(id / p.n, id % p.n);
}

@compute @workgroup_size(256)
fn add(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let e = at(wg, lid);
    if (e.x >= p.T) { return; }
    Y[p.y_off + e.x * p.y_ld + e.y] += X[p.x_off + e.x * p.x_ld + e.y];
}

@compute @workgroup_size(256)
fn bias(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let e = at(wg, lid);
    if (e.x >= p.T) { return; }
    Y[p.y_off + e.x * p.y_ld + e.y] += X[p.x_off + e.y];
}

@compute @workgroup_size(256)
fn scale(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let e = at(wg, lid);
    if (e.x >= p.T) { return; }
    Y[p.y_off + e.x * p.y_ld + e.y] *= p.s;
}

@compute @workgroup_size(256)
fn swiglu(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let e = at(wg, lid);
    if (e.x >= p.T) { return; }
    let g = X[p.x_off + e.x * p.x_ld + e.y];
    Y[p.y_off + e.x * p.y_ld + e.y] = g / (1.0 + exp(-g)) * U[p.u_off + e.x * p.u_ld + e.y];
}

@compute @workgroup_size(256)
fn copy(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let e = at(wg, lid);
    if (e.x >= p.T) { return; }
    Y[p.y_off + e.x * p.y_ld + e.y] = X[p.x_off + e.x * p.x_ld + e.y];
}

@compute @workgroup_size(256)
fn swiglu_ip(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let e = at(wg, lid);
    if (e.x >= p.T) { return; }
    let i = p.y_off + e.x * p.y_ld + e.y;
    let g = Y[i];
    Y[i] = g / (1.0 + exp(-g)) * U[p.u_off + e.x * p.u_ld + e.y];
}

// tanh without overflow: the builtin may go through exp(2x) (inf/inf past ~44)
fn tanh_c(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }

// gelu(x) * u as src/ops/activation.c eq_geglu: x rounded to F16, the tanh form, the result
// rounded to F16 (ggml's table); |x| >= 10: 0 or x
fn geglu1(x: f32, u: f32) -> f32 {
    if (x <= -10.0) { return 0.0; }
    if (x >= 10.0) { return x * u; }
    let h = f16_round(x);
    let y = 0.5 * h * (1.0 + tanh_c(0.79788456080286535587989211986876 * h * (1.0 + 0.044715 * h * h)));
    return f16_round(y) * u;
}

@compute @workgroup_size(256)
fn geglu(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let e = at(wg, lid);
    if (e.x >= p.T) { return; }
    Y[p.y_off + e.x * p.y_ld + e.y] = geglu1(X[p.x_off + e.x * p.x_ld + e.y], U[p.u_off + e.x * p.u_ld + e.y]);
}

@compute @workgroup_size(256)
fn geglu_ip(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let e = at(wg, lid);
    if (e.x >= p.T) { return; }
    let i = p.y_off + e.x * p.y_ld + e.y;
    Y[i] = geglu1(Y[i], U[p.u_off + e.x * p.u_ld + e.y]);
}

@compute @workgroup_size(256)
fn softcap(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let e = at(wg, lid);
    if (e.x >= p.T) { return; }
    let i = p.y_off + e.x * p.y_ld + e.y;
    Y[i] = tanh_c(Y[i] * (1.0 / p.s)) * p.s;
}
