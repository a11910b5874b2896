// A quick check of the browser entry (js/src/browser.js -> Web Worker -> wasm) in headless
// Chromium, without Playwright: serves js/ and the model on 127.0.0.1, opens a page that runs
// the API and POSTs its results back. Twice: cross-origin isolated (COOP/COEP: threaded module)
// and a plain static host (single-threaded module). Not part of run.sh (needs a browser):
//   node tests/js/browser-smoke.mjs [MODEL]     (CHROMIUM: default `chromium`)
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL = process.argv[2] || execFileSync('bash', [path.join(ROOT, 'scripts/get-model.sh')], { encoding: 'utf8' }).trim();
const CHROMIUM = process.env.CHROMIUM || 'chromium';
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

const PAGE = (threads) => `<!doctype html><meta charset="utf-8"><title>edgeq smoke</title>
<script type="module">
import { load } from '/js/src/browser.js';
const out = { crossOriginIsolated: self.crossOriginIsolated };
try {
  const progress = [];
  const t0 = performance.now();
  const ev1 = [];
  const llm = await load('/model.gguf', { threads: ${threads}, onProgress: (p) => progress.push(p), onEvent: (e) => ev1.push(e.type) });
  out.firstLoadEvents = ev1;
  out.loadMs = Math.round(performance.now() - t0);
  out.progressCalls = progress.length;
  out.progressLast = progress[progress.length - 1];
  out.runtime = (await llm.info()).runtime;
  out.tokens = await llm.tokenize('Hello world');
  let s = '';
  const t1 = performance.now();
  for await (const p of llm.complete('Once upon a time, there was a', { temperature: 0, maxTokens: 16 })) s += p;
  out.genMs = Math.round(performance.now() - t1);
  out.text = s;
  const chat = await llm.chat.completions.create({ messages: [{ role: 'user', content: 'What is 2+2?' }], max_tokens: 8, temperature: 0 });
  out.chat = chat.choices[0].message.content;
  const ac = new AbortController();
  let k = 0;
  try { for await (const _ of llm.complete('Tell me a story', { maxTokens: 100, signal: ac.signal })) if (++k === 2) ac.abort(); }
  catch (e) { out.abort = e.code; }
  out.logits = (await llm.logits()).length;
  await llm.dispose();
  try { await load('/404.gguf'); } catch (e) { out.e404 = e.code + ' ' + e.status; }
  const ev = [];
  const again = await load('/model.gguf', { threads: 1, onEvent: (e) => ev.push(e.type) });
  out.secondLoadEvents = ev;
  await again.dispose();
} catch (e) {
  out.error = String((e && e.stack) || e) + ' code=' + (e && e.code);
}
await fetch('/result', { method: 'POST', body: JSON.stringify(out) });
</script>`;

async function run(isolated) {
  let resolveResult;
  const result = new Promise((r) => { resolveResult = r; });
  const server = http.createServer((req, res) => {
    const url = req.url.split('?')[0];
    const h = isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {};
    if (url === '/result') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { res.end('ok'); resolveResult(JSON.parse(body)); });
      return;
    }
    if (url === '/') { res.writeHead(200, { 'Content-Type': 'text/html', ...h }); res.end(PAGE(isolated ? 2 : 1)); return; }
    let file = null;
    if (url === '/model.gguf') file = MODEL;
    else if (url.startsWith('/js/') && !url.includes('..')) file = path.join(ROOT, url);
    if (!file || !fs.existsSync(file)) { res.writeHead(404, h); res.end('not found'); return; }
    const size = fs.statSync(file).size;
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Content-Length': size, ETag: `"${size}"`, ...h });
    if (req.method === 'HEAD') { res.end(); return; }
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeq-chromium-'));
  const browser = spawn(CHROMIUM, ['--headless=new', '--no-sandbox', '--disable-gpu', `--user-data-dir=${profile}`,
    `http://127.0.0.1:${server.address().port}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  browser.stderr.on('data', (d) => { stderr += d; });
  const timeout = new Promise((r) => setTimeout(() => r({ error: 'timeout', stderr: stderr.slice(-2000) }), 120000));
  const out = await Promise.race([result, timeout]);
  const exited = new Promise((r) => browser.once('exit', r));
  browser.kill();
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  server.closeAllConnections();
  server.close();
  try { fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5 }); } catch { /* still held */ }
  return out;
}

let failed = false;
for (const isolated of [true, false]) {
  const out = await run(isolated);
  console.log(`${isolated ? 'cross-origin isolated' : 'plain static host'}:`, JSON.stringify(out, null, 1));
  if (out.error) failed = true;
}
process.exit(failed ? 1 : 0);
