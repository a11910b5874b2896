#!/usr/bin/env python3
"""A small WAGI-style HTTP front for a WASI command module: one fresh wasmtime instance per
request, the request body on its stdin, CGI variables in its environment, and its stdout read
as a CGI response (headers, a blank line, the body) streamed to the client as it is written, so
server-sent events leave one by one. What Spin's WAGI executor does (see wasm/wasi/README.md
for the matching spin.toml), small enough to test against and to load-test.

    python tools/wagi_front.py [options] MODULE.wasm [-- ARGS...]

  --port N            port on 127.0.0.1 (0: any free one; the one taken is printed)
  --route PATH        the route served (default /v1/chat/completions); other paths get 404
  --dir HOST::GUEST   preopen HOST as GUEST for every instance (repeatable; none by default)
  --env K=V           an environment variable for every instance (repeatable)
  --max-memory BYTES  each instance's linear-memory cap (memory.grow fails past it)
  --aot               load the module precompiled: MODULE.cwasm beside it, made once
                      (Module.serialize) and mapped on later starts (deserialize_file)
  --measure-rss       after each request, count the resident pages of the instance's linear
                      memory (/proc/self/smaps: all, and the anonymous ones it owns)
ARGS after "--" follow the module name in argv (WAGI's `argv = "${SCRIPT_NAME} ARGS"`).

Prints "listening on http://127.0.0.1:PORT" once ready. GET /.front/stats (outside the route)
answers the front's counters as JSON: requests, traps, per-instance timings and memory.
The instance runs in the request's thread (wasmtime runs wasm without holding Python's GIL).
A trap or a failed exit before any output is answered 500; after output, the connection
closes. Needs PyPI's `wasmtime` (tests/wasi/run.sh installs it in $EQ_CACHE/wasi-venv).
"""
import argparse
import hashlib
import http.server
import json
import os
import resource
import socketserver
import sys
import tempfile
import threading
import time

import wasmtime

STATS_PATH = "/.front/stats"


def load_module(engine, path, aot):
    """The module, compiled here or (aot) deserialized from PATH.cwasm, rebuilt when stale."""
    if not aot:
        return wasmtime.Module.from_file(engine, path)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    digest = h.hexdigest()[:16]
    cwasm = os.path.splitext(path)[0] + ".cwasm"
    stamp = cwasm + ".sha"
    try:
        if open(stamp).read().strip() == digest:
            return wasmtime.Module.deserialize_file(engine, cwasm)
    except (OSError, wasmtime.WasmtimeError):
        pass
    module = wasmtime.Module.from_file(engine, path)
    tmp = f"{cwasm}.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(module.serialize())
    os.replace(tmp, cwasm)
    with open(stamp, "w") as f:
        f.write(digest + "\n")
    return wasmtime.Module.deserialize_file(engine, cwasm)   # mapped, as later starts see it


def resident_kib(lo, hi):
    """Rss and Anonymous of the mappings within [lo, hi), in KiB: resident pages, and those of
    them the instance owns (written, or copied on write from the image); the rest are clean
    pages of the module's memory image, shared through the page cache by every instance."""
    rss = anon = 0
    inside = False
    with open("/proc/self/smaps") as f:
        for line in f:
            if "-" in line.split(" ", 1)[0] and not line.endswith("kB\n"):
                a, b = (int(x, 16) for x in line.split(" ", 1)[0].split("-"))
                inside = a < hi and b > lo
                continue
            if not inside:
                continue
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
            elif line.startswith("Anonymous:"):
                anon += int(line.split()[1])
    return rss, anon


