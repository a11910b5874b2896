// The Web Worker that runs inference for src/browser.js (a module worker). It instantiates the
// threaded module when the page is cross-origin isolated (SharedArrayBuffer available) and more
// than one thread is asked for, the single-threaded one otherwise, streams the model into wasm
// memory (fetch / Blob happen here, never on the page), and answers calls by message:
//   { id, op, args } -> { id, result } | { id, error: {code, message, status} }
// plus { type: 'progress', loadId, loaded, total } while loading.
import { Engine } from './engine.js';
import { EdgeqError, asEdgeqError } from './errors.js';
import { resolveParts, loadParts, cacheWritesSettled } from './load.js';

const WASM_DIR = new URL('../wasm/', import.meta.url);
let engine = null;
const loads = new Map(); // loadId -> AbortController

async function createEngine(threads) {
  const mt = threads > 1 && typeof SharedArrayBuffer !== 'undefined' && self.crossOriginIsolated !== false;
  const flavour = mt ? 'mt' : 'st';
  const glueUrl = new URL(`web/edgeq-web-${flavour}.js`, WASM_DIR).href;
  const wasmUrl = new URL(`edgeq-${flavour}.wasm`, WASM_DIR).href;
  let factory;
  try {
    factory = (await import(glueUrl)).default;
  } catch (e) {
    throw new EdgeqError('RUNTIME', `cannot load ${glueUrl}: ${e.message}`, { cause: e });
  }
  try {
    const mod = await factory({
      eqPoolSize: mt ? threads - 1 : 0,
      locateFile: (p) => (p.endsWith('.wasm') ? wasmUrl : new URL(p, glueUrl).href),
      mainScriptUrlOrBlob: glueUrl,
      print: () => {},
      printErr: () => {},
    });
    return new Engine(mod);
  } catch (e) {
    throw new EdgeqError('RUNTIME', `the edgeq WebAssembly module failed to start: ${e && e.message ? e.message : e}`, { cause: e });
  }
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
      await loadParts(engine, parts, {
        signal: ac.signal,
        cache: options.cache,
        vocabOnly: options.vocabOnly,
        onProgress: (p) => self.postMessage({ type: 'progress', loadId, loaded: p.loaded, total: p.total }),
        onEvent: (ev) => self.postMessage({ type: 'event', loadId, event: ev }),
      });
      if (!options.vocabOnly) {
        engine.createContext({ contextSize: options.contextSize, threads: options.threads, batchSize: options.batchSize, kvType: options.kvType });
      }
      // with shared memory the page can abort a running decode by storing into the flag
      const flag = engine.abortFlagAddress();
      return {
        name: engine.str(engine.m._eqw_model_arch(engine.model)),
        abort: engine.shared && flag ? { memory: engine.mem, address: flag } : null,
      };
    } catch (e) {
      engine.unload();
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
  logits: () => engine.logits(),
  startGeneration: (o) => engine.startGeneration(o),
  step: (id) => engine.step(id),
  endGeneration: () => engine.endGeneration(),
  unload: () => engine.unload(),
  drain: () => cacheWritesSettled(5000),
  memory: () => ({ heapUsed: engine.heapUsed(), memoryBytes: engine.memoryBytes() }),
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
