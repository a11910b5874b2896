// One tiny page driver over the three browser engines Debian ships, so that a test body is
// written once: Chromium (npm playwright-core, /usr/bin/chromium), Firefox ESR (npm
// puppeteer-core over WebDriver BiDi, /usr/bin/firefox-esr) and WebKitGTK (Debian's
// WebKitWebDriver driving MiniBrowser --automation over classic WebDriver; needs an X display:
// the run scripts use xvfb-run). Used by tests/browser, tests/web-demo and bench/web.
//
//   const b = await launchEngine('webkit');        // { name, version, newPage(), close() }
//   launchEngine('chromium', { persistent: true })  // pages share one on-disk profile (below)
//   const page = await b.newPage();                 // { goto, evaluate, waitFor, console, close }
//   await page.goto(url);
//   const r = await page.evaluate(async (x) => x + 1, 41);   // fn runs in the page; one JSON arg
//   page.console                                    // ['error: ...', 'warning: ...', 'pageerror: ...']
//   await page.collectConsole()                     // WebKit: fills page.console (see below)
//
// evaluate() returns JSON-able values only (WebDriver serializes through JSON). For WebKit each
// page is its own WebDriver session (its own MiniBrowser: WebKitWebDriver runs one session), and
// classic WebDriver has no console events: goto() wraps the page's console.error/warn and
// error events, and collectConsole() reads what they recorded (the page's own messages only).
// Environment: CHROMIUM, FIREFOX (default /usr/bin/firefox-esr), WEBKIT_DRIVER (default
// WebKitWebDriver), MINIBROWSER (default Debian's path).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ENGINES = ['chromium', 'firefox', 'webkit'];
export const PATHS = {
  chromium: process.env.CHROMIUM || '/usr/bin/chromium',
  firefox: process.env.FIREFOX || '/usr/bin/firefox-esr',
  webkitDriver: process.env.WEBKIT_DRIVER || '/usr/bin/WebKitWebDriver',
  miniBrowser: process.env.MINIBROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
};

/** What each engine can do on the test servers (http://127.0.0.1, a secure context), checked by
 * the tests. A page served with COOP/COEP is cross-origin isolated in all three, and the Cache
 * API exists in all three; sab: SharedArrayBuffer is exposed on that page, so the package runs
 * its threaded module. WebKitGTK (2.50) never exposes it: the single-threaded module runs there
 * (tests/browser/README.md, "WebKitGTK and threads"). webgpu: navigator.gpu exists (WebGPU
 * tests can key on this). relaxed: WebAssembly relaxed SIMD validates, so the relaxed-SIMD
 * module runs (Chromium ships it; elsewhere runtime.simd must match what the engine validates). */
export const CAPS = {
  chromium: { sab: true, webgpu: false, relaxed: true },
  firefox: { sab: true, webgpu: false },
  // JSC_useSharedArrayBuffer=1 in the environment (a JavaScriptCore option the driver and
  // MiniBrowser inherit; no page can set it) makes WebKitGTK expose it: the threaded module runs
  webkit: { sab: process.env.JSC_useSharedArrayBuffer === '1', webgpu: false },
};

export function engineAvailable(name) {
  if (name === 'chromium') return fs.existsSync(PATHS.chromium);
  if (name === 'firefox') return fs.existsSync(PATHS.firefox);
  if (name === 'webkit') return fs.existsSync(PATHS.webkitDriver) && fs.existsSync(PATHS.miniBrowser) && !!process.env.DISPLAY;
  return false;
}

