// End-to-end test of the web demo (web-demo/) in headless Chromium with playwright-core (and, at
// the end, the page loading and answering in Firefox ESR and WebKitGTK: engineChecks()):
// web-demo/serve.mjs is started as users start it (random port), three times:
//   isolated      COOP/COEP (threaded module): load from the URL, streamed reply with tokens/s,
//                 Enter / Shift+Enter, Stop mid-reply, new chat (and a fresh sample of the same
//                 question after it), a 404 shown as a typed error,
//                 a model loaded from a local File (the file picker)
//   --no-isolation  the same page single-threaded: load and a streamed reply
//   --throttle    a slow download: progress bar with MB/s, then Cancel
//   two models    (issue #12) SmolLM2 and Gemma 3 270M offered by readable names; SmolLM2 the
//                 default chat model, Gemma 3 text completion; default temperature per model;
//                 a reload keeps the conversation and a cached model loads at once (size,
//                 Cancel); no keyboard hints on a touch screen
// plus HTTP checks of serve.mjs itself (MIME types, Range, COOP/COEP, path traversal) and that
// no request takes it down (a listed model deleted, a file shrinking mid-download, bad ranges,
// odd paths).
// Prints "ok"/"not ok" per check and a last line "N passed, M failed"; exits non-zero on failure.
//   node tests/web-demo/demo.test.mjs [MODEL.gguf]      (CHROMIUM: default /usr/bin/chromium)
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL = process.argv[2] || execFileSync('bash', [path.join(ROOT, 'scripts/get-model.sh')], { encoding: 'utf8' }).trim();
const MODEL_NAME = path.basename(MODEL);
// Gemma 3 270M (base) for the two-model checks: EQ_GEMMA, else the cached copy (scripts/get-gemma3.sh)
const GEMMA = process.env.EQ_GEMMA || (() => {
  const p = path.join(process.env.EQ_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'edgeq'), 'models/gemma-3-270m-q4_k_m.gguf');
  return fs.existsSync(p) ? p : null;
})();
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const LOAD_TIMEOUT = 180_000; // generous: the machine may be busy
const REPLY_TIMEOUT = 180_000;

