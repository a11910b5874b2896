#!/usr/bin/env node
// Static server for the web demo (Node, no dependencies). The URL space mirrors the repository,
// so web-demo/app.js can import '../js/src/browser.js' here and under any other static host:
//   /                 -> redirect to /web-demo/
//   /web-demo/...     web-demo/
//   /js/...           js/ (the npm package: src/ and the built wasm/)
//   /models/          JSON list of the served models: [{ name, url, size }]
//   /models/NAME      a model file given on the command line (default: scripts/get-model.sh)
// Every response carries COOP/COEP so the page is cross-origin isolated (threads); files get
// ETag/Last-Modified, HEAD and HTTP Range (206/416, If-Range), which the loader uses to resume.
//
//   node web-demo/serve.mjs [--port 8080] [--host 127.0.0.1] [--no-isolation]
//                           [--throttle MB_PER_S] [MODEL.gguf ...]
// --port 0 picks a free port; without --port, 8080 or a free port when 8080 is taken. The first
// stdout line is "edgeq web demo: http://HOST:PORT/".
// --throttle slows model downloads (to watch the progress bar, or to test cancelling).
// Other scripts reuse startServer() with extra mounts (bench/web/).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.gguf': 'application/octet-stream',
};

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** The default model: scripts/get-model.sh downloads it once and prints its path. */
export function defaultModel() {
  return execFileSync('bash', [path.join(ROOT, 'scripts/get-model.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/** Weak validator from size and mtime: changes whenever the file does. */
function etagOf(st) {
  return `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
}

/**
 * Parse a single "bytes=" range against `size`: {start, end} (inclusive), null when the header
 * should be ignored (absent, multi-range, malformed), or 'unsatisfiable'.
 */
export function parseRange(header, size) {
  const m = /^bytes=(\d*)-(\d*)$/.exec((header || '').trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start, end;
  if (m[1] === '') { // suffix: the last N bytes
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null; // invalid: ignore, as RFC 9110 says
  }
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/**
 * Serve `file` (404 when it is missing or not a regular file). The file is opened once and
 * everything (size, ETag, bytes) comes from that descriptor, so a file deleted or replaced
 * meanwhile cannot make the answer inconsistent or throw.
 */
function sendFile(req, res, file, headers, opts) {
  let fd;
  // O_NONBLOCK: opening a FIFO must not block the server (it is then refused as not a file)
  try { fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK || 0)); } catch { return notFound(res, headers); }
  let handedOver = false; // the stream closes fd from then on
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return notFound(res, headers);
    const etag = etagOf(st);
    const base = {
      ...headers,
      'Content-Type': MIME[path.extname(file).toLowerCase()] || 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      ETag: etag,
      'Last-Modified': st.mtime.toUTCString(),
      // a development server: always revalidate (cheap with the ETag), so edits show at once
      'Cache-Control': 'no-cache',
    };
    if (req.headers['if-none-match'] === etag && !req.headers.range) {
      res.writeHead(304, base);
      res.end();
      return;
    }
    let start = 0;
    let end = st.size - 1;
    let status = 200;
    const ifRange = req.headers['if-range'];
    const rangeApplies = !ifRange || ifRange === etag || ifRange === base['Last-Modified'];
    const range = rangeApplies ? parseRange(req.headers.range, st.size) : null;
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...base, 'Content-Range': `bytes */${st.size}` });
      res.end();
      return;
    }
    if (range) {
      ({ start, end } = range);
      status = 206;
      base['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
    }
    base['Content-Length'] = st.size === 0 ? 0 : end - start + 1;
    res.writeHead(status, base);
    if (req.method === 'HEAD' || st.size === 0) { res.end(); return; }
    handedOver = true;
    if (opts.throttle > 0) {
      streamThrottled(res, fd, start, end, opts.throttle);
    } else {
      const s = fs.createReadStream(null, { fd, start, end, highWaterMark: 1 << 20 });
      s.on('error', () => res.destroy());
      res.on('close', () => s.destroy());
      s.pipe(res);
    }
  } finally {
    if (!handedOver) fs.close(fd, () => {});
  }
}

/** Write [start, end] of the open file `fd` at about `bytesPerSec`: one slice every 50 ms. */
function streamThrottled(res, fd, start, end, bytesPerSec) {
  const slice = Math.max(4096, Math.floor(bytesPerSec / 20));
  let pos = start;
  let timer = null;
  const close = () => { clearTimeout(timer); if (fd !== undefined) { fs.close(fd, () => {}); fd = undefined; } };
  res.on('close', close);
  const tick = () => {
    if (fd === undefined) return;
    if (pos > end) { close(); res.end(); return; }
    let n;
    try {
      const buf = Buffer.allocUnsafe(Math.min(slice, end - pos + 1));
      n = fs.readSync(fd, buf, 0, buf.length, pos);
      // the file shrank: the promised length cannot be sent, so the response is cut
      if (n === 0) { close(); res.destroy(); return; }
      res.write(n === buf.length ? buf : buf.subarray(0, n));
    } catch {
      close();
      res.destroy();
      return;
    }
    pos += n;
    timer = setTimeout(tick, 50);
  };
  tick();
}

function notFound(res, headers) {
  res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end('not found\n');
}

/** A handler threw: 500 while nothing was sent yet, else cut the connection. Never throws. */
function internalError(res, headers, e, quiet) {
  if (!quiet) console.error(`serve.mjs: internal error: ${e && e.stack ? e.stack : e}`);
  try {
    if (res.headersSent) { res.destroy(); return; }
    res.writeHead(500, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('internal server error\n');
  } catch {
    res.destroy();
  }
}

/** `rel` inside `dir`, or null for anything that tries to leave it (.., backslashes, NUL). */
function inside(dir, rel) {
  if (rel.includes('\0') || rel.includes('\\') || rel.split('/').includes('..')) return null;
  const p = path.resolve(dir, '.' + path.posix.normalize('/' + rel));
  return p === dir || p.startsWith(dir + path.sep) ? p : null;
}

/**
 * Start the server. opts: port (0 = any), host, isolation (default true), throttle (bytes/s for
 * model files, 0 = off), models (paths), mounts ({ '/prefix/': dir } added to the defaults),
 * quiet (no request log on errors). Resolves to { url, port, server, close() }.
 */
export async function startServer(opts = {}) {
  const isolation = opts.isolation !== false;
  const headers = isolation ? { ...ISOLATION_HEADERS } : {};
  const mounts = {
    '/web-demo/': path.join(ROOT, 'web-demo'),
    '/js/': path.join(ROOT, 'js'),
    ...(opts.mounts || {}),
  };
  const models = new Map(); // name -> absolute path
  for (const m of opts.models || []) {
    const abs = path.resolve(m);
    if (!fs.existsSync(abs)) throw new Error(`model not found: ${m}`);
    models.set(path.basename(abs), abs);
  }

  // every request goes through one try/catch: whatever a request does (a model deleted while
  // listed, a file vanishing mid-request, odd paths or ranges), it gets an answer and the
  // server stays up
  const server = http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      internalError(res, headers, e, opts.quiet);
    }
  });
  function handle(req, res) {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' });
      res.end();
      return;
    }
    let url;
    try {
      url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400, headers);
      res.end();
      return;
    }
    if (url === '/' || url === '/web-demo') {
      res.writeHead(302, { ...headers, Location: '/web-demo/' + (req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '') });
      res.end();
      return;
    }
    if (url === '/favicon.ico') { res.writeHead(204, headers); res.end(); return; }
    if (url === '/models/' || url === '/models') {
      // models whose file is gone (or no longer a file) are left out until they are back
      const list = [];
      for (const [name, p] of models) {
        let st;
        try { st = fs.statSync(p); } catch { continue; }
        if (st.isFile()) list.push({ name, url: `/models/${encodeURIComponent(name)}`, size: st.size });
      }
      const body = JSON.stringify(list);
      res.writeHead(200, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache', 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (url.startsWith('/models/')) {
      const file = models.get(url.slice('/models/'.length));
      if (!file) return notFound(res, headers);
      return sendFile(req, res, file, headers, { throttle: opts.throttle || 0 });
    }
    for (const [prefix, dir] of Object.entries(mounts)) {
      if (!url.startsWith(prefix)) continue;
      let file = inside(dir, url.slice(prefix.length));
      if (!file) return notFound(res, headers);
      try { if (fs.statSync(file).isDirectory()) file = path.join(file, 'index.html'); } catch { /* 404 below */ }
      return sendFile(req, res, file, headers, {});
    }
    notFound(res, headers);
  }
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, opts.host || '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const host = opts.host || '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    port,
    server,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

function usage(code) {
  console.log('usage: node web-demo/serve.mjs [--port 8080] [--host 127.0.0.1] [--no-isolation] [--throttle MB_PER_S] [MODEL.gguf ...]');
  process.exit(code);
}

async function main(argv) {
  const opts = { port: 8080, host: '127.0.0.1', isolation: true, throttle: 0, models: [] };
  let portGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { if (i + 1 >= argv.length) usage(2); return argv[++i]; };
    if (a === '--port' || a === '-p') { opts.port = Number(val()); portGiven = true; }
    else if (a.startsWith('--port=')) { opts.port = Number(a.slice(7)); portGiven = true; }
    else if (a === '--host') opts.host = val();
    else if (a === '--no-isolation') opts.isolation = false;
    else if (a === '--throttle') opts.throttle = Number(val()) * 1e6;
    else if (a === '-h' || a === '--help') usage(0);
    else if (a.startsWith('-')) { console.error(`unknown option ${a}`); usage(2); }
    else opts.models.push(a);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) { console.error('bad --port'); process.exit(2); }
  if (!(opts.throttle >= 0)) { console.error('bad --throttle (MB per second)'); process.exit(2); }
  if (!opts.models.length) opts.models.push(defaultModel());
  let srv;
  try {
    try {
      srv = await startServer(opts);
    } catch (e) {
      if (e.code !== 'EADDRINUSE' || portGiven) throw e;
      console.error(`serve.mjs: port ${opts.port} is in use, taking a free one`);
      srv = await startServer({ ...opts, port: 0 });
    }
  } catch (e) {
    console.error(`serve.mjs: ${e.code === 'EADDRINUSE' ? `port ${opts.port} is in use (try --port 0)` : e.message}`);
    process.exit(1);
  }
  console.log(`edgeq web demo: ${srv.url}`);
  console.log(`  ${opts.isolation ? 'cross-origin isolated (COOP/COEP): threaded module' : 'no COOP/COEP: single-threaded module'}`);
  for (const m of opts.models) console.log(`  model: /models/${path.basename(m)}  (${m})`);
  const stop = () => srv.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
