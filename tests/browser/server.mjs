// The test HTTP server (127.0.0.1, random port; `host` binds another address, e.g. a LAN one for
// an origin that is not a secure context). One instance per header mode: with
// `isolated` every response carries COOP/COEP (the page is cross-origin isolated and gets the
// threaded module), without it this is a plain static host (single-threaded module).
//   /                  the harness page (imports /js/src/browser.js as window.edgeq)
//   /js/src/*, /js/wasm/*  the npm package as published (src/ + the built wasm/)
//   /model.gguf        the model: ETag, Accept-Ranges, Range (206) and If-Range, HEAD
//   /synth*.gguf       a generated > 2 GiB GGUF (synth-gguf.mjs: one file or split parts), same
//                      Range support
//   /404.gguf          404
//   /notgguf.gguf      200 with an HTML page
//   /trunc.gguf        the model cut at 60%, with an honest (short) Content-Length
//   /drop.gguf         the model; a request without Range loses its connection at 30%
//   /short.gguf        the model's full Content-Length, but every response (Range or not) is
//                      cut at 60%: resuming never gets further
//   /slow.gguf         the model at ~2.5 MB/s (64 KiB every 25 ms)
// `stats` records per path: requests, Range requests ({start, ifRange}) and responses whose
// connection the client closed before the end (an aborted download).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.html': 'text/html' };

const PAGE = `<!doctype html><meta charset="utf-8"><title>edgeq browser tests</title>
<script type="module">
import * as edgeq from '/js/src/browser.js';
window.edgeq = edgeq;
// every failure as plain data (page.evaluate cannot return Error objects)
window.catchErr = async (fn) => {
  try { await fn(); return null; } catch (e) {
    return { typed: e instanceof edgeq.EdgeqError, name: e && e.name, code: e && e.code, status: e && e.status, message: String(e && e.message) };
  }
};
window.harnessReady = true;
</script>`;

/** A file on disk as a byte source. */
function fileSource(file) {
  const st = fs.statSync(file);
  return {
    size: st.size,
    etag: `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`,
    read: (start, end) => fs.createReadStream(file, { start, end: end - 1, highWaterMark: 256 << 10 }),
  };
}

