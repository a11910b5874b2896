// The WebGPU kernels (src/backend/webgpu/*.wgsl) through the runtime (wasm/web/webgpu.js) on
// a real WebGPU implementation (Dawn for Node), against edgeq's scalar reference: the cases and
// answers come from tests/webgpu/oracle.c (EQ_WGSL_CASES = its output directory).
// EQ_WEBGPU_MODULE: path of the `webgpu` npm package's entry (run.sh installs it in the cache).
//
// Tolerances, relative to the size of what was summed (never absolute: a matvec output near 0
// after cancellation is as accurate as its terms are large):
//   matvec/matmul  |gpu - ref| <= 2e-5 * sum_i |w_i x_i|: float accumulation of K <= 4352
//                  terms in a different order (the reference sums in double); one wrong weight
//                  in a row moves the sum by ~1/K of that scale, 1e-3 or more
//   attention      <= 1e-3 * sum_p |w_p v_p|: the probabilities are rounded to F16 like the CPU,
//                  but exp/sum in float may round one of them to the neighbouring half (at most
//                  2^-10 of that term); one position too many or too few over 300 moves it 3e-3
//   rmsnorm, rope, swiglu, embed: 1e-5 (rope 2e-6 of the head's scale) relative to the values
//   store_kv, add/bias/scale, argmax: exact
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRuntime, loadWGSL, rowBytes } from '../../wasm/web/webgpu.js';

const dir = process.env.EQ_WGSL_CASES;
if (!dir) throw new Error('EQ_WGSL_CASES is not set (run tests/webgpu/run.sh)');
const cases = JSON.parse(readFileSync(`${dir}/cases.json`, 'utf8'));
const data = readFileSync(`${dir}/data.bin`);
const TYPES = { f32: Float32Array, u32: Uint32Array, u16: Uint16Array, u8: Uint8Array };
function get(c, name) {
    const [dt, off, bytes] = c.arrays[name];
    const T = TYPES[dt];
    return new T(data.buffer.slice(data.byteOffset + off, data.byteOffset + off + bytes));
}

let rt, gpu;   // gpu stays referenced: Dawn for Node frees the instance when it is collected
const worst = {};   // kind -> largest error / tolerance scale seen
before(async () => {
    const { create, globals } = await import(process.env.EQ_WEBGPU_MODULE ?? 'webgpu');
    Object.assign(globalThis, globals);
    gpu = create(['backend=vulkan']);
    const sources = await loadWGSL(new URL('../../src/backend/webgpu/', import.meta.url));
    rt = await createRuntime({ gpu, sources });
    console.log('# adapter:', JSON.stringify(rt.info));
});
after(() => {
    console.log('# worst error / scale:', JSON.stringify(worst));
    rt?.destroy();
});

async function readF32(buf, n) { return new Float32Array((await rt.read(buf, 0, n * 4)).buffer); }

// every |got - want| <= tol * scale[i] (+ floor); the message names the first bad element
function close(kind, got, want, scale, tol, floor = 0) {
    assert.equal(got.length, want.length);
    let bad = -1, w = 0;
    for (let i = 0; i < want.length; i++) {
        const e = Math.abs(got[i] - want[i]), s = tol * scale(i) + floor;
        if (!(e <= s)) { if (bad < 0) bad = i; }
        if (scale(i) > 0) w = Math.max(w, e / scale(i));
    }
    worst[kind] = Math.max(worst[kind] ?? 0, w);
    if (bad >= 0) assert.fail(`${kind}: element ${bad}: got ${got[bad]}, want ${want[bad]} (allowed ${tol * scale(bad) + floor})`);
}

function weightOf(c) {
    const w = get(c, 'w');
    if (c.max_chunk) {
        const saved = rt.maxChunk;
        rt.maxChunk = c.max_chunk & ~3;
        try { return rt.weight(c.type, c.K, c.N, w); } finally { rt.maxChunk = saved; }
    }
    return rt.weight(c.type, c.K, c.N, w);
}

