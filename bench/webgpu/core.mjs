// One model on one device (the npm package's load(), device 'webgpu' or 'cpu'), measured the same
// way in Node and in a page: bench/webgpu/bench.mjs calls it directly, and hands the same function
// to Chromium's page.evaluate (so it must stay self-contained: no imports, no closures; it finds
// load() in globalThis.edgeq and the Node WebGPU implementation in globalThis.__eqGpu).
//   load      start -> load() resolved (file read, weights uploaded, core kernels compiled)
//   first     a 16-token prompt and 4 generated tokens: the first forward passes also compile the
//             weight kernels the model's types need (compiled on demand)
//   pp        nPrompt random token ids (a new first token each repetition: nothing is reused from
//             the KV cache), one token sampled: llm.stats.promptTokensPerSecond
//   tg        a 4-token prompt evaluated first, then nGen tokens greedy with end-of-generation
//             ignored: llm.stats.tokensPerSecond ((n - 1) / first -> last token)
// GPU counters (dispatches, submits) are read from info().runtime.gpu before and after each run.
export async function benchCore(cfg) {
  const { src, device, threads, nPrompt, nGen, reps, nCtx } = cfg;
  const now = () => performance.now();
  const t0 = now();
  const llm = await globalThis.edgeq.load(src, { device, threads, contextSize: nCtx, gpu: globalThis.__eqGpu, cache: false });
  const out = { device, loadMs: now() - t0, pp: [], tg: [] };
  try {
    const info = await llm.info();
    const rt = info.runtime;
    out.ranOn = rt.device;
    out.fallbackReason = rt.fallbackReason;
    out.threads = rt.threads;
    out.sizeBytes = info.sizeBytes;
    out.nParams = info.nParams;
    out.model = { architecture: info.architecture, nLayer: info.nLayer, nEmbd: info.nEmbd, nVocab: info.nVocab, tensorTypes: info.tensorTypes };
    const gpu = async () => { const g = (await llm.info()).runtime.gpu; return g ? { dispatches: g.dispatches, submits: g.submits } : null; };
    // token ids: a small LCG over [lo, hi) (random text would need the tokenizer to round-trip)
    const lo = 16, hi = Math.min(info.nVocab, 30000);
    let x = 12345;
    const ids = (n, first) => { const a = [lo + (first % (hi - lo))]; while (a.length < n) { x = (x * 1103515245 + 12345) % 2147483648; a.push(lo + (x % (hi - lo))); } return a; };
    const gen = async (prompt, maxTokens) => {
      for await (const _ of llm.complete(prompt, { maxTokens, temperature: 0, ignoreEos: true })) { /* drain */ }
      return llm.stats;
    };
    const delta = (a, b, n) => (a && b && n > 0 ? { dispatches: (b.dispatches - a.dispatches) / n, submits: (b.submits - a.submits) / n } : null);

    const t1 = now();
    await gen(ids(16, 1), 4);
    out.firstMs = now() - t1;
    const g1 = (await llm.info()).runtime.gpu;
    if (g1) out.gpu = g1;   // adapter, limits, pipelineMs, weightBytes, peakGpuBytes, ...

    for (let r = 0; r < reps; r++) {
      const a = await gpu();
      const s = await gen(ids(nPrompt, 1000 + 7 * r), 1);
      const b = await gpu();
      const evaluated = s.promptTokens - s.cachedTokens;
      out.pp.push({ tps: s.promptTokensPerSecond, n: evaluated, perCall: delta(a, b, 1) });

      const p = ids(4, 2000 + 7 * r);
      await gen(p, 0);                       // the prompt, so that tg counts generation only
      const c = await gpu();
      const t = await gen(p, nGen);          // the cached prompt's last token again, then nGen
      const d = await gpu();
      out.tg.push({ tps: t.tokensPerSecond, n: t.completionTokens, perToken: delta(c, d, t.completionTokens) });
    }
    const last = (await llm.info()).runtime.gpu;
    if (last) out.gpu = { ...out.gpu, peakGpuBytes: last.peakGpuBytes, gpuBytes: last.gpuBytes };
  } finally {
    await llm.dispose();
  }
  return out;
}
