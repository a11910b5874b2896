#!/usr/bin/env python3
"""Write small random-weight Hugging Face model folders for the `edgeq convert` tests.

    make_hf_model.py OUT_DIR [--vocab-dir DIR] [--only NAME,...] [--cards]

Each folder has config.json, generation_config.json, safetensors weights (one file, or shards
with model.safetensors.index.json) and tokenizer files built from llama.cpp's real
ggml-vocab-*.gguf vocabularies (so convert_hf_to_gguf.py recognises the pre-tokenizer hash):

  smollm2-tiny-360M-Instruct  LlamaForCausalLM, GPT-2 byte-level BPE, BF16, tied embeddings
  llama3-tiny                 LlamaForCausalLM, Llama-3 BPE (BOS template), F32, 2 shards,
                              GQA, rope_scaling llama3 (rope_freqs), _name_or_path set
  qwen2-tiny-0.5B             Qwen2ForCausalLM, Qwen2 BPE, F16, tied, QKV biases, padded vocab,
                              n_embd 48 (Q8_0 falls back to F16 for some tensors)
  phi3-tiny-mini-128k         Phi3ForCausalLM, SentencePiece tokenizer.model (byte fallback),
                              BF16, 2 shards, LongRoPE factors

--cards adds copies of smollm2-tiny-360M-Instruct (weights hard-linked) that differ only in
a README.md model card, one folder per entry of CARDS (card-*): YAML front matter with
license / tags / language(s) / datasets / base_model in their usual shapes, quoted and
multi-line values, CRLF and tab text, falsy values, a card without front matter, one whose
front matter is a list, one with no closing '---', and cards convert_hf_to_gguf.py stops on
(malformed YAML, bad UTF-8, values it cannot store): for those, ref-cards/card-* holds the
folder the script is given instead (no README.md, or the card minus what edgeq skips), and
tests/conformance/convert/run.sh compares edgeq's output against that.

Needs numpy and gguf-py (EQ_GGUF_PY or the llama.cpp checkout's gguf-py on PYTHONPATH) only:
safetensors files and tokenizer.model (a SentencePiece ModelProto) are written here, byte for
byte what the safetensors and protobuf libraries write. The folders are the same bytes on every
run, machine and numpy version, which tests/conformance/convert/reference.txt relies on: the
weights come from PCG64's raw 64-bit stream (numpy keeps a bit generator's stream fixed, not
Generator.standard_normal's) turned into float32 with exact steps, then rounded to F16/BF16
(correctly rounded: one possible answer). numpy 1.24.4 and 2.4.6 gave the same folders.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np


class Rng:
    """Uniform weights from PCG64's raw stream: (raw >> 40) is an exact 24-bit float32, scaled by
    2**-23 and shifted to [-1, 1) exactly; multiplying by a float32 scale rounds the same
    everywhere (IEEE)."""

    def __init__(self, seed):
        self.bits = np.random.PCG64(seed)

    def uniform(self, shape):
        n = int(np.prod(shape))
        raw = self.bits.random_raw(n) >> np.uint64(40)
        return (raw.astype(np.float32) * np.float32(2.0 ** -23) - np.float32(1.0)).reshape(shape)

    def weights(self, shape, std):
        """uniform with this standard deviation (a uniform on [-1, 1) has std 1/sqrt(3))"""
        return self.uniform(shape) * np.float32(std * 3.0 ** 0.5)


def to_dtype(a, dtype):
    """float32 array -> (safetensors dtype, little-endian bytes); F16 and BF16 round to nearest even."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    if dtype == "F32":
        return "F32", a.astype("<f4").tobytes()
    if dtype == "F16":
        return "F16", a.astype("<f2").tobytes()
    assert dtype == "BF16"
    u = a.view(np.uint32).astype(np.uint64)   # no NaNs here
    return "BF16", ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2").tobytes()


class Tensor:
    def __init__(self, dtype, shape, data):
        self.dtype, self.shape, self.data = dtype, list(shape), data

    @staticmethod
    def of(a, dtype):
        dt, data = to_dtype(a, dtype)
        return Tensor(dt, a.shape, data)


# safetensors' dtype order (its Dtype enum): save_file puts larger alignments first, then names
ST_ORDER = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "I16", "U16",
            "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"]


