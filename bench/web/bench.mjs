// edgeq's browser module vs wllama (llama.cpp in wasm) in each browser engine Debian ships
// (Chromium, Firefox ESR, WebKitGTK: tests/browser/engines.mjs), same model file, same threads,
// cross-origin isolated page; plus the native edgeq CLI on the same file. Prints tokens/s tables
// with ratios, load times and .wasm sizes. Not part of CI.
//   node bench/web/bench.mjs [-b chromium,firefox,webkit] [-r REPS] [-t 1,2] [-p 128] [-n 64] [-c 2048] [--no-native]
//                            [--no-cache] [--load-only] [MODEL.gguf ...]
// (--load-only: the cold load and first token alone, no pp/tg, no native column.)
// (bench/web/run.sh installs what this needs, resolves --model NAME, and passes the rest through.)
// Each run is a fresh page (the Cache API and OPFS emptied first) running page.js for one
// engine; the engines alternate (edgeq first on even repetitions, wllama first on odd ones).
// Thread counts above 1 are skipped where the browser exposes no SharedArrayBuffer (WebKitGTK).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { launchEngine, engineAvailable, CAPS, ENGINES as BROWSERS } from '../../tests/browser/engines.mjs';
import { startServer, defaultModel, ROOT } from '../../web-demo/serve.mjs';
import * as edgeqNode from '../../js/src/node.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WLLAMA = path.join(HERE, 'node_modules/@wllama/wllama');
const NATIVE = process.env.EQ_NATIVE_CLI || path.join(ROOT, 'build/native/edgeq');
const ENGINES = ['edgeq', 'wllama'];
const RUN_TIMEOUT_MS = 20 * 60 * 1000;

function parseArgs(argv) {
  const o = { browsers: BROWSERS.filter(engineAvailable), reps: 3, threads: [1, 2], nPrompt: 128, nGen: 64, nCtx: 2048, nBatch: 512, native: true, cache: true, models: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '-r') o.reps = Number(next());
    else if (a === '-b') o.browsers = next().split(',');
    else if (a === '-t') o.threads = next().split(',').map(Number);
    else if (a === '-p') o.nPrompt = Number(next());
    else if (a === '-n') o.nGen = Number(next());
    else if (a === '-c') o.nCtx = Number(next());
    else if (a === '--no-native') o.native = false;
    else if (a === '--no-cache') o.cache = false;
    else if (a === '--load-only') { o.loadOnly = true; o.native = false; }
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else o.models.push(path.resolve(a));
  }
  if (!o.models.length) o.models.push(defaultModel());
  return o;
}

// Prompts are text (wllama 3 takes no token ids): random sequences of common words, cut so that
// edgeq's tokenizer (conformance-tested against llama.cpp's) gives exactly the wanted count.
const WORDS = ('time year people way day man thing woman life child world school state family student group country '
  + 'problem hand part place case week company system program question work government number night point home '
  + 'water room mother area money story fact month lot right study book eye job word business issue side kind head '
  + 'house service friend father power hour game line end member law car city community name president team minute '
  + 'idea kid body information back parent face others level office door health person art war history party result '
  + 'change morning reason research girl guy moment air teacher force education river green small large early old '
  + 'young important few public bad same able open walk carry speak read grow learn stand begin after before under '
  + 'over between through during without again always never often together quickly slowly bright quiet warm cold').split(' ');
const STARTERS = ['Yesterday', 'Meanwhile', 'Suddenly', 'Perhaps', 'Eventually', 'Outside', 'Tomorrow', 'Somewhere', 'Usually', 'Later'];

function lcg(seed) {
  let x = BigInt(seed) * 2654435761n + 1n;
  return () => { x = (x * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn; return Number(x >> 33n); };
}

/** Text of exactly n tokens (with the BOS the model adds, if any); the first word comes from `start`. */
async function promptOf(vocab, n, seed, start) {
  const rnd = lcg(seed);
  const words = [STARTERS[start % STARTERS.length]];
  while (words.length < n * 2) words.push(WORDS[rnd() % WORDS.length]);
  const text = words.join(' ');
  const ids = await vocab.tokenize(text, { parseSpecial: false });
  const lead = ids.length - (await vocab.tokenize(text, { addSpecial: false, parseSpecial: false })).length; // BOS
  for (let cut = n - lead; cut > 0; cut--) {
    const t = await vocab.detokenize(ids.slice(lead, lead + cut));
    if ((await vocab.tokenize(t, { parseSpecial: false })).length === n) return t;
  }
  throw new Error(`cannot make a ${n}-token prompt`);
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs) => (xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)) : 0);
const fmt = (xs, d = 1) => (xs.length ? `${mean(xs).toFixed(d)} ± ${sd(xs).toFixed(d)}` : 'n/a');
const ratio = (a, b) => (a.length && b.length ? `${(mean(a) / mean(b)).toFixed(2)}x` : 'n/a');
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

