/* Hugging Face model folder -> GGUF, the way llama.cpp's convert_hf_to_gguf.py writes it:
 * same tensor names, shapes, types and bytes, same metadata keys and values, for
 * LlamaForCausalLM (SmolLM2, Llama 2/3, TinyLlama), Phi3ForCausalLM and Qwen2ForCausalLM.
 * Weights stream one tensor at a time from the safetensors shards to the output. */
#ifndef EQ_HF_CONVERT_H
#define EQ_HF_CONVERT_H

#include <stddef.h>
#include <stdint.h>
#include "edgeq.h"
#include "runtime/outfile.h"

/* --outtype: a tensor type (EQ_TYPE_F32, F16, BF16, Q8_0), or EQ_HF_OUTTYPE_AUTO for the
 * script's default (the first 2-D tensor's dtype when BF16 or F16, else F16). */
#define EQ_HF_OUTTYPE_AUTO (-1)

/* Convert. On any error nothing is left at out_path and err holds one line naming the file,
 * tensor or key. The output is written under a temporary name and renamed when complete
 * (runtime/outfile.h); it may not be a directory nor any file of hf_dir the conversion reads
 * (config, tokenizer, card, shards: compared by file identity). */
eq_status eq_hf_convert(const char *hf_dir, const char *out_path, int outtype, char *err, size_t errlen);

/* Receives one line for each thing the converter skipped but did not fail on (a model card
 * it cannot read, a card value gguf-py could not store). */
typedef void (*eq_hf_warn_fn)(void *user, const char *msg);
/* eq_hf_convert, with warnings handed to warn and the temporary output file's path to on_temp
 * (when created, and NULL once renamed or removed: for a signal handler), both with user;
 * either may be NULL. */
eq_status eq_hf_convert_ex(const char *hf_dir, const char *out_path, int outtype, eq_hf_warn_fn warn,
                           eq_outfile_temp_fn on_temp, void *user, char *err, size_t errlen);

#endif
