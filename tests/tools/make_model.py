#!/usr/bin/env python3
"""make_model.py — write a small random-weight GGUF model for edgeq conformance tests.

    make_model.py --arch llama|phi3|qwen2|gemma3 --vocab $EQ_CACHE/oracle/llama.cpp/models/ggml-vocab-X.gguf \
                  --type F32|F16|BF16|Q4_0|Q4_1|Q5_0|Q5_1|Q8_0|Q2_K|Q3_K|Q4_K|Q5_K|Q6_K --out FILE \
                  [--seed S] [--n-layer 2] [--n-embd 256] [--n-ff 512] [--n-head 4] [--n-head-kv 2] \
                  [--ctx 512] [--tied] [--n-rot R] [--longrope] [--swa N] [--rope-base B] [--norm-eps E]

Tensor names/shapes/metadata follow llama.cpp's convert_hf_to_gguf.py for each arch:
  llama : token_embd, blk.N.{attn_norm,attn_q,attn_k,attn_v,attn_output,ffn_norm,ffn_gate,ffn_up,ffn_down},
          output_norm, output (omitted with --tied). rope: NORM (interleaved pairs).
  qwen2 : as llama + blk.N.attn_{q,k,v}.bias (F32). rope: NEOX.
  phi3  : blk.N.attn_qkv (q|k|v rows fused), blk.N.ffn_up fused (gate rows then up rows, 2*n_ff),
          no ffn_gate; phi3.rope.scaling.original_context_length, phi3.attention.sliding_window (0 unless
          --swa; NOTE llama.cpp ignores SWA for phi3), --longrope adds rope_factors_long/short.weight
          (F32, n_rot/2) and phi3.rope.scaling.attn_factor; phi3.context_length = 4*ctx then, with
          original_context_length = ctx (llama.cpp picks the LONG factors when the runtime n_ctx >
          original_context_length, SHORT otherwise). rope: NEOX; partial rotary with --n-rot.
  gemma3: as llama + blk.N.{attn_q_norm,attn_k_norm} (head_dim), blk.N.{post_attention_norm,post_ffw_norm};
          gemma3.attention.{key,value}_length, gemma3.attention.sliding_window (--swa, default 512) with the
          default pattern (every 6th layer global). rope: NEOX. (Gemma ties its output; --tied here gives degenerate text)
All 1-D tensors (norms, biases, rope factors) are F32; every 2-D weight (token_embd and output included)
gets --type, quantized with ggml's own ggml_quantize_chunk (ctypes into the prebuilt libggml-base.so;
no imatrix). Needs tests/oracle/setup.sh to have run (gguf-py + libggml-base.so under $EQ_CACHE/oracle;
EQ_CACHE defaults to ${XDG_CACHE_HOME:-~/.cache}/edgeq).
All tokenizer.* metadata is copied from the vocab file.

Weights: N(0, 1/fan_in) matrices, norms 1+N(0,0.1^2)-ish, biases N(0,0.1^2); token_embd N(0,1).
Structure so that greedy text is not degenerate and top-1 margins are usually clear:
the output matrix is  out[v] = a * emb[perm(v)]/sqrt(n_embd) + b * noise,  i.e. each token "predicts"
a fixed other token (a random permutation), which the attention/FFN mix then perturbs.
"""
import argparse
import ctypes
import glob
import hashlib
import math
import os
import sys
from pathlib import Path

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
EQ_CACHE = os.environ.get("EQ_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "edgeq")
ORACLE = os.path.join(EQ_CACHE, "oracle")

sys.path.insert(0, os.environ.get("EQ_GGUF_PY", os.path.join(ORACLE, "llama.cpp", "gguf-py")))
try:
    import gguf  # noqa: E402
except ImportError as e:
    sys.exit(f"make_model.py: cannot import gguf-py ({e}); run tests/oracle/setup.sh first")
sys.path.insert(0, HERE)
import gguf_kv  # noqa: E402

TYPES = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]
FTYPE = {
    "F32": gguf.LlamaFileType.ALL_F32, "F16": gguf.LlamaFileType.MOSTLY_F16, "BF16": gguf.LlamaFileType.MOSTLY_BF16,
    "Q4_0": gguf.LlamaFileType.MOSTLY_Q4_0, "Q4_1": gguf.LlamaFileType.MOSTLY_Q4_1,
    "Q5_0": gguf.LlamaFileType.MOSTLY_Q5_0, "Q5_1": gguf.LlamaFileType.MOSTLY_Q5_1,
    "Q8_0": gguf.LlamaFileType.MOSTLY_Q8_0, "Q2_K": gguf.LlamaFileType.MOSTLY_Q2_K,
    "Q3_K": gguf.LlamaFileType.MOSTLY_Q3_K_M, "Q4_K": gguf.LlamaFileType.MOSTLY_Q4_K_M,
    "Q5_K": gguf.LlamaFileType.MOSTLY_Q5_K_M, "Q6_K": gguf.LlamaFileType.MOSTLY_Q6_K,
}
ARCH = {"llama": gguf.MODEL_ARCH.LLAMA, "phi3": gguf.MODEL_ARCH.PHI3, "qwen2": gguf.MODEL_ARCH.QWEN2,
        "gemma3": gguf.MODEL_ARCH.GEMMA3}


