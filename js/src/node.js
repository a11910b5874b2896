// Node entry point: the module runs on the calling thread (its pthreads, when threads > 1, on
// worker_threads). Emscripten's ES module glue fetch()es file paths and uses __dirname, so Node
// uses the CommonJS flavours (wasm/node/*.cjs), loaded with createRequire; the .wasm bytes are
// read here and handed over as wasmBinary.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import { Engine } from './engine.js';
import { EdgeqError, abortError, asEdgeqError } from './errors.js';
import { resolveParts, loadParts } from './load.js';
import { LLM } from './llm.js';
import { quantizeProgress } from './progress.js';
import { checkOutput, openOutput } from './outfile.js';
import { threadCount } from './threads.js';
import { openGpu } from './gpu.js';

export { EdgeqError, ErrorCode } from './errors.js';
export { LLM } from './llm.js';

const require = createRequire(import.meta.url);
const WASM_DIR = new URL('../wasm/', import.meta.url);
const wasmBytes = new Map();
const idle = { st: [], mt: new Map() }; // instances free for reuse (after a failed load or dispose)
let instances = 0;

async function createModule(flavour, poolSize) {
  let glue;
  try {
    glue = require(fileURLToPath(new URL(`node/edgeq-node-${flavour}.cjs`, WASM_DIR)));
    if (!wasmBytes.has(flavour)) wasmBytes.set(flavour, await fs.promises.readFile(new URL(`edgeq-${flavour}.wasm`, WASM_DIR)));
  } catch (e) {
    throw new EdgeqError('RUNTIME', `cannot load the edgeq WebAssembly module (${flavour}): ${e.message}`, { cause: e });
  }
  const nodeDir = fileURLToPath(new URL('node/', WASM_DIR));
  try {
    const mod = await glue({
      wasmBinary: wasmBytes.get(flavour),
      eqPoolSize: poolSize,
      locateFile: (p) => nodeDir + p.replace(/\.js$/, '.js'),
      mainScriptUrlOrBlob: nodeDir + `edgeq-node-${flavour}.cjs`,
      print: () => {},
      printErr: () => {},
    });
    instances++;
    // pthread workers must not keep the process alive (an idle or forgotten model)
    const PT = mod.PThread;
    if (PT) for (const w of [...(PT.unusedWorkers || []), ...(PT.runningWorkers || [])]) if (w && w.unref) w.unref();
    return mod;
  } catch (e) {
    throw new EdgeqError('RUNTIME', `the edgeq WebAssembly module failed to start: ${e && e.message ? e.message : e}`, { cause: e });
  }
}

async function acquireEngine(threads) {
  if (threads > 1) {
    const list = idle.mt.get(threads) || [];
    if (list.length) return list.pop();
    return new Engine(await createModule('mt', threads - 1));
  }
  if (idle.st.length) return idle.st.pop();
  return new Engine(await createModule('st', 0));
}

function releaseEngine(engine) {
  engine.unload();
  engine.reload = null;
  if (engine.threaded) {
    const n = engine.poolSize + 1;
    if (!idle.mt.has(n)) idle.mt.set(n, []);
    const list = idle.mt.get(n);
    if (list.length < 1) { list.push(engine); return; }
  } else if (idle.st.length < 1) {
    idle.st.push(engine);
    return;
  }
  terminate(engine);
}

function terminate(engine) {
  try { engine.destroy(); } catch { /* gone */ }
  const PT = engine.m.PThread;
  if (PT) {
    try {
      for (const w of [...(PT.unusedWorkers || []), ...(PT.runningWorkers || [])]) w.terminate();
    } catch { /* gone */ }
  }
}

