#!/usr/bin/env python3
"""Split a GGUF file the way llama.cpp's gguf-split does (split.no / split.count /
split.tensors.count; all metadata in the first part), using gguf-py from the llama.cpp source
bundled in npm node-llama-cpp (EQ_GGUF_PY or .cache/oracle/llama.cpp/gguf-py).

    split_gguf.py IN.gguf OUT_PREFIX --max-tensors N   ->  OUT_PREFIX-00001-of-0000K.gguf ...
"""
import argparse, os, sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.environ.get("EQ_GGUF_PY", os.path.join(root, ".cache/oracle/llama.cpp/gguf-py")))
import gguf  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("input")
ap.add_argument("prefix")
ap.add_argument("--max-tensors", type=int, default=64)
a = ap.parse_args()

r = gguf.GGUFReader(a.input)
arch = r.fields["general.architecture"].contents()
w = gguf.GGUFWriter(a.prefix + ".gguf", arch, split_max_tensors=a.max_tensors)
for name, f in r.fields.items():
    if name.startswith("GGUF.") or name == "general.architecture":
        continue
    t = f.types[0]
    sub = f.types[-1] if t == gguf.GGUFValueType.ARRAY else None
    w.add_key_value(name, f.contents(), t, sub)
for t in r.tensors:
    # raw quantized bytes with their type; the byte shape keeps gguf-py from reinterpreting them
    w.add_tensor(t.name, t.data, raw_shape=t.data.shape, raw_dtype=t.tensor_type)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