# ----------------------------------------------------------------------------- ggml quantization
_ggml = None


def ggml_lib():
    global _ggml
    if _ggml is not None:
        return _ggml
    cands = []
    if os.environ.get("EQ_LLAMA_LIBDIR"):
        cands.append(os.path.join(os.environ["EQ_LLAMA_LIBDIR"], "libggml-base.so"))
    cands += sorted(glob.glob(os.path.join(ORACLE, "node_modules", "@node-llama-cpp", "linux-*", "bins", "*",
                                           "libggml-base.so")))
    for c in cands:
        if os.path.exists(c):
            lib = ctypes.CDLL(c)
            lib.ggml_quantize_chunk.restype = ctypes.c_size_t
            lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                                ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
            lib.ggml_row_size.restype = ctypes.c_size_t
            lib.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]
            lib.ggml_blck_size.restype = ctypes.c_int64
            lib.ggml_blck_size.argtypes = [ctypes.c_int]
            _ggml = lib
            return lib
    sys.exit("make_model.py: libggml-base.so not found; run tests/oracle/setup.sh (or set EQ_LLAMA_LIBDIR)")


def quantize(w: np.ndarray, qtype: str):
    """w: float32 (rows, n_per_row). Returns (array, raw_dtype) for GGUFWriter.add_tensor."""
    w = np.ascontiguousarray(w, dtype=np.float32)
    if qtype == "F32":
        return w, None
    t = gguf.GGMLQuantizationType[qtype]
    lib = ggml_lib()
    rows, n = w.shape
    blk = lib.ggml_blck_size(int(t))
    if n % blk != 0:
        sys.exit(f"make_model.py: row length {n} is not a multiple of the {qtype} block size {blk} "
                 f"(use n_embd / n_ff multiples of 256 for K-quants)")
    rs = lib.ggml_row_size(int(t), n)
    out = np.zeros((rows, rs), dtype=np.uint8)
    got = lib.ggml_quantize_chunk(int(t), w.ctypes.data, out.ctypes.data, 0, rows, n, None)
    assert got == rows * rs, (got, rows, rs)
    return out, t