function wasmSizes() {
  const size = (f) => { const b = fs.readFileSync(f); return { raw: b.length, gz: zlib.gzipSync(b, { level: 9 }).length }; };
  const jsTotal = (files) => files.reduce((a, f) => { const s = size(f); return { raw: a.raw + s.raw, gz: a.gz + s.gz }; }, { raw: 0, gz: 0 });
  const js = path.join(ROOT, 'js');
  const edgeqJs = [...fs.readdirSync(path.join(js, 'src')).filter((f) => f.endsWith('.js')).map((f) => path.join(js, 'src', f)),
    ...fs.readdirSync(path.join(js, 'wasm/web')).map((f) => path.join(js, 'wasm/web', f))];
  return [
    ['edgeq  edgeq-st.wasm (single-threaded)', size(path.join(js, 'wasm/edgeq-st.wasm'))],
    ['edgeq  edgeq-mt.wasm (threads)', size(path.join(js, 'wasm/edgeq-mt.wasm'))],
    ['edgeq  edgeq-st-relaxed.wasm (relaxed SIMD)', size(path.join(js, 'wasm/edgeq-st-relaxed.wasm'))],
    ['edgeq  edgeq-mt-relaxed.wasm (relaxed SIMD, threads)', size(path.join(js, 'wasm/edgeq-mt-relaxed.wasm'))],
    ['edgeq  JS (src/*.js + wasm/web glue)', jsTotal(edgeqJs)],
    ['wllama wllama.wasm (one for both modes)', size(path.join(WLLAMA, 'esm/wasm/wllama.wasm'))],
    ['wllama JS (esm/index.js, worker inlined)', size(path.join(WLLAMA, 'esm/index.js'))],
  ];
}

