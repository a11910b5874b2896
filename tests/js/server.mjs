// A local HTTP server (127.0.0.1, ephemeral port) for the fetch paths of the loader:
//   /files/<name>   a file from `dir` with ETag, Accept-Ranges and Range (206) support
//   /404.gguf       404
//   /html.gguf      200 with an HTML page (not GGUF)
//   /trunc.gguf     the model cut at 60% (an honest, short Content-Length)
//   /drop.gguf      the model; a request without Range drops the connection after 30%
//   /chunked/<name> a file without Content-Length (chunked)
//   /slow.gguf      the model in 256 KiB chunks, 20 ms apart
//   /paced.gguf     the model in 1 MiB chunks, 20 ms apart (~50 MB/s: a network, not a disk)
// Counts requests per path and Range requests in `stats`.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

export async function startServer({ dir, model }) {
  const stats = { requests: {}, ranges: {} };
  const modelSize = fs.statSync(model).size;
  const etagOf = (p) => {
    const s = fs.statSync(p);
    return `"${s.size.toString(16)}-${Math.floor(s.mtimeMs).toString(16)}"`;
  };

  function sendFile(req, res, file, { dropAt = -1 } = {}) {
    let size;
    try { size = fs.statSync(file).size; } catch { res.writeHead(404); res.end('not found'); return; }
    const etag = etagOf(file);
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || '');
    const ifRange = req.headers['if-range'];
    let start = 0, end = size - 1, status = 200;
    if (range && (!ifRange || ifRange === etag)) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(end, Number(range[2]));
      if (start > end) { res.writeHead(416, { 'Content-Range': `bytes */${size}` }); res.end(); return; }
      status = 206;
      stats.ranges[req.url] = (stats.ranges[req.url] || 0) + 1;
    }
    const headers = {
      'Content-Type': 'application/octet-stream', 'Content-Length': end - start + 1, ETag: etag,
      'Accept-Ranges': 'bytes', 'Access-Control-Allow-Origin': '*',
    };
    if (status === 206) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') { res.end(); return; }
    const s = fs.createReadStream(file, { start, end, highWaterMark: 256 << 10 });
    if (dropAt >= 0 && status === 200) {
      let sent = 0;
      s.on('data', (chunk) => {
        if (sent + chunk.length >= dropAt) {
          res.write(chunk.subarray(0, dropAt - sent));
          s.destroy();
          res.socket.destroy(); // the connection drops mid-body
          return;
        }
        sent += chunk.length;
        if (!res.write(chunk)) { s.pause(); res.once('drain', () => s.resume()); }
      });
      s.on('end', () => res.end());
    } else {
      s.pipe(res);
    }
  }

  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url.split('?')[0]);
    stats.requests[url] = (stats.requests[url] || 0) + 1;
    if (url.startsWith('/files/')) return sendFile(req, res, path.join(dir, path.basename(url)));
    if (url === '/404.gguf') { res.writeHead(404, { 'Content-Type': 'text/plain' }); res.end('not found'); return; }
    if (url === '/html.gguf') {
      const body = '<!doctype html><html><body>' + 'x'.repeat(5000) + '</body></html>';
      res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (url === '/trunc.gguf') {
      const n = Math.floor(modelSize * 0.6);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': n });
      fs.createReadStream(model, { start: 0, end: n - 1 }).pipe(res);
      return;
    }
    if (url === '/drop.gguf') return sendFile(req, res, model, { dropAt: Math.floor(modelSize * 0.3) });
    if (url.startsWith('/chunked/')) {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      fs.createReadStream(path.join(dir, path.basename(url))).pipe(res);
      return;
    }
    if (url === '/slow.gguf' || url === '/paced.gguf') {
      const step = url === '/slow.gguf' ? 256 << 10 : 1 << 20;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': modelSize });
      const fd = fs.openSync(model, 'r');
      let pos = 0;
      const tick = () => {
        if (res.destroyed || pos >= modelSize) { fs.closeSync(fd); res.end(); return; }
        const b = Buffer.alloc(Math.min(step, modelSize - pos));
        fs.readSync(fd, b, 0, b.length, pos);
        pos += b.length;
        res.write(b);
        setTimeout(tick, 20);
      };
      res.on('close', () => { pos = modelSize; });
      tick();
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    stats,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}
