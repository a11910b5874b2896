#!/usr/bin/env python3
"""Cold start of the edge function: instantiate -> first token -> full response, one fresh
wasmtime instance per request (what an edge platform does), for the plain module (which reads
and parses the GGUF in every instance) and the pre-initialised one (scripts/edge-snapshot.sh),
each loaded two ways: compiled from the .wasm by this process (JIT, memory image in a memfd),
and precompiled (.cwasm from Module.serialize, mapped with deserialize_file: what
`wasmtime compile` + `wasmtime run --allow-precompiled` do; the memory image then maps
straight from the file, copy-on-write).

    python bench/edge/coldstart.py --plain build/wasi/edgeq.wasm --snapshot build/edge/smol.wasm \
        --model MODEL.gguf [--reps 5] [--json OUT]

(bench/edge/coldstart.sh builds what is missing and runs this under $EQ_CACHE/wasi-venv.)
Per variant: the module's load (compile or deserialize: once per host process), then per
request (medians over --reps): instantiate (store + WASI context + instance), model ready
(instantiate -> the answer to a prompt over the context, which needs the model and tokenizer
but no decoding: the start-up cost alone), first token (the first SSE event with content, from
the instance's start), full response ([DONE] written), the instance's linear memory, and the
minor page faults the request took (the host process's: a fresh instance faults in every page
it touches, weights included). The request: one short chat turn, greedy, at most 16 tokens, streamed.
"""
import argparse
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time

import wasmtime

REQ = {"messages": [{"role": "user", "content": "What is the capital of France?"}],
       "max_tokens": 16, "temperature": 0, "stream": True}


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def load(engine, wasm, aot, tmpdir):
    t0 = time.perf_counter()
    if not aot:
        m = wasmtime.Module.from_file(engine, wasm)
        return m, time.perf_counter() - t0, None
    cwasm = os.path.join(tmpdir, os.path.basename(wasm) + ".cwasm")
    if not os.path.exists(cwasm):
        with open(cwasm, "wb") as f:
            f.write(wasmtime.Module.from_file(engine, wasm).serialize())
    t0 = time.perf_counter()
    m = wasmtime.Module.deserialize_file(engine, cwasm)
    return m, time.perf_counter() - t0, os.path.getsize(cwasm)


def ready(engine, pre, argv, dirs, body_path):
    """Instantiate -> an answer that needs the model and its tokenizer but no decoding (a prompt
    over the context: context_length_exceeded): the start-up cost alone, in ms."""
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = argv
    for host, guest in dirs:
        wasi.preopen_dir(host, guest)
    wasi.stdin_file = body_path
    out = bytearray()
    wasi.stdout_custom = out.extend
    store.set_wasi(wasi)
    t0 = time.perf_counter()
    inst = pre.instantiate(store)
    try:
        inst.exports(store)["_start"](store)
    except wasmtime.ExitTrap:
        pass
    t1 = time.perf_counter()
    if b"context_length_exceeded" not in out:
        raise RuntimeError(f"expected context_length_exceeded: {bytes(out[:300])!r}")
    return (t1 - t0) * 1e3


def one(engine, pre, argv, dirs, body_path):
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = argv
    for host, guest in dirs:
        wasi.preopen_dir(host, guest)
    wasi.stdin_file = body_path
    marks = {}
    buf = bytearray()

    def out(b):
        now = time.perf_counter()
        buf.extend(b)
        if "first" not in marks and b'"content":"' in b and b'"content":""' not in b:
            marks["first"] = now
        if b"data: [DONE]" in b:
            marks["done"] = now
    wasi.stdout_custom = out
    wasi.inherit_stderr()
    store.set_wasi(wasi)
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t0 = time.perf_counter()
    inst = pre.instantiate(store)
    t1 = time.perf_counter()
    try:
        inst.exports(store)["_start"](store)
    except wasmtime.ExitTrap as e:
        if e.code:
            raise RuntimeError(f"exit {e.code}: {bytes(buf[:300])!r}")
    t2 = time.perf_counter()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
    if "first" not in marks or "done" not in marks:
        raise RuntimeError(f"no streamed completion: {bytes(buf[:300])!r}")
    mem = inst.exports(store)["memory"].data_len(store)
    return {"instantiate_ms": (t1 - t0) * 1e3, "first_token_ms": (marks["first"] - t0) * 1e3,
            "full_ms": (marks["done"] - t0) * 1e3, "exit_ms": (t2 - t0) * 1e3, "memory_mib": mem / 2**20,
            "page_faults": faults, "text": bytes(buf)}


