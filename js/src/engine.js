// The engine: one instance of the Emscripten module (wasm/web/edgeq_web.c) and the model,
// context and generations living in it. Runs where the module runs: the page's Web Worker
// (src/worker.js) in browsers, the calling thread in Node (src/node.js). Synchronous except
// where noted; everything that fails throws an EdgeqError.
import { EdgeqError, statusError, asEdgeqError } from './errors.js';

const STAGE_BYTES = 1 << 20; // staging buffer in the heap that fetched chunks pass through
const enc = new TextEncoder();

/**
 * The sampler's seed: the caller's (any integer: the same one gives the same tokens), or without
 * one (or -1, llama.cpp's and llama-server's "random") a fresh random seed for every generation,
 * as llama.cpp and `edgeq serve` do (OpenAI's default: sampled replies differ from one request
 * to the next).
 */
export function samplerSeed(seed) {
  if (seed !== undefined && seed !== null && seed !== -1 && seed !== '-1') {
    const n = Number(seed);
    if (typeof seed === 'boolean' || !Number.isInteger(n) || n < -(2 ** 63) || n >= 2 ** 64) {
      throw new EdgeqError('ARG', `seed must be an integer, not ${String(seed)}`);
    }
    return n;
  }
  const u = new Uint32Array(2);
  if (globalThis.crypto && typeof globalThis.crypto.getRandomValues === 'function') globalThis.crypto.getRandomValues(u);
  else for (let i = 0; i < 2; i++) u[i] = Math.floor(Math.random() * 2 ** 32); // no Web Crypto: still varies
  return (u[0] & 0x1fffff) * 2 ** 32 + u[1]; // 53 random bits: exact in a double
}

export class Engine {
  /** @param {any} mod an instantiated createEdgeq() module */
  constructor(mod, simd = 'simd128') {
    this.m = mod;
    this.simd = simd; // which build of the module: 'simd128' or 'relaxed' (relaxed SIMD kernels)
    // the threaded glue exports its (shared) Memory; the single-threaded one keeps HEAPU8 current
    this.mem = mod.wasmMemory || null;
    if (!this.mem && !mod.HEAPU8) throw new EdgeqError('RUNTIME', 'the WebAssembly module exposes no memory');
    this.shared = typeof SharedArrayBuffer !== 'undefined' && this.buffer() instanceof SharedArrayBuffer;
    this.threaded = !!mod._eqw_threaded();
    this.poolSize = mod.eqPoolSize || 0;
    this.dec = new TextDecoder('utf-8', { fatal: false });
    this._u8 = null;
    this.stage = this._malloc(STAGE_BYTES);
    this.scratch = this._malloc(64); // small out-parameters
    this.pieceCap = 1024; // grows to the longest token text met (_piece): there is no limit
    this.piece = this._malloc(this.pieceCap);
    this.loader = 0;
    this.model = 0;
    this.ctx = 0;
    this.gen = null; // the running generation: { id, ptr (eq_gen), seed }
    this.genId = 0;
    this.gpu = null; // the WebGPU Device (wasm/web/webgpu.js) the C backend calls, or null
    this.gpuInfo = null;
    this.device = 'cpu'; // where the context runs
    this.fallbackReason = null; // why it is not on the GPU
    this.gpuHostCopy = false; // load for the GPU keeping the host copy too (instant CPU fallback)
    this.reload = null; // async (): the model's source streamed in again (set by the loader)
    this.peakHeap = 0; // wasm heap in use, at most, during the last load (bytes)
  }

  /**
   * Use a GPU for what loads next (openGpu()'s result): tensors go up as they stream in, and
   * the context runs there when it can. dev null: the CPU, for `reason`.
   */
  setGpu({ dev, info, reason }) {
    if (this.gpu && this.gpu !== dev) this.gpu.rt.destroy();
    this.gpu = dev;
    this.gpuInfo = info;
    this.fallbackReason = dev ? null : reason;
    this.m.eqGpu = dev;
    if (dev) dev.heap = () => this.buffer();
  }