function nativeBench(model, o, threads) {
  if (!fs.existsSync(NATIVE)) return null;
  try {
    const args = ['bench', '-m', model, '-p', String(o.nPrompt), '-n', String(o.nGen), '-t', String(threads), '-r', String(o.reps), '--json'];
    const out = execFileSync(NATIVE, args, { encoding: 'utf8' });
    return JSON.parse(out);
  } catch (e) {
    console.error(`native bench failed: ${e.message.split('\n')[0]}`);
    return null;
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const srv = await startServer({
    port: 0, isolation: true, models: o.models,
    mounts: { '/bench/': HERE, '/wllama/': path.join(WLLAMA, 'esm') },
  });
  const wllamaVersion = JSON.parse(fs.readFileSync(path.join(WLLAMA, 'package.json'), 'utf8')).version;
  console.log(`wllama ${wllamaVersion}, ${o.reps} repetitions, pp${o.nPrompt} / tg${o.nGen}, n_ctx ${o.nCtx}, batch ${o.nBatch}, greedy`);

  const results = []; // { browser, model, threads, engine, ...runBench output }
  const versions = {};
  for (const bname of o.browsers) {
  // Chromium: one on-disk profile, as a visitor has (an incognito context's quota is too small
  // for wllama's OPFS copy of a multi-GB model); every run still starts cold (emptied below)
  const browser = await launchEngine(bname, bname === 'chromium' ? { persistent: true } : {});
  versions[bname] = browser.version;
  console.error(`== ${browser.version}`);
  let seed = 1;
  for (const model of o.models) {
    const url = `/models/${encodeURIComponent(path.basename(model))}`;
    const vocab = await edgeqNode.load(model, { vocabOnly: true });
    for (const threads of o.threads) {
      if (threads > 1 && !CAPS[bname].sab) { console.error(`  ${bname}: no SharedArrayBuffer, t${threads} skipped`); continue; }
      for (let rep = 0; rep < o.reps; rep++) {
        const order = rep % 2 === 0 ? ENGINES : [...ENGINES].reverse();
        seed += 7919; // the same prompts for both engines within a repetition
        const texts = {
          ppText: await promptOf(vocab, o.nPrompt, seed, rep),
          ppWarmText: await promptOf(vocab, o.nPrompt, seed + 1, rep + 1),
          tgText: 'Once upon a time, in a small village by the sea,',
          tgWarmText: 'The weather today is',
        };
        for (const engine of order) {
          const page = await browser.newPage();
          await page.goto(`${srv.url}bench/index.html`);
          await page.waitFor(() => window.benchReady === true, null, 30000, 'the bench page');
          // a cold first visit for each run, also where pages share a profile (Firefox here)
          await page.evaluate(async () => {
            try { await caches.delete('edgeq-models-v1'); } catch { /* none */ }
            try { const d = await navigator.storage.getDirectory(); for await (const [n] of d.entries()) await d.removeEntry(n, { recursive: true }); } catch { /* no OPFS */ }
          });
          // a run that hangs (an engine stuck in its worker) fails after RUN_TIMEOUT_MS, not forever
          let timer;
          const r = await Promise.race([
            page.evaluate((cfg) => window.runBench(cfg), { engine, url, threads, nCtx: o.nCtx, nBatch: o.nBatch, nGen: o.nGen, cache: o.cache, loadOnly: !!o.loadOnly, ...texts })
              .catch((e) => ({ engine, error: String(e && e.message || e).split('\n')[0] })),
            new Promise((resolve) => { timer = setTimeout(() => resolve({ engine, error: `timed out after ${RUN_TIMEOUT_MS / 1000} s` }), RUN_TIMEOUT_MS); }),
          ]);
          clearTimeout(timer);
          await page.collectConsole();
          for (const m of page.console) if (/pageerror/.test(m)) console.error(`  [${bname} ${engine}] ${m}`);
          await page.close();
          results.push({ browser: bname, model, threads, rep, ...r });
          if (r.error) console.error(`  ${bname} ${path.basename(model)} t${threads} ${engine}: ${r.error}`);
          else {
            console.error(`  ${bname} ${path.basename(model)} t${threads} rep ${rep + 1} ${pad(engine, 6)}`
              + (o.loadOnly ? '' : ` pp ${r.ppTps.toFixed(1)} (${r.ppN} tok) tg ${r.tgTps.toFixed(1)} (${r.tgN} tok)`)
              + (r.cacheEvents ? ` events: ${r.cacheEvents};` : '')
              + ` load ${Math.round(r.loadMs)} ms, first token ${Math.round(r.firstTokenMs)} ms, threads ${r.threads}${r.threaded ? '' : ' (single-threaded module)'}${r.simd ? `, ${r.simd}` : ''}`
              + (r.ppServerTps ? `; wllama's own timings: pp ${r.ppServerTps.toFixed(1)} tg ${r.tgServerTps.toFixed(1)}` : ''));
          }
        }
      }
    }
    await vocab.dispose();
  }
  await browser.close();
  }
  await srv.close();

  const native = new Map();
  if (o.native) {
    if (!fs.existsSync(NATIVE)) console.error(`(no ${NATIVE}: native column skipped)`);
    for (const model of o.models) for (const t of o.threads) native.set(`${model}|${t}`, nativeBench(model, o, t));
  }

  const ran = (b, m, t) => results.some((r) => r.browser === b && r.model === m && r.threads === t);
  console.log('\nbrowsers: ' + o.browsers.map((b) => versions[b]).join(', '));
  if (!o.loadOnly) {
  console.log('\ntokens/s (mean ± sd over repetitions; higher is better)');
  console.log(`${pad('browser', 8)} ${pad('model', 34)} ${pad('thr', 3)} ${pad('test', 6)} ${lpad('edgeq wasm', 14)} ${lpad('wllama', 14)} ${lpad('edgeq/wllama', 12)} ${lpad('edgeq native', 13)} ${lpad('wasm/native', 11)}`);
  for (const b of o.browsers) {
  const ok = (m, t, e) => results.filter((r) => r.browser === b && r.model === m && r.threads === t && r.engine === e && !r.error);
  for (const m of o.models) {
    for (const t of o.threads) {
      if (!ran(b, m, t)) continue;
      const e = ok(m, t, 'edgeq');
      const w = ok(m, t, 'wllama');
      const nat = native.get(`${m}|${t}`);
      for (const [test, key, nk] of [[`pp${o.nPrompt}`, 'ppTps', 'pp'], [`tg${o.nGen}`, 'tgTps', 'tg']]) {
        const ev = e.map((r) => r[key]);
        const wv = w.map((r) => r[key]);
        const nv = nat ? nat[nk].tps : null;
        console.log(`${pad(b, 8)} ${pad(path.basename(m).slice(0, 34), 34)} ${pad(t, 3)} ${pad(test, 6)} ${lpad(fmt(ev), 14)} ${lpad(fmt(wv), 14)} ${lpad(ratio(ev, wv), 12)}`
          + ` ${lpad(nv ? nv.toFixed(1) : 'n/a', 13)} ${lpad(nv && ev.length ? `${(mean(ev) / nv).toFixed(2)}x` : 'n/a', 11)}`);
      }
    }
  }
  }

  }

  // an engine that never ran a model (e.g. an architecture its llama.cpp does not know) is said so
  for (const b of o.browsers) for (const m of o.models) for (const e of ENGINES) {
    const rs = results.filter((r) => r.browser === b && r.model === m && r.engine === e);
    if (rs.length && rs.every((r) => r.error)) console.log(`!! ${e} could not run ${path.basename(m)} in ${b}: ${rs[0].error}`);
  }
  if (!o.loadOnly) console.log('pp: prompt tokens evaluated / (request -> first token), one sampling step included; tg: greedy, (n - 1) / (first -> last\n'
    + 'token), page <-> worker messaging and sampling included. Native: `edgeq bench` (decode only, empty cache, no sampling).');

  console.log('\nload, cold (fresh page, Cache API and OPFS emptied, no HTTP cache: download from 127.0.0.1 + wasm compile + model setup), ms; lower is better');
  console.log(`${pad('browser', 8)} ${pad('model', 34)} ${pad('thr', 3)} ${pad('measure', 22)} ${lpad('edgeq', 14)} ${lpad('wllama', 14)} ${lpad('edgeq/wllama', 12)}`);
  for (const b of o.browsers) {
  const ok = (m, t, e) => results.filter((r) => r.browser === b && r.model === m && r.threads === t && r.engine === e && !r.error);
  for (const m of o.models) {
    for (const t of o.threads) {
      if (!ran(b, m, t)) continue;
      const e = ok(m, t, 'edgeq');
      const w = ok(m, t, 'wllama');
      for (const [label, key] of [['load resolved', 'loadMs'], ['first token (from start)', 'firstTokenMs']]) {
        const ev = e.map((r) => r[key]);
        const wv = w.map((r) => r[key]);
        console.log(`${pad(b, 8)} ${pad(path.basename(m).slice(0, 34), 34)} ${pad(t, 3)} ${pad(label, 22)} ${lpad(fmt(ev, 0), 14)} ${lpad(fmt(wv, 0), 14)} ${lpad(ratio(ev, wv), 12)}`);
      }
    }
  }
  }

  console.log('each engine\'s first-visit path: edgeq streams into wasm memory (writing the Cache API on the side), wllama\n'
    + 'downloads into OPFS and then reads it; "first token" adds a one-token reply to "Hello".');

  console.log('\nedgeq wasm memory after the run (MiB; wasm memory only grows, so this is the module\'s peak), file size');
  for (const b of o.browsers) for (const m of o.models) for (const t of o.threads) {
    const mem = results.filter((r) => r.browser === b && r.model === m && r.threads === t && r.engine === 'edgeq' && r.memBytes).map((r) => r.memBytes);
    if (mem.length) console.log(`${pad(b, 8)} ${pad(path.basename(m).slice(0, 34), 34)} ${pad(t, 3)} ${lpad((Math.max(...mem) / 1048576).toFixed(0), 8)}  file ${(fs.statSync(m).size / 1048576).toFixed(0)}`);
  }

  console.log('\ndownload size (bytes; gzip -9 in parentheses)');
  for (const [label, s] of wasmSizes()) console.log(`${pad(label, 44)} ${lpad(s.raw.toLocaleString('en'), 12)} (${s.gz.toLocaleString('en')})`);

  const failed = results.filter((r) => r.error).length;
  if (failed) { console.log(`\n${failed} run(s) failed`); process.exitCode = 1; }
}

main().catch((e) => { console.error(e); process.exit(1); });