def save_safetensors(path, tensors, metadata=None):
    """What safetensors.save_file writes: an 8-byte header length, the header JSON (metadata,
    then the tensors in data order, compact), padded with spaces to 8 bytes, then the data."""
    names = sorted(tensors, key=lambda n: (-ST_ORDER.index(tensors[n].dtype), n))
    header, off = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for n in names:
        t = tensors[n]
        header[n] = {"dtype": t.dtype, "shape": t.shape, "data_offsets": [off, off + len(t.data)]}
        off += len(t.data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for n in names:
            f.write(tensors[n].data)


def gguf_vocab(path):
    import gguf
    r = gguf.GGUFReader(path)

    def arr(key):
        f = r.fields.get(key)
        if f is None:
            return None
        if f.types[1] == gguf.GGUFValueType.STRING:
            return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
        return [f.parts[i][0].item() for i in f.data]

    def scalar(key):
        f = r.fields.get(key)
        if f is None:
            return None
        v = f.parts[f.data[0]]
        return bytes(v).decode() if f.types[0] == gguf.GGUFValueType.STRING else v[0].item()

    return {
        "tokens": arr("tokenizer.ggml.tokens"), "types": arr("tokenizer.ggml.token_type"),
        "scores": arr("tokenizer.ggml.scores"), "merges": arr("tokenizer.ggml.merges"),
        "bos": scalar("tokenizer.ggml.bos_token_id"), "eos": scalar("tokenizer.ggml.eos_token_id"),
        "chat_template": scalar("tokenizer.chat_template"),
    }


LLAMA3_RE = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
             "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
QWEN2_RE = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
            "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def added(i, content, special=True, normalized=False):
    return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": normalized, "special": special}


def bpe_tokenizer_json(v, n_base, added_tokens, pre, post, normalizer=None, ignore_merges=False):
    vocab = {t: i for i, t in enumerate(v["tokens"][:n_base])}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added_tokens,
        "normalizer": normalizer,
        "pre_tokenizer": pre,
        "post_processor": post,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": ignore_merges, "vocab": vocab, "merges": v["merges"]},
    }


def split_pre(regex):
    return {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}


def tok_config(added_tokens, **kw):
    d = {"added_tokens_decoder": {str(a["id"]): {k: a[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
                                  for a in added_tokens}}
    d.update(kw)
    return d


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)


def save_weights(folder, tensors, shards):
    names = sorted(tensors)
    if shards == 1:
        save_safetensors(os.path.join(folder, "model.safetensors"), tensors, metadata={"format": "pt"})
        return
    per = (len(names) + shards - 1) // shards
    weight_map = {}
    total = 0
    for s in range(shards):
        part = names[s * per:(s + 1) * per]
        fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        save_safetensors(os.path.join(folder, fname), {n: tensors[n] for n in part}, metadata={"format": "pt"})
        for n in part:
            weight_map[n] = fname
            total += len(tensors[n].data)
    write_json(os.path.join(folder, "model.safetensors.index.json"), {"metadata": {"total_size": total}, "weight_map": weight_map})


def decoder_weights(cfg, dtype, rng, tied, qkv_bias=False, fused=False):
    E, F, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or E // H
    V = cfg["vocab_size"]

    def w(*shape, scale=0.08):
        return Tensor.of(rng.weights(shape, scale), dtype)

    def norm(n):
        return Tensor.of(np.float32(1.0) + rng.weights((n,), 0.1), dtype)

    t = {"model.embed_tokens.weight": w(V, E, scale=0.5), "model.norm.weight": norm(E)}
    if not tied:
        t["lm_head.weight"] = w(V, E, scale=0.3)
    for i in range(L):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = norm(E)
        t[p + "post_attention_layernorm.weight"] = norm(E)
        if fused:
            t[p + "self_attn.qkv_proj.weight"] = w((H + 2 * KV) * hd, E)
            t[p + "mlp.gate_up_proj.weight"] = w(2 * F, E)
        else:
            t[p + "self_attn.q_proj.weight"] = w(H * hd, E)
            t[p + "self_attn.k_proj.weight"] = w(KV * hd, E)
            t[p + "self_attn.v_proj.weight"] = w(KV * hd, E)
            t[p + "mlp.gate_proj.weight"] = w(F, E)
            t[p + "mlp.up_proj.weight"] = w(F, E)
            if qkv_bias:
                t[p + "self_attn.q_proj.bias"] = w(H * hd, scale=0.2)
                t[p + "self_attn.k_proj.bias"] = w(KV * hd, scale=0.2)
                t[p + "self_attn.v_proj.bias"] = w(KV * hd, scale=0.2)
        t[p + "self_attn.o_proj.weight"] = w(E, H * hd)
        t[p + "mlp.down_proj.weight"] = w(E, F)
    return t


def make_smollm2(out, vocab_dir, rng):
    v = gguf_vocab(os.path.join(vocab_dir, "ggml-vocab-gpt-2.gguf"))
    d = os.path.join(out, "smollm2-tiny-360M-Instruct")
    os.makedirs(d, exist_ok=True)
    n = len(v["tokens"])  # 50257, <|endoftext|> last
    at = [added(n - 1, v["tokens"][n - 1])]
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 160,
           "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4, "vocab_size": n,
           "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "rope_theta": 100000.0, "tie_word_embeddings": True,
           "bos_token_id": n - 1, "eos_token_id": n - 1, "torch_dtype": "bfloat16", "hidden_act": "silu"}
    write_json(os.path.join(d, "config.json"), cfg)
    write_json(os.path.join(d, "generation_config.json"), {"bos_token_id": n - 1, "eos_token_id": n - 1,
                                                             "temperature": 0.2, "top_p": 0.9, "do_sample": True})
    write_json(os.path.join(d, "tokenizer.json"), bpe_tokenizer_json(
        v, n - 1, at, {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}))
    write_json(os.path.join(d, "tokenizer_config.json"), tok_config(
        at, tokenizer_class="GPT2Tokenizer", bos_token="<|endoftext|>", eos_token="<|endoftext|>",
        unk_token="<|endoftext|>", add_prefix_space=False, chat_template=CHATML, model_max_length=2048))
    t = decoder_weights(cfg, "BF16", rng, tied=True)
    t["model.layers.0.self_attn.rotary_emb.inv_freq"] = Tensor.of(np.ones(8, np.float32), "F32")  # skipped
    save_weights(d, t, 1)