function name(c) {
    switch (c.kind) {
    case 'matvec': case 'matmul': case 'embed':
        return `${c.kind} ${c.type_name} K=${c.K} N=${c.N} T=${c.T}${c.max_chunk ? ` split ${c.max_chunk}` : ''}`;
    case 'rope': return `rope ${c.name} T=${c.T} pos0=${c.pos0}`;
    case 'attention': return `attention ${c.n_head}/${c.n_head_kv} hd=${c.head_dim} T=${c.T} pos0=${c.pos0}`;
    default: return `${c.kind} ${JSON.stringify(Object.fromEntries(Object.entries(c).filter(([k]) => k !== 'arrays' && k !== 'kind')))}`;
    }
}

const RUN = {
    matmul: (c) => RUN.matvec(c),
    async matvec(c) {
        const w = weightOf(c);
        if (c.max_chunk) assert.ok(w.chunks.length > 1, 'the split case must split');
        const bytes = w.chunks.reduce((s, ch) => s + ch.buffer.size, 0);
        assert.ok(bytes <= 1.02 * c.N * w.rowBytes, `GPU bytes ${bytes} for a ${c.N * w.rowBytes}-byte tensor`);
        const x = rt.buffer(c.K * 4 * c.T, get(c, 'x'));
        const a = get(c, 'absy');
        // matvec: both kernels, the tiled one (GPUs) and a thread per row (CPU adapters)
        for (const rows of c.kind === 'matvec' ? [false, true] : [false]) {
            const y = rt.buffer(c.N * c.T * 4);
            const b = rt.batch();
            if (c.kind === 'matvec') b.matvec(w, x, y, { rows }); else b.matmul(w, x, y, { T: c.T });
            b.submit();
            close(rows ? 'matvec_rows' : c.kind, await readF32(y, c.N * c.T), get(c, 'y'), (i) => a[i], 2e-5);
        }
    },
    async embed(c) {
        const w = weightOf(c);
        if (c.max_chunk) assert.ok(w.chunks.length > 1, 'the split case must split');
        const ids = rt.buffer(c.T * 4, get(c, 'ids')), y = rt.buffer(c.T * c.K * 4);
        const b = rt.batch();
        b.embed(w, ids, y, { T: c.T });
        b.submit();
        const want = get(c, 'y');
        let m = 0; for (const v of want) m = Math.max(m, Math.abs(v));
        close('embed', await readF32(y, c.T * c.K), want, (i) => Math.abs(want[i]) + m * 1e-2, 1e-5);
    },
    async rmsnorm(c) {
        const x = rt.buffer(c.n * c.T * 4, get(c, 'x')), wn = rt.buffer(c.n * 4, get(c, 'w')), y = rt.buffer(c.n * c.T * 4);
        const b = rt.batch();
        b.rmsnorm(x, c.with_w ? wn : null, y, { n: c.n, T: c.T, eps: c.eps });
        b.submit();
        const want = get(c, 'y');
        close('rmsnorm', await readF32(y, c.n * c.T), want, (i) => Math.abs(want[i]), 1e-5, 1e-7);
    },
    async rope(c) {
        const D = c.n_head * c.head_dim, x = rt.buffer(D * c.T * 4, get(c, 'x'));
        const ff = c.with_ff ? rt.buffer(c.n_rot * 2, get(c, 'ff')) : null;
        const b = rt.batch();
        b.rope(x, { ...c, freqFactors: ff });
        b.submit();
        const want = get(c, 'y'), x0 = get(c, 'x');
        // scale: the head's largest input (a rotation keeps the norm; attn_factor scales it)
        const hs = new Float32Array(c.T * c.n_head);
        for (let i = 0; i < x0.length; i++) { const h = Math.floor(i / c.head_dim); hs[h] = Math.max(hs[h], Math.abs(x0[i])); }
        close('rope', await readF32(x, D * c.T), want, (i) => hs[Math.floor(i / c.head_dim)] * c.attn_factor, 2e-6);
    },
    async store_kv(c) {
        const n = c.kv_dim * c.T, x = rt.buffer(n * 4, get(c, 'x'));
        const cache = rt.buffer((c.pos0 + c.T) * c.kv_dim * 2);
        const b = rt.batch();
        b.storeKV(x, cache, { kv_dim: c.kv_dim, T: c.T, pos0: c.pos0 });
        b.submit();
        const got = new Uint16Array((await rt.read(cache, c.pos0 * c.kv_dim * 2, n * 2)).buffer), want = get(c, 'h'), xs = get(c, 'x');
        for (let i = 0; i < n; i++) assert.equal(got[i], want[i], `element ${i}: ${xs[i]} -> 0x${got[i].toString(16)}, want 0x${want[i].toString(16)}`);
    },
    async attention(c) {
        const Qd = c.n_head * c.head_dim;
        const q = rt.buffer(Qd * c.T * 4, get(c, 'q')), k = rt.buffer(0, get(c, 'k')), v = rt.buffer(0, get(c, 'v'));
        const o = rt.buffer(Qd * c.T * 4);
        const b = rt.batch();
        b.attention(q, k, v, o, { n_head: c.n_head, n_head_kv: c.n_head_kv, head_dim: c.head_dim, T: c.T, pos0: c.pos0, scale: c.scale });
        b.submit();
        const a = get(c, 'absy');
        close('attention', await readF32(o, Qd * c.T), get(c, 'y'), (i) => a[i], 1e-3);
    },
    async swiglu(c) {
        const n = c.n * c.T, g = get(c, 'g'), u = get(c, 'u');
        // separate gate and up, and the fused layout [gate | up] per token in one buffer
        const fused = new Float32Array(2 * n);
        for (let t = 0; t < c.T; t++) { fused.set(g.subarray(t * c.n, (t + 1) * c.n), 2 * t * c.n); fused.set(u.subarray(t * c.n, (t + 1) * c.n), 2 * t * c.n + c.n); }
        const G = rt.buffer(n * 4, g), U = rt.buffer(n * 4, u), GU = rt.buffer(2 * n * 4, fused);
        const y1 = rt.buffer(n * 4), y2 = rt.buffer(n * 4);
        const b = rt.batch();
        b.swiglu(G, U, y1, { n: c.n, T: c.T });
        b.swiglu(GU, GU, y2, { n: c.n, T: c.T, x_ld: 2 * c.n, u_off: c.n, u_ld: 2 * c.n });
        b.submit();
        const want = get(c, 'y');
        close('swiglu', await readF32(y1, n), want, (i) => Math.abs(want[i]), 1e-5, 1e-7);
        close('swiglu', await readF32(y2, n), want, (i) => Math.abs(want[i]), 1e-5, 1e-7);
    },
};

