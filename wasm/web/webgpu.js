// The WebGPU runtime of edgeq's GPU backend: device, pipelines, weight storage, encoding of
// the forward pass's dispatches, small readbacks. ESM, for browsers and Node (Dawn's `webgpu`
// package): nothing here touches the DOM or the file system; the WGSL sources come in as
// strings (loadWGSL fetches them). The kernels live in src/backend/webgpu/ (see its README);
// the Emscripten glue will call this module once the C backend seam encodes through it.
//
//   const rt = await createRuntime({ gpu: navigator.gpu, sources: await loadWGSL(url) });
//   const w = rt.weight(EQ_TYPE.Q4_K, 2048, 5632, bytes);         // split under the binding limit
//   const b = rt.batch(); b.rmsnorm(...); b.matvec(w, xb, hb); ...; b.argmax(logits, n, res);
//   b.submit(); const tok = (await rt.read(res, 0, 4)).getUint32(0, true);

// GGML type ids (src/quant/quant.h) -> block size (values) and block bytes
export const EQ_TYPE = { F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14 };
const BLOCK = {
    0: [1, 4, 'f32'], 1: [1, 2, 'f16'], 2: [32, 18, 'q4_0'], 3: [32, 20, 'q4_1'], 6: [32, 22, 'q5_0'],
    7: [32, 24, 'q5_1'], 8: [32, 34, 'q8_0'], 10: [256, 84, 'q2_K'], 11: [256, 110, 'q3_K'],
    12: [256, 144, 'q4_K'], 13: [256, 176, 'q5_K'], 14: [256, 210, 'q6_K'],
};
export const WGSL_FILES = ['common', 'quant', 'matvec', 'matmul', 'embed', 'norm', 'rope', 'kv', 'attention', 'elementwise', 'argmax', 'finite', 'qact'];

export function rowBytes(type, ne0) {
    const b = BLOCK[type];
    if (!b) throw new Error(`webgpu: tensor type ${type} has no kernel`);
    if (ne0 % b[0] || ne0 % 4) throw new Error(`webgpu: row length ${ne0} is not a multiple of ${Math.max(b[0], 4)}`);
    return (ne0 / b[0]) * b[1];
}

// The kernel sources: a directory URL (fetch, or the file system for file: URLs in Node).
export async function loadWGSL(dirURL) {
    const out = {};
    for (const f of WGSL_FILES) {
        const url = new URL(`${f}.wgsl`, dirURL);
        if (url.protocol === 'file:') {
            const { readFile } = await import('node:fs/promises');
            out[f] = await readFile(url, 'utf8');
        } else {
            const r = await fetch(url);
            if (!r.ok) throw new Error(`webgpu: ${url}: HTTP ${r.status}`);
            out[f] = await r.text();
        }
    }
    return out;
}

// Params structs: every field 4 bytes, in the WGSL struct's order; 'f' fields are f32.
const PARAMS = {
    matvec: 'K n_rows row_bytes w_off row0 x_off out_off nwg_x',
    matmul: 'K n_rows row_bytes w_off row0 x_off out_off T ld_x ld_out',
    embed: 'K row_first n_rows row_bytes w_off T ld_out out_off',
    rmsnorm: 'n has_w x_off ld_x out_off ld_out f:eps pad',
    rope: 'n_head head_dim n_rot mode pos0 T ld off f:theta_scale f:freq_scale f:attn_factor f:ext_factor f:corr0 f:corr1 has_ff nwg_x f:yarn_mscale',
    store_kv: 'kv_dim T pos0 src_off src_ld nwg_x pad0 pad1',
    attention: 'n_head n_head_kv head_dim kv_dim pos0 q_off q_ld out_off out_ld f:scale window pad1',
    elementwise: 'n T nwg_x f:s y_off y_ld x_off x_ld u_off u_ld pad0 pad1',
    argmax: 'n off pad0 pad1',
    finite: 'n T nwg_x key0 x_off x_ld pad0 pad1',
    qact: 'n T nwg_x mode x_off ld_x pad0 pad1',
};
// how the CPU rounds the activations a weight type meets (its vec_dot_type): qact.wgsl's mode
// (0: Q8_0 blocks of 32, 1: Q8_K blocks of 256); F32 none, F16 through xr in the kernel.
// Q4_1/Q5_1 (Q8_1) stay f32 for now: their CPU dot takes the min term from the block's stored
// F16 d*sum(q), which rounded values alone do not reproduce; measured on SmolLM2 Q4_1, rounding
// without it agreed with the CPU less than f32 did (49 vs 50 of 55 positions).
const QACT = { 2: 0, 6: 0, 8: 0, 10: 1, 11: 1, 12: 1, 13: 1, 14: 1 };
const SLOT = 256;   // minUniformBufferOffsetAlignment's default: one params slot per dispatch