def content(sse):
    """The streamed completion's text."""
    text = ""
    for block in sse.decode().split("\n\n"):
        if block.startswith("data: {"):
            for c in json.loads(block[6:])["choices"]:
                text += c["delta"].get("content") or ""
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plain", required=True)
    ap.add_argument("--snapshot", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--ctx", default="512")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json")
    o = ap.parse_args()
    tmpdir = tempfile.mkdtemp(prefix="eq-coldstart-")
    body = os.path.join(tmpdir, "request.json")
    with open(body, "w") as f:
        json.dump(REQ, f)
    long_body = os.path.join(tmpdir, "too-long.json")
    with open(long_body, "w") as f:
        json.dump({"messages": [{"role": "user", "content": "word " * 4 * int(o.ctx)}], "max_tokens": 1}, f)
    mdir = os.path.dirname(os.path.abspath(o.model))
    variants = [
        ("plain", o.plain, ["edgeq.wasm", "serve", "-m", "/m/" + os.path.basename(o.model), "-c", o.ctx], [(mdir, "/m")]),
        ("snapshot", o.snapshot, ["edgeq.wasm", "serve"], []),
    ]
    print(f"cold start, at most {REQ['max_tokens']} tokens greedy, streamed; CPU: {cpu_name()} ({os.cpu_count()} CPUs); "
          f"wasmtime-py {importlib.metadata.version('wasmtime')}; medians of {o.reps}")
    print(f"{'module':9} {'load':9} {'module load':>12} {'instantiate':>12} {'model ready':>12} {'first token':>12} {'full':>9} {'memory':>9} {'faults':>8}")
    rows, texts = [], set()
    for name, wasm, argv, dirs in variants:
        for aot in (False, True):
            engine = wasmtime.Engine()   # a fresh engine per variant: nothing cached between them
            module, load_s, cw = load(engine, wasm, aot, tmpdir)
            linker = wasmtime.Linker(engine)
            linker.define_wasi()
            pre = linker.instantiate_pre(module)
            runs = [one(engine, pre, argv, dirs, body) for _ in range(o.reps)]
            texts.update(content(r["text"]) for r in runs)
            med = {k: statistics.median(r[k] for r in runs) for k in ("instantiate_ms", "first_token_ms", "full_ms", "memory_mib", "page_faults")}
            med["ready_ms"] = statistics.median(ready(engine, pre, argv, dirs, long_body) for _ in range(o.reps))
            row = {"module": name, "aot": aot, "module_load_ms": load_s * 1e3, "wasm_mib": os.path.getsize(wasm) / 2**20,
                   "cwasm_mib": cw / 2**20 if cw else None, **med,
                   "first_token_ms_all": [round(r["first_token_ms"], 1) for r in runs]}
            rows.append(row)
            print(f"{name:9} {'.cwasm' if aot else 'compile':9} {load_s * 1e3:10.1f}ms {med['instantiate_ms']:10.2f}ms {med['ready_ms']:10.1f}ms "
                  f"{med['first_token_ms']:10.1f}ms {med['full_ms']:7.1f}ms {med['memory_mib']:6.1f}MiB {med['page_faults']:8.0f}")
    if len(texts) != 1:
        print(f"coldstart: the variants' answers differ: {texts}", file=sys.stderr)
        return 1
    print(f"answer (every variant): {texts.pop()!r}")
    if o.json:
        with open(o.json, "w") as f:
            json.dump({"cpu": cpu_name(), "cpus": os.cpu_count(), "request": REQ, "rows": rows}, f, indent=1)
    for f in os.listdir(tmpdir):
        os.remove(os.path.join(tmpdir, f))
    os.rmdir(tmpdir)


if __name__ == "__main__":
    sys.exit(main())