def make_llama3(out, vocab_dir, rng):
    v = gguf_vocab(os.path.join(vocab_dir, "ggml-vocab-llama-bpe.gguf"))
    d = os.path.join(out, "llama3-tiny")
    os.makedirs(d, exist_ok=True)
    n = len(v["tokens"])  # 128256
    at = [added(i, v["tokens"][i]) for i in range(128000, n)]
    bos, eos = "<|begin_of_text|>", "<|eot_id|>"
    post = {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {bos: {"id": bos, "ids": [128000], "tokens": [bos]}}}]}
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "_name_or_path": "meta-llama/Llama-3.2-1B-Instruct",
           "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 3, "num_attention_heads": 4,
           "num_key_value_heads": 2, "head_dim": 16, "vocab_size": n, "max_position_embeddings": 131072,
           "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": False,
           "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                            "original_max_position_embeddings": 8192, "rope_type": "llama3"},
           "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "torch_dtype": "float32"}
    write_json(os.path.join(d, "config.json"), cfg)
    write_json(os.path.join(d, "generation_config.json"), {"bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
                                                             "temperature": 0.6, "top_p": 0.9, "top_k": 40})
    write_json(os.path.join(d, "tokenizer.json"), bpe_tokenizer_json(v, 128000, at, split_pre(LLAMA3_RE), post, ignore_merges=True))
    tmpl = v["chat_template"] or ("{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
                                  "'<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}{% endfor %}")
    write_json(os.path.join(d, "tokenizer_config.json"), tok_config(
        at, tokenizer_class="PreTrainedTokenizerFast", bos_token=bos, eos_token=eos, chat_template=tmpl,
        model_max_length=131072))
    save_weights(d, decoder_weights(cfg, "F32", rng, tied=False), 2)


def make_qwen2(out, vocab_dir, rng):
    v = gguf_vocab(os.path.join(vocab_dir, "ggml-vocab-qwen2.gguf"))
    d = os.path.join(out, "qwen2-tiny-0.5B")
    os.makedirs(d, exist_ok=True)
    at = [added(151643, "<|endoftext|>"), added(151644, "<|im_start|>"), added(151645, "<|im_end|>")]
    cfg = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 48, "intermediate_size": 96,
           "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 151936,
           "max_position_embeddings": 32768, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": True,
           "sliding_window": 32768, "use_sliding_window": False, "bos_token_id": 151643, "eos_token_id": 151645,
           "torch_dtype": "float16"}
    write_json(os.path.join(d, "config.json"), cfg)
    write_json(os.path.join(d, "generation_config.json"), {"bos_token_id": 151643, "eos_token_id": [151645, 151643],
                                                             "repetition_penalty": 1.1, "temperature": 0.7, "top_k": 20, "top_p": 0.8})
    write_json(os.path.join(d, "tokenizer.json"), bpe_tokenizer_json(
        v, 151643, at, split_pre(QWEN2_RE),
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        normalizer={"type": "NFC"}))
    write_json(os.path.join(d, "tokenizer_config.json"), tok_config(
        at, tokenizer_class="Qwen2Tokenizer", bos_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        unk_token=None, chat_template=CHATML, add_prefix_space=False, model_max_length=32768))
    save_weights(d, decoder_weights(cfg, "F16", rng, tied=True, qkv_bias=True), 1)