for (const c of cases) test(name(c), () => RUN[c.kind](c));

test('add, bias, scale: exact float results', async () => {
    const n = 1000, T = 3, f = Math.fround;
    const x = Float32Array.from({ length: n * T }, (_, i) => Math.sin(i) * 3), y = Float32Array.from({ length: n * T }, (_, i) => Math.cos(i * 7));
    const bias = Float32Array.from({ length: n }, (_, i) => i / 1000 - 0.5);
    const X = rt.buffer(n * T * 4, x), Y = rt.buffer(n * T * 4, y), B = rt.buffer(n * 4, bias);
    const b = rt.batch();
    b.add(X, Y, { n, T });
    b.bias(B, Y, { n, T });
    b.scale(Y, { n, T, s: 0.125 });
    b.submit();
    const got = await readF32(Y, n * T);
    for (let i = 0; i < n * T; i++) assert.equal(got[i], f(f(f(y[i] + x[i]) + bias[i % n]) * 0.125), `element ${i}`);
});

test('argmax: the first of equal maxima, long and short vectors', async () => {
    for (const n of [1, 7, 49152 + 17]) {
        const l = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
        const best = Math.floor(n * 0.77);
        l[best] = 2;
        if (best + 5 < n) l[best + 5] = 2;   // a tie after it
        const L = rt.buffer(n * 4 + 64, Float32Array.from([...new Float32Array(16).fill(9), ...l])), R = rt.buffer(4);
        const b = rt.batch();
        b.argmax(L, R, { n, off: 16 });      // the 9s before `off` must not count
        b.submit();
        assert.equal((await rt.read(R, 0, 4)).getUint32(0, true), best, `n = ${n}`);
    }
});

