// Causal grouped-query attention over an F16 K/V cache, as src/models/decoder.c attention():
// Q meets the F16 cache rounded to F16, the probabilities are rounded to F16 before they weigh
// the F16 values. Cache layout: [position][kv_dim] halves, two per u32 (kv_dim even), the
// layout store_kv (kv.wgsl) writes. Token t sits at position pos0 + t and sees 0..pos0+t, or
// with a sliding window (window > 0, gemma3's local layers) its last `window` positions only.
//
// One workgroup of 256 per (head, token); head_dim <= 256 and a multiple of 4.
// Pass 1: each thread scores positions tid, tid+256, ... keeping an online max and sum of
//   exponentials; two tree reductions give the softmax's max and denominator.
// Pass 2: tiles of 256 positions: each thread rescores one position (recomputing costs one
//   more read of K but needs no scratch of n_ctx floats per head and token, which a long
//   prompt would make huge), rounds its probability to F16 into workgroup memory; then the
//   threads split into hd/4 lanes of 4 dims x G position groups, each lane reading V rows
//   front to back (coalesced across lanes), and the groups' sums are reduced at the end.
// A faster decode kernel would let a subgroup share each K row; this one is the portable core.

struct Params {
    n_head: u32, n_head_kv: u32, head_dim: u32, kv_dim: u32,
    pos0: u32, q_off: u32, q_ld: u32, out_off: u32,
    out_ld: u32, scale: f32, window: u32, pad1: u32,
}
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> Q: array<f32>;
@group(0) @binding(3) var<storage, read> KC: array<u32>;
@group(0) @binding(4) var<storage, read> VC: array<u32>;
@group(0) @binding(5) var<storage, read_write> O: array<f32>;

var<workgroup> qs: array<f32, 256>;
var<workgroup> pr: array<f32, 256>;
var<workgroup> red: array<f32, 256>;
var<workgroup> acc: array<vec4<f32>, 256>;

fn score(kbase: u32, pos: u32) -> f32 {
    let b = (pos * p.kv_dim + kbase) / 2u;
    var s = 0.0;
    for (var i = 0u; i < p.head_dim / 2u; i++) {
        let k = unpack2x16float(KC[b + i]);
        s += qs[2u * i] * k.x + qs[2u * i + 1u] * k.y;
    }
    return s * p.scale;
}

fn reduce_max(tid: u32, v: f32) -> f32 {
    workgroupBarrier();
    red[tid] = v;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k >>= 1u) {
        if (tid < k) { red[tid] = max(red[tid], red[tid + k]); }
        workgroupBarrier();
    }
    return red[0];
}

fn reduce_sum(tid: u32, v: f32) -> f32 {
    workgroupBarrier();
    red[tid] = v;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k >>= 1u) {
        if (tid < k) { red[tid] += red[tid + k]; }
        workgroupBarrier();
    }
    return red[0];
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let h = wg.x;
    let t = wg.y;
    let hd = p.head_dim;
    let kbase = (h / (p.n_head / p.n_head_kv)) * hd;   // this head's slice of a cache row
    let n = p.pos0 + t + 1u;
    var first = 0u;   // llama.cpp masks key j for query pos when pos - j >= window
    if (p.window > 0u && n > p.window) { first = n - p.window; }
    if (tid < hd) { qs[tid] = f16_round(Q[p.q_off + t * p.q_ld + h * hd + tid]); }
    workgroupBarrier();

    var m = -3.0e38;
    var l = 0.0;
    for (var pos = first + tid; pos < n; pos += 256u) {
        let s = score(kbase, pos);
        if (s > m) { l = l * exp(m - s) + 1.0; m = s; } else { l += exp(s - m); }
    }
    let mx = reduce_max(tid, m);
    let inv = 1.0 / reduce_sum(tid, l * exp(m - mx));

    let lanes = hd / 4u;
    let groups = 256u / lanes;
    let lane = tid % lanes;
    let g = tid / lanes;
    var a = vec4<f32>(0.0);
    for (var p0 = first; p0 < n; p0 += 256u) {
        workgroupBarrier();
        var w = 0.0;
        if (p0 + tid < n) { w = f16_round(exp(score(kbase, p0 + tid) - mx) * inv); }
        pr[tid] = w;
        workgroupBarrier();
        if (g < groups) {
            let m_ = min(256u, n - p0);
            for (var j = g; j < m_; j += groups) {
                let b = ((p0 + j) * p.kv_dim + kbase) / 2u + 2u * lane;
                a += pr[j] * vec4<f32>(unpack2x16float(VC[b]), unpack2x16float(VC[b + 1u]));
            }
        }
    }
    acc[tid] = a;
    workgroupBarrier();
    if (tid < lanes) {
        var s = vec4<f32>(0.0);
        for (var j = 0u; j < groups; j++) { s += acc[j * lanes + tid]; }
        let o = p.out_off + t * p.out_ld + h * hd + 4u * tid;
        O[o] = s.x; O[o + 1u] = s.y; O[o + 2u] = s.z; O[o + 3u] = s.w;
    }
}