def _varint(n):
    n &= (1 << 64) - 1   # negative int32 values go out as 10-byte two's complement, as protobuf does
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(num, wire, payload):
    key = _varint(num << 3 | wire)
    if wire == 0:
        return key + _varint(payload)
    if wire == 5:
        return key + struct.pack("<f", payload)
    return key + _varint(len(payload)) + payload   # wire 2: bytes, strings, messages


def sentencepiece_model(v, n):
    """tokenizer.model: sentencepiece_model.proto's ModelProto as protobuf serializes it (fields
    in number order, every field this sets written): pieces (1: piece 1, score 2, type 3),
    trainer_spec (2: model_type 3, vocab_size 4, byte_fallback 35, unk/bos/eos/pad_id 40-43),
    normalizer_spec (3: name 1, add_dummy_prefix 3, remove_extra_whitespaces 4,
    escape_whitespaces 5)."""
    sp_type = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6}
    out = bytearray()
    for i in range(n):
        t = sp_type.get(v["types"][i], 1)
        if t == 2 and i != 0:
            t = 1  # SentencePiece allows one unknown piece
        piece = _field(1, 2, v["tokens"][i].encode()) + _field(2, 5, float(v["scores"][i])) + _field(3, 0, t)
        out += _field(1, 2, piece)
    BPE = 2
    trainer = (_field(3, 0, BPE) + _field(4, 0, n) + _field(35, 0, 1) + _field(40, 0, 0) + _field(41, 0, 1)
               + _field(42, 0, 2) + _field(43, 0, -1))
    out += _field(2, 2, trainer)
    normalizer = _field(1, 2, b"identity") + _field(3, 0, 1) + _field(4, 0, 0) + _field(5, 0, 1)
    out += _field(3, 2, normalizer)
    return bytes(out)