# ----------------------------------------------------------------------------- model
def build(args):
    rng = np.random.default_rng(args.seed)
    tok_fields = {k: v for k, v in gguf_kv.read_kv(args.vocab).items() if k.startswith("tokenizer.")}
    if "tokenizer.ggml.tokens" not in tok_fields:
        sys.exit(f"make_model.py: {args.vocab} has no tokenizer.ggml.tokens")
    n_vocab = len(tok_fields["tokenizer.ggml.tokens"][1])

    E, F, L = args.n_embd, args.n_ff, args.n_layer
    H, HKV = args.n_head, args.n_head_kv
    if E % H:
        sys.exit("n_embd must be divisible by n_head")
    if H % HKV:
        sys.exit("n_head must be divisible by n_head_kv")
    D = E // H
    n_rot = args.n_rot if args.n_rot else D
    if n_rot > D or n_rot % 2:
        sys.exit("--n-rot must be even and <= head_dim")
    if args.arch != "phi3" and (args.n_rot and args.n_rot != D):
        sys.exit("--n-rot (partial rotary) is only supported for phi3 here")
    if args.arch not in ("phi3", "gemma3") and args.swa:
        sys.exit("--swa is a phi3/gemma3 option")
    if args.arch != "phi3" and args.longrope:
        sys.exit("--longrope is a phi3 option")
    EKV = HKV * D

    arch = args.arch
    w = gguf.GGUFWriter(None, arch)  # writes general.architecture
    name = f"edgeq-random-{arch}-{args.type}-s{args.seed}"
    w.add_name(name)
    w.add_type("model")

    ctx_len = args.ctx * 4 if args.longrope else args.ctx
    w.add_context_length(ctx_len)
    w.add_embedding_length(E)
    w.add_feed_forward_length(F)
    w.add_block_count(L)
    w.add_head_count(H)
    w.add_head_count_kv(HKV)
    w.add_layer_norm_rms_eps(args.norm_eps)
    w.add_rope_dimension_count(n_rot)
    rope_base = args.rope_base if args.rope_base else {"llama": 10000.0, "qwen2": 1000000.0, "phi3": 10000.0, "gemma3": 1000000.0}[arch]
    w.add_rope_freq_base(rope_base)
    if arch == "llama":
        w.add_vocab_size(n_vocab)
    if arch == "phi3":
        w.add_rope_scaling_orig_ctx_len(args.ctx)
        w.add_sliding_window(args.swa or 0)
    if arch == "gemma3":
        # heads key_length wide; every 6th layer global (the default pattern), the others
        # attend to the last --swa positions with their own rope base (10000)
        w.add_key_length(D)
        w.add_value_length(D)
        w.add_sliding_window(args.swa or 512)
    w.add_file_type(FTYPE[args.type])
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    # tokenizer metadata, copied verbatim (types preserved)
    # (gguf-py's GGUFReader takes ~45 s on a 150k vocab, so gguf_kv.py reads it; strings stay raw bytes)
    for k, (vt, v, st) in tok_fields.items():
        vt = gguf.GGUFValueType(vt)
        if vt == gguf.GGUFValueType.ARRAY:
            w.add_key_value(k, v.tolist() if isinstance(v, np.ndarray) else v, vt, sub_type=gguf.GGUFValueType(st))
        else:
            w.add_key_value(k, v, vt)

    def mat(rows, cols, std=None):
        std = (1.0 / math.sqrt(cols)) if std is None else std
        return (rng.standard_normal((rows, cols), dtype=np.float32) * np.float32(std)).astype(np.float32)

    def norm_w(n):
        return (1.0 + 0.1 * rng.standard_normal(n, dtype=np.float32)).astype(np.float32)

    def add(name, arr):
        if arr.ndim == 1:
            w.add_tensor(name, arr.astype(np.float32))
        else:
            a, rt = quantize(arr, args.type)
            w.add_tensor(name, a, raw_dtype=rt)

    emb = rng.standard_normal((n_vocab, E), dtype=np.float32)
    add("token_embd.weight", emb)

    for i in range(L):
        p = f"blk.{i}."
        add(p + "attn_norm.weight", norm_w(E))
        # q/k a bit larger than 1/sqrt(fan_in) so attention is not uniform
        wq, wk, wv = mat(E, E, 2.0 / math.sqrt(E)), mat(EKV, E, 2.0 / math.sqrt(E)), mat(EKV, E)
        if arch == "phi3":
            add(p + "attn_qkv.weight", np.concatenate([wq, wk, wv], axis=0))
        else:
            add(p + "attn_q.weight", wq)
            add(p + "attn_k.weight", wk)
            add(p + "attn_v.weight", wv)
        if arch == "qwen2":
            add(p + "attn_q.bias", 0.1 * rng.standard_normal(E, dtype=np.float32))
            add(p + "attn_k.bias", 0.1 * rng.standard_normal(EKV, dtype=np.float32))
            add(p + "attn_v.bias", 0.1 * rng.standard_normal(EKV, dtype=np.float32))
        if arch == "gemma3":
            add(p + "attn_q_norm.weight", norm_w(D))
            add(p + "attn_k_norm.weight", norm_w(D))
        add(p + "attn_output.weight", mat(E, E))
        if arch == "gemma3":
            add(p + "post_attention_norm.weight", norm_w(E))
        add(p + "ffn_norm.weight", norm_w(E))
        wg, wu = mat(F, E, 2.0 / math.sqrt(E)), mat(F, E)
        if arch == "phi3":
            add(p + "ffn_up.weight", np.concatenate([wg, wu], axis=0))
        else:
            add(p + "ffn_gate.weight", wg)
            add(p + "ffn_up.weight", wu)
        add(p + "ffn_down.weight", mat(E, F, 2.0 / math.sqrt(F)))
        if arch == "gemma3":
            add(p + "post_ffw_norm.weight", norm_w(E))

    add("output_norm.weight", norm_w(E))
    if not args.tied:
        perm = rng.permutation(n_vocab)
        out = args.logit_struct * emb[perm] / np.float32(math.sqrt(E)) + mat(n_vocab, E, args.logit_noise / math.sqrt(E))
        add("output.weight", out.astype(np.float32))

    if arch == "phi3" and args.longrope:
        half = n_rot // 2
        x = np.arange(half, dtype=np.float32) / max(half - 1, 1)
        short = (1.0 + 0.05 * rng.random(half)).astype(np.float32)  # ~1
        long_ = (1.0 + 15.0 * x ** 2 + 0.1 * rng.random(half)).astype(np.float32)  # 1 .. ~16, increasing
        add("rope_factors_long.weight", long_)
        add("rope_factors_short.weight", short)
        scale = ctx_len / args.ctx
        w.add_rope_scaling_attn_factors(math.sqrt(1 + math.log(scale) / math.log(args.ctx)))

    tmp = args.out + ".tmp"
    w.write_header_to_file(path=Path(tmp))
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, args.out)
    return n_vocab