  // ---- memory helpers -------------------------------------------------------------------------
  buffer() { return this.mem ? this.mem.buffer : this.m.HEAPU8.buffer; }
  u8() {
    const b = this.buffer();
    if (!this._u8 || this._u8.buffer !== b) this._u8 = new Uint8Array(b);
    return this._u8;
  }
  // wasm returns pointers as signed i32: above 2 GiB of memory they read negative in JS, so
  // every pointer that reaches a typed array goes through `>>> 0`
  i32(ptr, n) { return new Int32Array(this.buffer(), ptr >>> 0, n); }
  f64(ptr, n) { return new Float64Array(this.buffer(), ptr >>> 0, n); }
  _malloc(n) {
    const p = this.m._eqw_malloc(n) >>> 0;
    if (!p) throw new EdgeqError('NOMEM', `out of memory (allocating ${n} bytes)`);
    return p;
  }
  _free(p) { if (p) this.m._eqw_free(p); }
  /**
   * fn(ptr, cap) is a C call that writes a token's text (eqw_token_to_piece, eqw_detok_push,
   * ...) and returns its length, writing nothing when that exceeds cap: grow the piece buffer
   * to the length and call again. Returns the length (or fn's negative error).
   */
  _piece(fn) {
    let n = fn(this.piece, this.pieceCap);
    if (n > this.pieceCap) {
      this._free(this.piece);
      this.piece = 0;
      this.pieceCap = 0;
      this.piece = this._malloc(n);
      this.pieceCap = n;
      n = fn(this.piece, this.pieceCap);
    }
    return n;
  }
  /** A NUL-terminated UTF-8 string at ptr ('' for NULL). */
  str(ptr, len) {
    if (!ptr) return null;
    ptr >>>= 0;
    const u8 = this.u8();
    let end = ptr;
    if (len === undefined) { while (u8[end]) end++; } else end = ptr + len;
    // TextDecoder refuses views on shared memory: copy those
    return this.dec.decode(this.shared ? u8.slice(ptr, end) : u8.subarray(ptr, end));
  }
  /** Copy bytes into a fresh heap block (NUL-terminated); returns [ptr, byteLength]. */
  allocBytes(bytes) {
    const p = this._malloc(bytes.length + 1);
    const u8 = this.u8();
    u8.set(bytes, p);
    u8[p + bytes.length] = 0;
    return [p, bytes.length];
  }
  allocString(s) { return this.allocBytes(enc.encode(s)); }
  heapUsed() { return this.m._eqw_heap_used(); }
  memoryBytes() { return this.buffer().byteLength; }

  // ---- streamed loading -------------------------------------------------------------------------
  beginLoad(nParts, { vocabOnly = false } = {}) {
    this.unload();
    this.peakHeap = this.heapUsed();
    // on the GPU, tensors stream through a staging block and keep no host copy (1), unless asked (2)
    const gpu = this.gpu && !vocabOnly ? (this.gpuHostCopy ? 2 : 1) : 0;
    this.loader = this.m._eqw_loader_new(nParts, vocabOnly ? 1 : 0, gpu, this.scratch);
    if (!this.loader) throw statusError(this.i32(this.scratch, 1)[0] || 4, this.str(this.m._eqw_errmsg()));
  }
  setPartSize(part, size) {
    const st = this.m._eqw_loader_set_part_size(this.loader, part, size);
    if (st) throw this._loaderError(st);
  }
  /** Push one chunk of part `part` (a Uint8Array) through the staging buffer into the loader. */
  feed(part, chunk) {
    if (!this.loader) throw new EdgeqError('ABORTED', 'loading was cancelled');
    for (let off = 0; off < chunk.length; off += STAGE_BYTES) {
      const n = Math.min(STAGE_BYTES, chunk.length - off);
      this.u8().set(chunk.subarray(off, off + n), this.stage);
      const st = this.m._eqw_loader_feed(this.loader, part, this.stage, n);
      if (st) throw this._loaderError(st);
    }
    this.peakHeap = Math.max(this.peakHeap, this.heapUsed());
  }
  progress() {
    if (!this.loader) return { loaded: 0, total: 0 };
    return { loaded: this.m._eqw_loader_loaded(this.loader), total: this.m._eqw_loader_total(this.loader) };
  }
  finishLoad() {
    const stp = this.scratch;
    const model = this.m._eqw_loader_finish(this.loader, stp);
    const st = this.i32(stp, 1)[0];
    if (!model) {
      const err = this._loaderError(st || 2);
      this.abortLoad();
      throw err;
    }
    this.peakHeap = Math.max(this.peakHeap, this.heapUsed());
    this.m._eqw_loader_free(this.loader);
    this.loader = 0;
    this.model = model;
  }
  /** Whether the model's weights are in wasm memory (a CPU context can run on it). */
  hostWeights() { return !!(this.model && this.m._eqw_model_host_weights(this.model)); }
  abortLoad() {
    if (this.loader) this.m._eqw_loader_free(this.loader);
    this.loader = 0;
  }
  _loaderError(st) {
    const msg = this.loader ? this.str(this.m._eqw_loader_errmsg(this.loader)) : '';
    return statusError(st, msg || this.str(this.m._eqw_status_str(st)));
  }

