// The Web Worker that runs inference for src/browser.js (a module worker). It instantiates the
// threaded module when the page is cross-origin isolated (SharedArrayBuffer available) and more
// than one thread is asked for, the single-threaded one otherwise, streams the model into wasm
// memory (fetch / Blob happen here, never on the page), and answers calls by message:
//   { id, op, args } -> { id, result } | { id, error: {code, message, status} }
// plus { type: 'progress', loadId, loaded, total } while loading.
import { Engine } from './engine.js';
import { EdgeqError, asEdgeqError } from './errors.js';
import { resolveParts, loadParts, cacheWritesSettled } from './load.js';
import { openGpu } from './gpu.js';
import { hasRelaxedSimd } from './relaxed.js';

const WASM_DIR = new URL('../wasm/', import.meta.url);
let engine = null;
const loads = new Map(); // loadId -> AbortController

async function createEngine(threads) {
  const mt = threads > 1 && typeof SharedArrayBuffer !== 'undefined' && self.crossOriginIsolated !== false;
  const flavour = mt ? 'mt' : 'st';
  const glueUrl = new URL(`web/edgeq-web-${flavour}.js`, WASM_DIR).href;
  let factory;
  try {
    factory = (await import(glueUrl)).default;
  } catch (e) {
    throw new EdgeqError('RUNTIME', `cannot load ${glueUrl}: ${e.message}`, { cause: e });
  }
  // the relaxed-SIMD build where the engine has it (same glue, same results, faster K-quant
  // kernels); should it fail to start (an old or odd engine), the SIMD128 build
  const start = (wasmName) => {
    const wasmUrl = new URL(wasmName, WASM_DIR).href;
    return factory({
      eqPoolSize: mt ? threads - 1 : 0,
      locateFile: (p) => (p.endsWith('.wasm') ? wasmUrl : new URL(p, glueUrl).href),
      mainScriptUrlOrBlob: glueUrl,
      print: () => {},
      printErr: () => {},
    });
  };
  let mod = null;
  let simd = 'simd128';
  if (hasRelaxedSimd()) {
    try {
      mod = await start(`edgeq-${flavour}-relaxed.wasm`);
      simd = 'relaxed';
    } catch {
      mod = null;
    }
  }
  try {
    if (!mod) mod = await start(`edgeq-${flavour}.wasm`);
    return new Engine(mod, simd);
  } catch (e) {
    throw new EdgeqError('RUNTIME', `the edgeq WebAssembly module failed to start: ${e && e.message ? e.message : e}`, { cause: e });
  }
}

// A GGUF readable synchronously, for the quantizer (it pulls slabs while wasm runs): a Blob through
// FileReaderSync (workers only), bytes in memory, or a URL through synchronous XHR Range requests.
function syncSource(source, baseUrl) {
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const reader = new FileReaderSync();
    return {
      size: source.size,
      name: source.name || 'model.gguf',
      read(pos, dst) {
        const ab = reader.readAsArrayBuffer(source.slice(pos, pos + dst.length));
        if (ab.byteLength !== dst.length) throw new EdgeqError('IO', `${source.name || 'blob'}: short read at ${pos}`);
        dst.set(new Uint8Array(ab));
      },
    };
  }
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const u8 = source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return { size: u8.length, name: 'model.gguf', read: (pos, dst) => dst.set(u8.subarray(pos, pos + dst.length)) };
  }
  if (typeof source === 'string') {
    const url = new URL(source, baseUrl).href;
    const get = (from, to) => {
      const x = new XMLHttpRequest();
      x.open('GET', url, false);
      x.responseType = 'arraybuffer';
      x.setRequestHeader('Range', `bytes=${from}-${to}`);
      try { x.send(); } catch (e) { throw new EdgeqError('NETWORK', `${url}: cannot fetch: ${e.message}`, { cause: e }); }
      if (x.status !== 206) {
        if (x.status >= 200 && x.status < 300) throw new EdgeqError('NETWORK', `${url}: the server ignores Range requests; pass the file as a Blob`);
        throw new EdgeqError('HTTP', `${url}: HTTP ${x.status}`, { status: x.status });
      }
      return x;
    };
    const head = get(0, 0);
    const m = /\/(\d+)$/.exec(head.getResponseHeader('content-range') || '');
    if (!m) throw new EdgeqError('NETWORK', `${url}: no file size in the Content-Range header`);
    return {
      size: Number(m[1]),
      name: url,
      read(pos, dst) {
        const ab = get(pos, pos + dst.length - 1).response;
        if (!ab || ab.byteLength !== dst.length) throw new EdgeqError('NETWORK', `${url}: short read at ${pos}`);
        dst.set(new Uint8Array(ab));
      },
    };
  }
  throw new EdgeqError('ARG', 'quantize: the source must be a File/Blob, an ArrayBuffer/typed array or a URL');
}

