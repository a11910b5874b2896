// Store T rows of K or V (f32) into an F16 cache at positions pos0.., rounded as the CPU rounds
// (f16_bits, round to nearest even): cache[(pos0+t)*kv_dim + i]. One thread per pair of halves.

struct Params { kv_dim: u32, T: u32, pos0: u32, src_off: u32, src_ld: u32, nwg_x: u32, pad0: u32, pad1: u32, }
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> S: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let hp = p.kv_dim / 2u;
    let id = linear_id(wg, lid, p.nwg_x, 64u);
    if (id >= p.T * hp) { return; }
    let t = id / hp;
    let j = id % hp;
    let s = p.src_off + t * p.src_ld + 2u * j;
    C[(p.pos0 + t) * hp + j] = f16_bits(S[s]) | (f16_bits(S[s + 1u]) << 16u);
}