let passed = 0;
let failed = 0;
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok - ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: ${(e && e.message ? e.message : String(e)).split('\n').slice(0, 6).join('\n    ')}`);
  }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }

/** Start serve.mjs on a free port; resolves to { url, stop() } once it prints its URL. */
function serve(args, models = [MODEL]) {
  const child = spawn(process.execPath, [path.join(ROOT, 'web-demo/serve.mjs'), '--port', '0', ...args, ...models], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error(`serve.mjs did not start: ${out}`)); }, 30_000);
    const onData = (d) => {
      out += d;
      const m = /edgeq web demo: (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const exited = () => child.exitCode !== null || child.signalCode !== null;
        resolve({ url: m[1], exited, stop: () => (exited() ? Promise.resolve() : new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); })) });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`serve.mjs exited (${code}): ${out}`)); });
  });
}

// Recorded in the page from the start: every data-state it goes through, and the length of the
// reply being written at each DOM change while generating (a streamed reply grows in steps).
const RECORDER = () => {
  window.__demo = { states: [], lens: [], errors: [] };
  window.addEventListener('error', (e) => window.__demo.errors.push(String(e.message)));
  window.addEventListener('unhandledrejection', (e) => window.__demo.errors.push(String(e.reason && e.reason.message || e.reason)));
  document.addEventListener('DOMContentLoaded', () => {
    const body = document.body;
    window.__demo.states.push(body.dataset.state);
    new MutationObserver(() => window.__demo.states.push(body.dataset.state)).observe(body, { attributes: true, attributeFilter: ['data-state'] });
    new MutationObserver(() => {
      if (body.dataset.state !== 'generating') return;
      const all = document.querySelectorAll('#messages .msg.assistant .bubble');
      if (all.length) window.__demo.lens.push(all[all.length - 1].textContent.length);
    }).observe(document.getElementById('messages'), { childList: true, subtree: true, characterData: true });
  });
};

async function openDemo(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 850 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.addInitScript(RECORDER);
  await page.goto(url);
  await page.waitForSelector('body[data-state=idle]');
  return { context, page, consoleErrors };
}

const state = (page) => page.evaluate(() => document.body.dataset.state);
// On a timeout, say where the page stood: its state, the states it went through, its error, its model.
const waitState = (page, s, timeout) => page.waitForSelector(`body[data-state=${s}]`, { timeout }).catch(async (e) => {
  const at = await page.evaluate(() => ({
    state: document.body.dataset.state, states: (window.__demo && window.__demo.states || []).join(','),
    error: document.getElementById('error').hidden ? '' : document.getElementById('error').textContent.trim(),
    model: (document.getElementById('model-name') || {}).textContent, status: (document.getElementById('load-status') || {}).textContent,
    progress: (document.getElementById('progress-label') || {}).textContent + ' ' + (document.getElementById('progress-bytes') || {}).textContent,
  })).catch((e2) => ({ evaluate: String(e2) }));
  throw new Error(`waiting for state ${s}: ${e.message.split('\n')[0]}; the page: ${JSON.stringify(at)}`);
});
// The loader writes its Cache API copy on the side, and gives it up where writing would slow
// the download (js/src/load.js). Before a reload that expects the copy: wait until the model in
// the URL box has one (true), or up to `timeout` ms (false: no copy; the caller loads by hand).
async function cachedCopy(page, timeout = 60_000) {
  for (const end = Date.now() + timeout; ;) {
    const hit = await page.evaluate(async () => {
      if (typeof caches === 'undefined') return false;
      const s = await caches.open('edgeq-models-v1');
      return !!(await s.match(new URL(document.getElementById('model-url').value, location.href).href));
    });
    if (hit || Date.now() > end) return hit;
    await page.waitForTimeout(500);
  }
}
// After a reload: the cached model loads by itself; without a copy the page waits, and Load starts it.
async function reloadedModelReady(page, cached) {
  if (!cached) {
    console.log('# no Cache API copy of the model (the loader gave it up): loaded with Load');
    await waitState(page, 'idle', 30_000);
    await page.click('#load-btn');
  }
  await waitState(page, 'ready', LOAD_TIMEOUT);
}
const lastReply = (page) => page.evaluate(() => {
  const all = document.querySelectorAll('#messages .msg.assistant');
  const li = all[all.length - 1];
  return li ? { text: li.querySelector('.bubble').textContent, meta: li.querySelector('.meta').textContent } : null;
});

async function setSetting(page, selector, value) {
  if (await page.isHidden('#settings')) await page.click('#settings-toggle');
  await page.fill(selector, String(value));
}

async function loadFromUrl(page, url) {
  if (url !== undefined) {
    if (await page.isHidden('#model-form')) await page.click('#change-model');
    await page.fill('#model-url', url);
  }
  await page.evaluate(() => { window.__demo.states = []; });
  await page.click('#load-btn');
  await page.waitForFunction(() => ['ready', 'idle'].includes(document.body.dataset.state) && window.__demo.states.includes('loading'), null, { timeout: LOAD_TIMEOUT });
}

/** Type a message, press Enter, wait for the reply to finish; returns { text, meta, lens }. */
async function chat(page, message) {
  await page.evaluate(() => { window.__demo.lens = []; });
  await page.fill('#prompt', message);
  await page.press('#prompt', 'Enter');
  await waitState(page, 'generating', 10_000);
  await waitState(page, 'ready', REPLY_TIMEOUT);
  const r = await lastReply(page);
  return { ...r, lens: await page.evaluate(() => window.__demo.lens) };
}

function checkStreamedReply(r) {
  assert(r && r.text.trim().length > 0, `no reply text (meta: ${r && r.meta})`);
  const steps = new Set(r.lens.filter((n) => n > 0)).size;
  assert(steps >= 3, `the reply did not stream: ${steps} distinct lengths while generating (${JSON.stringify(r.lens.slice(0, 20))}; reply ${JSON.stringify(r.text.slice(0, 80))})`);
  assert(/\d+(\.\d+)? tok\/s/.test(r.meta), `no tokens/s figure after the reply: "${r.meta}"`);
}

/** GET with the path sent as is (fetch() would normalise away the "..") -> status code. */
function rawStatus(base, rawPath) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    http.get({ host: u.hostname, port: u.port, path: rawPath }, (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject);
  });
}

// ---- the server alone ---------------------------------------------------------------------------
async function httpChecks() {
  const isolated = await serve([]);
  const plain = await serve(['--no-isolation']);
  try {
    await check('serve.mjs: MIME types, COOP/COEP headers, / redirects to the demo', async () => {
      const page = await fetch(isolated.url, { redirect: 'manual' });
      assert(page.status === 302 && page.headers.get('location') === '/web-demo/', `GET / -> ${page.status} ${page.headers.get('location')}`);
      const html = await fetch(new URL('/web-demo/', isolated.url));
      assert(html.status === 200 && /text\/html/.test(html.headers.get('content-type')), `index.html: ${html.status} ${html.headers.get('content-type')}`);
      assert(html.headers.get('cross-origin-opener-policy') === 'same-origin', 'no COOP');
      assert(html.headers.get('cross-origin-embedder-policy') === 'require-corp', 'no COEP');
      const wasm = await fetch(new URL('/js/wasm/edgeq-st.wasm', isolated.url), { method: 'HEAD' });
      assert(wasm.status === 200 && wasm.headers.get('content-type') === 'application/wasm', `wasm: ${wasm.status} ${wasm.headers.get('content-type')}`);
      const js = await fetch(new URL('/js/src/browser.js', isolated.url), { method: 'HEAD' });
      assert(/^text\/javascript/.test(js.headers.get('content-type')), `js: ${js.headers.get('content-type')}`);
      const p = await fetch(new URL('/web-demo/', plain.url));
      assert(p.status === 200 && !p.headers.get('cross-origin-opener-policy') && !p.headers.get('cross-origin-embedder-policy'), '--no-isolation still sends COOP/COEP');
    });
    await check('serve.mjs: /models/ list, Range (206, suffix, If-Range, 416), 404 outside the tree', async () => {
      const size = fs.statSync(MODEL).size;
      const list = await (await fetch(new URL('/models/', isolated.url))).json();
      assert(list.length === 1 && list[0].name === MODEL_NAME && list[0].size === size, `list: ${JSON.stringify(list)}`);
      const murl = new URL(list[0].url, isolated.url);
      const head = await fetch(murl, { method: 'HEAD' });
      assert(Number(head.headers.get('content-length')) === size && head.headers.get('accept-ranges') === 'bytes', 'HEAD');
      const r1 = await fetch(murl, { headers: { Range: 'bytes=0-3' } });
      assert(r1.status === 206 && (await r1.text()) === 'GGUF' && r1.headers.get('content-range') === `bytes 0-3/${size}`, `bytes=0-3: ${r1.status}`);
      const r2 = await fetch(murl, { headers: { Range: 'bytes=-10' } });
      assert(r2.status === 206 && (await r2.arrayBuffer()).byteLength === 10, 'suffix range');
      const r3 = await fetch(murl, { headers: { Range: `bytes=${size}-` } });
      assert(r3.status === 416, `past the end: ${r3.status}`);
      const r4 = await fetch(murl, { headers: { Range: 'bytes=4-7', 'If-Range': '"stale"' } });
      assert(r4.status === 200, `If-Range with another ETag must send the whole file: ${r4.status}`);
      await r4.body.cancel();
      const r5 = await fetch(murl, { headers: { Range: 'bytes=4-7', 'If-Range': head.headers.get('etag') } });
      assert(r5.status === 206, `If-Range with the ETag: ${r5.status}`);
      await r5.arrayBuffer();
      for (const bad of ['/js/../README.md', '/js/%2e%2e/README.md', '/web-demo/..%2f..%2fREADME.md', '/js/..%5c..%5cREADME.md', '/models/nope.gguf', '/models/../README.md']) {
        const st = await rawStatus(isolated.url, bad);
        assert(st === 404, `${bad}: ${st}`);
      }
    });
  } finally {
    await isolated.stop();
    await plain.stop();
  }
  await robustnessChecks();
}

/** GET with raw headers -> { status, bytes } or { error } (a cut connection); never hangs past ms. */
function rawGet(base, rawPath, headers = {}, ms = 10_000) {
  const u = new URL(base);
  return new Promise((resolve) => {
    const req = http.get({ host: u.hostname, port: u.port, path: rawPath, headers }, (res) => {
      let bytes = 0;
      res.on('data', (d) => { bytes += d.length; });
      res.on('end', () => resolve({ status: res.statusCode, bytes }));
      res.on('error', (e) => resolve({ status: res.statusCode, bytes, error: e.code || e.message }));
      res.on('aborted', () => resolve({ status: res.statusCode, bytes, error: 'aborted' }));
    });
    req.on('error', (e) => resolve({ error: e.code || e.message }));
    req.setTimeout(ms, () => { req.destroy(); resolve({ error: 'timeout' }); });
  });
}

// ---- no request takes serve.mjs down (issue #8) ----------------------------------------------------
async function robustnessChecks() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeq-demo-'));
  const gone = path.join(tmp, 'gone.gguf');
  const shrinks = path.join(tmp, 'shrinks.gguf');
  fs.writeFileSync(gone, Buffer.alloc(4096, 1));
  const small = path.join(tmp, 'small.gguf');
  fs.writeFileSync(shrinks, Buffer.alloc(1 << 20, 2));
  fs.writeFileSync(small, Buffer.alloc(100, 3));
  const srv = await serve([gone, small]);
  const slow = await serve(['--throttle', '0.1', shrinks]); // 100 KB/s: 10 s for the whole file
  try {
    await check('serve.mjs: a listed model deleted: /models/ leaves it out, its URL is 404, the server stays up', async () => {
      const before = await (await fetch(new URL('/models/', srv.url))).json();
      assert(before.some((m) => m.name === 'gone.gguf'), `list before: ${JSON.stringify(before)}`);
      fs.rmSync(gone);
      const r = await fetch(new URL('/models/', srv.url));
      assert(r.status === 200, `/models/ -> ${r.status}`);
      const after = await r.json();
      assert(after.length === 2 && !after.some((m) => m.name === 'gone.gguf'), `list after: ${JSON.stringify(after)}`);
      for (const method of ['GET', 'HEAD']) {
        const g = await fetch(new URL('/models/gone.gguf', srv.url), { method });
        assert(g.status === 404, `${method} /models/gone.gguf -> ${g.status}`);
      }
      const m = await fetch(new URL(`/models/${MODEL_NAME}`, srv.url), { headers: { Range: 'bytes=0-3' } });
      assert(m.status === 206 && (await m.text()) === 'GGUF', `the other model: ${m.status}`);
    });
    await check('serve.mjs: bad ranges and odd paths get answers, the server stays up', async () => {
      const murl = '/models/small.gguf';
      for (const range of ['bytes=abc', 'bytes=5-2', 'bytes=-0', 'bytes=99999999999999999999999-', 'bytes=0-99999999999999999999999',
        'bytes=1-2,4-5', 'items=0-1', 'bytes=-99999999999999999999999', '']) {
        const r = await rawGet(srv.url, murl, { Range: range, 'If-Range': 'x' });
        const r2 = await rawGet(srv.url, murl, { Range: range });
        assert(!r.error && !r2.error && [200, 206, 416].includes(r2.status), `Range ${JSON.stringify(range)}: ${JSON.stringify(r2)} ${JSON.stringify(r)}`);
      }
      for (const p of ['/%', '/models/%E0%A4%A', '/js/%00', '/models/%00', '//', '///etc/passwd', '/js/' + 'a'.repeat(5000),
        '/web-demo/' + 'x/'.repeat(2000), '/models/..', '/js/src/..%2f..%2f..%2fetc%2fpasswd', '/web-demo/index.html/']) {
        const r = await rawGet(srv.url, p);
        assert(!r.error && r.status < 500, `${p.slice(0, 40)}: ${JSON.stringify(r)}`);
      }
      const ok = await fetch(new URL('/web-demo/', srv.url));
      assert(ok.status === 200 && !srv.exited(), `the page after all that: ${ok.status}`);
    });
    await check('serve.mjs: a file that shrinks during a (throttled) download: the response is cut, no hang', async () => {
      const pending = rawGet(slow.url, '/models/shrinks.gguf', {}, 8000);
      await new Promise((r) => setTimeout(r, 400));
      fs.truncateSync(shrinks, 1000);
      const r = await pending;
      assert(r.error && r.error !== 'timeout' && r.bytes < 1 << 20, `download of a shrunk file: ${JSON.stringify(r)}`);
      const again = await rawGet(slow.url, '/models/shrinks.gguf', { Range: 'bytes=0-9' });
      assert(again.status === 206 && again.bytes === 10, `after: ${JSON.stringify(again)}`);
    });
  } finally {
    await srv.stop();
    await slow.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---- the page, cross-origin isolated ----------------------------------------------------------
async function isolatedChecks(browser) {
  const srv = await serve([]);
  const { context, page, consoleErrors } = await openDemo(browser, srv.url);
  try {
    await check('isolated: the page opens cross-origin isolated, threads shown', async () => {
      assert(await page.evaluate(() => self.crossOriginIsolated) === true, 'not cross-origin isolated');
      const badge = await page.textContent('#threads-badge');
      assert(/\d+ threads? · cross-origin isolated/.test(badge), `threads badge: "${badge}"`);
      assert((await page.inputValue('#model-url')).endsWith(`/models/${MODEL_NAME}`), 'the model URL does not default to the served model');
    });

    await check('isolated: load the default model from its URL', async () => {
      await loadFromUrl(page);
      assert(await state(page) === 'ready', `state ${await state(page)}; error: ${await page.textContent('#error')}`);
      const states = await page.evaluate(() => window.__demo.states);
      assert(states.includes('loading'), `states: ${states}`);
      assert(await page.isVisible('#model-summary'), 'no model summary');
      const details = await page.textContent('#model-details');
      assert(/llama/.test(details) && /context \d+/.test(details), `details: ${details}`);
      const badge = await page.textContent('#threads-badge');
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      assert(cores < 2 || /^[2-9]\d* threads/.test(badge), `threaded module expected with ${cores} cores: "${badge}"`);
      // the device badge: this Chromium runs without WebGPU flags, so the CPU, and why on hover
      const dev = await page.evaluate(() => { const b = document.getElementById('device-badge'); return { hidden: b.hidden, text: b.textContent, title: b.title, device: b.dataset.device }; });
      assert(!dev.hidden && dev.device === 'cpu' && /CPU/.test(dev.text) && /WebGPU|adapter/.test(dev.title), `device badge: ${JSON.stringify(dev)}`);
    });

    await check('isolated: Enter sends, the reply streams, tokens/s shown', async () => {
      await setSetting(page, '#max-tokens', 48);
      const r = await chat(page, 'What is the capital of France?');
      checkStreamedReply(r);
      assert(await page.locator('#messages .msg.user').count() === 1, 'one user message expected');
    });

    await check('isolated: Shift+Enter adds a new line and does not send', async () => {
      await page.fill('#prompt', 'line one');
      await page.press('#prompt', 'Shift+Enter');
      await page.keyboard.type('line two');
      assert(await page.inputValue('#prompt') === 'line one\nline two', `prompt: ${JSON.stringify(await page.inputValue('#prompt'))}`);
      assert(await state(page) === 'ready', 'a message was sent');
      assert(await page.locator('#messages .msg.user').count() === 1, 'a message was sent');
      await page.fill('#prompt', '');
    });

    await check('isolated: Stop ends a long reply', async () => {
      await setSetting(page, '#max-tokens', 2000);
      await page.evaluate(() => { window.__demo.lens = []; });
      await page.fill('#prompt', 'Write a very long story about a dragon and a knight, with many chapters.');
      await page.press('#prompt', 'Enter');
      await page.waitForFunction(() => window.__demo.lens.some((n) => n > 40), null, { timeout: REPLY_TIMEOUT });
      const t0 = Date.now();
      await page.click('#stop');
      await waitState(page, 'ready', 15_000);
      const stopMs = Date.now() - t0;
      const a = await lastReply(page);
      await page.waitForTimeout(1000);
      const b = await lastReply(page);
      assert(a.text === b.text, 'the reply kept growing after Stop');
      assert(/stopped/.test(a.meta), `no "stopped" mark: "${a.meta}"`);
      assert(a.text.length > 40, 'the partial reply was lost');
      assert(stopMs < 10_000, `Stop took ${stopMs} ms`);
      // the conversation goes on after a stop
      await setSetting(page, '#max-tokens', 16);
      const r = await chat(page, 'Thanks! Now say hello.');
      assert(r.text.trim().length > 0, 'no reply after a stopped one');
    });

    await check('isolated: New chat clears the conversation', async () => {
      await page.click('#new-chat');
      assert(await page.locator('#messages > *').count() === 0, 'messages left');
      assert(await page.isVisible('#empty-state'), 'no empty state');
      assert(await state(page) === 'ready', 'the model should stay loaded');
    });

    await check('isolated: the same question after New chat is sampled afresh (no fixed seed; issue #8)', async () => {
      await setSetting(page, '#max-tokens', 16);
      await setTemperature(page, 0.7); // the model's own default (0.2) may well repeat itself
      const replies = [];
      for (let i = 0; i < 3; i++) {
        await page.click('#new-chat');
        replies.push((await chat(page, 'Write a short poem about the sea.')).text);
      }
      assert(replies.every((t) => t.trim()), `an empty reply: ${JSON.stringify(replies)}`);
      assert(new Set(replies).size >= 2, `three tries at temperature 0.7, one reply: ${JSON.stringify(replies[0])}`);
      await page.click('#new-chat');
    });

    await check('isolated: a missing model URL shows a typed HTTP 404 error', async () => {
      await loadFromUrl(page, '/models/missing.gguf');
      assert(await state(page) === 'idle', `state ${await state(page)}`);
      assert(await page.isVisible('#error'), 'no error shown');
      const code = await page.textContent('#error-code');
      const text = await page.textContent('#error');
      assert(code === 'HTTP' && /404/.test(text), `error: ${code} ${text}`);
    });

    await check('isolated: load a model from a local file (file picker)', async () => {
      await page.evaluate(() => { window.__demo.states = []; });
      await page.setInputFiles('#model-file', MODEL);
      await page.waitForFunction(() => window.__demo.states.includes('loading') && ['ready', 'idle'].includes(document.body.dataset.state), null, { timeout: LOAD_TIMEOUT });
      assert(await state(page) === 'ready', `state ${await state(page)}; error: ${await page.textContent('#error')}`);
      assert(await page.isHidden('#error'), 'the old error is still shown');
      assert((await page.getAttribute('#model-name', 'title')) === MODEL_NAME, 'the summary does not name the file');
      await setSetting(page, '#max-tokens', 24);
      const r = await chat(page, 'Say hello.');
      checkStreamedReply(r);
    });

    await check('isolated: drop a .gguf on the page; context size and threads apply at load', async () => {
      if (await page.isHidden('#settings')) await page.click('#settings-toggle');
      await page.selectOption('#context-size', '1024');
      await page.selectOption('#threads', '1');
      await page.evaluate(() => { window.__demo.states = []; });
      // a File built in the page from the served model, dropped as a drag-and-drop would
      await page.evaluate(async (name) => {
        const blob = await (await fetch(`/models/${name}`)).blob();
        const dt = new DataTransfer();
        dt.items.add(new File([blob], name));
        for (const type of ['dragenter', 'dragover', 'drop']) {
          document.body.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
        }
      }, MODEL_NAME);
      await page.waitForFunction(() => window.__demo.states.includes('loading') && ['ready', 'idle'].includes(document.body.dataset.state), null, { timeout: LOAD_TIMEOUT });
      assert(await state(page) === 'ready', `state ${await state(page)}; error: ${await page.textContent('#error')}`);
      assert(await page.isHidden('#drop-overlay'), 'the drop overlay stayed');
      const details = await page.textContent('#model-details');
      assert(/context 1024/.test(details), `context size not applied: ${details}`);
      const badge = await page.textContent('#threads-badge');
      assert(/^1 thread ·/.test(badge), `threads not applied: "${badge}"`);
      // not a .gguf: a typed error, and the model stays loaded
      await page.evaluate(() => {
        const dt = new DataTransfer();
        dt.items.add(new File(['hello'], 'notes.txt', { type: 'text/plain' }));
        document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      });
      assert(await page.isVisible('#error') && (await page.textContent('#error-code')) === 'FORMAT', 'no error for a .txt drop');
      assert(await state(page) === 'ready', 'the model should stay loaded');
    });

    await check('isolated: no uncaught errors on the page', async () => {
      const errs = [...consoleErrors, ...(await page.evaluate(() => window.__demo.errors))];
      assert(errs.length === 0, errs.join(' | '));
    });
  } finally {
    await context.close();
    await srv.stop();
  }
}

// ---- the page without COOP/COEP ---------------------------------------------------------------
async function plainChecks(browser) {
  const srv = await serve(['--no-isolation']);
  const { context, page, consoleErrors } = await openDemo(browser, srv.url);
  try {
    await check('no isolation: single thread shown, model loads, reply streams with tokens/s', async () => {
      assert(await page.evaluate(() => self.crossOriginIsolated) === false, 'unexpectedly isolated');
      assert(await page.isDisabled('#threads'), 'the threads setting should be disabled');
      await loadFromUrl(page);
      assert(await state(page) === 'ready', `state ${await state(page)}; error: ${await page.textContent('#error')}`);
      const badge = await page.textContent('#threads-badge');
      assert(/^1 thread · not cross-origin isolated/.test(badge), `badge: "${badge}"`);
      await setSetting(page, '#max-tokens', 32);
      checkStreamedReply(await chat(page, 'Name three colours.'));
      const errs = [...consoleErrors, ...(await page.evaluate(() => window.__demo.errors))];
      assert(errs.length === 0, errs.join(' | '));
    });
  } finally {
    await context.close();
    await srv.stop();
  }
}

// ---- a slow download: progress and cancel ----------------------------------------------------------
async function throttledChecks(browser) {
  const srv = await serve(['--throttle', '8']); // MB/s: ~12 s for the 98 MB model
  const { context, page } = await openDemo(browser, srv.url);
  try {
    await check('slow download: progress bar with MB/s, then Cancel', async () => {
      await page.click('#load-btn');
      await page.waitForSelector('#model-progress:not([hidden])', { timeout: 10_000 });
      await page.waitForFunction(() => /MB\/s/.test(document.getElementById('progress-speed').textContent), null, { timeout: 20_000 });
      const v1 = await page.evaluate(() => document.getElementById('progress-bar').value);
      await page.waitForTimeout(800);
      const v2 = await page.evaluate(() => document.getElementById('progress-bar').value);
      assert(v2 > v1 && v2 < 1, `the progress bar did not move: ${v1} -> ${v2}`);
      assert(/MB \/ .*MB \(\d+%\)/.test(await page.textContent('#progress-bytes')), 'no byte counts');
      await page.click('#cancel-load');
      await waitState(page, 'idle', 10_000);
      assert(await page.isVisible('#model-form'), 'the model picker is not back');
      assert(await page.isHidden('#error'), `cancelling is not an error: ${await page.textContent('#error')}`);
      assert(/cancelled/i.test(await page.textContent('#load-status')), 'no "cancelled" status');
    });
  } finally {
    await context.close();
    await srv.stop();
  }
}

// ---- Firefox ESR and WebKitGTK: the page answers ---------------------------------------------------
// Through tests/browser/engines.mjs (puppeteer-core over WebDriver BiDi; WebKitWebDriver +
// MiniBrowser under xvfb-run): the COOP/COEP page opens, shows what the engine gives (threads
// where it exposes SharedArrayBuffer, else 1 thread and why), loads the default model from its
// URL, and Enter gets a streamed reply with tokens/s.
async function engineChecks(name) {
  const { launchEngine, engineAvailable, CAPS } = await import('../browser/engines.mjs');
  if (!engineAvailable(name)) {
    failed++;
    console.log(`not ok - ${name}: not installed or no display (tests/web-demo/run.sh installs it and runs WebKit under xvfb-run)`);
    return;
  }
  const srv = await serve([]);
  let browser = null, page = null;
  try {
    browser = await launchEngine(name);
    page = await browser.newPage();
    await page.goto(srv.url);
    // index.html starts as data-state=idle: app.js's init() is done once the model URL is filled in
    await page.waitFor(() => document.body && document.body.dataset.state === 'idle' && /\.gguf$/.test(document.getElementById('model-url').value), null, 30_000, 'the idle demo');
    await page.evaluate(() => {
      const body = document.body;
      window.__demo = { states: [], lens: [] };
      new MutationObserver(() => window.__demo.states.push(body.dataset.state)).observe(body, { attributes: true, attributeFilter: ['data-state'] });
      new MutationObserver(() => {
        if (body.dataset.state !== 'generating') return;
        const all = document.querySelectorAll('#messages .msg.assistant .bubble');
        if (all.length) window.__demo.lens.push(all[all.length - 1].textContent.length);
      }).observe(document.getElementById('messages'), { childList: true, subtree: true, characterData: true });
    });
    const sab = CAPS[name].sab;
    await check(`${browser.version}: the page opens cross-origin isolated; ${sab ? 'threads' : '1 thread, no SharedArrayBuffer'} shown`, async () => {
      const r = await page.evaluate(() => ({ coi: self.crossOriginIsolated, sab: typeof SharedArrayBuffer, badge: document.getElementById('threads-badge').textContent }));
      assert(r.coi === true, 'not cross-origin isolated');
      assert(r.sab === (sab ? 'function' : 'undefined'), `typeof SharedArrayBuffer: ${r.sab}`);
      assert(sab ? /\d+ threads? · cross-origin isolated/.test(r.badge) : /^1 thread · no SharedArrayBuffer/.test(r.badge), `threads badge: "${r.badge}"`);
    });
    await check(`${browser.version}: load the default model, Enter sends, the reply streams with tokens/s`, async () => {
      await page.evaluate(() => { window.__demo.states = []; document.getElementById('load-btn').click(); });
      await page.waitFor(() => document.body.dataset.state === 'ready' || !!document.getElementById('error').textContent.trim() && !document.getElementById('error').hidden, null, LOAD_TIMEOUT, 'the model loading');
      const st = await page.evaluate(() => ({ state: document.body.dataset.state, states: window.__demo.states, error: document.getElementById('error').hidden ? '' : document.getElementById('error').textContent, badge: document.getElementById('threads-badge').textContent }));
      assert(st.state === 'ready' && st.states.includes('loading'), `state ${st.state} (${st.states}); error: ${st.error}`);
      assert(sab ? /^[2-9]\d* threads/.test(st.badge) || (await page.evaluate(() => navigator.hardwareConcurrency)) < 2 : /^1 thread/.test(st.badge), `threads badge after load: "${st.badge}"`);
      await page.evaluate(() => {
        const t = document.getElementById('prompt');
        document.getElementById('max-tokens').value = '32';
        document.getElementById('max-tokens').dispatchEvent(new Event('input', { bubbles: true }));
        document.getElementById('max-tokens').dispatchEvent(new Event('change', { bubbles: true }));
        window.__demo.lens = [];
        t.value = 'What is the capital of France?';
        t.dispatchEvent(new Event('input', { bubbles: true }));
        t.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
      });
      await page.waitFor(() => window.__demo.states.includes('generating') && document.body.dataset.state === 'ready', null, REPLY_TIMEOUT, 'the reply');
      const r = await page.evaluate(() => {
        const all = document.querySelectorAll('#messages .msg.assistant');
        const li = all[all.length - 1];
        return { text: li ? li.querySelector('.bubble').textContent : '', meta: li ? li.querySelector('.meta').textContent : '', lens: window.__demo.lens };
      });
      checkStreamedReply(r);
      await page.collectConsole();
      const errs = page.console.filter((m) => !/^warn/.test(m));
      assert(errs.length === 0, errs.join(' | '));
    });
  } catch (e) {
    failed++;
    console.log(`not ok - ${name} harness: ${e && e.stack ? e.stack : e}`);
  } finally {
    if (page) await page.close();
    if (browser) await browser.close();
    await srv.stop();
  }
}

// ---- issue #12: two models, per-model defaults, a kept conversation, cached models, touch --------
/** Move the temperature slider as a user would (an input event). */
async function setTemperature(page, value) {
  if (await page.isHidden('#settings')) await page.click('#settings-toggle');
  await page.evaluate((v) => {
    const t = document.getElementById('temperature');
    t.value = String(v);
    t.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}

// What the model panel shows when a load starts (label, bytes, Cancel); with #cancel-on-load in
// the URL it presses Cancel right then (a cached load is over too fast to click it from outside).
const LOAD_SNAPSHOT = () => {
  document.addEventListener('DOMContentLoaded', () => {
    new MutationObserver(() => {
      if (document.body.dataset.state !== 'loading' || window.__loadSnap) return;
      const cancel = document.getElementById('cancel-load');
      window.__loadSnap = {
        label: document.getElementById('progress-label').textContent,
        bytes: document.getElementById('progress-bytes').textContent,
        cancel: !cancel.closest('[hidden]') && cancel.offsetParent !== null,
      };
      if (location.hash === '#cancel-on-load') cancel.click();
    }).observe(document.body, { attributes: true, attributeFilter: ['data-state'] });
  });
};

const msgs = (page) => page.evaluate(() => [...document.querySelectorAll('#messages .msg')].map((m) => ({
  role: m.classList.contains('user') ? 'user' : 'assistant', completion: m.classList.contains('completion'),
  text: m.querySelector('.bubble').textContent,
})));

async function twoModelChecks(browser) {
  if (!GEMMA) {
    console.log('ok - two models: # SKIP no Gemma 3 270M file (EQ_GEMMA, or bash scripts/get-gemma3.sh)');
    passed++;
    return;
  }
  const GEMMA_NAME = path.basename(GEMMA);
  const srv = await serve([], [MODEL, GEMMA]);
  const { context, page, consoleErrors } = await openDemo(browser, srv.url);
  await page.addInitScript(LOAD_SNAPSHOT);
  try {
    await check('two models: both offered by readable name and kind, SmolLM2 first and the default', async () => {
      await page.waitForSelector('#model-choices:not([hidden]) button');
      const choices = await page.$$eval('#model-choices button', (bs) => bs.map((b) => b.textContent));
      assert(choices.length === 2, `choices: ${JSON.stringify(choices)}`);
      assert(/^SmolLM2 135M Instruct/.test(choices[0]) && /chat/.test(choices[0]), `first: ${choices[0]}`);
      assert(/^Gemma 3 270M/.test(choices[1]) && /text completion/.test(choices[1]) && /MB/.test(choices[1]), `second: ${choices[1]}`);
      assert((await page.inputValue('#model-url')).endsWith(`/models/${MODEL_NAME}`), 'SmolLM2 is not the default');
      assert(await state(page) === 'idle', 'nothing is cached yet: nothing should load by itself');
    });

    await check('two models: SmolLM2 loads as chat, named readably, temperature 0.2 by default', async () => {
      await page.evaluate(() => { window.__demo.states = []; });
      await page.click('#model-choices button:nth-child(1)');
      await page.waitForFunction(() => ['ready', 'idle'].includes(document.body.dataset.state) && window.__demo.states.includes('loading'), null, { timeout: LOAD_TIMEOUT });
      assert(await state(page) === 'ready', `state ${await state(page)}; error: ${await page.textContent('#error')}`);
      assert(await page.textContent('#model-name') === 'SmolLM2 135M Instruct', `name: ${await page.textContent('#model-name')}`);
      const summary = await page.textContent('#model-summary');
      assert(!/Smollm2 135M 8k/.test(summary), `general.name shown verbatim: ${summary}`);
      assert(await page.inputValue('#mode') === 'chat', 'not in chat mode');
      assert(Number(await page.inputValue('#temperature')) === 0.2, `temperature ${await page.inputValue('#temperature')}`);
      assert(/default/.test(await page.textContent('#temperature-out')), 'the temperature is not marked as the default');
      await setSetting(page, '#max-tokens', 12);
      checkStreamedReply(await chat(page, 'What is the capital of France?'));
    });

    await check('reload: the conversation is kept; the cached model loads at once with its size and Cancel', async () => {
      const before = await msgs(page);
      await page.waitForTimeout(1500); // the cache write of the download settles
      await page.reload();
      await page.waitForFunction(() => window.__demo.states.includes('loading') && document.body.dataset.state === 'ready', null, { timeout: LOAD_TIMEOUT });
      const snap = await page.evaluate(() => window.__loadSnap);
      assert(snap && /browser cache/.test(snap.label) && /\d+ MB/.test(snap.bytes) && snap.cancel, `at the start of loading: ${JSON.stringify(snap)}`);
      const after = await msgs(page);
      assert(before.length === 2 && JSON.stringify(after) === JSON.stringify(before), `before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
      assert(/restored/.test(await page.textContent('#messages')), 'no "restored" notice');
      // the conversation goes on
      const r = await chat(page, 'And of Italy?');
      assert(r.text.trim(), 'no reply after the reload');
      assert((await msgs(page)).length === 4, 'the restored turns were not kept');
    });

    await check('reload: Cancel stops the automatic load from the cache', async () => {
      await page.goto(new URL('/web-demo/#cancel-on-load', srv.url).href); // a fragment: same document
      await page.reload();
      await page.waitForFunction(() => window.__loadSnap && document.body.dataset.state === 'idle', null, { timeout: LOAD_TIMEOUT });
      assert(await page.isVisible('#model-form'), 'the picker is not back');
      assert(/cancelled/i.test(await page.textContent('#load-status')), `status: ${await page.textContent('#load-status')}`);
      assert((await msgs(page)).length === 4, 'cancelling lost the conversation');
    });

    await check('temperature: a moved slider stays across reloads; Reset gives back the model default', async () => {
      await page.goto(new URL('/web-demo/', srv.url).href);
      await waitState(page, 'ready', LOAD_TIMEOUT);
      await setTemperature(page, 0.7);
      assert(!/default/.test(await page.textContent('#temperature-out')), 'a chosen temperature still says default');
      await page.reload();
      await waitState(page, 'ready', LOAD_TIMEOUT);
      assert(Number(await page.inputValue('#temperature')) === 0.7, `after a reload: ${await page.inputValue('#temperature')}`);
      await page.click('#reset-settings');
      assert(Number(await page.inputValue('#temperature')) === 0.2 && /default/.test(await page.textContent('#temperature-out')), 'Reset did not restore 0.2');
    });

    await check('two models: Gemma 3 270M loads as text completion and continues a text', async () => {
      await page.click('#change-model');
      await page.evaluate(() => { window.__demo.states = []; });
      await page.click('#model-choices button:nth-child(2)');
      await page.waitForFunction(() => ['ready', 'idle'].includes(document.body.dataset.state) && window.__demo.states.includes('loading'), null, { timeout: LOAD_TIMEOUT });
      assert(await state(page) === 'ready', `state ${await state(page)}; error: ${await page.textContent('#error')}`);
      assert(await page.textContent('#model-name') === 'Gemma 3 270M', `name: ${await page.textContent('#model-name')}`);
      assert(await page.getAttribute('#model-name', 'title') === GEMMA_NAME, 'the file name is not on hover');
      assert(await page.inputValue('#mode') === 'completion', 'not in text completion mode');
      assert(await page.isVisible('#mode-note') && /base model/.test(await page.textContent('#mode-note')), 'no base-model note');
      assert(/continue/.test(await page.getAttribute('#prompt', 'placeholder')), 'the message box does not say "continue"');
      assert((await msgs(page)).length === 0, 'the chat conversation should not carry over into completion');
      assert(Number(await page.inputValue('#temperature')) === 0.3, `temperature ${await page.inputValue('#temperature')}`);
      await setSetting(page, '#max-tokens', 12);
      const r = await chat(page, 'The capital of France is');
      checkStreamedReply(r);
      const m = await msgs(page);
      assert(m.length === 2 && m[1].completion, `not shown as a continuation: ${JSON.stringify(m)}`);
    });

    await check('reload: a completion conversation comes back with its model; New chat leaves nothing to restore', async () => {
      const cached = await cachedCopy(page);
      await page.reload();
      await reloadedModelReady(page, cached);
      assert(await page.textContent('#model-name') === 'Gemma 3 270M', 'the conversation\'s model was not the one reloaded');
      assert(await page.inputValue('#mode') === 'completion' && (await msgs(page)).length === 2, 'the completion did not come back');
      await page.click('#new-chat');
      await page.reload();
      // the default model: loading by itself from its copy, else (no copy) waiting for Load
      const auto = await page.waitForFunction(() => ['loading', 'ready'].includes(document.body.dataset.state), null, { timeout: 20_000 }).then(() => true, () => false);
      if (!auto) {
        console.log('# no Cache API copy of the default model: loaded with Load');
        await page.click('#load-btn');
      }
      await waitState(page, 'ready', LOAD_TIMEOUT);
      assert((await msgs(page)).length === 0, 'New chat did not clear the kept conversation');
      assert(await page.textContent('#model-name') === 'SmolLM2 135M Instruct', 'without a conversation the default model should load');
    });

    await check('two models: no uncaught errors on the page', async () => {
      const errs = [...consoleErrors, ...(await page.evaluate(() => window.__demo.errors))];
      assert(errs.length === 0, errs.join(' | '));
    });
  } finally {
    await context.close();
    await srv.stop();
  }
}

