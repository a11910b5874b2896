#!/usr/bin/env python3
"""Run a WASI (preview 1) command module under wasmtime, through PyPI's `wasmtime` package
(which embeds the engine), as `wasmtime run` would:

    wasmtime_run.py [--max-memory BYTES] [--dir HOST[::GUEST]] [--env K=V] [--stdin FILE]
                    [--mem-report FILE] [--no-cwd 1] module.wasm [args...]

--max-memory caps linear memory like `wasmtime run -W max-memory-size=BYTES` (memory.grow
fails past it, so malloc returns NULL inside the module). The current directory is
preopened as "." (unless --no-cwd 1: then only --dir ones, or none at all); each --dir
HOST::GUEST adds one (GUEST defaults to HOST). --mem-report writes the final linear-memory size in bytes: wasm
memory never shrinks, so that is the peak. The compiled module is cached next to the .wasm
(<name>.cwasm, rebuilt when the .wasm changes) so repeated runs skip compilation.
Exits with the module's exit status.
"""
import hashlib
import os
import sys

import wasmtime


def main(argv):
    max_mem = None
    dirs, env, stdin, report, cwd = [], [], None, None, True
    i = 0
    while i < len(argv) and argv[i].startswith("--"):
        opt = argv[i]
        val = argv[i + 1] if i + 1 < len(argv) else None
        if val is None:
            sys.exit(f"wasmtime_run: {opt} needs a value")
        if opt == "--max-memory":
            max_mem = int(val)
        elif opt == "--dir":
            dirs.append(val)
        elif opt == "--env":
            env.append(val.split("=", 1))
        elif opt == "--stdin":
            stdin = val
        elif opt == "--mem-report":
            report = val
        elif opt == "--no-cwd":
            cwd = val != "1"
        else:
            sys.exit(f"wasmtime_run: unknown option {opt}")
        i += 2
    if i >= len(argv):
        sys.exit(__doc__)
    wasm, args = argv[i], argv[i + 1:]

    engine = wasmtime.Engine()
    module = load_module(engine, wasm)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    if max_mem is not None:
        store.set_limits(memory_size=max_mem)
    cfg = wasmtime.WasiConfig()
    cfg.argv = [os.path.basename(wasm)] + args
    cfg.env = [(k, v) for k, v in env]
    for d in (["."] if cwd else []) + dirs:
        host, _, guest = d.partition("::")
        cfg.preopen_dir(host, guest or host)
    if stdin is not None:
        cfg.stdin_file = stdin
    else:
        cfg.inherit_stdin()
    cfg.inherit_stdout()
    cfg.inherit_stderr()
    store.set_wasi(cfg)
    instance = linker.instantiate(store, module)
    code = 0
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as e:
        code = e.code
    except wasmtime.Trap as e:
        print(f"wasmtime_run: trap: {e}", file=sys.stderr)
        code = 134
    if report:
        mem = instance.exports(store)["memory"]
        with open(report, "w") as f:
            f.write(f"{mem.data_len(store)}\n")
    sys.stdout.flush()
    return code


def load_module(engine, wasm):
    data = open(wasm, "rb").read()
    digest = hashlib.sha256(data).hexdigest()[:16]
    cache = os.path.splitext(wasm)[0] + ".cwasm"
    stamp = cache + ".sha"
    try:
        if open(stamp).read().strip() == digest:
            return wasmtime.Module.deserialize_file(engine, cache)
    except (OSError, wasmtime.WasmtimeError):
        pass
    module = wasmtime.Module(engine, data)
    try:
        tmp = cache + f".{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(module.serialize())
        os.replace(tmp, cache)
        with open(stamp, "w") as f:
            f.write(digest + "\n")
    except OSError:
        pass
    return module


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