const ops = {
  async init({ threads }) {
    if (!engine) engine = await createEngine(threads);
    return { threaded: engine.threaded, shared: engine.shared };
  },
  async load({ loadId, source, options }) {
    const ac = new AbortController();
    loads.set(loadId, ac);
    try {
      const parts = resolveParts(source, { baseUrl: options.baseUrl });
      engine.setGpu(options.vocabOnly ? { dev: null, info: null, reason: null }
        : await openGpu({ device: options.device, maxBufferBytes: options.gpuMaxBufferBytes }));
      engine.gpuHostCopy = !!options.gpuHostCopy;
      const lopts = {
        signal: ac.signal,
        cache: options.cache,
        vocabOnly: options.vocabOnly,
        onProgress: (p) => self.postMessage({ type: 'progress', loadId, loaded: p.loaded, total: p.total }),
        onEvent: (ev) => self.postMessage({ type: 'event', loadId, event: ev }),
      };
      // a model on the GPU only is streamed in again when the CPU must take over
      engine.reload = () => loadParts(engine, parts, lopts);
      await loadParts(engine, parts, lopts);
      if (!options.vocabOnly) {
        await engine.createContext({ contextSize: options.contextSize, threads: options.threads, batchSize: options.batchSize, kvType: options.kvType, device: options.device });
      }
      engine.reload = () => loadParts(engine, parts, { cache: options.cache });
      // with shared memory the page can abort a running decode by storing into the flag
      const flag = engine.abortFlagAddress();
      return {
        name: engine.str(engine.m._eqw_model_arch(engine.model)),
        abort: engine.shared && flag ? { memory: engine.mem, address: flag } : null,
      };
    } catch (e) {
      engine.unload();
      engine.reload = null;
      throw e;
    } finally {
      loads.delete(loadId);
    }
  },
  cancelLoad({ loadId, reason }) {
    const ac = loads.get(loadId);
    if (ac) ac.abort(reason);
  },
  info: () => engine.info(),
  tokenize: (text, o) => engine.tokenize(text, o),
  detokenize: (ids, o) => engine.detokenize(ids, o),
  applyChatTemplate: (msgs, o) => engine.applyChatTemplate(msgs, o),
  chatTokens: (msgs, o) => engine.chatTokens(msgs, o),
  logits: () => engine.logits(),
  startGeneration: (o) => engine.startGeneration(o),
  step: (id) => engine.step(id),
  endGeneration: () => engine.endGeneration(),
  reset: () => engine.reset(),
  unload: () => engine.unload(),
  drain: () => cacheWritesSettled(5000),
  memory: () => ({ heapUsed: engine.heapUsed(), memoryBytes: engine.memoryBytes() }),
  quantize({ jobId, source, type, options }) {
    const src = syncSource(source, options.baseUrl);
    let parts = [];
    engine.quantize({
      ...options, size: src.size, name: src.name, type, read: src.read,
      write: (bytes) => { parts.push(bytes.slice()); },
      onLog: (line) => self.postMessage({ type: 'quantize-log', jobId, line }),
    });
    const blob = new Blob(parts, { type: 'application/octet-stream' });
    parts = null;
    return blob;
  },
};

self.onmessage = async (ev) => {
  const { id, op, args } = ev.data || {};
  if (!op) return;
  try {
    if (!engine && op !== 'init' && op !== 'drain') throw new EdgeqError('RUNTIME', 'the worker was not initialised');
    const result = await ops[op](...(args || []));
    const transfer = result instanceof Float32Array ? [result.buffer] : [];
    self.postMessage({ id, result }, transfer);
  } catch (e) {
    const err = asEdgeqError(e);
    self.postMessage({ id, error: err.toJSON() });
  }
};
