// Not-finite check (a corrupt file): for each of T rows of n floats holding a NaN or an
// infinity, atomicMin(F[0], key0 + row), so the word ends as the first (site, token) of the
// step (the host resets it to 0xffffffff before each step; see backend/webgpu/webgpu.c). The
// test is on the exponent bits: WGSL implementations may assume floats are finite.

struct Params { n: u32, T: u32, nwg_x: u32, key0: u32, x_off: u32, x_ld: u32, pad0: u32, pad1: u32, }
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> F: array<atomic<u32>>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let id = linear_id(wg, lid, p.nwg_x, 256u);
    if (id >= p.n * p.T) { return; }
    let row = id / p.n;
    let bits = bitcast<u32>(X[p.x_off + row * p.x_ld + id % p.n]);
    if ((bits & 0x7f800000u) == 0x7f800000u) { atomicMin(&F[0], p.key0 + row); }
}
