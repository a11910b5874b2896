// Greedy decoding: the index of the largest of n logits (the lowest index on ties, as
// src/sample.c), so a step reads back 4 bytes instead of the vocabulary. One workgroup of 256:
// strided scan (coalesced), then a tree reduction of (value, index) pairs.

struct Params { n: u32, off: u32, pad0: u32, pad1: u32, }
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> L: array<f32>;
@group(0) @binding(3) var<storage, read_write> R: array<u32>;

var<workgroup> bv: array<f32, 256>;
var<workgroup> bi: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) tid: u32) {
    var v = 0.0;   // ix == none marks "no value yet"
    var ix = 0xffffffffu;
    for (var i = tid; i < p.n; i += 256u) {
        let x = L[p.off + i];
        if (x > v || ix == 0xffffffffu) { v = x; ix = i; }
    }
    bv[tid] = v;
    bi[tid] = ix;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k >>= 1u) {
        if (tid < k) {
            let ov = bv[tid + k];
            let oi = bi[tid + k];
            if (oi != 0xffffffffu && (bi[tid] == 0xffffffffu || ov > bv[tid] || (ov == bv[tid] && oi < bi[tid]))) {
                bv[tid] = ov;
                bi[tid] = oi;
            }
        }
        workgroupBarrier();
    }
    if (tid == 0u) { R[0] = bi[0]; }
}