  // ---- quantization ---------------------------------------------------------------------------
  /**
   * Quantize a GGUF into `type` (llama-quantize's names: 'Q4_K_M', 'Q8_0', ...), the same bytes
   * `edgeq quantize` and llama-quantize write. Synchronous; the input is pulled in slabs:
   * read(pos, dst) fills the Uint8Array dst with the bytes at pos; write(bytes) receives the
   * output in order (a view into wasm memory, valid during the call only); onLog(line) gets
   * llama-quantize's progress lines.
   */
  quantize({ size, name = 'model', type, threads = 1, pure = false, allowRequantize = false,
    outputType = '', embeddingType = '', read, write, onLog = () => {} }) {
    let failure = null; // a callback's own error wins over the status it causes
    const strs = [];
    this.m.eqwQuantize = {
      read: (pos, ptr, n) => {
        try { read(pos, new Uint8Array(this.buffer(), ptr, n)); return 0; } catch (e) { failure = failure || e; return 1; }
      },
      write: (ptr, n) => {
        try { write(new Uint8Array(this.buffer(), ptr, n)); return 0; } catch (e) { failure = failure || e; return 1; }
      },
      log: (line) => { try { onLog(line); } catch { /* caller's bug */ } },
    };
    try {
      for (const v of [name, type, outputType || '', embeddingType || '']) strs.push(this.allocString(String(v))[0]);
      const st = this.m._eqw_quantize(size, strs[0], strs[1], threads, pure ? 1 : 0, allowRequantize ? 1 : 0, strs[2], strs[3]);
      if (failure) throw asEdgeqError(failure);
      if (st) throw statusError(st, this.str(this.m._eqw_errmsg()));
    } finally {
      for (const p of strs) this._free(p);
      delete this.m.eqwQuantize;
    }
  }

  /** Free the model, context and any load in progress (the module stays usable). */
  unload() {
    this.endGeneration();
    this.abortLoad();
    if (this.ctx) this.m._eqw_ctx_free(this.ctx);
    if (this.model) this.m._eqw_model_free(this.model);
    this.ctx = this.model = 0;
  }

  /** Free everything including the engine's own buffers (the module is dropped after this). */
  destroy() {
    this.unload();
    if (this.gpu) this.setGpu({ dev: null, info: null, reason: null });
    this._free(this.stage); this._free(this.scratch); this._free(this.piece);
    this.stage = this.scratch = this.piece = 0;
  }

