#!/usr/bin/env python3
"""Load test of the WAGI-style front (tools/wagi_front.py): N concurrent clients for a fixed
time against 127.0.0.1, each sending one streamed chat request after another; the front runs a
fresh instance per request. Loopback only, bounded in time (--seconds, then the requests in
flight finish) and count (--max-requests).

    python bench/edge/loadtest.py --front-args "MODULE.wasm --aot -- serve" [-c 4] [--seconds 30]

(bench/edge/loadtest.sh runs it for the plain module and the snapshot.) Reports requests/s,
p50/p99 time to first token (first SSE event with content) and to completion ([DONE]), errors
(any non-200, malformed stream or connection failure; must be 0), and memory: per instance the
resident pages of its linear memory at the end of its request (wasm memory never shrinks, so
that is its peak), split into those it owns (anonymous: written or copied on write) and clean
image pages shared by every instance through the page cache; and the front process's peak RSS
(VmHWM, reset after the warm-up request so that compiling the module is not counted) with,
sampled every 20 ms, its anonymous and file-backed parts: RSS counts a file page once per
mapping, so N instances of the snapshot count the image N times in RSS while the page cache
holds it once; the anonymous part is the memory they really add.
"""
import argparse
import http.client
import json
import os
import shlex
import statistics
import subprocess
import sys
import threading
import time

ROUTE = "/v1/chat/completions"
REQ = {"messages": [{"role": "user", "content": "What is the capital of France?"}],
       "max_tokens": 16, "temperature": 0, "stream": True}


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def client(port, stop_at, budget, results, lock):
    body = json.dumps(REQ).encode()
    while time.time() < stop_at:
        with lock:
            if budget[0] <= 0:
                return
            budget[0] -= 1
        t0 = time.perf_counter()
        rec = {"ok": False}
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request("POST", ROUTE, body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            buf = b""
            first = None
            while True:
                b = r.read1(65536)
                if not b:
                    break
                if first is None and b'"content":"' in b and b'"content":""' not in b:
                    first = time.perf_counter()
                buf += b
            done = time.perf_counter()
            conn.close()
            ok = r.status == 200 and buf.endswith(b"data: [DONE]\n\n") and first is not None
            rec = {"ok": ok, "status": r.status, "ttft": (first - t0) if first else None, "total": done - t0}
            if not ok:
                rec["body"] = buf[-200:].decode("utf-8", "replace")
        except Exception as e:  # noqa: BLE001
            rec = {"ok": False, "error": str(e)}
        with lock:
            results.append(rec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--front-args", required=True, help="arguments of tools/wagi_front.py")
    ap.add_argument("--label", default="")
    ap.add_argument("-c", "--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--max-requests", type=int, default=500)
    ap.add_argument("--json")
    o = ap.parse_args()
    if not 1 <= o.clients <= 64 or not 0 < o.seconds <= 600:
        ap.error("clients in [1, 64], seconds in (0, 600]")
    front = subprocess.Popen([sys.executable, "tools/wagi_front.py", "--measure-rss"] + shlex.split(o.front_args),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = front.stdout.readline().decode()
        if "listening on" not in line:
            print(f"loadtest: the front did not start: {line!r}", file=sys.stderr)
            return 1
        port = int(line.rsplit(":", 1)[1])
        # one request first, so that the module's load (compile, or mapping the .cwasm) is not
        # counted against the clients
        warm = []
        client(port, time.time() + 60, [1], warm, threading.Lock())
        # the front's peak RSS from here on: the module's compile (first --aot start) is not load
        try:
            with open(f"/proc/{front.pid}/clear_refs", "w") as f:
                f.write("5")   # resets VmHWM (Linux 4.0+)
        except OSError:
            pass
        results, lock, budget = [], threading.Lock(), [o.max_requests]
        peaks = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0}
        sampling = [True]

        def sample():   # the front's memory every 20 ms: RssAnon is what instances own
            while sampling[0]:
                try:
                    for ln in open(f"/proc/{front.pid}/status"):
                        k = ln.split(":", 1)[0]
                        if k in peaks:
                            peaks[k] = max(peaks[k], int(ln.split()[1]))
                except OSError:
                    return
                time.sleep(0.02)
        sampler = threading.Thread(target=sample)
        sampler.start()
        t0 = time.time()
        threads = [threading.Thread(target=client, args=(port, t0 + o.seconds, budget, results, lock))
                   for _ in range(o.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.time() - t0
        sampling[0] = False
        sampler.join()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/.front/stats")
        stats = json.loads(conn.getresponse().read())
        hwm = next((int(ln.split()[1]) for ln in open(f"/proc/{front.pid}/status") if ln.startswith("VmHWM:")), 0)
    finally:
        front.terminate()
        front.wait(10)
    ok = [r for r in results if r["ok"]]
    errors = [r for r in results if not r["ok"]]
    inst = stats["instances"][1:]   # the warm-up's instance left out
    ttft = [r["ttft"] * 1e3 for r in ok]
    total = [r["total"] * 1e3 for r in ok]
    row = {
        "label": o.label, "clients": o.clients, "seconds": round(wall, 1), "requests": len(results),
        "errors": len(errors), "rps": len(ok) / wall,
        "ttft_p50_ms": pct(ttft, 50), "ttft_p99_ms": pct(ttft, 99),
        "total_p50_ms": pct(total, 50), "total_p99_ms": pct(total, 99),
        "instantiate_p50_ms": pct([i["instantiate_ms"] for i in inst], 50),
        "instance_rss_peak_mib": max((i.get("rss_kib", 0) for i in inst), default=0) / 1024,
        "instance_owned_peak_mib": max((i.get("anon_kib", 0) for i in inst), default=0) / 1024,
        "instance_linear_memory_mib": max((i["memory_bytes"] for i in inst), default=0) / 2**20,
        "front_peak_rss_mib": hwm / 1024, "front_peak_anon_mib": peaks["RssAnon"] / 1024,
        "front_peak_file_mib": peaks["RssFile"] / 1024, "front_max_in_flight": stats["max_in_flight"],
        "traps": stats["traps"],
    }
    print(f"{o.label or o.front_args}: {o.clients} clients, {wall:.1f} s: {len(results)} requests, {len(errors)} errors, "
          f"{row['rps']:.2f} req/s; TTFT p50 {row['ttft_p50_ms']:.0f} ms p99 {row['ttft_p99_ms']:.0f} ms; "
          f"completion p50 {row['total_p50_ms']:.0f} ms p99 {row['total_p99_ms']:.0f} ms; instantiate p50 "
          f"{row['instantiate_p50_ms']:.2f} ms; per instance: RSS {row['instance_rss_peak_mib']:.1f} MiB, of it owned "
          f"{row['instance_owned_peak_mib']:.1f} MiB (linear memory {row['instance_linear_memory_mib']:.1f} MiB); "
          f"front peak RSS {row['front_peak_rss_mib']:.0f} MiB (sampled: anonymous {row['front_peak_anon_mib']:.0f} MiB, "
          f"file-backed {row['front_peak_file_mib']:.0f} MiB), {stats['max_in_flight']} in flight at most")
    for e in errors[:5]:
        print(f"  error: {e}")
    if o.json:
        with open(o.json, "w") as f:
            json.dump(row, f, indent=1)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