// Kernel table: WGSL files (after common), entry point, params layout.
const KERNELS = {
    matvec: { files: ['quant', 'matvec'], params: 'matvec', quant: true },
    matvec_rows: { files: ['quant', 'matvec'], entry: 'rows', params: 'matvec', quant: true },
    matmul: { files: ['quant', 'matmul'], params: 'matmul', quant: true },
    embed: { files: ['quant', 'embed'], params: 'embed', quant: true },
    rmsnorm: { files: ['norm'], params: 'rmsnorm' },
    rmsnorm_ip: { files: ['norm'], entry: 'inplace', params: 'rmsnorm' },
    rope: { files: ['rope'], params: 'rope' },
    store_kv: { files: ['kv'], params: 'store_kv' },
    attention: { files: ['attention'], params: 'attention' },
    add: { files: ['elementwise'], entry: 'add', params: 'elementwise' },
    bias: { files: ['elementwise'], entry: 'bias', params: 'elementwise' },
    scale: { files: ['elementwise'], entry: 'scale', params: 'elementwise' },
    swiglu: { files: ['elementwise'], entry: 'swiglu', params: 'elementwise' },
    swiglu_ip: { files: ['elementwise'], entry: 'swiglu_ip', params: 'elementwise' },
    geglu: { files: ['elementwise'], entry: 'geglu', params: 'elementwise' },
    geglu_ip: { files: ['elementwise'], entry: 'geglu_ip', params: 'elementwise' },
    softcap: { files: ['elementwise'], entry: 'softcap', params: 'elementwise' },
    copy: { files: ['elementwise'], entry: 'copy', params: 'elementwise' },
    argmax: { files: ['argmax'], params: 'argmax' },
    finite: { files: ['finite'], params: 'finite' },
    qact: { files: ['qact'], params: 'qact' },
};

// Adapter + device at the default limits (what a phone gives: 128 MiB per storage binding),
// every pipeline compiled once. opts: gpu (navigator.gpu or Dawn's), sources (loadWGSL's
// result), types (weight types to build kernels for, default all), maxBinding (a lower
// split size, for tests), powerPreference.
export async function createRuntime(opts) {   // opts.types: [] compiles weight kernels on demand (buildType)
    const gpu = opts.gpu ?? globalThis.navigator?.gpu;
    if (!gpu) throw new Error('webgpu: this environment has no WebGPU (navigator.gpu)');
    const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
    if (!adapter) throw new Error('webgpu: no adapter found (no GPU, or WebGPU is disabled)');
    // Optional features only where present; the core kernels never need them.
    const want = ['shader-f16', 'subgroups'].filter((f) => adapter.features.has(f));
    const device = await adapter.requestDevice({ requiredFeatures: want });
    const rt = new Runtime(adapter, device, opts);
    rt.gpu = gpu;   // Dawn for Node frees the instance when collected, devices and all
    await rt._build(opts.sources, opts.types ?? Object.keys(BLOCK).map(Number));
    return rt;
}

class Runtime {
    constructor(adapter, device, opts) {
        this.adapter = adapter;
        this.device = device;
        const L = device.limits;
        this.info = {
            adapter: adapter.info ? { vendor: adapter.info.vendor, architecture: adapter.info.architecture, device: adapter.info.device, description: adapter.info.description } : {},
            features: [...device.features],
            limits: { maxStorageBufferBindingSize: L.maxStorageBufferBindingSize, maxBufferSize: L.maxBufferSize, maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize, maxComputeWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension },
        };
        // a chunk must fit one binding and one buffer; buffer sizes are 4-byte multiples
        this.maxBuffer = Math.min(L.maxStorageBufferBindingSize, L.maxBufferSize) & ~3;
        // weights are split into chunks of at most this (a lower one for tests: opts.maxBinding)
        this.maxChunk = Math.min(this.maxBuffer, opts.maxBinding ?? Infinity) & ~3;
        this.maxWG = L.maxComputeWorkgroupsPerDimension;
        // a CPU implementation of WebGPU (SwiftShader, lavapipe): barrier-free kernels pay there
        const ai = adapter.info ?? {};
        this.cpuAdapter = opts.cpuKernels ?? /swiftshader|llvmpipe|lavapipe|\bcpu\b/i.test(`${ai.architecture ?? ''} ${ai.description ?? ''} ${ai.device ?? ''}`);
        this.info.cpuKernels = this.cpuAdapter;
        this.pipelines = new Map();     // 'matvec:12' -> GPUComputePipeline
        this.bindGroups = new Map();    // key -> GPUBindGroup (steady state: no new objects)
        this.ids = new WeakMap();       // GPUBuffer -> small id for the keys
        this.nextId = 1;
        this.params = null;             // the uniform ring, grown on demand
        this.readbuf = null;            // MAP_READ staging, reused
        this.dummy = this.buffer(16);   // bound where an optional input is absent
        // validation errors and a lost device surface at the next read(), never as silent zeros
        this.errors = [];
        device.addEventListener?.('uncapturederror', (e) => this.errors.push(e.error?.message ?? String(e)));
        device.lost?.then((info) => { if (info.reason !== 'destroyed') this.errors.push(`device lost: ${info.message}`); });
    }

    // the kernels that do not depend on a weight type, and those of `types`
    async _build(src, types) {
        if (!src) throw new Error('webgpu: no WGSL sources (loadWGSL)');
        this.src = src;
        this.typeJobs = new Map();   // weight type -> Promise of its pipelines
        const jobs = [];
        for (const [name, k] of Object.entries(KERNELS)) if (!k.quant) jobs.push(this._pipeline(name, k, null));
        await Promise.all([...jobs, ...types.map((t) => this.buildType(t))]);
    }

