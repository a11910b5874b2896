#!/usr/bin/env python3
"""Round trip: a file edgeq quantized, run greedily by llama.cpp (llama_oracle) and by edgeq.
Pass when the generated texts are identical. When they differ, the step where they part is
found (the oracle's tokens whose text edgeq's output still starts with); if llama.cpp's own
top-1 margin there is within what the two engines' logits differ by anyway on this file
(TIE_FACTOR x the largest difference of their last-prompt-position logits), the texts are
decided by float rounding in the inference, not by the file, and the case is a skip;
otherwise it fails. Usage: roundtrip.py EDGEQ ORACLE MODEL [-n 16] [--tie-factor F]. Last line:
PASS, SKIP or FAIL."""
import os, subprocess, sys, tempfile

import numpy as np

TIE_FACTOR = 2.0
PROMPT = "The capital of France is"


def main():
    edgeq, oracle, model = sys.argv[1:4]
    opts = dict(zip(sys.argv[4::2], sys.argv[5::2]))
    n = int(opts.get("-n", 16))
    tie_factor = float(opts.get("--tie-factor", TIE_FACTOR))
    with tempfile.TemporaryDirectory() as tmp:
        steps_p, ids_p = os.path.join(tmp, "steps"), os.path.join(tmp, "ids")
        lo_p, le_p = os.path.join(tmp, "o.logits"), os.path.join(tmp, "e.logits")
        r = subprocess.run([oracle, "generate", model, PROMPT, "-n", str(n), "-t", "1", "--step-logits-out", steps_p,
                            "--ids-out", ids_p, "--quiet-ids", "--logits-out", lo_p], capture_output=True)
        if r.returncode:
            print("oracle failed:", r.stderr.decode(errors="replace")[-300:]); print("FAIL"); return 1
        want = r.stdout
        e = subprocess.run([edgeq, "run", "-m", model, "-p", PROMPT, "-n", str(n), "--temp", "0", "-t", "1",
                            "--logits-out", le_p], capture_output=True)
        if e.returncode:
            print("edgeq failed:", e.stderr.decode(errors="replace")[-300:]); print("FAIL"); return 1
        got = e.stdout
        gen = []
        for line in open(ids_p):
            k, _, v = line.partition(":")
            if k == "gen":
                gen = [int(x) for x in v.split()]

        def detok(ids):
            # without special tokens: edgeq run prints none (llama_oracle renders e.g. "[PAD32050]")
            if not ids:
                return b""
            return subprocess.run([oracle, "detokenize", model] + [str(t) for t in ids] + ["--no-special"],
                                  capture_output=True).stdout

        if got == want or got == detok(gen):
            print(f"same {n} greedy tokens: {want.decode(errors='replace')!r}"); print("PASS"); return 0
        lo, le = np.fromfile(lo_p, dtype=np.float32), np.fromfile(le_p, dtype=np.float32)
        # one row of logits per greedy step, the vocabulary wide (the prompt's logits say how wide);
        # a run that stopped at an end-of-generation token has one row more than it has tokens:
        # the step that chose to stop
        n_vocab = lo.size
        steps = np.fromfile(steps_p, dtype=np.float32)
        if not n_vocab or steps.size % n_vocab or steps.size // n_vocab not in (len(gen), len(gen) + 1):
            print(f"oracle's step logits: {steps.size} values for {len(gen)} tokens of {n_vocab}"); print("FAIL")
            return 1
        steps = steps.reshape(-1, n_vocab)
        # the step where the texts part: the longest run of oracle tokens whose text edgeq's starts with
        k = 0
        for i in range(1, len(gen) + 1):
            if got.startswith(detok(gen[:i])):
                k = i
            else:
                break
        k = min(k, len(steps) - 1)
        s = steps[k]
        top2 = np.sort(s)[-2:]
        gap = float(top2[1] - top2[0])
        delta = float(np.abs(lo - le).max()) if lo.size == le.size else float("inf")
        tie = gap < tie_factor * delta
        print(f"llama.cpp: {want.decode(errors='replace')!r}")
        print(f"edgeq:     {got.decode(errors='replace')!r}")
        stop = " (llama.cpp stops there)" if k == len(gen) else ""
        print(f"texts part at step {k}{stop}: llama.cpp's top-1 margin {gap:.4f}; the engines' prompt logits differ by "
              f"up to {delta:.4f} (std {lo.std():.3f})")
        print("SKIP" if tie else "FAIL")
        return 0 if tie else 1


if __name__ == "__main__":
    sys.exit(main())
