// Matrix x vector (generation, one token): Y[out_off + row0 + r] = dot(W row r, X[x_off..]),
// r < n_rows of this weight chunk (a tensor split across buffers is dispatched per chunk).
// Needs quant.wgsl (binding 0 = W), deq4 and xr (the activation as the CPU's vec_dot_type
// holds it: F16 weights meet F16-rounded activations, as on the CPU; others f32).
//
// A workgroup of 256 owns ROWS = 8 rows, 32 lanes per row. The activations go through
// workgroup memory a tile of 2048 at a time (8 KiB, half of WebGPU's guaranteed 16 KiB), so
// each x value is read from global memory once per 8 rows instead of once per row. The 32
// lanes of a row take consecutive 4-value chunks: a row's blocks are read front to back by
// neighbouring lanes (coalesced); partial sums meet in a tree reduction in workgroup memory.

struct Params {
    K: u32,          // row length (values), a multiple of 4
    n_rows: u32,     // rows in this chunk
    row_bytes: u32,
    w_off: u32,      // byte offset of the chunk's first row in W
    row0: u32,       // output index of the chunk's first row
    x_off: u32,      // in floats
    out_off: u32,    // in floats
    nwg_x: u32,      // workgroups along x (rows beyond 65535 * 8 go to y)
}
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

const ROWS = 8u;
const LANES = 32u;
const TILE4 = 512u;   // 2048 values as vec4

var<workgroup> xs: array<vec4<f32>, TILE4>;
var<workgroup> part: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let r = (wg.y * p.nwg_x + wg.x) * ROWS + tid / LANES;
    let lane = tid % LANES;
    let live = r < p.n_rows;
    let o = p.w_off + select(0u, r, live) * p.row_bytes;
    let K4 = p.K / 4u;
    var acc = 0.0;
    for (var t0 = 0u; t0 < K4; t0 += TILE4) {
        let n = min(TILE4, K4 - t0);
        workgroupBarrier();
        for (var i = tid; i < n; i += 256u) {
            let b = p.x_off + 4u * (t0 + i);
            xs[i] = vec4<f32>(xr(X[b]), xr(X[b + 1u]), xr(X[b + 2u]), xr(X[b + 3u]));
        }
        workgroupBarrier();
        if (live) {
            for (var i = lane; i < n; i += LANES) {
                acc += dot(deq4(o, 4u * (t0 + i)), xs[i]);
            }
        }
    }
    part[tid] = acc;
    workgroupBarrier();
    for (var s = LANES / 2u; s > 0u; s >>= 1u) {
        if (lane < s) { part[tid] += part[tid + s]; }
        workgroupBarrier();
    }
    if (lane == 0u && live) { Y[p.out_off + p.row0 + r] = part[tid]; }
}

// Entry `rows`: one thread per row, no workgroup memory, no barriers. For CPU adapters
// (SwiftShader, lavapipe), where each barrier switches every invocation of the workgroup in
// and out: there the tiled kernel above takes seconds for a 32000-row output projection. On a
// GPU the tiled kernel is the one to use (its reads are coalesced). Same params.
@compute @workgroup_size(64)
fn rows(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let r = (wg.y * p.nwg_x + wg.x) * 64u + tid;
    if (r >= p.n_rows) { return; }
    let o = p.w_off + r * p.row_bytes;
    var acc = 0.0;
    for (var i = 0u; i < p.K / 4u; i++) {
        let b = p.x_off + 4u * i;
        acc += dot(deq4(o, 4u * i), vec4<f32>(xr(X[b]), xr(X[b + 1u]), xr(X[b + 2u]), xr(X[b + 3u])));
    }
    Y[p.out_off + p.row0 + r] = acc;
}