export async function launchEngine(name, opts = {}) {
  if (name === 'chromium') return launchChromium(opts);
  if (name === 'firefox') return launchFirefox(opts);
  if (name === 'webkit') return launchWebKit(opts);
  throw new Error(`unknown engine ${name} (one of ${ENGINES.join(', ')})`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn(arg) in the page until it returns a truthy value (the value is returned). */
async function pollUntil(evaluate, fn, arg, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let v = null;
    try { v = await evaluate(fn, arg); } catch (e) { if (Date.now() > end) throw e; } // mid-navigation
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what || 'waitFor'}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

// ---- Chromium: playwright-core (CDP) ------------------------------------------------------------
// persistent: pages share one on-disk profile (a fresh temporary directory, removed on close)
// instead of each getting an incognito context. An incognito context's storage lives in memory
// with a small quota, so a site cannot store a multi-GB model there (wllama's OPFS copy of a
// 2.4 GB file fails with QuotaExceededError); a real visitor's profile is on disk, its quota a
// share of the disk. Callers that want cold visits empty the Cache API and OPFS themselves; the
// HTTP cache is switched off on every page (CDP), as an incognito context starts without one.
async function launchChromium({ args = [], persistent = false } = {}) {
  const { chromium } = await import('playwright-core');
  const opts = {
    executablePath: PATHS.chromium, headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', ...args],
  };
  let browser;
  let context = null;
  let profile = null;
  if (persistent) {
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'eq-chromium-'));
    context = await chromium.launchPersistentContext(profile, opts);
    browser = context.browser();
  } else {
    browser = await chromium.launch(opts);
  }
  return {
    name: 'chromium', version: `Chromium ${browser ? browser.version() : '?'}`, raw: browser,
    async newPage() {
      const raw = context ? await context.newPage() : await browser.newPage();
      if (context) {
        const cdp = await context.newCDPSession(raw);
        await cdp.send('Network.enable');
        await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      }
      const page = wrapCDPLike(raw);
      raw.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') page.console.push(`${m.type()}: ${m.text()}`); });
      raw.on('pageerror', (e) => page.console.push(`pageerror: ${e.message}`));
      return page;
    },
    async close() {
      await (context || browser).close().catch(() => {});
      if (profile) fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// playwright and puppeteer pages share goto/evaluate(fn, arg)/close
function wrapCDPLike(raw) {
  const page = {
    raw, console: [],
    goto: (url) => raw.goto(url).then(() => {}),
    collectConsole: async () => {},
    evaluate: (fn, arg) => raw.evaluate(fn, arg),
    waitFor: (fn, arg, timeoutMs = 30000, what) => pollUntil(page.evaluate, fn, arg, timeoutMs, what),
    close: () => raw.close().catch(() => {}),
  };
  return page;
}

// ---- Firefox: puppeteer-core over WebDriver BiDi -------------------------------------------------
async function launchFirefox() {
  const puppeteer = (await import('puppeteer-core')).default;
  const browser = await puppeteer.launch({
    browser: 'firefox', executablePath: PATHS.firefox, headless: true,
    // puppeteer's default fails any evaluate() after 180 s; callers bound their own runs (bench/web:
    // 20 min), and wllama's prompt on a 3.8B model at one thread takes longer than 180 s
    protocolTimeout: 30 * 60 * 1000,
    extraPrefsFirefox: { 'browser.shell.checkDefaultBrowser': false, 'datareporting.policy.dataSubmissionEnabled': false },
  });
  return {
    name: 'firefox', version: (await browser.version()).replace(/^firefox\//, 'Firefox '), raw: browser,
    async newPage() {
      const raw = await browser.newPage();
      const page = wrapCDPLike(raw);
      raw.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warn' || m.type() === 'warning') page.console.push(`${m.type()}: ${m.text()}`); });
      raw.on('pageerror', (e) => page.console.push(`pageerror: ${e && e.message || e}`));
      return page;
    },
    close: () => browser.close().catch(() => {}),
  };
}

// ---- WebKitGTK: WebKitWebDriver (classic WebDriver over HTTP) -----------------------------------
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function launchWebKit({ args = [] } = {}) {
  if (!process.env.DISPLAY) throw new Error('WebKitGTK needs an X display: run under xvfb-run');
  let driver = null, base = null, log = '';
  // The driver in its own process group: a restart takes the MiniBrowser it started along.
  async function startDriver() {
    const port = await freePort();
    driver = spawn(PATHS.webkitDriver, [`--port=${port}`], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const onOut = (d) => { log = (log + String(d)).slice(-20000); };
    driver.stdout.on('data', onOut);
    driver.stderr.on('data', onOut);
    base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) { // the driver listening
      try { await wd('GET', '/status', undefined, 5000); break; } catch (e) {
        if (i > 100 || driver.exitCode !== null) { stopDriver(); throw new Error(`WebKitWebDriver did not start: ${log}`); }
        await sleep(50);
      }
    }
  }
  function stopDriver() {
    try { process.kill(-driver.pid, 'SIGKILL'); } catch { try { driver.kill('SIGKILL'); } catch { /* gone */ } }
  }
  async function wd(method, path, body, timeoutMs) {
    const res = await fetch(base + path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
      signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined });
    const j = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(`WebDriver ${method} ${path}: ${res.status} ${j.value ? `${j.value.error}: ${j.value.message}` : ''}`);
    return j.value;
  }
  await startDriver();
  let version = null;
  const browser = {
    name: 'webkit', version: null,
    async newPage() {
      const want = { capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary: PATHS.miniBrowser, args: ['--automation', ...args] } } } };
      let caps;
      try {
        caps = await wd('POST', '/session', want, 60000);
      } catch (e) {
        // WebKitWebDriver has hung starting a session (a CI run: no answer in 300 s, where it takes
        // under a second): a new driver, once
        console.log(`# WebKitWebDriver: new session failed (${e && e.message || e}); restarting the driver`);
        stopDriver();
        await startDriver();
        caps = await wd('POST', '/session', want, 60000);
      }
      const sid = caps.sessionId;
      version ||= `WebKitGTK ${caps.capabilities.browserVersion}`;
      browser.version = version;
      await wd('POST', `/session/${sid}/timeouts`, { script: 30 * 60 * 1000, pageLoad: 60000 });
      const page = {
        console: [],
        async goto(url) {
          await wd('POST', `/session/${sid}/url`, { url });
          await page.evaluate(() => {
            const log = (window.__eqConsole = []);
            for (const k of ['error', 'warn']) {
              const f = console[k].bind(console);
              console[k] = (...a) => { log.push(`${k}: ${a.map(String).join(' ')}`); f(...a); };
            }
            window.addEventListener('error', (e) => log.push(`pageerror: ${e.message}`));
            window.addEventListener('unhandledrejection', (e) => log.push(`pageerror: ${e.reason && e.reason.message || e.reason}`));
          });
        },
        async collectConsole() {
          const got = await page.evaluate(() => (window.__eqConsole || []).splice(0)).catch(() => []);
          page.console.push(...got);
        },
        async evaluate(fn, arg) {
          // the function runs in the page; its value or error comes back through the callback
          const script = `const done = arguments[arguments.length - 1];
            Promise.resolve().then(() => (${fn.toString()})(arguments[0]))
              .then((v) => done({ v: v === undefined ? null : v }), (e) => done({ e: String(e && e.stack || e), m: String(e && e.message || e) }));`;
          const r = await wd('POST', `/session/${sid}/execute/async`, { script, args: [arg === undefined ? null : arg] });
          if (r && r.e !== undefined) { const err = new Error(r.m); err.stack = r.e; throw err; }
          return r ? r.v : r;
        },
        waitFor: (fn, arg, timeoutMs = 30000, what) => pollUntil(page.evaluate, fn, arg, timeoutMs, what),
        close: () => wd('DELETE', `/session/${sid}`).catch(() => {}),
      };
      return page;
    },
    async close() {
      const d = driver;
      d.kill('SIGTERM');
      await new Promise((r) => { if (d.exitCode !== null) r(); else { d.once('exit', r); setTimeout(r, 3000); } });
      stopDriver();   // and whatever of its group is left
    },
  };
  // the version needs a session; take it from a first page
  const p = await browser.newPage();
  await p.close();
  return browser;
}