def params_hash(args) -> str:
    """Stable hash of everything that determines the file (used by the runner's cache)."""
    d = {k: v for k, v in sorted(vars(args).items()) if k not in ("out", "quiet")}
    d["vocab"] = os.path.basename(args.vocab)
    d["_v"] = 1  # bump when the generator changes
    return hashlib.sha256(repr(sorted(d.items())).encode()).hexdigest()[:16]


def parser():
    ap = argparse.ArgumentParser(description="write a small random-weight GGUF model")
    ap.add_argument("--arch", required=True, choices=sorted(ARCH))
    ap.add_argument("--vocab", required=True, help="ggml-vocab-*.gguf to take tokenizer.* metadata from")
    ap.add_argument("--type", required=True, choices=TYPES)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--n-embd", type=int, default=256)
    ap.add_argument("--n-ff", type=int, default=512)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-head-kv", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=512, help="context_length (phi3 --longrope: original ctx)")
    ap.add_argument("--tied", action="store_true", help="no output.weight (tied to token_embd)")
    ap.add_argument("--n-rot", type=int, default=0, help="phi3: rotary dims (partial rotary), default head_dim")
    ap.add_argument("--longrope", action="store_true", help="phi3: LongRoPE factors")
    ap.add_argument("--swa", type=int, default=0, help="phi3, gemma3: attention.sliding_window (phi3: ignored by llama.cpp; gemma3: default 512)")
    ap.add_argument("--rope-base", type=float, default=0.0)
    ap.add_argument("--norm-eps", type=float, default=1e-5)
    ap.add_argument("--logit-struct", type=float, default=4.0, help="weight of the permutation structure in output")
    ap.add_argument("--logit-noise", type=float, default=2.0, help="std*sqrt(n_embd) of random output weights")
    ap.add_argument("--quiet", action="store_true")
    return ap


def main(argv=None):
    args = parser().parse_args(argv)
    n_vocab = build(args)
    if not args.quiet:
        print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, arch={args.arch}, type={args.type}, "
              f"n_vocab={n_vocab})")


if __name__ == "__main__":
    main()
