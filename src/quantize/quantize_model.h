/* Whole-model quantization, as llama-quantize does it and with the same bytes out: the
 * per-tensor types of llama-quant.cpp (quant/quantize.h), the same metadata edits, tensors
 * in llama's order, optionally an importance matrix (llama-imatrix's GGUF file or its legacy
 * .dat format). Streams: the input is read a slab of rows at a time (at most ~64 MiB of it
 * plus its float copy and the output rows in memory), quantized across a thread pool, and
 * written through the GGUF writer; the output appears under its name only when complete. */
#ifndef EQ_QUANTIZE_MODEL_H
#define EQ_QUANTIZE_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "edgeq.h"

typedef struct {
    int ftype;              /* EQ_FTYPE_* (quant/quantize.h) */
    int n_threads;          /* <= 0: all cores */
    int output_type;        /* EQ_TYPE_* for output.weight, -1: the rules decide */
    int token_embd_type;    /* EQ_TYPE_* for token_embd.weight, -1: the rules decide */
    int pure;               /* no k-quant mixture: every quantizable tensor gets the base type */
    int allow_requantize;   /* allow quantized inputs (dequantized first; quality suffers) */
    const char *imatrix;    /* importance matrix file, or NULL */
    /* One line per event (no trailing newline): the plan, a line per tensor, the summary.
     * May be NULL. The library itself never prints. */
    void (*log)(void *user, const char *line);
    void *log_user;
    /* Called with log_user between slabs: non-zero stops (no output is created). May be NULL. */
    int (*cancel)(void *user);
    /* Called with log_user and the temporary output file's path once it is created, and with
     * NULL once it is renamed over the output or removed (runtime/outfile.h): what a signal
     * handler needs to remove it. Not called for the io variant. May be NULL. */
    void (*on_temp)(void *user, const char *temp_path);
} eq_quantize_params;

eq_quantize_params eq_quantize_default_params(void);

/* Quantize in_path into out_path. On failure returns the status, err holds a one-line
 * message naming the file, tensor or key, and no file exists under out_path that was not
 * there before (a previous file of that name is only replaced on success). out_path must not
 * be a directory, nor the input or the importance matrix under any name (compared by file
 * identity). */
eq_status eq_quantize_model(const char *in_path, const char *out_path, const eq_quantize_params *p,
                            char *err, size_t errlen);

/* The same over callbacks, for hosts without files (a browser: Blob slices in, Blob parts
 * out). read fills buf with n bytes at pos, write takes the next n output bytes; both return
 * 0 on success. On failure the output written so far is to be discarded by the caller. */
typedef struct {
    const char *name;     /* for messages */
    uint64_t size;        /* input bytes */
    int (*read)(void *user, uint64_t pos, void *buf, size_t n);
    int (*write)(void *user, const void *buf, size_t n);
    void *user;
} eq_quantize_io;

eq_status eq_quantize_model_io(const eq_quantize_io *io, const eq_quantize_params *p, char *err, size_t errlen);

#endif