function openPath(path, { signal, onSize }) {
  return (async function* () {
    let st;
    try {
      st = await fs.promises.stat(path);
    } catch (e) {
      throw new EdgeqError('IO', `${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, { cause: e });
    }
    if (!st.isFile()) throw new EdgeqError('IO', `${path}: not a file`);
    onSize(st.size);
    const stream = fs.createReadStream(path, { highWaterMark: 1 << 20 });
    try {
      for await (const chunk of stream) {
        if (signal.aborted) throw abortError(signal, 'loading aborted');
        yield chunk;
      }
    } catch (e) {
      if (e instanceof EdgeqError) throw e;
      throw new EdgeqError('IO', `${path}: ${e.message}`, { cause: e });
    } finally {
      stream.destroy();
    }
  })();
}

/** The engine behind an LLM in Node: direct calls, yielding to the event loop between steps. */
class DirectBackend {
  constructor(engine) { this.engine = engine; }
  async call(name, ...args) {
    if (!this.engine) throw new EdgeqError('DISPOSED', 'the model was disposed');
    if (name === 'step') await new Promise((r) => setImmediate(r)); // let timers / aborts run
    if (!this.engine) throw new EdgeqError('DISPOSED', 'the model was disposed');
    try {
      return await this.engine[name](...args);
    } catch (e) {
      throw asEdgeqError(e);
    }
  }
  abortDecode() {}
  async dispose() {
    const e = this.engine;
    this.engine = null;
    if (e) releaseEngine(e);
  }
}

function cpuCount() {
  return (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length) || 1;
}

export function defaultThreads() {
  return Math.max(1, Math.min(8, cpuCount()));
}

/**
 * Load a model: a path, a file: or http(s): URL, a Blob, or an array of split parts.
 * opts: onProgress({loaded,total}), signal, threads, contextSize, batchSize, kvType,
 *       vocabOnly, cache (ignored in Node: there is no Cache API), device ('auto' | 'webgpu' |
 *       'cpu'), gpu (a WebGPU implementation's GPU object, e.g. the `webgpu` package's
 *       create(); Node has no navigator.gpu), gpuMaxBufferBytes (tests: split weights smaller),
 *       gpuHostCopy (keep the weights in wasm memory too: the model twice, an instant CPU
 *       fallback; default false: a CPU fallback loads the model again from its source)
 */
export async function load(source, opts = {}) {
  if (opts.signal && opts.signal.aborted) throw abortError(opts.signal, 'loading aborted');
  const threads = threadCount(opts.threads, defaultThreads(), cpuCount());
  const parts = resolveParts(source, { openPath, fileUrlToPath: (u) => fileURLToPath(u) });
  const engine = await acquireEngine(threads);
  try {
    engine.setGpu(opts.vocabOnly ? { dev: null, info: null, reason: null }
      : await openGpu({ device: opts.device, gpu: opts.gpu, maxBufferBytes: opts.gpuMaxBufferBytes }));
    engine.gpuHostCopy = !!opts.gpuHostCopy;
    // a model on the GPU only is streamed in again when the CPU must take over
    engine.reload = () => loadParts(engine, parts, opts);
    await loadParts(engine, parts, opts);
    if (!opts.vocabOnly) {
      await engine.createContext({ contextSize: opts.contextSize, threads, batchSize: opts.batchSize, kvType: opts.kvType, device: opts.device });
    }
    engine.reload = () => loadParts(engine, parts, { cache: opts.cache });
  } catch (e) {
    releaseEngine(engine);
    throw asEdgeqError(e);
  }
  const name = engine.str(engine.m._eqw_model_arch(engine.model));
  return new LLM(new DirectBackend(engine), { name });
}

/**
 * Quantize a GGUF model: the same bytes as `edgeq quantize` / llama-quantize. source: a path
 * (or file: URL), or the bytes (Uint8Array/ArrayBuffer/Blob). type: 'Q4_K_M', 'Q8_0', ...
 * opts: output (a path: written under a temporary name in its folder, created exclusively and
 * renamed when complete, as the CLI does (./outfile.js); it may be neither a directory nor the
 * source under any name; without it the result is returned as a Uint8Array), threads, pure,
 * allowRequantize, outputType,
 * embeddingType, onProgress({tensor, tensors, name, line}), signal (checked before starting:
 * the work itself runs synchronously on this thread).
 */
export async function quantize(source, type, opts = {}) {
  if (opts.signal && opts.signal.aborted) throw abortError(opts.signal, 'quantization aborted');
  const threads = threadCount(opts.threads, defaultThreads(), cpuCount());
  let src;
  let fd = -1;
  let out = null;
  const parts = [];
  if (typeof Blob !== 'undefined' && source instanceof Blob) source = new Uint8Array(await source.arrayBuffer());
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const u8 = source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    src = { size: u8.length, name: 'model.gguf', read: (pos, dst) => dst.set(u8.subarray(pos, pos + dst.length)) };
  } else if (typeof source === 'string' || source instanceof URL) {
    const path = source instanceof URL || source.startsWith('file:') ? fileURLToPath(source) : source;
    try {
      fd = fs.openSync(path, 'r');
    } catch (e) {
      throw new EdgeqError('IO', `${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, { cause: e });
    }
    src = {
      size: fs.fstatSync(fd).size,
      name: path,
      read(pos, dst) {
        let done = 0;
        while (done < dst.length) {
          const n = fs.readSync(fd, dst, done, dst.length - done, pos + done);
          if (n <= 0) throw new EdgeqError('IO', `${path}: short read at ${pos + done}`);
          done += n;
        }
      },
    };
  } else {
    throw new EdgeqError('ARG', 'quantize: the source must be a path, a file: URL or the bytes');
  }
  if (opts.output) {
    try {
      checkOutput(opts.output, fd, src.name);   // before any work
    } catch (e) {
      if (fd >= 0) fs.closeSync(fd);
      throw e;
    }
  }
  const engine = await acquireEngine(threads);
  try {
    if (opts.output) out = openOutput(opts.output, { inputFd: fd, inputName: src.name });
    engine.quantize({
      size: src.size, name: src.name, type, threads, pure: !!opts.pure, allowRequantize: !!opts.allowRequantize,
      outputType: opts.outputType || '', embeddingType: opts.embeddingType || '', read: src.read,
      write: (bytes) => {
        if (!out) { parts.push(Buffer.from(bytes)); return; }
        out.write(bytes);
      },
      onLog: (line) => {
        if (!opts.onProgress) return;
        try { opts.onProgress(quantizeProgress(line)); } catch { /* caller's bug */ }
      },
    });
    if (out) {
      const o = out;
      out = null;
      o.commit();
      return opts.output;
    }
    const all = Buffer.concat(parts);
    return new Uint8Array(all.buffer, all.byteOffset, all.length);
  } catch (e) {
    if (out) out.abort();
    throw asEdgeqError(e);
  } finally {
    if (fd >= 0) fs.closeSync(fd);
    releaseEngine(engine);
  }
}

/** @internal test hooks: instances created so far, and the idle engines' heap use. */
export const _internals = {
  instances: () => instances,
  idleEngines: () => [...idle.st, ...[...idle.mt.values()].flat()],
};

export default { load, quantize, EdgeqError, defaultThreads };