    // The matrix and embedding kernels of one weight type, compiled once (a Promise).
    buildType(type) {
        if (!BLOCK[type]) return Promise.reject(new Error(`webgpu: tensor type ${type} has no kernel`));
        if (!this.typeJobs.has(type)) {
            this.typeJobs.set(type, Promise.all(Object.entries(KERNELS).filter(([, k]) => k.quant).map(([name, k]) => this._pipeline(name, k, type))));
        }
        return this.typeJobs.get(type);
    }

    _pipeline(name, k, type) {
        const src = this.src;
        let code = src.common + '\n' + k.files.map((f) => src[f]).join('\n');
        if (k.quant) {
            code += `\nfn deq4(o: u32, k: u32) -> vec4<f32> { return deq4_${BLOCK[type][2]}(o, k); }\n`;
            // activations as the CPU's vec_dot_type holds them: F16 for F16 weights
            code += `fn xr(v: f32) -> f32 { return ${type === EQ_TYPE.F16 ? 'f16_round(v)' : 'v'}; }\n`;
        }
        const label = k.quant ? `${name}:${type}` : name;
        const module = this.device.createShaderModule({ code, label });
        return this.device.createComputePipelineAsync({ layout: 'auto', label, compute: { module, entryPoint: k.entry ?? 'main' } })
            .then((p) => { this.pipelines.set(label, p); })
            .catch(async (e) => {
                const info = module.getCompilationInfo ? await module.getCompilationInfo() : null;
                const msgs = info ? info.messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('\n') : '';
                throw new Error(`webgpu: pipeline ${label}: ${e.message}\n${msgs}`);
            });
    }

    id(buf) {
        let i = this.ids.get(buf);
        if (!i) { i = this.nextId++; this.ids.set(buf, i); }
        return i;
    }

    // A storage buffer (activations, caches): size rounded up to 4 bytes. data: optional
    // ArrayBufferView written at creation.
    buffer(size, data) {
        const GU = globalThis.GPUBufferUsage;
        if (data) size = Math.max(size, data.byteLength);
        const b = this.device.createBuffer({ size: Math.max(16, (size + 3) & ~3), usage: GU.STORAGE | GU.COPY_SRC | GU.COPY_DST, mappedAtCreation: !!data });
        if (data) {
            new Uint8Array(b.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
            b.unmap();
        }
        return b;
    }

    // A weight of ne1 rows of ne0 values in GGUF blocks, split at row boundaries into buffers
    // of at most maxChunk bytes each (GPU bytes = tensor bytes + < 4 per chunk).
    // bytes: Uint8Array of ne1 * rowBytes, or null (filled later with writeWeight).
    weight(type, ne0, ne1, bytes) {
        const rb = rowBytes(type, ne0);
        if (rb > this.maxChunk) throw new Error(`webgpu: one row of ${rb} bytes exceeds the ${this.maxChunk}-byte binding limit`);
        if (bytes && bytes.byteLength !== rb * ne1) throw new Error(`webgpu: weight has ${bytes.byteLength} bytes, expected ${rb * ne1}`);
        const per = Math.floor(this.maxChunk / rb);
        const chunks = [];
        for (let r = 0; r < ne1; r += per) {
            const rows = Math.min(per, ne1 - r);
            const data = bytes ? bytes.subarray(r * rb, (r + rows) * rb) : undefined;
            chunks.push({ buffer: this.buffer(rows * rb, data), row0: r, rows });
        }
        return { type, ne0, ne1, rowBytes: rb, chunks };
    }

    // Write bytes of a weight at byte offset `at` of the tensor (a streamed load: any range,
    // chunk boundaries handled here). writeBuffer needs 4-byte multiples: a ragged end is padded
    // with the bytes already there, which the caller must then write again (rows arrive in order).
    writeWeight(w, at, bytes) {
        let done = 0;
        for (const c of w.chunks) {
            const c0 = c.row0 * w.rowBytes, c1 = c0 + c.rows * w.rowBytes;
            const a = Math.max(at, c0), e = Math.min(at + bytes.byteLength, c1);
            if (a >= e) continue;
            if ((a - c0) % 4) throw new Error('webgpu: writeWeight offsets must be 4-byte aligned within a chunk');
            const n = e - a, pad = (n + 3) & ~3;
            let src = bytes.subarray(a - at, e - at);
            if (pad !== n) { const t = new Uint8Array(pad); t.set(src); src = t; }
            this.device.queue.writeBuffer(c.buffer, a - c0, src);
            done += n;
        }
        return done;
    }

    batch() { return new Batch(this); }

    // Read `size` bytes at `offset` of a buffer (after everything submitted so far): a DataView.
    async read(buf, offset, size) {
        const GU = globalThis.GPUBufferUsage;
        const n = (size + 3) & ~3;
        if (!this.readbuf || this.readbuf.size < n) {
            this.readbuf?.destroy();
            this.readbuf = this.device.createBuffer({ size: Math.max(256, n), usage: GU.MAP_READ | GU.COPY_DST });
        }
        const e = this.device.createCommandEncoder();
        e.copyBufferToBuffer(buf, offset, this.readbuf, 0, n);
        this.device.queue.submit([e.finish()]);
        await this.readbuf.mapAsync(globalThis.GPUMapMode.READ, 0, n);
        if (this.errors.length) { this.readbuf.unmap(); throw new Error(`webgpu: ${this.errors.splice(0).join('; ')}`); }
        const copy = this.readbuf.getMappedRange(0, n).slice(0, size);
        this.readbuf.unmap();
        return new DataView(copy);
    }

    destroy() {
        this.readbuf?.destroy();
        this.params?.destroy();
        this.device.destroy();
    }
}

// One command buffer: dispatches are recorded, then encoded at submit into one compute pass
// (WebGPU orders storage writes between dispatches); the params of all dispatches land in the
// uniform ring with a single writeBuffer. Recording first lets the ring grow before any bind
// group names it.
class Batch {
    constructor(rt) {
        this.rt = rt;
        this.ops = [];    // {pipe, name, slot, buffers, grid} or {copy: [...]}
        this.slots = [];  // ArrayBuffers of params, one per dispatch
    }