  // ---- context ----------------------------------------------------------------------------------
  /**
   * The inference context. device 'auto': on the GPU when the model went up there (setGpu),
   * else the CPU, the reason kept for info(); 'webgpu': the GPU or an error; 'cpu'. A model
   * loaded for the GPU without a host copy is streamed in again for the CPU (this.reload).
   */
  async createContext(opts = {}) {
    this._createContext(opts);
    if (!this.ctx) await this.reloadOnCpu(this.fallbackReason);
  }
  /**
   * The model's weights are on the GPU only and the CPU must run it: load it again from its
   * source, for the CPU, and make the context there (the GPU is let go).
   */
  async reloadOnCpu(reason) {
    const opts = this.ctxOpts;
    if (!this.reload) throw new EdgeqError('UNSUPPORTED', `the model's weights are on the GPU only and cannot run on the CPU: ${reason}`);
    this.setGpu({ dev: null, info: null, reason });
    await this.reload();
    this.fallbackReason = reason;
    this._createContext({ ...opts, device: 'cpu' });
  }
  _createContext({ contextSize = 0, threads = 1, batchSize = 0, kvType = 'f16', device = 'auto' } = {}) {
    this._needModel();
    const nTrain = this.m._eqw_model_n_ctx_train(this.model);
    const nCtx = contextSize > 0 ? contextSize : Math.min(nTrain > 0 ? nTrain : 4096, 4096);
    let nThreads = Math.max(1, threads | 0);
    if (!this.threaded) nThreads = 1;
    else if (this.poolSize) nThreads = Math.min(nThreads, this.poolSize + 1);
    this.ctxOpts = { contextSize: nCtx, threads: nThreads, batchSize, kvType };
    const make = (gpu) => {
      const ctx = this.m._eqw_ctx_new(this.model, nCtx, nThreads, batchSize | 0, kvType === 'f32' ? 1 : 0, gpu ? 1 : 0, this.scratch);
      if (!ctx) {
        const msg = this.str(this.m._eqw_errmsg());
        throw statusError(this.i32(this.scratch, 1)[0] || 5, msg);
      }
      return ctx;
    };
    this.device = 'cpu';
    if (this.gpu && device !== 'cpu') {
      try {
        this.ctx = make(true);
        this.device = 'webgpu';
        this.fallbackReason = null;
      } catch (e) {
        if (device === 'webgpu') throw new EdgeqError(e.code, `cannot run on WebGPU: ${e.message}`);
        this.fallbackReason = e.message;
        console.warn(`edgeq: running on the CPU: ${e.message}`);
      }
    } else if (device === 'webgpu') {
      throw new EdgeqError('UNSUPPORTED', `cannot run on WebGPU: ${this.fallbackReason || 'no GPU device was opened'}`);
    }
    // without a host copy the CPU needs the model again: createContext reloads it
    if (this.device === 'cpu' && this.hostWeights()) this.ctx = make(false);
    this.nThreads = this.device === 'cpu' ? nThreads : 1;
  }

  /**
   * The GPU failed mid-way: the context moves to the CPU, on the model's host copy, or (none
   * kept) on the model streamed in again from its source.
   */
  async _gpuLost(msg) {
    this.endGeneration();
    if (this.ctx) this.m._eqw_ctx_free(this.ctx);
    this.ctx = 0;
    const reason = `the GPU failed: ${msg}`;
    if (this.hostWeights()) {
      this.fallbackReason = reason;
      this._createContext({ ...this.ctxOpts, device: 'cpu' });
    } else {
      try {
        await this.reloadOnCpu(reason);
      } catch (e) {
        throw new EdgeqError('GPU_LOST', `${msg} (and loading the model again for the CPU failed: ${e && e.message})`);
      }
    }
  }
  /** Address of the context's abort flag (an int32 in the heap; store non-zero to abort decode). */
  abortFlagAddress() { return this.ctx ? this.m._eqw_ctx_abort_flag(this.ctx) >>> 0 : 0; }