export async function startServer({ root, model, isolated, synth = null, wasmDir = null, host = '127.0.0.1', files = {} }) {
  const stats = { requests: {}, ranges: {}, clientClosed: {} };
  const modelSrc = fileSource(model);
  const headers0 = isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {};
  const count = (o, k, v) => { if (v === undefined) o[k] = (o[k] || 0) + 1; else (o[k] ||= []).push(v); };

  /**
   * Stream bytes [start, end) of `src`. cutAt: absolute offset where the connection is
   * destroyed; throttle: {bytes, ms} per tick. Honours backpressure; stops when the client goes.
   */
  async function sendBody(req, res, url, src, start, end, { cutAt = -1, throttle = null } = {}) {
    let pos = start;
    let closed = false;
    let ended = false; // we ended it (completely, or by a deliberate cut)
    res.on('close', () => { closed = true; if (!ended) count(stats.clientClosed, url); });
    const drained = () => new Promise((r) => {
      const done = () => { res.off('drain', done); res.off('close', done); r(); };
      res.on('drain', done);
      res.on('close', done);
    });
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const stop = cutAt >= 0 ? Math.min(end, cutAt) : end;
    // breaking out of for-await closes the reader (a file stream is destroyed)
    for await (let chunk of src.read(start, end)) {
      if (closed) break;
      if (throttle) {
        for (let o = 0; o < chunk.length && !closed && pos < stop; o += throttle.bytes) {
          const part = chunk.subarray(o, Math.min(o + throttle.bytes, chunk.length, o + stop - pos));
          pos += part.length;
          if (!res.write(part)) await drained();
          await sleep(throttle.ms);
        }
      } else {
        if (pos + chunk.length > stop) chunk = chunk.subarray(0, stop - pos);
        pos += chunk.length;
        if (chunk.length && !res.write(chunk)) await drained();
      }
      if (pos >= stop) break;
    }
    if (closed) return;
    ended = true;
    if (pos < end) {
      // the connection drops mid-body: the client sees a network error, not a short body
      await new Promise((r) => res.write('', r));
      res.socket.destroy();
      return;
    }
    res.end();
  }

  /** 200 or 206 for a byte source, honouring Range / If-Range. */
  function serveSource(req, res, url, src, opts = {}) {
    const { size, etag } = src;
    let start = 0, end = size, status = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || '');
    if (range) {
      const ifRange = req.headers['if-range'];
      count(stats.ranges, url, { start: Number(range[1]), ifRange: ifRange ?? null });
      if (!ifRange || ifRange === etag) {
        start = Number(range[1]);
        if (range[2]) end = Math.min(end, Number(range[2]) + 1);
        if (start >= end) { res.writeHead(416, { 'Content-Range': `bytes */${size}`, ...headers0 }); res.end(); return; }
        status = 206;
      }
    }
    const len = opts.declaredLength ?? end - start;
    const h = { 'Content-Type': 'application/octet-stream', 'Content-Length': len, ETag: etag, 'Accept-Ranges': 'bytes', ...headers0 };
    if (status === 206) h['Content-Range'] = `bytes ${start}-${end - 1}/${size}`;
    res.writeHead(status, h);
    if (req.method === 'HEAD') { res.end(); return; }
    const cutAt = typeof opts.cutAt === 'function' ? opts.cutAt(status) : (opts.cutAt ?? -1);
    sendBody(req, res, url, src, start, start + len, { cutAt, throttle: opts.throttle }).catch((e) => {
      console.error(`server: ${url}: ${e.message}`);
      res.destroy();
    });
  }

  function serveStatic(req, res, url) {
    // only the package's published folders
    if (!/^\/js\/(src|wasm)\//.test(url) || url.includes('..')) return false;
    // wasmDir: serve another build's js/wasm (to try a fix without touching the shared one)
    const file = wasmDir && url.startsWith('/js/wasm/') ? path.join(wasmDir, url.slice('/js/wasm/'.length)) : path.join(root, url);
    let st;
    try { st = fs.statSync(file); } catch { return false; }
    if (!st.isFile()) return false;
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Content-Length': st.size, 'Cache-Control': 'no-store', ...headers0 });
    if (req.method === 'HEAD') { res.end(); return true; }
    fs.createReadStream(file).pipe(res);
    return true;
  }

  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url.split('?')[0]);
    count(stats.requests, url);
    const size = modelSrc.size;
    switch (url) {
      case '/':
        res.writeHead(200, { 'Content-Type': 'text/html', 'Cache-Control': 'no-store', ...headers0 });
        res.end(PAGE);
        return;
      case '/model.gguf': return serveSource(req, res, url, modelSrc);
      case '/404.gguf':
        res.writeHead(404, { 'Content-Type': 'text/plain', ...headers0 });
        res.end('not found');
        return;
      case '/notgguf.gguf': {
        const body = '<!doctype html><html><body>' + 'not a model '.repeat(500) + '</body></html>';
        res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(body), ...headers0 });
        res.end(body);
        return;
      }
      case '/trunc.gguf':
        return serveSource(req, res, url, { ...modelSrc, etag: '"trunc"' }, { declaredLength: Math.floor(size * 0.6) });
      case '/drop.gguf':
        return serveSource(req, res, url, { ...modelSrc, etag: '"drop"' }, { cutAt: (status) => (status === 200 ? Math.floor(size * 0.3) : -1) });
      case '/short.gguf':
        return serveSource(req, res, url, { ...modelSrc, etag: '"short"' }, { cutAt: Math.floor(size * 0.6) });
      case '/slow.gguf':
        return serveSource(req, res, url, { ...modelSrc, etag: '"slow"' }, { throttle: { bytes: 64 << 10, ms: 25 } });
      default: {
        const part = synth && synth.parts.find((p) => url === '/' + p.name);
        if (part) return serveSource(req, res, url, part);
        if (Object.hasOwn(files, url)) return serveSource(req, res, url, fileSource(files[url]));   // more models
        if (serveStatic(req, res, url)) return;
      }
    }
    res.writeHead(404, { 'Content-Type': 'text/plain', ...headers0 });
    res.end('not found');
  });
  await new Promise((r) => server.listen(0, host, r));
  return {
    base: `http://${host.includes(':') ? `[${host}]` : host}:${server.address().port}`,
    stats,
    modelSize: modelSrc.size,
    modelEtag: modelSrc.etag,
    resetStats() { for (const k of Object.keys(stats)) stats[k] = {}; },
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}