def make_phi3(out, vocab_dir, rng):
    v = gguf_vocab(os.path.join(vocab_dir, "ggml-vocab-phi-3.gguf"))
    d = os.path.join(out, "phi3-tiny-mini-128k")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "tokenizer.model"), "wb") as f:
        f.write(sentencepiece_model(v, 32000))
    at = [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>", special=False)]
    at += [added(i, v["tokens"][i], special=(v["types"][i] == 3)) for i in range(32000, len(v["tokens"]))]
    E, H = 64, 4
    half = E // H // 2
    cfg = {"architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "hidden_size": E, "intermediate_size": 128,
           "num_hidden_layers": 2, "num_attention_heads": H, "num_key_value_heads": H, "vocab_size": 32064,
           "max_position_embeddings": 131072, "original_max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
           "rope_theta": 10000.0, "sliding_window": 262144, "tie_word_embeddings": False,
           "rope_scaling": {"type": "longrope",
                            "long_factor": [round(1.0 + 0.37 * i, 6) for i in range(half)],
                            "short_factor": [round(1.0 + 0.013 * i, 6) for i in range(half)]},
           "bos_token_id": 1, "eos_token_id": 32000, "pad_token_id": 32000, "torch_dtype": "bfloat16"}
    write_json(os.path.join(d, "config.json"), cfg)
    write_json(os.path.join(d, "generation_config.json"), {"bos_token_id": 1, "eos_token_id": [32007, 32001, 32000]})
    post = {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
    write_json(os.path.join(d, "tokenizer.json"), {
        "version": "1.0", "added_tokens": at, "normalizer": None, "pre_tokenizer": None, "post_processor": post,
        "decoder": {"type": "Sequence", "decoders": []},
        "model": {"type": "BPE", "byte_fallback": True, "fuse_unk": True, "unk_token": "<unk>",
                  "vocab": {v["tokens"][i]: i for i in range(32000)}, "merges": []}})
    tmpl = v["chat_template"]
    write_json(os.path.join(d, "tokenizer_config.json"), tok_config(
        [a for a in at if a["id"] >= 32000 or a["id"] < 3], tokenizer_class="LlamaTokenizer", bos_token="<s>",
        eos_token="<|endoftext|>", pad_token="<|endoftext|>", unk_token="<unk>", add_bos_token=True,
        add_eos_token=False, chat_template=tmpl, legacy=False))
    save_weights(d, decoder_weights(cfg, "BF16", rng, tied=False, fused=True), 2)


MAKERS = {"smollm2": make_smollm2, "llama3": make_llama3, "qwen2": make_qwen2, "phi3": make_phi3}

# Model cards: folder name -> (README.md bytes, config.json changes or None, reference card).
# The reference card is None when convert_hf_to_gguf.py reads this very card; for cards it
# cannot read (it stops with a YAML, Unicode or type error) it is what the script must be
# given instead to write what edgeq writes (edgeq warns and skips what it cannot use): b""
# for no README.md at all. make_cards() puts those in ref-cards/NAME (same folder name, as
# the name feeds general.name).
CARDS = {
    # the common shape: SPDX license, block lists at the key's indentation, base_model as a
    # string, a markdown body after the front matter
    "card-basic": (b"""---
library_name: transformers
license: apache-2.0
language:
- en
- fr
- no
tags:
- text-generation-inference
- smollm2
pipeline_tag: text-generation
base_model: HuggingFaceTB/SmolLM2-360M
datasets:
- HuggingFaceTB/smoltalk
- HuggingFaceTB/smollm-corpus
---

# SmolLM2-tiny

A *tiny* model: for tests only.
""", None, None),
    # lists in every shape: base_model as a list (an id with a version, a Hugging Face URL, a
    # plain URL, a mapping), datasets as a string, flow and indented lists, license "other"
    # with name and link, languages + language, llama.cpp's model_* keys, _name_or_path
    "card-lists": (b"""---
license: other
license_name: tiny-license
license_link: https://huggingface.co/org/tiny/blob/main/LICENSE
model_name: Tiny Chat
model_creator: Tiny Labs
model_type: tinyllama
base_model:
  - mistralai/Mistral-7B-Instruct-v0.2
  - https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct
  - https://example.com/models/tiny
  - name: Custom Base
    organization: Custom Org
    repo_url: https://example.com/custom
    version: '1.0'
  - /no-org
datasets: allenai/c4
tags: [chat, 'tiny', "test"]
languages: [de]
language:
  - en
  - ja
---
""", {"_name_or_path": "TinyLabs/tiny-chat-v2"}, None),
    # quoting and layout: CRLF lines, a tab, quoted keys and values with escapes, comments,
    # a multi-line plain value, a folded block scalar, llama.cpp's own keys, a "- no" item
    "card-quoted": (b"""---\r
# llama.cpp's own keys\r
name: 'It''s \xc3\xa9l\xc3\xa9gant'   # a comment\r
"author": "Tiny \\"Labs\\" \\u00e9\\t\\x41"\r
version: "2.1"\r
organization: tiny-labs\r
finetune: instruct\r
basename: smol\r
description: >-\r
  A folded\r
  description.\r
\r
  Second paragraph.\r
size_label: 360M\r
url: https://example.com/tiny\r
doi: 10.1234/tiny\r
uuid: 00000000-0000-0000-0000-000000000000\r
repo_url: https://github.com/example/tiny\r
license: [mit, apache-2.0]\r
tags:\r
\t- a tabbed item\r
\t- plain text that goes on\r
\t  over two lines\r
language:\r
- no\r
- 'yes'\r
---\r
body\r
""", None, None),
    # values gguf-py sets but never writes: empty text, false, 0, [] (an empty size_label
    # also stops the automatic one); base_model and datasets present but null / empty
    "card-falsy": (b"""---
license: ''
license_name: false
version: 0
size_label: ""
finetune: off
tags: []
language: no
base_model:
datasets: []
pipeline_tag: text-generation
---
""", None, None),
    # keys the reader must step over: model-index, widgets, gated-access prompts with block
    # scalars, anchors, nested flow mappings, dates, numbers, document end marker
    "card-skip": (b"""---
license: llama3.2
extra_gated_prompt: >-
  ### LLAMA 3.2 COMMUNITY LICENSE AGREEMENT

  Llama 3.2 Version Release Date: September 25, 2024
  "Agreement" means the terms: and conditions - for use.
extra_gated_fields:
  First Name: text
  Date of birth: date_picker
  Country: country
  By clicking Submit below I accept the terms of the license: checkbox
  geo: ip_location
widget:
  - text: "Hello, my name is"
    example_title: 'Greeting'
  - messages:
      - role: user
        content: "What is 2+2?"
model-index:
- name: tiny
  results:
  - task:
      type: text-generation
      name: Text Generation
    dataset:
      name: AI2 Reasoning Challenge (25-Shot)
      type: ai2_arc
      config: ARC-Challenge
      args: {num_few_shot: 25}
    metrics:
    - type: acc_norm
      value: 0.5
      name: normalized accuracy
    source:
      url: https://huggingface.co/spaces/open-llm-leaderboard
anchors: &shared
  a: 1
released: 2024-09-25
params: 360_000_000
inference: true
co2_eq_emissions: {emissions: 0.1, source: "x"}
tags:
- llama-3
...
---
""", None, None),
    # no front matter: the card is plain markdown (a YAML-looking line does not count)
    "card-nofm": (b"""# Tiny model
license: mit
---
tags: [a]
---
""", None, None),
    # front matter that is a list: gguf-py logs an error and uses nothing
    "card-notmap": (b"""---
- license: mit
- tags: [a]
---
""", None, None),
    # no closing '---': the rest of the file is the front matter
    "card-unclosed": (b"""---
license: mit
tags:
- unclosed
""", None, None),
    # malformed: the script stops (ScannerError / ParserError / UnicodeDecodeError)
    "card-yaml-malformed": (b"""---
license: mit
tags: [a, b
language: en
---
""", None, b""),
    "card-quote-malformed": (b"""---
license: "mit
tags:
- a
---
""", None, b""),
    "card-utf8-malformed": (b"""---
license: mit\xff
---
""", None, b""),
    # values gguf-py cannot store (the script stops with a TypeError / ValueError): a number,
    # a date and a boolean where it needs text, a list mixing text and a number; edgeq skips
    # just those. A list item that is neither text nor a mapping is an empty entry in both.
    "card-badvalues": (b"""---
license: mit
version: 1.0
author: 2024-01-01
name: true
tags: [chat, 2]
language: [en, fr]
base_model:
- org/base-model
- name: Named
  version: 2
datasets:
- 42
- org/data
---
""", None, b"""---
license: mit
language: [en, fr]
base_model:
- org/base-model
- name: Named
datasets:
- 42
- org/data
---
"""),
}


def make_cards(out, source="smollm2-tiny-360M-Instruct"):
    """card-* folders: the source model's files (weights hard-linked when possible) plus a
    README.md; config.json gets the listed changes. ref-cards/card-* for the cards the script
    cannot read (see CARDS)."""
    import shutil
    src = os.path.join(out, source)

    def folder(d, card, cfg_changes):
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        for f in sorted(os.listdir(src)):
            s, t = os.path.join(src, f), os.path.join(d, f)
            if f.endswith(".safetensors"):
                try:
                    os.link(s, t)
                    continue
                except OSError:
                    pass
            shutil.copyfile(s, t)
        if cfg_changes:
            with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
                cfg = json.load(f)
            cfg.update(cfg_changes)
            write_json(os.path.join(d, "config.json"), cfg)
        if card:
            with open(os.path.join(d, "README.md"), "wb") as f:
                f.write(card)

    for name, (card, cfg_changes, ref) in CARDS.items():
        folder(os.path.join(out, name), card, cfg_changes)
        if ref is not None:
            folder(os.path.join(out, "ref-cards", name), ref, cfg_changes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--vocab-dir", default=os.environ.get("EQ_VOCAB_DIR"))
    ap.add_argument("--only", default=",".join(MAKERS))
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--cards", action="store_true", help="also write the card-* folders (needs smollm2)")
    a = ap.parse_args()
    if not a.vocab_dir:
        sys.exit("make_hf_model.py: --vocab-dir (or EQ_VOCAB_DIR) is required")
    os.makedirs(a.out, exist_ok=True)
    for i, name in enumerate(a.only.split(",")):
        MAKERS[name](a.out, a.vocab_dir, Rng(a.seed + i))
        print(f"make_hf_model.py: wrote {name}", file=sys.stderr)
    if a.cards:
        make_cards(a.out)
        print(f"make_hf_model.py: wrote {len(CARDS)} card-* folders", file=sys.stderr)


if __name__ == "__main__":
    main()