async function touchChecks(browser) {
  const srv = await serve(['--no-isolation']);
  const touch = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  const desk = await browser.newContext({ viewport: { width: 1200, height: 850 } });
  try {
    await check('touch screen: no keyboard hints (a desktop shows them)', async () => {
      const page = await touch.newPage();
      await page.goto(srv.url);
      await page.waitForSelector('body[data-state=idle]');
      assert(await page.evaluate(() => matchMedia('(pointer: coarse)').matches), 'the emulated phone has no coarse pointer');
      assert(await page.isHidden('#composer-hint'), 'the Enter/Shift+Enter/Esc hint shows on a touch screen');
      await page.click('#load-btn');
      await waitState(page, 'ready', LOAD_TIMEOUT);
      const ph = await page.getAttribute('#prompt', 'placeholder');
      assert(!/Enter|Shift|Esc/.test(ph), `placeholder: ${ph}`);
      const d = await desk.newPage();
      await d.goto(srv.url);
      await d.waitForSelector('body[data-state=idle]');
      assert(await d.isVisible('#composer-hint') && /Enter/.test(await d.textContent('#composer-hint')), 'the desktop lost its keyboard hint');
    });
  } finally {
    await touch.close();
    await desk.close();
    await srv.stop();
  }
}

const ENGINES = (process.env.EQ_BROWSER_ENGINES || 'chromium,firefox,webkit').split(',');
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  await httpChecks();
  if (ENGINES.includes('chromium')) {
    await isolatedChecks(browser);
    await plainChecks(browser);
    await throttledChecks(browser);
    await twoModelChecks(browser);
    await touchChecks(browser);
  }
  for (const name of ['firefox', 'webkit']) if (ENGINES.includes(name)) await engineChecks(name);
} catch (e) {
  failed++;
  console.log(`not ok - harness: ${e && e.stack ? e.stack : e}`);
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