    _dispatch(name, kparams, fields, buffers, grid) {
        const pipe = this.rt.pipelines.get(name);
        if (!pipe) throw new Error(`webgpu: no pipeline ${name}`);
        const ab = new ArrayBuffer(SLOT), u = new Uint32Array(ab), f = new Float32Array(ab);
        PARAMS[kparams].split(' ').forEach((field, i) => {
            const isF = field.startsWith('f:');
            const v = fields[isF ? field.slice(2) : field] ?? 0;
            if (isF) f[i] = v;
            else {
                if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`webgpu: ${name}: ${field} = ${v} is not a u32`);
                u[i] = v;
            }
        });
        for (const g of grid) if (g > this.rt.maxWG) throw new Error(`webgpu: ${name}: ${g} workgroups in one dimension`);
        this.ops.push({ pipe, name, slot: this.slots.length, buffers, grid });
        this.slots.push(ab);
    }

    // grid for n workgroups of a 1-D problem: [x, y] with x <= the per-dimension limit
    _grid1(nwg) {
        const x = Math.min(nwg, this.rt.maxWG);
        return [Math.max(1, x), Math.max(1, Math.ceil(nwg / x))];
    }

    // The activations as the CPU rounds them for w's type (QACT) into the runtime's scratch
    // buffer (reused: dispatches of a pass are ordered), or X itself. o.exact === false: skip.
    _qact(w, X, T, o) {
        const mode = QACT[w.type];
        if (mode === undefined || o.exact === false) return { X, x_off: o.x_off ?? 0, ld_x: o.ld_x ?? w.ne0 };
        const K = w.ne0, bytes = T * K * 4;
        if (!this.rt.actScratch || this.rt.actScratch.size < bytes) this.rt.actScratch = this.rt.buffer(bytes);   // the old one stays alive while named
        const S = this.rt.actScratch;
        const g = this._grid1(Math.ceil(T * K / (mode ? 256 : 32) / 64));
        this._dispatch('qact', 'qact', { n: K, T, nwg_x: g[0], mode, x_off: o.x_off ?? 0, ld_x: o.ld_x ?? K }, [[2, X], [3, S]], g);
        return { X: S, x_off: 0, ld_x: K };
    }

    // Y[out_off + row] = W x (one token), each chunk one dispatch
    matvec(w, X, Y, o = {}) {
        const q = this._qact(w, X, 1, o);
        X = q.X;
        o = { ...o, x_off: q.x_off };
        if (o.rows ?? this.rt.cpuAdapter) {   // a thread per row, no barriers (see matvec.wgsl)
            for (const c of w.chunks) {
                const g = this._grid1(Math.ceil(c.rows / 64));
                this._dispatch(`matvec_rows:${w.type}`, 'matvec', { K: w.ne0, n_rows: c.rows, row_bytes: w.rowBytes, w_off: 0, row0: c.row0, x_off: o.x_off ?? 0, out_off: o.out_off ?? 0, nwg_x: g[0] },
                    [[0, c.buffer], [2, X], [3, Y]], g);
            }
            return;
        }
        for (const c of w.chunks) {
            const nwg = Math.ceil(c.rows / 8), g = this._grid1(nwg);
            this._dispatch(`matvec:${w.type}`, 'matvec', { K: w.ne0, n_rows: c.rows, row_bytes: w.rowBytes, w_off: 0, row0: c.row0, x_off: o.x_off ?? 0, out_off: o.out_off ?? 0, nwg_x: g[0] },
                [[0, c.buffer], [2, X], [3, Y]], g);
        }
    }

    // Y[out_off + t*ld_out + row] = W X[t] for t < T
    matmul(w, X, Y, o) {
        const q = this._qact(w, X, o.T, o);
        X = q.X;
        o = { ...o, x_off: q.x_off, ld_x: q.ld_x };
        const T = o.T, ld_x = o.ld_x ?? w.ne0, ld_out = o.ld_out ?? w.ne1;
        const ty = Math.ceil(T / 32);
        for (const c of w.chunks) {
            this._dispatch(`matmul:${w.type}`, 'matmul', { K: w.ne0, n_rows: c.rows, row_bytes: w.rowBytes, w_off: 0, row0: c.row0, x_off: o.x_off ?? 0, out_off: o.out_off ?? 0, T, ld_x, ld_out },
                [[0, c.buffer], [2, X], [3, Y]], [Math.ceil(c.rows / 64), ty]);
        }
    }

