// The WebGPU path against the wasm CPU path of the npm package on one model: Node + Dawn (npm
// `webgpu`), and with --chromium the same in headless Chromium. Prints the adapter, tokens/s of
// pp/tg on both paths, dispatches and submits per token, kernel compile time, GPU memory against
// the file size. bench/webgpu/run.sh picks the adapter (a real GPU when Dawn finds one) and sets
// the environment; run that, not this.
//   node bench/webgpu/bench.mjs [-r REPS] [-t THREADS] [-p 128] [-n 64] [--chromium] [--no-node] MODEL.gguf
// Env: EQ_WEBGPU_MODULE (the webgpu package's index.js), EQ_WEBGPU_CPU_ADAPTER=1 (run.sh: the
// adapter is a CPU one), EQ_CHROMIUM_GPU_FLAGS (extra Chromium flags, space-separated).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCore } from './core.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function parseArgs(argv) {
  const o = { reps: 3, threads: os.availableParallelism?.() ?? os.cpus().length, nPrompt: 128, nGen: 64, chromium: false, node: true, model: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '-r') o.reps = Number(next());
    else if (a === '-t') o.threads = Number(next());
    else if (a === '-p') o.nPrompt = Number(next());
    else if (a === '-n') o.nGen = Number(next());
    else if (a === '--chromium') o.chromium = true;
    else if (a === '--no-node') o.node = false;
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else o.model = path.resolve(a);
  }
  if (!o.model) throw new Error('no model given');
  o.nCtx = Math.max(256, o.nPrompt + o.nGen + 32);
  return o;
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs) => (xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)) : 0);
const fmt = (xs, d = 1) => (xs.length ? `${mean(xs).toFixed(d)} ± ${sd(xs).toFixed(d)}` : 'n/a');
const MB = (b) => (b / 1048576).toFixed(1) + ' MiB';
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
const CPU_RE = /swiftshader|llvmpipe|lavapipe|\bcpu\b/i;

function describeAdapter(a, where) {
  const s = a ? `${a.description || a.device || '?'} (vendor ${a.vendor || '?'}, architecture ${a.architecture || '?'})` : 'none';
  console.log(`adapter (${where}): ${s}`);
  if (!a || CPU_RE.test(JSON.stringify(a)) || process.env.EQ_WEBGPU_CPU_ADAPTER === '1') {
    console.log('!!!!!!!! THIS ADAPTER IS A CPU IMPLEMENTATION OF WEBGPU (SwiftShader or the like): the GPU-path   !!!!!!!!');
    console.log('!!!!!!!! numbers below say NOTHING about speed on a GPU; they only show that the path runs.      !!!!!!!!');
  }
}

function report(where, o, gpu, cpu) {
  console.log(`\n== ${where}: ${path.basename(o.model)} (${cpu.model.architecture}, ${cpu.model.nLayer} layers, n_embd ${cpu.model.nEmbd}, `
    + `${(cpu.nParams / 1e6).toFixed(0)}M params, ${Object.entries(cpu.model.tensorTypes).map(([k, v]) => `${v} ${k}`).join(' ')})`);
  if (gpu.ranOn !== 'webgpu') console.log(`!! the GPU run fell back to the CPU: ${gpu.fallbackReason}`);
  console.log(`tokens/s, mean ± sd over ${o.reps} repetitions (CPU path: wasm SIMD, ${cpu.threads} thread(s))`);
  console.log(`${pad('test', 7)} ${lpad('webgpu', 16)} ${lpad('wasm cpu', 16)} ${lpad('gpu/cpu', 8)}`);
  for (const [k, label] of [['pp', `pp${o.nPrompt}`], ['tg', `tg${o.nGen}`]]) {
    const g = gpu[k].map((r) => r.tps), c = cpu[k].map((r) => r.tps);
    console.log(`${pad(label, 7)} ${lpad(fmt(g), 16)} ${lpad(fmt(c), 16)} ${lpad(g.length && c.length ? (mean(g) / mean(c)).toFixed(2) + 'x' : 'n/a', 8)}`);
  }
  const cached = gpu.pp.concat(cpu.pp).filter((r) => r.n !== gpu.pp[0]?.n);
  if (cached.length) console.log(`(note: some pp runs evaluated ${cached.map((r) => r.n).join(', ')} tokens, not ${gpu.pp[0]?.n})`);
  console.log(`load (read + upload + core kernels): webgpu ${gpu.loadMs.toFixed(0)} ms, cpu ${cpu.loadMs.toFixed(0)} ms; `
    + `first 16+4 tokens (webgpu: + on-demand weight kernels): webgpu ${gpu.firstMs.toFixed(0)} ms, cpu ${cpu.firstMs.toFixed(0)} ms`);
  const G = gpu.gpu;
  if (G) {
    const tg = gpu.tg.map((r) => r.perToken).filter(Boolean), pp = gpu.pp.map((r) => r.perCall).filter(Boolean);
    if (tg.length) console.log(`per generated token: ${mean(tg.map((x) => x.dispatches)).toFixed(1)} dispatches, ${mean(tg.map((x) => x.submits)).toFixed(2)} submits`);
    if (pp.length) console.log(`per pp${o.nPrompt} call: ${mean(pp.map((x) => x.dispatches)).toFixed(0)} dispatches, ${mean(pp.map((x) => x.submits)).toFixed(1)} submits`);
    console.log(`core kernels compiled at load in ${G.pipelineMs} ms (weight kernels: on demand, inside "first")`);
    const file = fs.statSync(o.model).size;
    console.log(`GPU memory: weights ${MB(G.weightBytes)}, peak ${MB(G.peakGpuBytes)} (${(G.peakGpuBytes / file).toFixed(2)}x the file's ${MB(file)}; tensors ${MB(gpu.sizeBytes)}); `
      + `features ${G.features.join(',') || 'none'}; CPU-style kernels: ${G.cpuKernels}`);
  }
}