test('a decode step in one submission: embed, norm, matvec, argmax; steady state makes no new bind groups', async () => {
    const c = cases.find((k) => k.kind === 'matvec' && k.type_name === 'Q4_K' && k.K === 768);
    const w = rt.weight(c.type, c.K, c.N, get(c, 'w'));
    const x = get(c, 'x');
    // an "embedding" table whose row 2 is x / rms(x), so that norm(embed(2)) = x / rms(x) * 1
    const ss = x.reduce((s, v) => s + v * v, 0) / c.K, inv = Math.sqrt(ss + 1e-6);
    const table = new Float32Array(3 * c.K);
    for (let i = 0; i < c.K; i++) table[2 * c.K + i] = x[i];
    const E = rt.weight(0, c.K, 3, new Uint8Array(table.buffer));
    const ids = rt.buffer(4, Uint32Array.of(2)), h = rt.buffer(c.K * 4), xb = rt.buffer(c.K * 4), logits = rt.buffer(c.N * 4), res = rt.buffer(4);
    const want = get(c, 'y');
    let best = 0;
    for (let i = 1; i < c.N; i++) if (want[i] > want[best]) best = i;
    let groups = 0;
    for (let step = 0; step < 3; step++) {
        const b = rt.batch();
        b.embed(E, ids, h, { T: 1 });
        b.rmsnorm(h, null, xb, { n: c.K, T: 1, eps: 0 });
        b.scale(xb, { n: c.K, s: inv });
        b.matvec(w, xb, logits);
        b.argmax(logits, res, { n: c.N });
        b.submit();
        assert.equal((await rt.read(res, 0, 4)).getUint32(0, true), best);
        if (step === 1) groups = rt.bindGroups.size;
        if (step === 2) assert.equal(rt.bindGroups.size, groups, 'a repeated step created bind groups');
    }
});

test('weights are split at row boundaries under the binding limit; bad shapes are refused', () => {
    const saved = rt.maxChunk;
    try {
        rt.maxChunk = 1000;
        const w = rt.weight(2, 64, 50, null);              // Q4_0: 36-byte rows, 27 rows per chunk
        assert.deepEqual(w.chunks.map((c) => [c.row0, c.rows]), [[0, 27], [27, 23]]);
        rt.maxChunk = 512;
        assert.throws(() => rt.weight(14, 1024, 2, null), /exceeds/);   // Q6_K: an 840-byte row
    } finally { rt.maxChunk = saved; }
    assert.throws(() => rowBytes(12, 100), /multiple/);
    assert.throws(() => rowBytes(99, 256), /no kernel/);
    assert.throws(() => rt.weight(2, 64, 2, new Uint8Array(10)), /expected 72/);
});

test('a weight written in pieces (streamed load) across chunk boundaries', async () => {
    const c = cases.find((k) => k.kind === 'matvec' && k.type_name === 'Q4_0' && k.N === 77);
    const bytes = new Uint8Array(get(c, 'w'));
    const saved = rt.maxChunk;
    let w;
    try { rt.maxChunk = 306 * 20; w = rt.weight(c.type, c.K, c.N, null); } finally { rt.maxChunk = saved; }
    assert.equal(w.chunks.length, 4);
    let n = 0;
    for (const [a, e] of [[0, 1000], [1000, 12000], [12000, bytes.length]]) n += rt.writeWeight(w, a, bytes.subarray(a, e));
    assert.equal(n, bytes.length);
    assert.throws(() => rt.writeWeight(w, 1001, bytes.subarray(1001, 1010)), /aligned/);
    const x = rt.buffer(c.K * 4, get(c, 'x')), y = rt.buffer(c.N * 4);
    const b = rt.batch();
    b.matvec(w, x, y);
    b.submit();
    const a = get(c, 'absy');
    close('matvec', await readF32(y, c.N), get(c, 'y'), (i) => a[i], 2e-5);
});

test('a WebGPU validation error surfaces at the next read', async () => {
    const X = rt.buffer(64);
    const b = rt.batch();
    b.add(X, X, { n: 4 });   // one buffer bound read-only and read-write in one dispatch
    b.submit();
    await assert.rejects(rt.read(X, 0, 4), /writable usage/);
    assert.equal((await rt.read(X, 0, 4)).getFloat32(0, true), 0);   // and the runtime goes on
});