    // Y[out_off + t*ld_out ..] = row ids[t] of W, dequantized
    embed(w, ids, Y, o) {
        for (const c of w.chunks) {
            this._dispatch(`embed:${w.type}`, 'embed', { K: w.ne0, row_first: c.row0, n_rows: c.rows, row_bytes: w.rowBytes, w_off: 0, T: o.T, ld_out: o.ld_out ?? w.ne0, out_off: o.out_off ?? 0 },
                [[0, c.buffer], [2, ids], [3, Y]], [Math.ceil(w.ne0 / 4 / 64), o.T]);
        }
    }

    rmsnorm(X, Wn, Y, o) {
        if (X === Y) {   // in place: one binding (WebGPU forbids a buffer bound writable twice)
            if ((o.x_off ?? 0) !== (o.out_off ?? 0) || (o.ld_x ?? o.n) !== (o.ld_out ?? o.n)) throw new Error('webgpu: rmsnorm in place needs the same rows in and out');
            this._dispatch('rmsnorm_ip', 'rmsnorm', { n: o.n, has_w: Wn ? 1 : 0, out_off: o.out_off ?? 0, ld_out: o.ld_out ?? o.n, eps: o.eps },
                [[3, Wn ?? this.rt.dummy], [4, Y]], [o.T]);
            return;
        }
        this._dispatch('rmsnorm', 'rmsnorm', { n: o.n, has_w: Wn ? 1 : 0, x_off: o.x_off ?? 0, ld_x: o.ld_x ?? o.n, out_off: o.out_off ?? 0, ld_out: o.ld_out ?? o.n, eps: o.eps },
            [[2, X], [3, Wn ?? this.rt.dummy], [4, Y]], [o.T]);
    }

    // o: n_head, head_dim, n_rot, mode, pos0, T, ld, off, freq_base, freq_scale, attn_factor,
    // ext_factor, corr_dims, freqFactors (a buffer of n_rot/2 floats, or null)
    rope(X, o) {
        const half = o.n_rot / 2, g = this._grid1(Math.ceil(o.T * o.n_head * half / 64));
        const fs = o.freq_scale ?? 1, af = o.attn_factor ?? 1;
        this._dispatch('rope', 'rope', {
            ...o, ld: o.ld ?? o.n_head * o.head_dim, off: o.off ?? 0,
            // the C backend passes theta_scale and yarn_mscale as powf/logf make them (the CPU's bits)
            theta_scale: o.theta_scale ?? Math.fround(Math.pow(o.freq_base, -2 / o.n_rot)), freq_scale: fs, attn_factor: af,
            ext_factor: o.ext_factor ?? 0, corr0: o.corr_dims?.[0] ?? 0, corr1: o.corr_dims?.[1] ?? 0,
            has_ff: o.freqFactors ? 1 : 0, nwg_x: g[0], yarn_mscale: o.yarn_mscale ?? Math.fround(af * Math.fround(1 + 0.1 * Math.log(1 / fs))),
        }, [[2, X], [3, o.freqFactors ?? this.rt.dummy]], g);
    }

    storeKV(S, cache, o) {
        const g = this._grid1(Math.ceil(o.T * o.kv_dim / 2 / 64));
        this._dispatch('store_kv', 'store_kv', { kv_dim: o.kv_dim, T: o.T, pos0: o.pos0, src_off: o.src_off ?? 0, src_ld: o.src_ld ?? o.kv_dim, nwg_x: g[0] },
            [[2, S], [3, cache]], g);
    }

    attention(Q, Kc, Vc, O, o) {
        const hd = o.head_dim;
        if (hd > 256 || hd % 4 || o.n_head % o.n_head_kv) throw new Error(`webgpu: attention: head_dim ${hd} (<= 256, multiple of 4), ${o.n_head}/${o.n_head_kv} heads`);
        this._dispatch('attention', 'attention', { ...o, kv_dim: o.n_head_kv * hd, q_off: o.q_off ?? 0, q_ld: o.q_ld ?? o.n_head * hd, out_off: o.out_off ?? 0, out_ld: o.out_ld ?? o.n_head * hd, scale: o.scale ?? 1 / Math.sqrt(hd), window: o.window ?? 0 },
            [[2, Q], [3, Kc], [4, Vc], [5, O]], [o.n_head, o.T]);
    }

    _elementwise(kind, bufs, o) {
        const g = this._grid1(Math.ceil(o.n * (o.T ?? 1) / 256));
        this._dispatch(kind, 'elementwise', { T: 1, y_ld: o.n, x_ld: o.n, u_ld: o.n, ...o, nwg_x: g[0] }, bufs, g);
    }
    add(X, Y, o) { this._elementwise('add', [[2, X], [4, Y]], o); }          // Y += X
    bias(B, Y, o) { this._elementwise('bias', [[2, B], [4, Y]], o); }        // Y[t] += B
    scale(Y, o) { this._elementwise('scale', [[4, Y]], o); }                 // Y *= o.s
    copy(X, Y, o) { this._elementwise('copy', [[2, X], [4, Y]], o); }             // Y = X
    softcap(Y, o) { this._elementwise('softcap', [[4, Y]], o); }             // Y = s tanh(Y / s)
    // Y = act(G) * U (act: 'swiglu' or 'geglu'); G === Y gates in place
    swiglu(G, U, Y, o) { this._glu('swiglu', G, U, Y, o); }
    geglu(G, U, Y, o) { this._glu('geglu', G, U, Y, o); }
    _glu(kind, G, U, Y, o) {
        if (G !== Y) { this._elementwise(kind, [[2, G], [3, U], [4, Y]], o); return; }
        if ((o.x_off ?? 0) !== (o.y_off ?? 0) || (o.x_ld ?? o.n) !== (o.y_ld ?? o.n)) throw new Error(`webgpu: ${kind} in place needs the same rows in and out`);
        if (U === Y) throw new Error(`webgpu: ${kind} in place cannot read U from Y`);
        this._elementwise(`${kind}_ip`, [[3, U], [4, Y]], o);
    }

