// The in-page half of bench/web/bench.mjs: one engine (edgeq or wllama), one model, one thread
// count per page. Both engines get the same treatment:
//   load      from the same local URL in a fresh page, the origin's Cache API and OPFS emptied
//             first and no HTTP cache (no compiled wasm or stored model from earlier runs; Chromium:
//             one on-disk profile, as a visitor has); each engine's default storage path, so wllama
//             writes OPFS and edgeq the Cache API, as on a first visit), then the first token
//             of a short prompt: "load" = start -> load resolved, "first token" = start -> token
//             (--load-only: nothing more)
//   warm-up   one pp and one short tg run (thread pools, memory growth, JIT tiers)
//   pp        a prompt of exactly nPrompt tokens (text made by bench.mjs, checked with edgeq's
//             tokenizer, which matches llama.cpp's), greedy, one token generated:
//             prompt tokens evaluated / (request -> reply). Both engines keep the KV cache's
//             common prefix (llama-server's cache_prompt; edgeq always): with a BOS token
//             both evaluate nPrompt - 1; the count each reports is the one used.
//   tg        a short prompt, then nGen tokens greedy, end-of-generation ignored by both,
//             streamed: (n - 1) / (first -> last token)
// n_ctx, batch size, KV cache type (f16) and thread count are set alike.
// (wllama 3 takes prompts as text only: token-id arrays fail in its JSON parsing.)

const engines = {
  async edgeq(cfg) {
    const { load } = await import('/js/src/browser.js');
    let llm;
    // the loader's cache events (cached, cache-failed: gave up, cache-hit) and when the last
    // byte came, each with its time since load() was called: where a load's time went
    const events = [];
    return {
      events,
      async load(url) {
        const t0 = performance.now();
        const at = () => `@${((performance.now() - t0) / 1000).toFixed(1)}s`;
        let downloaded = false;
        llm = await load(url, {
          threads: cfg.threads, contextSize: cfg.nCtx, batchSize: cfg.nBatch, kvType: 'f16', cache: cfg.cache,
          onEvent: (ev) => { if (/^cache/.test(ev.type)) events.push(ev.type + at()); },
          onProgress: (p) => { if (!downloaded && p.total && p.loaded >= p.total) { downloaded = true; events.push('downloaded' + at()); } },
        });
        events.push('loaded' + at());
        const info = await llm.info();
        return { threads: info.runtime.threads, threaded: info.runtime.threaded, simd: info.runtime.simd };
      },
      // complete() with ignoreEos, like wllama's ignore_eos; exact counts from llm.stats
      async generate(prompt, maxTokens, onToken) {
        let n = 0;
        for await (const piece of llm.complete(prompt, { maxTokens, temperature: 0, parseSpecial: false, ignoreEos: true })) {
          if (piece) onToken(++n);
        }
        const st = llm.stats;
        return { n: st.completionTokens, promptEvaluated: st.promptTokens - st.cachedTokens };
      },
      // the module's wasm memory: it only grows, so after the run this is its peak
      async memoryBytes() { return (await llm.info()).runtime.memoryBytes; },
      dispose: () => llm && llm.dispose(),
    };
  },

  async wllama(cfg) {
    const { Wllama } = await import('/wllama/index.js');
    const quiet = { debug() {}, log() {}, warn() {}, error: (...a) => console.error(...a) };
    const w = new Wllama({ default: '/wllama/wasm/wllama.wasm' }, { suppressNativeLog: true, logger: quiet });
    const greedy = { temperature: 0, top_k: 1, ignore_eos: true, cache_prompt: true };
    return {
      async load(url) {
        await w.loadModelFromUrl(url, {
          n_ctx: cfg.nCtx, n_batch: cfg.nBatch, n_ubatch: cfg.nBatch, n_threads: cfg.threads,
          n_gpu_layers: 0, n_parallel: 1, cache_type_k: 'f16', cache_type_v: 'f16',
        });
        return { threads: w.getNumThreads(), threaded: w.isMultithread() };
      },
      async generate(prompt, maxTokens, onToken) {
        let n = 0;
        let timings = null;
        const stream = await w.createCompletion({ prompt, max_tokens: maxTokens, stream: true, ...greedy });
        for await (const chunk of stream) {
          if (chunk.timings) timings = chunk.timings;
          const c = chunk.choices && chunk.choices[0];
          if (c && c.text) { n++; onToken(n); }
        }
        // the server's own counts are exact (a chunk may hold less than a whole token's text)
        if (timings && timings.predicted_n) n = timings.predicted_n;
        return { n, promptEvaluated: timings ? timings.prompt_n : NaN, timings };
      },
      dispose: () => w.exit(),
    };
  },
};

/** One run: see the top of the file. cfg: engine, url, threads, nCtx, nBatch, ppText, ppWarmText, tgText, nGen. */
window.runBench = async (cfg) => {
  const out = { engine: cfg.engine, crossOriginIsolated: self.crossOriginIsolated };
  let e = null;
  try {
    e = await engines[cfg.engine](cfg);
    const t0 = performance.now();
    const m = await e.load(cfg.url);
    out.loadMs = performance.now() - t0;
    await e.generate('Hello', 1, () => {});
    out.firstTokenMs = performance.now() - t0;
    out.threads = m.threads;
    out.threaded = m.threaded;
    out.simd = m.simd;
    if (cfg.loadOnly) return out;

    const pp = async (text) => {
      const t = performance.now();
      const r = await e.generate(text, 1, () => {});
      return { ms: performance.now() - t, n: r.promptEvaluated, timings: r.timings };
    };
    const tg = async (text, n) => {
      let tFirst = 0;
      let tLast = 0;
      const r = await e.generate(text, n, (k) => { const now = performance.now(); if (k === 1) tFirst = now; tLast = now; });
      return { n: r.n, ms: tLast - tFirst, timings: r.timings };
    };

    await pp(cfg.ppWarmText); // warm-up
    await tg(cfg.tgWarmText, 8);
    const p = await pp(cfg.ppText);
    out.ppN = p.n;
    out.ppTps = p.n / (p.ms / 1000);
    if (p.timings) out.ppServerTps = p.timings.prompt_per_second;
    const g = await tg(cfg.tgText, cfg.nGen);
    out.tgN = g.n;
    out.tgTps = g.n > 1 ? (g.n - 1) / (g.ms / 1000) : 0;
    if (g.timings) out.tgServerTps = g.timings.predicted_per_second;
    if (e.memoryBytes) out.memBytes = await e.memoryBytes();
  } catch (err) {
    out.error = `${err && err.name}: ${err && err.message}`;
  } finally {
    try { if (e) await e.dispose(); } catch { /* the page goes away next */ }
    // after dispose(): it waits (bounded) for the cache writer, so "cached" has come by now
    if (e && e.events) out.cacheEvents = e.events.join(',') || 'none';
  }
  return out;
};
window.benchReady = true;
