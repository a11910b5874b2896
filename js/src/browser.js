// Browser entry point: every model runs in its own module Web Worker (src/worker.js), so the
// page never blocks; model bytes are fetched inside the worker and streamed into its wasm
// memory. Threads need a cross-origin isolated page (COOP: same-origin, COEP: require-corp),
// otherwise the single-threaded module is used.
import { EdgeqError, abortError } from './errors.js';
import { LLM } from './llm.js';
import { quantizeProgress } from './progress.js';
import { threadCount } from './threads.js';

export { EdgeqError, ErrorCode } from './errors.js';
export { LLM } from './llm.js';

let loadSeq = 0;

class WorkerBackend {
  constructor(worker) {
    this.worker = worker;
    this.seq = 0;
    this.pending = new Map();
    this.listeners = new Set();
    this.abortView = null;
    worker.onmessage = (ev) => {
      const d = ev.data;
      if (d && d.type) { for (const l of this.listeners) l(d); return; }
      const p = this.pending.get(d.id);
      if (!p) return;
      this.pending.delete(d.id);
      if (d.error) p.reject(EdgeqError.fromJSON(d.error));
      else p.resolve(d.result);
    };
    worker.onerror = (ev) => {
      const err = new EdgeqError('RUNTIME', `edgeq worker failed: ${ev.message || 'error'}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (ev.preventDefault) ev.preventDefault();
    };
  }
  call(op, ...args) {
    if (!this.worker) return Promise.reject(new EdgeqError('DISPOSED', 'the model was disposed'));
    return new Promise((resolve, reject) => {
      const id = ++this.seq;
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, args });
    });
  }
  post(op, ...args) {
    if (this.worker) this.worker.postMessage({ id: 0, op, args });
  }
  abortDecode() {
    if (this.abortView) Atomics.store(this.abortView, 0, 1);
  }
  async dispose() {
    if (!this.worker) return;
    // let a download still being written to the Cache API finish first (bounded)
    try { await this.call('unload'); await this.call('drain'); } catch { /* worker gone */ }
    const w = this.worker;
    this.worker = null;
    if (!w) return;
    for (const p of this.pending.values()) p.reject(new EdgeqError('DISPOSED', 'the model was disposed'));
    this.pending.clear();
    // terminating the worker frees its whole wasm memory (and its pthread workers)
    w.terminate();
  }
}

function defaultThreads() {
  const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated && typeof SharedArrayBuffer !== 'undefined';
  if (!isolated) return 1;
  const n = (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 4;
  return Math.max(1, Math.min(8, n));
}

/**
 * Load a model from a URL (string or URL, relative to the page), a File/Blob, or an array of
 * split parts. opts: onProgress({loaded,total}), signal, threads, contextSize, batchSize,
 * kvType, cache (default true: the Cache API), vocabOnly, workerUrl, device ('auto': WebGPU
 * when the worker has an adapter, else the CPU; 'webgpu': WebGPU or an error; 'cpu'),
 * gpuMaxBufferBytes (tests: split weights into smaller buffers), gpuHostCopy (keep the weights
 * in wasm memory too: the model twice, an instant CPU fallback; default false: a CPU fallback
 * loads the model again from its source).
 */
export async function load(source, opts = {}) {
  const { signal } = opts;
  if (signal && signal.aborted) throw abortError(signal, 'loading aborted');
  const threads = threadCount(opts.threads, defaultThreads(), (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 0);
  const workerUrl = opts.workerUrl || new URL('./worker.js', import.meta.url);
  let worker;
  try {
    worker = new Worker(workerUrl, { type: 'module', name: 'edgeq' });
  } catch (e) {
    throw new EdgeqError('RUNTIME', `cannot start the edgeq worker: ${e.message}`, { cause: e });
  }
  const b = new WorkerBackend(worker);
  const loadId = ++loadSeq;
  const onAbort = () => {
    const r = signal.reason;
    b.post('cancelLoad', { loadId, reason: r instanceof Error ? r.message : String(r ?? 'aborted') });
  };
  const onMsg = (d) => {
    if (d.loadId !== loadId) return;
    if (d.type === 'progress' && opts.onProgress) {
      try { opts.onProgress({ loaded: d.loaded, total: d.total }); } catch { /* caller's bug */ }
    } else if (d.type === 'event' && opts.onEvent) {
      try { opts.onEvent(d.event); } catch { /* caller's bug */ }
    }
  };
  b.listeners.add(onMsg);
  if (signal) signal.addEventListener('abort', onAbort, { once: true });
  try {
    await b.call('init', { threads });
    if (signal && signal.aborted) throw abortError(signal, 'loading aborted');
    const baseUrl = typeof location !== 'undefined' ? location.href : undefined;
    const src = Array.isArray(source) ? source.map((s) => (s instanceof URL ? s.href : s))
      : source instanceof URL ? source.href : source;
    const res = await b.call('load', {
      loadId,
      source: src,
      options: {
        baseUrl, threads, contextSize: opts.contextSize, batchSize: opts.batchSize, kvType: opts.kvType,
        cache: opts.cache, vocabOnly: opts.vocabOnly, device: opts.device, gpuMaxBufferBytes: opts.gpuMaxBufferBytes, gpuHostCopy: opts.gpuHostCopy,
      },
    });
    if (res.abort) b.abortView = new Int32Array(res.abort.memory.buffer, res.abort.address, 1);
    return new LLM(b, { name: res.name });
  } catch (e) {
    await b.dispose();
    if (signal && signal.aborted) throw abortError(signal, 'loading aborted');
    throw e;
  } finally {
    b.listeners.delete(onMsg);
    if (signal) signal.removeEventListener('abort', onAbort);
  }
}

let quantizeSeq = 0;

/**
 * Quantize a GGUF model in the browser (a worker of its own): the same bytes as
 * `edgeq quantize` / llama-quantize. source: a File/Blob, an ArrayBuffer/typed array, or a URL
 * whose server answers Range requests. type: 'Q4_K_M', 'Q8_0', ... Resolves to a Blob.
 * opts: threads, pure, allowRequantize, outputType, embeddingType, signal,
 * onProgress({tensor, tensors, name, line}), workerUrl.
 */
export async function quantize(source, type, opts = {}) {
  const { signal } = opts;
  if (signal && signal.aborted) throw abortError(signal, 'quantization aborted');
  const threads = threadCount(opts.threads, defaultThreads(), (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 0);
  let worker;
  try {
    worker = new Worker(opts.workerUrl || new URL('./worker.js', import.meta.url), { type: 'module', name: 'edgeq-quantize' });
  } catch (e) {
    throw new EdgeqError('RUNTIME', `cannot start the edgeq worker: ${e.message}`, { cause: e });
  }
  const b = new WorkerBackend(worker);
  const jobId = ++quantizeSeq;
  const onMsg = (d) => {
    if (d.type !== 'quantize-log' || d.jobId !== jobId || !opts.onProgress) return;
    try { opts.onProgress(quantizeProgress(d.line)); } catch { /* caller's bug */ }
  };
  b.listeners.add(onMsg);
  // the worker is busy inside wasm until it is done: aborting means ending the worker
  let onAbort = null;
  const aborted = new Promise((_, reject) => {
    if (!signal) return;
    onAbort = () => reject(abortError(signal, 'quantization aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const baseUrl = typeof location !== 'undefined' ? location.href : undefined;
    const src = source instanceof URL ? source.href : source;
    const run = (async () => {
      await b.call('init', { threads });
      return b.call('quantize', {
        jobId, source: src, type,
        options: {
          baseUrl, threads, pure: !!opts.pure, allowRequantize: !!opts.allowRequantize,
          outputType: opts.outputType || '', embeddingType: opts.embeddingType || '',
        },
      });
    })();
    return await Promise.race([run, aborted]);
  } finally {
    b.listeners.delete(onMsg);
    if (signal && onAbort) signal.removeEventListener('abort', onAbort);
    const w = b.worker;
    b.worker = null;
    for (const p of b.pending.values()) p.reject(new EdgeqError('ABORTED', 'quantization ended'));
    b.pending.clear();
    if (w) w.terminate(); // frees the worker's whole wasm memory at once
  }
}

export default { load, quantize, EdgeqError };