    // F[0] = min(F[0], key0 + row) over the rows of X holding a NaN or an infinity
    finite(X, F, o) {
        const g = this._grid1(Math.ceil(o.n * o.T / 256));
        this._dispatch('finite', 'finite', { n: o.n, T: o.T, nwg_x: g[0], key0: o.key0, x_off: o.x_off ?? 0, x_ld: o.x_ld ?? o.n }, [[2, X], [3, F]], g);
    }

    argmax(L, R, o) {
        this._dispatch('argmax', 'argmax', { n: o.n, off: o.off ?? 0 }, [[2, L], [3, R]], [1]);
    }

    copyBuffer(src, srcOff, dst, dstOff, size) { this.ops.push({ copy: [src, srcOff, dst, dstOff, size] }); }

    submit() {
        const rt = this.rt, dev = rt.device;
        rt._ensureParams(this.slots.length);
        const enc = dev.createCommandEncoder();
        let pass = null;
        for (const op of this.ops) {
            if (op.copy) {
                if (pass) { pass.end(); pass = null; }
                enc.copyBufferToBuffer(...op.copy);
                continue;
            }
            // binding 1: this dispatch's params slot; the data bindings as given
            const key = `${op.name}|${op.slot}|${rt.params.size}|${op.buffers.map(([b, buf]) => `${b}:${rt.id(buf)}`).join(',')}`;
            let bg = rt.bindGroups.get(key);
            if (!bg) {
                const entries = [{ binding: 1, resource: { buffer: rt.params, offset: op.slot * SLOT, size: SLOT } }];
                for (const [b, buf] of op.buffers) entries.push({ binding: b, resource: { buffer: buf } });
                bg = dev.createBindGroup({ layout: op.pipe.getBindGroupLayout(0), entries });
                rt.bindGroups.set(key, bg);
            }
            if (!pass) pass = enc.beginComputePass();
            pass.setPipeline(op.pipe);
            pass.setBindGroup(0, bg);
            pass.dispatchWorkgroups(op.grid[0], op.grid[1] ?? 1, op.grid[2] ?? 1);
        }
        if (pass) pass.end();
        if (this.slots.length) {
            const all = new Uint8Array(this.slots.length * SLOT);
            this.slots.forEach((ab, i) => all.set(new Uint8Array(ab), i * SLOT));
            dev.queue.writeBuffer(rt.params, 0, all);
        }
        dev.queue.submit([enc.finish()]);
        this.ops = [];
        this.slots = [];
    }
}

// the uniform ring holds n slots; grown (doubling) when a batch needs more (the GPU may still
// read the old one: it is dropped, not destroyed); bind groups that named it are dropped too
Runtime.prototype._ensureParams = function (n) {
    if (this.params && this.params.size >= n * SLOT) return;
    const GU = globalThis.GPUBufferUsage;
    let size = this.params ? this.params.size : 64 * SLOT;
    while (size < n * SLOT) size *= 2;
    this.params = this.device.createBuffer({ size, usage: GU.UNIFORM | GU.COPY_DST });
    this.bindGroups.clear();
};

// ---- the C backend's runtime ---------------------------------------------------------------
// What src/backend/webgpu/webgpu.c calls (through wasm/web/library_webgpu.js, as Module.eqGpu):
// GPU objects under small integer handles, one Batch per context, each step's readback copied
// into wasm memory. Nothing here throws into wasm: the first failure is kept (error()), the
// step that met it reports it at submit, and a readback that fails marks the host block -1.
// heap(): the wasm memory's current ArrayBuffer (it is replaced when memory grows).
export class Device {
    constructor(rt, heap) {
        this.rt = rt;
        this.heap = heap;
        this.objs = new Map();
        this.next = 1;
        this.err = null;
        this.inflight = null;       // the readback of the step submitted last (a Promise)
        this.rb = null;             // its MAP_READ buffer
        this.lost = false;
        this.bytes = 0;             // GPU bytes held now
        this.peakBytes = 0;
        this.weightBytes = 0;
        this.submits = 0;
        this.dispatches = 0;
        this.readbackBytes = 0;     // mapped for readbacks, all steps together (fault word + payload)
        this.lastReadbackBytes = 0; // ... for the step submitted last
        this.lastLogits = null;     // { h, off, n }: the logits a greedy step left on the GPU
        this.building = new Map();  // weight type -> its kernels' compilation
        this.broken = null;
    }

