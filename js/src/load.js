// Streamed model loading: every source (URL, File/Blob, Node path, split parts) becomes an
// async stream of chunks that goes straight into the engine's loader (wasm memory), chunk by
// chunk, as it arrives. No whole-file buffer is ever built; peak memory is the model itself.
//
// URLs: fetch() with the body read as a stream; Content-Length is announced to the loader
// (eq_loader_set_part_size) so truncation and bad offsets are caught before tensor memory is
// allocated; a dropped connection resumes with an HTTP Range request (If-Range: ETag); when the
// Cache API exists (browsers) the download is written to it on the side, and reused later after
// checking its size and ETag. Caching is best-effort: quota errors or a slow disk only stop
// the caching, never the load.
import { EdgeqError, abortError, asEdgeqError } from './errors.js';

const SPLIT_RE = /-(\d{5})-of-(\d{5})\.gguf$/;
const CACHE_NAME = 'edgeq-models-v1';
const CACHE_BACKLOG = 32 << 20; // bytes queued for the cache writer before the download waits for it
// How long, in all, the download may wait for the cache writer before it gives up caching: a
// grace for the disk's first hiccups plus a share of the time spent downloading, and never more
// than the cap. A disk that keeps up (any network slower than it) never waits; one that is
// persistently slower than the network (a big model from localhost or a LAN: re-downloading is
// cheap there) is given up on within about a second instead of after the cap. Measured: 2.4 GB
// from localhost in Chromium, the writer at ~200 MB/s vs ~550 MB/s unwritten: a 3 s flat budget
// gave 7.1-14.0 s loads, and the entry was dropped anyway.
const CACHE_WAIT_GRACE_MS = 500;
const CACHE_WAIT_SHARE = 0.25;
const CACHE_WAIT_MS = 3000;
// A writer can also slow the download without ever making it wait: Firefox takes each chunk at
// once and then spends the time (copying, compressing, IPC) beside the download, which ran at
// ~90 MB/s instead of 200-380: 2.4 GB from localhost took 23-34 s instead of 9-10. So the
// download's own rate is measured before the writer starts (the probe, its chunks held for the
// copy), and then over windows of the same length while caching: the time each window took
// beyond what the probe's rate gives is the copy's cost, and caching stops when that cost
// passes the same budget as the waiting above (both are checked; in Chromium, where the
// writer pushes back, the two are about the same time). The probe skips the first PROBE_SKIP
// (the load's start is slower: allocation, metadata) and runs over at least PROBE_SPAN bytes
// and PROBE_MS, and it holds at most PROBE_HELD (each a share of the file's size for small
// files; one smaller than the probe is copied after it has loaded, costing the load nothing).
// A network slower than the writer never shows the difference; one as fast as the writer
// makes re-downloading cheap.
const CACHE_PROBE_SKIP = 32 << 20;
const CACHE_PROBE_SPAN = 64 << 20;
const CACHE_PROBE_HELD = 128 << 20;
const CACHE_PROBE_MS = 250;
const MAX_RESUMES = 5;
const BYOB_CHUNK = 1 << 20;     // the reused read buffer when not caching

// cache.put() calls still writing (they finish after the load itself): a worker waits for them
// before it is terminated, or the entry would be lost
const cacheWrites = new Set();

/** Resolves when the cache writes in flight are done, or after timeoutMs. */
export function cacheWritesSettled(timeoutMs = 5000) {
  if (!cacheWrites.size) return Promise.resolve();
  return Promise.race([
    Promise.allSettled([...cacheWrites]),
    new Promise((r) => setTimeout(r, timeoutMs)),
  ]).then(() => {});
}

/** Names of all parts when `name` is a llama.cpp split file (any of its parts), else [name]. */
export function splitNames(name) {
  const m = SPLIT_RE.exec(name);
  if (!m) return [name];
  const n = parseInt(m[2], 10);
  if (!(n >= 1)) return [name];
  const base = name.slice(0, m.index);
  const tail = name.slice(m.index + m[0].length - 0);
  const out = [];
  for (let i = 1; i <= n; i++) {
    out.push(`${base}-${String(i).padStart(5, '0')}-of-${m[2]}.gguf${tail}`);
  }
  return out;
}

