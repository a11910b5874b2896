// Embedding lookup: Y[out_off + t*ld_out + i] = row IDS[t] of W, dequantized, for the tokens
// whose row lies in this chunk (rows row_first .. row_first+n_rows-1): a vocabulary split
// across buffers is one dispatch per chunk, and the host never reads the token ids back.
// Needs quant.wgsl (binding 0 = W) and deq4. One thread per 4 values: x = chunk, y = token.

struct Params {
    K: u32, row_first: u32, n_rows: u32, row_bytes: u32, w_off: u32,
    T: u32, ld_out: u32, out_off: u32,
}
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> IDS: array<u32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
    let c = g.x;
    let t = g.y;
    if (t >= p.T || 4u * c >= p.K) { return; }
    let id = IDS[t];
    if (id - p.row_first >= p.n_rows) { return; }   // also ids below row_first: u32 wraps
    let v = deq4(p.w_off + (id - p.row_first) * p.row_bytes, 4u * c);
    let b = p.out_off + t * p.ld_out + 4u * c;
    Y[b] = v.x; Y[b + 1u] = v.y; Y[b + 2u] = v.z; Y[b + 3u] = v.w;
}