  // ---- information ------------------------------------------------------------------------------
  info() {
    this._needModel();
    const m = this.m, mp = this.model;
    const metadata = {};
    const n = m._eqw_model_meta_count(mp);
    let cap = 1024, buf = this._malloc(cap);
    try {
      for (let i = 0; i < n; i++) {
        const k = this.str(m._eqw_model_meta_key(mp, i));
        if (k === null) continue;
        const [kp] = this.allocString(k);
        try {
          let len = m._eqw_model_meta_str(mp, kp, buf, cap);
          if (len >= cap) { // values have no size limit: grow to the text's length and ask again
            this._free(buf);
            cap = len + 1;
            buf = this._malloc(cap);
            len = m._eqw_model_meta_str(mp, kp, buf, cap);
          }
          if (len >= 0) metadata[k] = this.str(buf, len);
        } finally { this._free(kp); }
      }
    } finally { this._free(buf); }
    const tensors = [];
    const types = {};
    const nt = m._eqw_model_tensor_count(mp);
    const out = this._malloc(8 + 32);
    try {
      for (let i = 0; i < nt; i++) {
        const nd = m._eqw_model_tensor_info(mp, i, out, out + 4, out + 8);
        if (nd < 0) continue;
        const p = this.i32(out, 2);
        const name = this.str(p[0]), type = this.str(p[1]);
        const ne = Array.from(this.f64(out + 8, 4)).slice(0, Math.max(1, nd));
        tensors.push({ name, type, shape: ne });
        types[type] = (types[type] || 0) + 1;
      }
    } finally { this._free(out); }
    const tok = (t) => (t < 0 ? null : t);
    return {
      architecture: this.str(m._eqw_model_arch(mp)),
      name: metadata['general.name'] ?? null,
      nVocab: m._eqw_model_n_vocab(mp),
      nCtxTrain: m._eqw_model_n_ctx_train(mp),
      nEmbd: m._eqw_model_n_embd(mp),
      nLayer: m._eqw_model_n_layer(mp),
      nParams: m._eqw_model_n_params(mp),
      sizeBytes: m._eqw_model_size_bytes(mp),
      chatTemplate: this.str(m._eqw_chat_template_name(mp)),
      tokens: { bos: tok(m._eqw_token_bos(mp)), eos: tok(m._eqw_token_eos(mp)), eot: tok(m._eqw_token_eot(mp)) },
      tensorTypes: types,
      tensors,
      metadata,
      runtime: {
        threaded: this.threaded,
        simd: this.simd,
        threads: this.ctx ? this.nThreads : 0,
        contextSize: this.ctx ? m._eqw_ctx_n_ctx(this.ctx) : 0,
        memoryBytes: this.memoryBytes(),
        heapBytes: this.heapUsed(),
        peakLoadHeapBytes: this.peakHeap,
        hostWeights: this.hostWeights(),
        device: this.device,
        fallbackReason: this.device === 'cpu' ? this.fallbackReason : null,
        gpu: this.gpu ? { ...this.gpuInfo, ...this.gpu.stats() } : null,
      },
    };
  }

  // ---- tokenizer --------------------------------------------------------------------------------
  tokenize(text, { addSpecial = true, parseSpecial = true } = {}) {
    this._needModel();
    const [tp, tl] = this.allocString(String(text));
    let cap = tl + 16;
    let out = this._malloc(cap * 4);
    try {
      let st = this.m._eqw_tokenize(this.model, tp, tl, addSpecial ? 1 : 0, parseSpecial ? 1 : 0, out, cap, this.scratch);
      let n = this.i32(this.scratch, 1)[0];
      if (st === 5 && n > cap) {
        this._free(out);
        out = this._malloc(n * 4);
        cap = n;
        st = this.m._eqw_tokenize(this.model, tp, tl, addSpecial ? 1 : 0, parseSpecial ? 1 : 0, out, cap, this.scratch);
        n = this.i32(this.scratch, 1)[0];
      }
      if (st) throw statusError(st, 'tokenization failed');
      return Array.from(this.i32(out, n));
    } finally {
      this._free(tp);
      this._free(out);
    }
  }

  /** Text of a token list (bytes joined before UTF-8 decoding). */
  detokenize(ids, { special = false } = {}) {
    this._needModel();
    const parts = [];
    let total = 0;
    for (const t of ids) {
      const n = this._piece((p, cap) => this.m._eqw_token_to_piece(this.model, t | 0, special ? 1 : 0, p, cap));
      if (n < 0) throw new EdgeqError('ARG', `invalid token ${t}`);
      parts.push(this.u8().slice(this.piece, this.piece + n));
      total += n;
    }
    const all = new Uint8Array(total);
    let o = 0;
    for (const p of parts) { all.set(p, o); o += p.length; }
    return this.dec.decode(all);
  }

  // ---- chat templates ---------------------------------------------------------------------------
  /** Run fn(tmplPtr, rolesPtr, contentsPtr, n) with the messages as C string arrays in the heap. */
  _withMessages(messages, template, fn) {
    this._needModel();
    if (!Array.isArray(messages)) throw new EdgeqError('ARG', 'messages must be an array');
    const allocs = [];
    const n = messages.length;
    const arr = this._malloc(Math.max(1, n) * 8);
    allocs.push(arr);
    try {
      for (let i = 0; i < n; i++) {
        const msg = messages[i] || {};
        let content = msg.content ?? '';
        if (Array.isArray(content)) content = content.map((c) => (typeof c === 'string' ? c : c.text ?? '')).join('');
        const [rp] = this.allocString(String(msg.role ?? 'user'));
        const [cp] = this.allocString(String(content));
        allocs.push(rp, cp);
        const v = this.i32(arr, 2 * n);
        v[i] = rp;
        v[n + i] = cp;
      }
      let tp = 0;
      if (template) { [tp] = this.allocString(template); allocs.push(tp); }
      return fn(tp, arr, arr + 4 * n, n, allocs);
    } finally {
      for (const p of allocs) this._free(p);
    }
  }