function isBlob(x) {
  return typeof Blob !== 'undefined' && x instanceof Blob;
}

function isUrlString(s) {
  return /^(https?|blob|data):/i.test(s);
}

/**
 * Resolve a user source into parts: [{ label, open(ctx) }]. ctx = { signal, onSize(n) }.
 * env.openPath(path, ctx) opens a local file (Node); env.baseUrl resolves relative URLs.
 */
export function resolveParts(source, env = {}) {
  const list = Array.isArray(source) || (typeof FileList !== 'undefined' && source instanceof FileList)
    ? Array.from(source) : [source];
  if (list.length === 0) throw new EdgeqError('ARG', 'no model source given');
  const parts = [];
  for (const s of list) {
    if (isBlob(s)) {
      parts.push({ label: s.name || 'blob', open: (ctx) => blobChunks(s, ctx), name: s.name || '' });
    } else if (typeof s === 'string' || s instanceof URL) {
      let str = String(s);
      const expand = list.length === 1 ? splitNames : (x) => [x];
      if (s instanceof URL || isUrlString(str) || !env.openPath) {
        if (s instanceof URL && s.protocol === 'file:' && env.openPath) {
          for (const p of expand(env.fileUrlToPath(s))) parts.push({ label: p, open: (ctx) => env.openPath(p, ctx), name: p });
          continue;
        }
        if (!(s instanceof URL) && !isUrlString(str)) str = new URL(str, env.baseUrl || undefined).href;
        for (const u of expand(str)) parts.push({ label: u, open: (ctx) => urlChunks(u, ctx), name: u });
      } else {
        if (str.startsWith('file:')) str = env.fileUrlToPath(str);
        for (const p of expand(str)) parts.push({ label: p, open: (ctx) => env.openPath(p, ctx), name: p });
      }
    } else {
      throw new EdgeqError('ARG', 'a model source must be a URL, a path, a File/Blob or an array of them');
    }
  }
  // files given as a list: order them by their split number when they have one
  if (list.length > 1 && parts.every((p) => SPLIT_RE.test(p.name))) {
    parts.sort((a, b) => parseInt(SPLIT_RE.exec(a.name)[1], 10) - parseInt(SPLIT_RE.exec(b.name)[1], 10));
  }
  return parts;
}