    _add(o) { const id = this.next++; this.objs.set(id, o); return id; }
    _get(id) {
        const o = this.objs.get(id);
        if (!o) throw new Error(`webgpu: no GPU object ${id}`);
        return o;
    }
    _buf(id) { const o = this._get(id); return o.buffer ?? o.chunks[0].buffer; }
    _fail(e) { if (!this.err) this.err = e?.message ?? String(e); }
    _grow(n) { this.bytes += n; this.peakBytes = Math.max(this.peakBytes, this.bytes); }
    _writeString(ptr, cap, s) {
        if (!ptr || cap <= 0) return;
        const b = new TextEncoder().encode(s).subarray(0, cap - 1);
        const u8 = new Uint8Array(this.heap(), ptr >>> 0, cap);
        u8.set(b);
        u8[b.length] = 0;
    }
    // one op of a batch: a failure marks the batch (its submit fails) and is kept for error()
    _op(b, fn) {
        const batch = this._get(b);
        if (batch.failed) return;
        try { fn(batch.batch); } catch (e) { batch.failed = true; this._fail(e); }
    }

    buffer(bytes) {
        try {
            if (bytes > this.rt.maxBuffer) throw new Error(`a buffer of ${bytes} bytes exceeds the device's ${this.rt.maxBuffer}-byte binding limit`);
            const buffer = this.rt.buffer(bytes);
            this._grow(buffer.size);
            return this._add({ buffer, bytes: buffer.size });
        } catch (e) { this._fail(e); return 0; }
    }

    // A tensor as it streamed in (a view of wasm memory, copied now): matrices the kernels read
    // are split at row boundaries under the binding limit; anything else (vectors, types
    // without a kernel) goes up whole.
    weight(type, ne0, ne1, ptr, nbytes, errPtr, errLen) {
        try {
            const bytes = new Uint8Array(this.heap(), ptr >>> 0, nbytes);
            const b = BLOCK[type];
            let w;
            if (b && ne1 > 1 && ne0 % 4 === 0 && ne0 % b[0] === 0) {
                w = this.rt.weight(type, ne0, ne1, bytes);
                // its kernels compile while the rest streams in; the first step awaits them
                if (!this.building.has(type)) {
                    this.building.set(type, this.rt.buildType(type).catch((e) => { this._fail(e); this.broken = e; }));
                }
            } else {
                if (nbytes > this.rt.maxBuffer) throw new Error(`${nbytes} bytes of a tensor with no GPU kernel exceed the ${this.rt.maxBuffer}-byte binding limit`);
                w = { type, ne0, ne1, raw: true, chunks: [{ buffer: this.rt.buffer(nbytes, bytes), row0: 0, rows: ne1 }] };
            }
            w.bytes = w.chunks.reduce((n, c) => n + c.buffer.size, 0);
            this._grow(w.bytes);
            this.weightBytes += w.bytes;
            return this._add(w);
        } catch (e) {
            this._writeString(errPtr, errLen, e?.message ?? String(e));
            return 0;
        }
    }

    release(h) {
        const o = this.objs.get(h);
        if (!o) return;
        this.objs.delete(h);
        if (o.buffer) { o.buffer.destroy(); this.bytes -= o.bytes; }
        if (o.chunks) {
            for (const c of o.chunks) c.buffer.destroy();
            this.bytes -= o.bytes;
            this.weightBytes -= o.bytes;
        }
        this.rt.bindGroups.clear();   // they may name the buffer; rare (a context or model freed)
    }

    write(h, offset, ptr, bytes) {
        try {
            const n = (bytes + 3) & ~3;
            const src = new Uint8Array(n);
            src.set(new Uint8Array(this.heap(), ptr >>> 0, bytes));
            this.rt.device.queue.writeBuffer(this._buf(h), offset, src);
        } catch (e) { this._fail(e); }
    }

    batchNew() { return this._add({ batch: this.rt.batch(), failed: false }); }