async function inNode(o) {
  const mod = await import(process.env.EQ_WEBGPU_MODULE ?? 'webgpu');
  Object.assign(globalThis, mod.globals);
  const gpuObj = mod.create(['backend=vulkan']);
  globalThis.__eqGpu = gpuObj;   // stays referenced: Dawn for Node frees the instance when collected
  globalThis.edgeq = await import(path.join(ROOT, 'js/src/node.js'));
  const cfg = { src: o.model, threads: o.threads, nPrompt: o.nPrompt, nGen: o.nGen, reps: o.reps, nCtx: o.nCtx };
  const gpu = await benchCore({ ...cfg, device: 'webgpu' });
  describeAdapter(gpu.gpu?.adapter, 'Node + Dawn');
  const cpu = await benchCore({ ...cfg, device: 'cpu' });
  report('Node + Dawn', o, gpu, cpu);
}

async function inChromium(o) {
  const { startServer } = await import(path.join(ROOT, 'tests/browser/server.mjs'));
  const { launchEngine } = await import(path.join(ROOT, 'tests/browser/engines.mjs'));
  const flags = ['--enable-unsafe-webgpu', '--enable-features=Vulkan',
    ...(process.env.EQ_WEBGPU_CPU_ADAPTER === '1' ? ['--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'] : ['--ignore-gpu-blocklist']),
    ...(process.env.EQ_CHROMIUM_GPU_FLAGS ? process.env.EQ_CHROMIUM_GPU_FLAGS.split(' ') : [])];
  const srv = await startServer({ root: ROOT, model: o.model, isolated: true });   // isolated: threads
  const browser = await launchEngine('chromium', { args: flags });
  try {
    const p = await browser.newPage();
    await p.goto(srv.base + '/');
    await p.waitFor(() => window.harnessReady === true, null, 20000, 'the harness page');
    const cfg = { src: '/model.gguf', threads: o.threads, nPrompt: o.nPrompt, nGen: o.nGen, reps: o.reps, nCtx: o.nCtx };
    const gpu = await p.evaluate(benchCore, { ...cfg, device: 'webgpu' });
    console.log(`\n${browser.version}`);
    describeAdapter(gpu.gpu?.adapter, 'Chromium');
    const cpu = await p.evaluate(benchCore, { ...cfg, device: 'cpu' });
    report('Chromium', o, gpu, cpu);
    await p.close();
  } finally {
    await browser.close();
    await srv.close();
  }
}

const o = parseArgs(process.argv.slice(2));
console.log(`model ${o.model} (${MB(fs.statSync(o.model).size)}), pp${o.nPrompt} / tg${o.nGen}, ${o.reps} repetitions, CPU path ${o.threads} thread(s), n_ctx ${o.nCtx}`);
if (o.node) await inNode(o);
if (o.chromium) await inChromium(o);
