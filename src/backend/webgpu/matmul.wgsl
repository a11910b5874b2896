// Matrix x matrix (prompt, T tokens): Y[out_off + t*ld_out + row0 + r] = dot(W row r, X[x_off +
// t*ld_x ..]) for r < n_rows of this chunk, t < T. Needs quant.wgsl (binding 0 = W), deq4 and xr
// (see matvec.wgsl).
//
// Classic shared-memory tiling: a workgroup computes a 64-row x 32-token tile, stepping along K
// by 32. Each step dequantizes the 64x32 weight tile once (two 4-value chunks per thread) and
// stages the 32x32 activation tile; each weight is thus dequantized once per 32 tokens and
// each activation read once per 64 rows. Tiles are stored K-major so that the 16 threads
// reading one k read 16 consecutive words (no bank conflicts). 12 KiB of workgroup memory.
// Each thread accumulates 4 rows x 2 tokens (rows tr + 16i, tokens tc + 16j).

struct Params {
    K: u32, n_rows: u32, row_bytes: u32, w_off: u32, row0: u32,
    x_off: u32, out_off: u32, T: u32, ld_x: u32, ld_out: u32,
}
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

const BM = 64u;
const BN = 32u;
const BK = 32u;

var<workgroup> ws: array<f32, 2048>;   // [BK][BM]
var<workgroup> xt: array<f32, 1024>;   // [BK][BN]

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let m0 = wg.x * BM;
    let t0 = wg.y * BN;
    let tr = tid % 16u;
    let tc = tid / 16u;
    var acc: array<f32, 8>;
    for (var k0 = 0u; k0 < p.K; k0 += BK) {
        for (var c = tid; c < BM * BK / 4u; c += 256u) {
            let row = c / 8u;
            let kk = (c % 8u) * 4u;
            var v = vec4<f32>(0.0);
            if (m0 + row < p.n_rows && k0 + kk < p.K) {
                v = deq4(p.w_off + (m0 + row) * p.row_bytes, k0 + kk);
            }
            ws[kk * BM + row] = v.x;
            ws[(kk + 1u) * BM + row] = v.y;
            ws[(kk + 2u) * BM + row] = v.z;
            ws[(kk + 3u) * BM + row] = v.w;
        }
        {
            let tok = tid / 8u;
            let kk = (tid % 8u) * 4u;
            let live = t0 + tok < p.T && k0 + kk < p.K;   // K % 4 == 0: all 4 or none
            let b = select(0u, p.x_off + (t0 + tok) * p.ld_x + k0 + kk, live);
            for (var q = 0u; q < 4u; q++) {
                xt[(kk + q) * BN + tok] = select(0.0, xr(X[b + q]), live);
            }
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            let a = vec4<f32>(ws[kk * BM + tr], ws[kk * BM + tr + 16u], ws[kk * BM + tr + 32u], ws[kk * BM + tr + 48u]);
            let b0 = xt[kk * BN + tc];
            let b1 = xt[kk * BN + tc + 16u];
            acc[0] += a.x * b0; acc[1] += a.x * b1;
            acc[2] += a.y * b0; acc[3] += a.y * b1;
            acc[4] += a.z * b0; acc[5] += a.z * b1;
            acc[6] += a.w * b0; acc[7] += a.w * b1;
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 2u; j++) {
            let r = m0 + tr + 16u * i;
            let t = t0 + tc + 16u * j;
            if (r < p.n_rows && t < p.T) { Y[p.out_off + t * p.ld_out + p.row0 + r] = acc[i * 2u + j]; }
        }
    }
}