class CgiOut:
    """The instance's stdout: CGI headers parsed, then the body passed through as written."""

    def __init__(self, handler):
        self.h = handler
        self.buf = b""
        self.sent_head = False
        self.t_first_body = None
        self.broken = False
        self.bad_head = None   # why the module's headers were refused

    def write(self, data):
        if self.broken:
            return len(data)   # the client left; let the instance finish quietly
        try:
            if self.sent_head:
                self.body(data)
                return len(data)
            self.buf += data
            if len(self.buf) > 65536 and b"\n\n" not in self.buf and b"\r\n\r\n" not in self.buf:
                raise ValueError("CGI headers over 64 KiB")
            end = self.buf.find(b"\n\n")
            sep = 2
            alt = self.buf.find(b"\r\n\r\n")
            if alt >= 0 and (end < 0 or alt < end):
                end, sep = alt, 4
            if end < 0:
                return len(data)
            head, rest = self.buf[:end], self.buf[end + sep:]
            self.buf = b""
            self.head(head.decode("latin-1"))
            if rest:
                self.body(rest)
        except ValueError as e:   # not a CGI response: nothing was sent yet
            self.broken, self.bad_head = True, str(e)
        except OSError:
            self.broken = True
        return len(data)

    def head(self, text):
        status, reason, headers = 200, "OK", []
        for line in text.replace("\r\n", "\n").split("\n"):
            name, colon, value = line.partition(":")
            name, value = name.strip(), value.strip()
            if not colon or not name or any(c in name for c in " \t()<>@,;\\\"/[]?={}"):
                raise ValueError(f"not a header line: {line[:60]!r}")
            if name.lower() == "status":
                code, _, reason = value.partition(" ")
                if not (code.isdigit() and len(code) == 3 and 100 <= int(code) <= 599):
                    raise ValueError(f"bad Status {value[:40]!r}")
                status = int(code)
            else:
                headers.append((name, value))
        self.h.send_response(status, reason or None)
        for name, value in headers:
            self.h.send_header(name, value)
        self.h.send_header("Connection", "close")
        self.h.end_headers()
        self.sent_head = True

    def body(self, data):
        if self.t_first_body is None:
            self.t_first_body = time.perf_counter()
        self.h.wfile.write(data)
        self.h.wfile.flush()