  _templateError(st, template) {
    if (st === 3) {
      return new EdgeqError('UNSUPPORTED', template ? `unknown chat template '${template}'`
        : 'the model has no chat template edgeq knows (pass one by name)');
    }
    return statusError(st, 'applying the chat template failed');
  }

  applyChatTemplate(messages, { addAssistant = true, template = null } = {}) {
    return this._withMessages(messages, template, (tp, roles, contents, n, allocs) => {
      let cap = 4096;
      for (let attempt = 0; attempt < 2; attempt++) {
        const buf = this._malloc(cap);
        allocs.push(buf);
        const st = this.m._eqw_chat_apply(this.model, tp, roles, contents, n, addAssistant ? 1 : 0, buf, cap, this.scratch);
        const need = this.i32(this.scratch, 1)[0];
        if (st === 0) return this.str(buf, need);
        if (st === 5 && need >= cap && attempt === 0) { cap = need + 1; continue; }
        throw this._templateError(st, template);
      }
      throw new EdgeqError('RUNTIME', 'applying the chat template failed');
    });
  }

  /**
   * The chat prompt's tokens: special-token text ("<|im_end|>") becomes a control token only
   * where the template wrote it; in message contents it stays text, so a message cannot forge
   * turns. parseSpecialInContent: parse it in contents too (trusted contents only).
   */
  chatTokens(messages, { addAssistant = true, template = null, parseSpecialInContent = false } = {}) {
    return this._withMessages(messages, template, (tp, roles, contents, n, allocs) => {
      let cap = 1024;
      for (let attempt = 0; attempt < 2; attempt++) {
        const out = this._malloc(cap * 4);
        allocs.push(out);
        const st = this.m._eqw_chat_tokenize(this.model, tp, roles, contents, n, addAssistant ? 1 : 0,
          parseSpecialInContent ? 1 : 0, out, cap, this.scratch);
        const need = this.i32(this.scratch, 1)[0];
        if (st === 0) return Array.from(this.i32(out, need));
        if (st === 5 && need > cap && attempt === 0) { cap = need; continue; }
        throw this._templateError(st, template);
      }
      throw new EdgeqError('RUNTIME', 'tokenizing the chat prompt failed');
    });
  }

  // ---- evaluation -------------------------------------------------------------------------------
  _needModel() {
    if (!this.model) throw new EdgeqError('DISPOSED', 'no model is loaded');
  }
  _needCtx() {
    this._needModel();
    if (!this.ctx) throw new EdgeqError('ARG', 'the model was loaded without a context (vocabOnly)');
  }

  /** Empty the KV cache: the next prompt is evaluated from scratch. */
  reset() {
    this._needCtx();
    this.endGeneration();
    const st = this.m._eqw_ctx_truncate(this.ctx, 0);
    if (st) throw statusError(st, this.str(this.m._eqw_ctx_errmsg(this.ctx)));
  }

  /** Logits of the last evaluated position (a copy), or null before any. */
  async logits() {
    this._needCtx();
    const p = this.m._eqw_ctx_logits(this.ctx) >>> 0;
    // a greedy step on the GPU read back only its token: the logits are still there
    if (!p && this.device === 'webgpu' && this.m._eqw_ctx_logits_on_device(this.ctx)) return this.gpu.readLogits();
    if (!p) return null;
    const n = this.m._eqw_model_n_vocab(this.model);
    return new Float32Array(this.buffer(), p, n).slice();
  }