async function* blobChunks(blob, { signal, onSize }) {
  onSize(blob.size);
  const reader = blob.stream().getReader();
  try {
    for (;;) {
      if (signal.aborted) throw abortError(signal, 'loading aborted');
      let r;
      try {
        r = await reader.read();
      } catch (e) {
        throw new EdgeqError('IO', `${blob.name || 'blob'}: cannot read: ${e && e.message}`, { cause: e });
      }
      if (r.done) return;
      yield r.value;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function contentLength(res) {
  if (res.headers.get('content-encoding')) return 0; // length of the encoded body, not ours
  const v = res.headers.get('content-length');
  const n = v === null ? NaN : Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

async function doFetch(url, init, signal) {
  try {
    return await fetch(url, { ...init, signal });
  } catch (e) {
    if (signal.aborted) throw abortError(signal, 'loading aborted');
    throw new EdgeqError('NETWORK', `${url}: cannot fetch: ${(e && e.cause && e.cause.message) || (e && e.message) || e}`, { cause: e });
  }
}

function httpError(url, res) {
  return new EdgeqError('HTTP', `${url}: HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`, { status: res.status });
}

async function openCache() {
  try {
    if (typeof caches === 'undefined' || !caches || typeof caches.open !== 'function') return null;
    return await caches.open(CACHE_NAME);
  } catch {
    return null; // e.g. opaque origins, private browsing, storage blocked
  }
}

/** Body chunks of a URL with resume on dropped connections and the Cache API on the side. */
async function* urlChunks(url, { signal, onSize, cache = true, onEvent = () => {} }) {
  let received = 0;
  let total = 0;
  let etag = null;
  let lastModified = null;
  let res = null;
  const store = cache ? await openCache() : null;

  // 1. a cached copy, verified: stored size (and ETag, when the server can be asked)
  if (store) {
    let hit = null;
    try { hit = await store.match(url); } catch { hit = null; }
    const size = hit ? Number(hit.headers.get('x-edgeq-size')) : 0;
    if (hit && size > 0) {
      let fresh = true;
      const tag = hit.headers.get('etag');
      try {
        const head = await fetch(url, { method: 'HEAD', signal });
        if (head.ok) {
          const len = contentLength(head);
          const t = head.headers.get('etag');
          if ((len && len !== size) || (t && tag && t !== tag)) fresh = false;
        }
      } catch {
        // offline: the cached copy is all there is
        if (signal.aborted) throw abortError(signal, 'loading aborted');
      }
      if (!fresh) {
        try { await store.delete(url); } catch { /* ignore */ }
      } else {
        onEvent({ type: 'cache-hit', url });
        total = size;
        etag = tag;
        onSize(total);
        const reader = hit.body.getReader();
        try {
          for (;;) {
            if (signal.aborted) throw abortError(signal, 'loading aborted');
            let r;
            try { r = await reader.read(); } catch { break; }
            if (r.done) break;
            if (received + r.value.length > total) throw new EdgeqError('FORMAT', `${url}: cached copy is larger than recorded`);
            received += r.value.length;
            yield r.value;
          }
        } finally {
          reader.cancel().catch(() => {});
        }
        if (received === total) return;
        // a short cached copy: drop it and fetch the rest from the network
        try { await store.delete(url); } catch { /* ignore */ }
      }
    }
  }

  // 2. the network, resuming where the stream broke off
  let cacheCtl = null;
  let cacheHeaders = null; // the copy's headers, once the first response was a whole, sized 200
  let probing = false;     // a copy is wanted and the download's own rate is being measured
  let held = [];           // the probe's chunks, for the copy
  let rateT0 = 0, rateB0 = 0;            // the current window: when it began, and bytes received then
  let probeSkip = 0, probeSpan = 0, probeHeld = 0;
  let probeRate = 0;                     // bytes/ms with no writer running
  let rateCost = 0;                      // ms the windows took beyond the probe's rate
  let cachePull = null; // resolves when the cache writer wants more
  let cacheWaited = 0;   // ms the download has spent waiting for the cache writer
  let cacheFailed = false;
  const cacheFailedOnce = () => { if (!cacheFailed) { cacheFailed = true; onEvent({ type: 'cache-failed', url }); } };
  const downloadStart = Date.now();
  const cacheBudget = (now) => Math.min(CACHE_WAIT_MS, CACHE_WAIT_GRACE_MS + CACHE_WAIT_SHARE * (now - downloadStart));
  const stopCaching = () => {
    if (cacheCtl) { try { cacheCtl.error(new Error('caching stopped')); } catch { /* closed */ } }
    cacheCtl = null;
    probing = false;
    held = null;
  };
  let resumes = 0;
  try {
    for (;;) {
      const headers = {};
      if (received > 0) {
        headers.Range = `bytes=${received}-`;
        if (etag) headers['If-Range'] = etag;
        else if (lastModified) headers['If-Range'] = lastModified;
      }
      res = await doFetch(url, { headers, cache: 'no-store' }, signal);
      let skip = 0;
      if (received === 0) {
        if (!res.ok) throw httpError(url, res);
        total = contentLength(res);
        etag = res.headers.get('etag');
        lastModified = res.headers.get('last-modified');
        if (total) onSize(total);
        if (store && total && res.status === 200) {
          cacheHeaders = new Headers({ 'content-type': 'application/octet-stream', 'x-edgeq-size': String(total) });
          if (etag) cacheHeaders.set('etag', etag);
          probing = true;
          probeSkip = Math.min(CACHE_PROBE_SKIP, Math.floor(total / 16));
          probeSpan = Math.min(CACHE_PROBE_SPAN, Math.floor(total / 8));
          probeHeld = Math.min(CACHE_PROBE_HELD, Math.floor(total / 4));
        }
      } else if (res.status === 206) {
        const m = /bytes (\d+)-/.exec(res.headers.get('content-range') || '');
        if (!m || Number(m[1]) !== received) throw new EdgeqError('NETWORK', `${url}: the server resumed at the wrong offset`);
        onEvent({ type: 'resumed', url, offset: received });
      } else if (res.status === 200) {
        const len = contentLength(res);
        const t = res.headers.get('etag');
        if ((total && len && len !== total) || (etag && t && t !== etag)) {
          throw new EdgeqError('NETWORK', `${url}: the file changed on the server while downloading`);
        }
        skip = received; // no range support: read past what we have
        onEvent({ type: 'restarted', url, offset: received });
      } else {
        throw httpError(url, res);
      }
      if (!res.body) throw new EdgeqError('NETWORK', `${url}: empty response body`);
      // Not caching: read into one reused buffer (a BYOB reader), so the download does not leave
      // a trail of chunk buffers for the garbage collector: peak memory stays near the model's
      // size. Each chunk is copied into wasm memory before the next read. Caching keeps the
      // default reader: the cache stream holds on to the chunks it is given.
      let reader = null;
      let spare = null;
      if (!cacheCtl && !probing) {
        try { reader = res.body.getReader({ mode: 'byob' }); spare = new ArrayBuffer(BYOB_CHUNK); } catch { reader = null; }
      }
      if (!reader) reader = res.body.getReader();
      let broke = null;
      // caching costs the load too much: go on as when not caching, with one reused read
      // buffer (no read is pending when this is called)
      const giveUpCaching = () => {
        stopCaching();
        cacheFailedOnce();
        reader.releaseLock();
        try { reader = res.body.getReader({ mode: 'byob' }); spare = new ArrayBuffer(BYOB_CHUNK); } catch { reader = res.body.getReader(); }
      };
      try {
        for (;;) {
          if (signal.aborted) throw abortError(signal, 'loading aborted');
          let r;
          try {
            r = spare ? await reader.read(new Uint8Array(spare)) : await reader.read();
            if (spare && r.value) spare = r.value.buffer; // the same memory, handed back
            else if (spare && r.done) spare = null;
          } catch (e) {
            if (signal.aborted) throw abortError(signal, 'loading aborted');
            broke = e;
            break;
          }
          if (r.done) break;
          let chunk = r.value;
          if (skip) {
            const k = Math.min(skip, chunk.length);
            skip -= k;
            chunk = chunk.subarray(k);
            if (!chunk.length) continue;
          }
          if (total && received + chunk.length > total) {
            throw new EdgeqError('FORMAT', `${url}: the body is longer than its Content-Length`);
          }
          received += chunk.length;
          if (probing) {
            // the probe: the download's rate with no writer running
            const now = Date.now();
            held.push(chunk); // never written to after this: no copy
            if (!rateT0 && received >= probeSkip) { rateT0 = now; rateB0 = received; }
            if ((rateT0 && received - rateB0 >= probeSpan && now - rateT0 >= CACHE_PROBE_MS) || received >= probeHeld || received >= total) {
              probeRate = rateT0 && now > rateT0 ? (received - rateB0) / (now - rateT0) : 0;
              probing = false;
              startCaching();
              for (const c of held) cacheCtl.enqueue(c);
              held = null;
              rateT0 = now; rateB0 = received;
            }
          } else if (cacheCtl) {
            cacheCtl.enqueue(chunk); // never written to after this: no copy
            const now = Date.now();
            if (!rateT0) { rateT0 = now; rateB0 = received; }
            if (received - rateB0 >= probeSpan && now - rateT0 >= CACHE_PROBE_MS) {
              if (probeRate > 0) rateCost += Math.max(0, now - rateT0 - (received - rateB0) / probeRate);
              rateT0 = now; rateB0 = received;
              if (rateCost > cacheBudget(now)) giveUpCaching();
            }
            if (cacheCtl && cacheCtl.desiredSize !== null && cacheCtl.desiredSize <= 0) {
              // the disk is behind the network: wait for it, within the budget, then give up caching
              let timer;
              const t0 = Date.now();
              const budget = cacheBudget(t0);
              const drained = budget > cacheWaited && await Promise.race([
                new Promise((r) => { cachePull = () => r(true); }),
                new Promise((r) => { timer = setTimeout(() => r(false), budget - cacheWaited); }),
              ]);
              clearTimeout(timer);
              cacheWaited += Date.now() - t0;
              cachePull = null;
              if (!drained) giveUpCaching();
            }
          }
          yield chunk;
        }
      } finally {
        reader.cancel().catch(() => {});
      }
      if (!broke && (!total || received >= total)) break; // complete
      if (!broke) broke = new Error(`connection closed at ${received} of ${total} bytes`);
      if (++resumes > MAX_RESUMES) {
        throw new EdgeqError('NETWORK', `${url}: download failed at byte ${received}${total ? ' of ' + total : ''} after ${MAX_RESUMES} resume attempts: ${broke.message || broke}`, { cause: broke });
      }
      stopCachingIfUnknown();
      rateT0 = 0; // the pause is not the download's rate: measure afresh
      await sleep(100 * 2 ** (resumes - 1), signal);
    }
    if (cacheCtl) { cacheCtl.close(); cacheCtl = null; }
  } finally {
    stopCaching();
  }

  function stopCachingIfUnknown() {
    if (!total) stopCaching();
  }

  // the writer of the copy, fed from here on (the probe's chunks first)
  function startCaching() {
    const body = new ReadableStream({
      start(c) { cacheCtl = c; },
      pull() { if (cachePull) { cachePull(); cachePull = null; } },
    }, { highWaterMark: CACHE_BACKLOG, size: (chunk) => chunk.byteLength });
    const w = store.put(url, new Response(body, { headers: cacheHeaders })).then(
      () => onEvent({ type: 'cached', url }),
      () => { cacheCtl = null; cacheFailedOnce(); });
    cacheWrites.add(w);
    w.finally(() => cacheWrites.delete(w));
  }
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(abortError(signal, 'loading aborted')); };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Stream every part into the engine (parts in parallel) and build the model.
 * opts: signal, onProgress({loaded, total}), cache, vocabOnly, onEvent
 */
export async function loadParts(engine, parts, opts = {}) {
  const inner = new AbortController();
  const outer = opts.signal;
  const onOuterAbort = () => inner.abort(outer.reason);
  if (outer) {
    if (outer.aborted) throw abortError(outer, 'loading aborted');
    outer.addEventListener('abort', onOuterAbort, { once: true });
  }
  const signal = inner.signal;
  const n = parts.length;
  const sizes = new Array(n).fill(0);
  const loaded = new Array(n).fill(0);
  let lastReport = 0;
  const report = (force) => {
    if (!opts.onProgress) return;
    const now = Date.now();
    if (!force && now - lastReport < 50) return;
    lastReport = now;
    const total = sizes.every((s) => s > 0) ? sizes.reduce((a, b) => a + b, 0) : 0;
    try { opts.onProgress({ loaded: loaded.reduce((a, b) => a + b, 0), total }); } catch { /* caller's bug */ }
  };
  engine.beginLoad(n, { vocabOnly: !!opts.vocabOnly });
  try {
    await Promise.all(parts.map(async (part, i) => {
      try {
        const it = part.open({
          signal,
          cache: opts.cache !== false,
          onEvent: opts.onEvent,
          onSize: (size) => { sizes[i] = size; engine.setPartSize(i, size); report(true); },
        });
        for await (const chunk of it) {
          if (signal.aborted) throw abortError(outer && outer.aborted ? outer : signal, 'loading aborted');
          engine.feed(i, chunk);
          loaded[i] += chunk.length;
          report(false);
        }
      } catch (e) {
        const err = asEdgeqError(e);
        if (err.code !== 'ABORTED' && !err.message.includes(part.label)) err.message = `${part.label}: ${err.message}`;
        inner.abort(err); // stop the other parts
        throw err;
      }
    }));
    if (signal.aborted) throw abortError(outer && outer.aborted ? outer : signal, 'loading aborted');
    report(true);
    try {
      engine.finishLoad();
    } catch (e) {
      const err = asEdgeqError(e);
      if (n === 1 && !err.message.includes(parts[0].label)) err.message = `${parts[0].label}: ${err.message}`;
      throw err;
    }
  } catch (e) {
    engine.abortLoad();
    // report the first failure, not the aborts it caused in the other parts
    const reason = signal.reason;
    if (outer && outer.aborted) throw abortError(outer, 'loading aborted');
    if (reason instanceof EdgeqError) throw reason;
    throw asEdgeqError(e);
  } finally {
    if (outer) outer.removeEventListener('abort', onOuterAbort);
  }
}