class Front:
    def __init__(self, opts):
        self.opts = opts
        cfg = wasmtime.Config()
        self.engine = wasmtime.Engine(cfg)
        t0 = time.perf_counter()
        self.module = load_module(self.engine, opts.module, opts.aot)
        self.load_s = time.perf_counter() - t0
        linker = wasmtime.Linker(self.engine)
        linker.define_wasi()
        self.pre = linker.instantiate_pre(self.module)
        self.lock = threading.Lock()
        self.stats = {"requests": 0, "traps": 0, "exit_failures": 0, "in_flight": 0, "max_in_flight": 0,
                      "instances": []}

    def run(self, handler, body):
        """One request: a fresh store and instance; returns the per-instance record."""
        o = self.opts
        store = wasmtime.Store(self.engine)
        if o.max_memory:
            store.set_limits(memory_size=o.max_memory)
        wasi = wasmtime.WasiConfig()
        wasi.argv = [os.path.basename(o.module)] + o.args
        env = dict(kv.split("=", 1) for kv in o.env)
        path, _, query = handler.path.partition("?")
        env.update({
            "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": handler.request_version,
            "SERVER_SOFTWARE": "edgeq-wagi-front", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(handler.server.server_address[1]), "REQUEST_METHOD": handler.command,
            "SCRIPT_NAME": o.route, "PATH_INFO": path[len(o.route):], "QUERY_STRING": query,
            "REMOTE_ADDR": handler.client_address[0], "CONTENT_LENGTH": str(len(body)),
            "X_MATCHED_ROUTE": o.route, "X_FULL_URL": f"http://127.0.0.1:{handler.server.server_address[1]}{handler.path}",
        })
        if handler.headers.get("Content-Type"):
            env["CONTENT_TYPE"] = handler.headers["Content-Type"]
        for k, v in handler.headers.items():
            if k.lower() not in ("content-type", "content-length"):
                env["HTTP_" + k.upper().replace("-", "_")] = v
        wasi.env = list(env.items())
        for d in o.dir:
            host, _, guest = d.partition("::")
            wasi.preopen_dir(host, guest or host)
        fd, stdin_path = tempfile.mkstemp(prefix="wagi-body-")
        try:
            os.write(fd, body)
            os.close(fd)
            wasi.stdin_file = stdin_path
            out = CgiOut(handler)
            wasi.stdout_custom = out.write
            wasi.inherit_stderr()
            store.set_wasi(wasi)
            t0 = time.perf_counter()
            inst = self.pre.instantiate(store)
            t1 = time.perf_counter()
            code, trap = 0, None
            try:
                inst.exports(store)["_start"](store)
            except wasmtime.ExitTrap as e:
                code = e.code
            except wasmtime.Trap as e:
                trap = str(e).split("\n")[0]
            t2 = time.perf_counter()
        finally:
            os.unlink(stdin_path)
        mem = inst.exports(store)["memory"]
        rec = {"instantiate_ms": (t1 - t0) * 1e3, "first_body_ms": None if out.t_first_body is None else (out.t_first_body - t1) * 1e3,
               "run_ms": (t2 - t1) * 1e3, "exit": code, "trap": trap, "memory_bytes": mem.data_len(store)}
        if o.measure_rss:
            base = __import__("ctypes").addressof(mem.data_ptr(store).contents)
            rec["rss_kib"], rec["anon_kib"] = resident_kib(base, base + mem.data_len(store))
        if not out.sent_head and (out.bad_head or not out.broken):
            # no CGI response came out: the host's own error, as WAGI answers a failed module
            # (502 when the module wrote headers that are not CGI's)
            if out.bad_head:
                status, msg = 502, f"the module's CGI headers are malformed: {out.bad_head}"
            else:
                status, msg = 500, f"the module {'trapped: ' + trap if trap else 'exited with status %d' % code} before responding"
            payload = json.dumps({"error": {"message": msg, "type": "server_error", "param": None, "code": "module_failed"}}).encode()
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(payload)
        return rec


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # but every response closes: the body runs until then
    server_version = "edgeq-wagi-front"

    def log_message(self, fmt, *args):
        if self.server.front.opts.verbose:
            sys.stderr.write("wagi_front: " + fmt % args + "\n")

    def handle_any(self):
        front = self.server.front
        self.close_connection = True
        path = self.path.partition("?")[0]
        if path == STATS_PATH and self.command == "GET":
            with front.lock:
                s = dict(front.stats)
                s["instances"] = list(s["instances"])
            ru = resource.getrusage(resource.RUSAGE_SELF)
            s["process_peak_rss_kib"] = ru.ru_maxrss
            s["module_load_s"] = front.load_s
            return self.reply(200, s)
        if path != front.opts.route and not path.startswith(front.opts.route + "/"):
            return self.reply(404, {"error": {"message": f"No route {path}", "type": "invalid_request_error", "param": None, "code": "not_found"}})
        n = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            return self.reply(411, {"error": {"message": "Send a Content-Length, not a chunked body.", "type": "invalid_request_error", "param": None, "code": "length_required"}})
        try:
            n = int(n or "0")
            if n < 0 or n > front.opts.max_body:
                raise ValueError
        except ValueError:
            return self.reply(413, {"error": {"message": "Bad or too large Content-Length.", "type": "invalid_request_error", "param": None, "code": "request_too_large"}})
        body = self.rfile.read(n)
        with front.lock:
            front.stats["requests"] += 1
            front.stats["in_flight"] += 1
            front.stats["max_in_flight"] = max(front.stats["max_in_flight"], front.stats["in_flight"])
        try:
            rec = front.run(self, body)
        finally:
            with front.lock:
                front.stats["in_flight"] -= 1
        with front.lock:
            if rec["trap"]:
                front.stats["traps"] += 1
            elif rec["exit"]:
                front.stats["exit_failures"] += 1
            front.stats["instances"].append(rec)
            del front.stats["instances"][:-10000]

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any

    def reply(self, status, obj):
        payload = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main(argv):
    if "--" in argv:
        i = argv.index("--")
        argv, args = argv[:i], argv[i + 1:]
    else:
        args = []
    p = argparse.ArgumentParser(description="WAGI-style front: one wasmtime instance per request")
    p.add_argument("module")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--route", default="/v1/chat/completions")
    p.add_argument("--dir", action="append", default=[])
    p.add_argument("--env", action="append", default=[])
    p.add_argument("--max-memory", type=int, default=0)
    p.add_argument("--max-body", type=int, default=2 << 20)
    p.add_argument("--aot", action="store_true")
    p.add_argument("--measure-rss", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true")
    opts = p.parse_args(argv)
    opts.args = args
    for kv in opts.env:
        if "=" not in kv:
            p.error(f"--env {kv}: expected K=V")
    front = Front(opts)
    srv = Server(("127.0.0.1", opts.port), Handler)
    srv.front = front
    print(f"listening on http://127.0.0.1:{srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