  /**
   * Start a generation (eq_gen in the C core: prefix reuse, sampling, stop strings, finish
   * reasons); returns its id. Drive it with step() until done.
   * opts: prompt (string) or tokens (number[]), maxTokens, temperature, topK, topP, minP,
   * repeatPenalty, repeatLastN, seed (none: a fresh random one), stop (string|string[]),
   * addSpecial, parseSpecial, batchSize, cachePrompt (false: no prefix reuse), ignoreEos
   */
  startGeneration(opts = {}) {
    this._needCtx();
    const tokens = opts.tokens ? Array.from(opts.tokens, (t) => t | 0)
      : this.tokenize(opts.prompt ?? '', { addSpecial: opts.addSpecial ?? true, parseSpecial: opts.parseSpecial ?? true });
    if (tokens.length === 0) throw new EdgeqError('ARG', 'the prompt is empty');
    const num = (v, d) => (v === undefined || v === null ? d : Number(v));
    const seed = samplerSeed(opts.seed);
    let stop = opts.stop ?? [];
    if (typeof stop === 'string') stop = [stop];
    stop = stop.filter((s) => typeof s === 'string' && s.length > 0).map((s) => enc.encode(s));
    const maxTokens = opts.maxTokens === undefined || opts.maxTokens === null ? -1 : Math.max(0, opts.maxTokens | 0);
    // prompt tokens per step: without shared memory an abort can only land between steps,
    // so steps are kept short there
    const batch = Math.max(1, opts.batchSize | 0 || (this.shared ? 256 : 64));
    this.endGeneration();
    const nStopBytes = stop.reduce((n, b) => n + b.length, 0);
    const mem = this._malloc(tokens.length * 4 + stop.length * 4 + nStopBytes + 4);
    try {
      this.i32(mem, tokens.length).set(tokens);
      const lens = mem + tokens.length * 4, bytes = lens + stop.length * 4;
      this.i32(lens, stop.length).set(stop.map((b) => b.length));
      let o = bytes;
      for (const b of stop) { this.u8().set(b, o); o += b.length; }
      const ptr = this.m._eqw_gen_start(this.ctx, mem, tokens.length,
        num(opts.temperature, 0.8), num(opts.topK, 40) | 0, num(opts.topP, 0.95), num(opts.minP, 0.05),
        num(opts.repeatPenalty, 1.0), num(opts.repeatLastN, 64) | 0, seed, maxTokens,
        bytes, lens, stop.length, batch, opts.cachePrompt === false ? 0 : 1, opts.ignoreEos ? 1 : 0, this.scratch);
      if (!ptr) throw statusError(this.i32(this.scratch, 1)[0], this.str(this.m._eqw_errmsg()));
      this.gen = { id: ++this.genId, ptr, seed }; // the seed goes back in the results: passing it again repeats the generation
    } finally {
      this._free(mem);
    }
    return this.gen.id;
  }

  endGeneration() {
    if (this.gen) this.m._eqw_gen_free(this.gen.ptr);
    this.gen = null;
  }

  /**
   * One step: decode a batch of the prompt, or the last token, and sample. Returns
   * { text, done, finishReason, promptTokens, completionTokens, cachedTokens, seed }.
   */
  async step(id) {
    const g = this.gen;
    if (!g || g.id !== id) throw new EdgeqError('ARG', 'this generation is no longer active');
    const out = this.scratch;
    // on the GPU a step may return while its work runs: await the readback, step again
    for (;;) {
      if (this.gpu) await this.gpu.wait();
      if (this.gen !== g) throw new EdgeqError('ARG', 'this generation is no longer active');
      const st = this.m._eqw_gen_step(g.ptr, this.ctx, out);
      if (st) {
        const msg = this.str(this.m._eqw_gen_errmsg(g.ptr));
        this.endGeneration();
        if (st === 9 && this.device === 'webgpu') {
          await this._gpuLost(msg);
          throw new EdgeqError('GPU_LOST', `${msg} (the next call runs on the CPU)`);
        }
        throw statusError(st, msg);
      }
      if (!this.i32(out, 4)[3]) break;
    }
    const [ptr, len, done] = this.i32(out, 3);
    const text = len > 0 ? this.str(ptr, len) : '';
    this.m._eqw_gen_stats(g.ptr, out);
    const [promptTokens, cachedTokens, completionTokens] = this.i32(out, 3);
    const finishReason = done ? (this.m._eqw_gen_finish_reason(g.ptr) === 1 ? 'stop' : 'length') : null;
    if (done) this.endGeneration();
    return { text, done: !!done, finishReason, promptTokens, completionTokens, cachedTokens, seed: g.seed };
  }
}