    embed(b, w, ids, y, T) { this._op(b, (B) => { const W = this._get(w); B.embed(W, this._buf(ids), this._buf(y), { T, ld_out: W.ne0 }); }); }
    rmsnorm(b, x, x_off, wn, y, n, T, eps) {
        this._op(b, (B) => B.rmsnorm(this._buf(x), wn ? this._buf(wn) : null, this._buf(y), { n, T, x_off, ld_x: n, out_off: 0, ld_out: n, eps }));
    }
    matmul(b, w, x, y, T) {
        this._op(b, (B) => {
            const W = this._get(w);
            if (W.raw) throw new Error(`webgpu: no matrix kernel for weights of type ${W.type}`);
            if (T === 1) B.matvec(W, this._buf(x), this._buf(y));
            else B.matmul(W, this._buf(x), this._buf(y), { T });
        });
    }
    bias(b, bias, y, n, T) { this._op(b, (B) => B.bias(this._buf(bias), this._buf(y), { n, T })); }
    copy(b, x, x_off, x_ld, y, n, T) { this._op(b, (B) => B.copy(this._buf(x), this._buf(y), { n, T, x_off, x_ld, y_ld: n })); }
    rope(b, x, n_head, head_dim, n_rot, mode, pos0, T, theta_scale, freq_scale, attn_factor, ext_factor, corr0, corr1, yarn_mscale, ff) {
        this._op(b, (B) => B.rope(this._buf(x), {
            n_head, head_dim, n_rot, mode, pos0, T, theta_scale, freq_scale, attn_factor, ext_factor,
            corr_dims: [corr0, corr1], yarn_mscale, freqFactors: ff ? this._buf(ff) : null,
        }));
    }
    scale(b, y, n, T, s) { this._op(b, (B) => B.scale(this._buf(y), { n, T, s })); }
    storeKV(b, src, cache, kv_dim, T, pos0) { this._op(b, (B) => B.storeKV(this._buf(src), this._buf(cache), { kv_dim, T, pos0 })); }
    attention(b, q, kc, vc, o, n_head, n_head_kv, head_dim, pos0, T, scale, window) {
        this._op(b, (B) => B.attention(this._buf(q), this._buf(kc), this._buf(vc), this._buf(o), { n_head, n_head_kv, head_dim, pos0, T, scale, window }));
    }
    glu(b, gelu, g, g_ld, u, u_off, u_ld, y, n, T) {
        this._op(b, (B) => B[gelu ? 'geglu' : 'swiglu'](this._buf(g), this._buf(u), this._buf(y), { n, T, x_off: 0, x_ld: g_ld, u_off, u_ld, y_off: 0, y_ld: n }));
    }
    softcap(b, y, n, T, cap) { this._op(b, (B) => B.softcap(this._buf(y), { n, T, s: cap })); }
    add(b, x, y, n, T) { this._op(b, (B) => B.add(this._buf(x), this._buf(y), { n, T })); }
    finite(b, x, n, T, key0, fault) { this._op(b, (B) => B.finite(this._buf(x), this._buf(fault), { n, T, key0 })); }
    // greedy: res[0] = argmax of the n logits at x[off..]; the logits stay there (readLogits)
    argmax(b, x, off, n, res) {
        this._op(b, (B) => B.argmax(this._buf(x), this._buf(res), { n, off }));
        this.lastLogits = { h: x, off, n };
    }
    // The logits a greedy step left on the GPU (valid until the next step): a Float32Array.
    async readLogits() {
        if (!this.lastLogits) throw new Error('webgpu: no logits were left on the GPU');
        const { h, off, n } = this.lastLogits;
        const dv = await this.rt.read(this._buf(h), off * 4, n * 4);
        return new Float32Array(dv.buffer, dv.byteOffset, n);
    }

    // Encode and submit the step; copy the fault word and `bytes` of logits back into the host
    // block at `host` (int32 state, uint32 fault, 8 bytes of padding, floats) once the GPU is
    // done. Returns 0, or 1 with the reason kept for error().
    submit(b, logits, bytes, fault, host) {
        const batch = this._get(b);
        const B = batch.batch;
        try {
            if (batch.failed) throw new Error(this.err ?? 'an op of the step failed');
            if (this.lost) throw new Error('the GPU device was lost');
            if (this.broken) throw this.broken;
            if (this.inflight) throw new Error('the previous step is still being read back (await the device between steps)');
            const GU = globalThis.GPUBufferUsage;
            const need = 16 + bytes;   // the fault word, padding, the payload at 16
            if (!this.rb || this.rb.size < need) {
                this.rb?.destroy();
                this.rb = this.rt.device.createBuffer({ size: need, usage: GU.MAP_READ | GU.COPY_DST });
            }
            this.rt.device.queue.writeBuffer(this._buf(fault), 0, new Uint32Array([0xffffffff]));
            B.copyBuffer(this._buf(fault), 0, this.rb, 0, 4);
            B.copyBuffer(this._buf(logits), 0, this.rb, 16, bytes);
            this.dispatches += B.ops.length - 2;
            B.submit();
            this.submits++;
            this.readbackBytes += need;
            this.lastReadbackBytes = need;
        } catch (e) {
            B.ops = []; B.slots = [];
            batch.failed = false;
            this._fail(e);
            return 1;
        }
        const rb = this.rb;
        this.inflight = rb.mapAsync(globalThis.GPUMapMode.READ, 0, 16 + bytes).then(() => {
            const errs = this.rt.errors.splice(0);
            if (errs.length) throw new Error(errs.join('; '));
            const src = rb.getMappedRange(0, 16 + bytes);
            const heap = this.heap();
            new Uint32Array(heap, (host >>> 0) + 4, 1)[0] = new Uint32Array(src, 0, 1)[0];
            new Uint8Array(heap, (host >>> 0) + 16, bytes).set(new Uint8Array(src, 16, bytes));
            rb.unmap();
            new Int32Array(heap, host >>> 0, 1)[0] = 0;
        }).catch((e) => {
            const errs = this.rt.errors.splice(0);
            this._fail(new Error(errs.length ? errs.join('; ') : e?.message ?? String(e)));
            if (errs.some((m) => m.startsWith('device lost')) || /lost|destroyed/i.test(e?.message ?? '')) this.lost = true;
            try { if (rb.mapState === 'mapped') rb.unmap(); } catch { /* gone */ }
            new Int32Array(this.heap(), host >>> 0, 1)[0] = -1;
        }).finally(() => { this.inflight = null; });
        return 0;
    }

    error(ptr, cap) {
        this._writeString(ptr, cap, this.err ?? '');
        this.err = null;
    }

    // Resolves once the kernels are compiled and the step submitted last is read back (or
    // failed); never rejects.
    async wait() {
        if (this.building.size) await Promise.all(this.building.values());
        if (this.inflight) await this.inflight;
    }

    stats() {
        return {
            gpuBytes: this.bytes, peakGpuBytes: this.peakBytes, weightBytes: this.weightBytes, submits: this.submits, dispatches: this.dispatches,
            readbackBytes: this.readbackBytes, lastReadbackBytes: this.lastReadbackBytes,
        };
    }
}
