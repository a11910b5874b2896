// The npm package on WebGPU in headless Chromium (SwiftShader's Vulkan as the adapter), through
// tests/browser's server and engine layer: device 'webgpu' gives the CPU path's greedy text in
// the same page (weights whole, and split into 64 KiB buffers), info() says where it runs; a
// Chromium without the WebGPU flags falls back ('auto') or refuses ('webgpu').
// node tests/webgpu/browser.mjs MODEL.gguf (an F16/F32 model); ends with "N passed, N failed".
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../browser/server.mjs';
import { launchEngine } from '../browser/engines.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const model = process.argv[2];
let passed = 0, failed = 0;
async function check(name, fn) {
    try { await fn(); passed++; console.log(`ok - ${name}`); } catch (e) { failed++; console.log(`not ok - ${name}: ${e && e.stack ? e.stack : e}`); }
}
const assert = (c, m) => { if (!c) throw new Error(m); };
const GPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'];

async function page(browser, base) {
    const p = await browser.newPage();
    await p.goto(base + '/');
    await p.waitFor(() => window.harnessReady === true, null, 20000, 'the harness page');
    return p;
}

// in the page: greedy text of `prompt` on the CPU and on `device`, and where it ran
const run = ([prompt, device, maxBuf]) => (async () => {
    const greedy = async (llm) => { let s = ''; for await (const t of llm.complete(prompt, { temperature: 0, maxTokens: 16, seed: 1 })) s += t; return s; };
    const out = {};
    const cpu = await window.edgeq.load('/model.gguf', { device: 'cpu', threads: 1, cache: false });
    out.cpu = await greedy(cpu);
    await cpu.dispose();
    try {
        const g = await window.edgeq.load('/model.gguf', { device, threads: 1, cache: false, gpuMaxBufferBytes: maxBuf });
        out.gpu = await greedy(g);
        out.rt = (await g.info()).runtime;
        await g.dispose();
    } catch (e) { out.err = { code: e.code, message: e.message }; }
    return out;
})();

const srv = await startServer({ root: ROOT, model, isolated: false });
try {
    const browser = await launchEngine('chromium', { args: GPU_FLAGS });
    try {
        const p = await page(browser, srv.base);
        await check("Chromium + SwiftShader: device 'webgpu' gives the CPU path's greedy text", async () => {
            const r = await p.evaluate(run, ['Once upon a time', 'webgpu', undefined]);
            assert(!r.err, `load failed: ${JSON.stringify(r.err)}`);
            assert(r.rt.device === 'webgpu' && r.rt.gpu && /swiftshader/i.test(JSON.stringify(r.rt.gpu.adapter)), `runtime: ${JSON.stringify(r.rt)}`);
            assert(r.gpu === r.cpu && r.cpu.length > 0, `gpu ${JSON.stringify(r.gpu)} vs cpu ${JSON.stringify(r.cpu)}`);
            console.log(`# chromium webgpu: ${r.rt.gpu.dispatches} dispatches in ${r.rt.gpu.submits} submits, kernels ${r.rt.gpu.pipelineMs} ms`);
        });
        await check('Chromium + SwiftShader: weights split into 64 KiB buffers, same text', async () => {
            const r = await p.evaluate(run, ['The capital of France is', 'webgpu', 65536]);
            assert(!r.err, `load failed: ${JSON.stringify(r.err)}`);
            assert(r.rt.gpu.maxBufferBytes === 65536 && r.gpu === r.cpu, `split: ${JSON.stringify({ gpu: r.gpu, cpu: r.cpu, max: r.rt.gpu.maxBufferBytes })}`);
        });
        await p.close();
    } finally { await browser.close(); }

    const plain = await launchEngine('chromium', {});
    try {
        const p = await page(plain, srv.base);
        await check("Chromium without WebGPU: 'auto' runs on the CPU and says why", async () => {
            const r = await p.evaluate(run, ['Hello', 'auto', undefined]);
            assert(!r.err && r.rt.device === 'cpu' && /WebGPU|adapter/.test(r.rt.fallbackReason) && r.gpu === r.cpu, JSON.stringify(r));
        });
        await check("Chromium without WebGPU: 'webgpu' is an UNSUPPORTED error", async () => {
            const r = await p.evaluate(run, ['Hello', 'webgpu', undefined]);
            assert(r.err && r.err.code === 'UNSUPPORTED', JSON.stringify(r));
        });
        await p.close();
    } finally { await plain.close(); }
} catch (e) {
    failed++;
    console.log(`not ok - harness: ${e && e.stack ? e.stack : e}`);
} finally {
    await srv.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
