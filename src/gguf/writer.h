/* GGUF v3 writer, byte for byte what ggml's gguf writer (gguf_write_to_file) produces:
 * header, metadata in insertion order, tensor infos, zero padding to the alignment, then
 * each tensor's data padded to the alignment. The header is built in memory; tensor data is
 * streamed, so a writer holds no more than the caller hands it at a time.
 *
 * Usage:
 *     eq_gguf_writer *w = eq_gguf_writer_new();
 *     eq_gguf_writer_copy_kvs(w, reader);                   // every key of an eq_gguf, or
 *     eq_gguf_writer_set_str(w, "general.architecture", "llama");   // set_u32, set_arr, ...
 *     eq_gguf_writer_add_tensor(w, "token_embd.weight", EQ_TYPE_Q4_K, 2, ne);  // in file order
 *     st = eq_gguf_writer_open(w, "out.gguf");    // header goes to a new temporary file
 *     st = eq_gguf_writer_write(w, bytes, n);     // all tensors' data in order, any chunking
 *     st = eq_gguf_writer_finish(w);              // every byte there? close, rename to out.gguf
 *     eq_gguf_writer_free(w);                     // unfinished: the temporary file is removed
 * Any failing call leaves a one-line message in eq_gguf_writer_errmsg() (naming the file,
 * key or tensor) and makes every later call fail; nothing half-written is ever left under
 * the target name.
 *
 * Setting a key that exists removes it and appends the new value at the end, as ggml's
 * gguf_set_val_* do (so "copy all, then set general.file_type" orders keys as llama.cpp
 * does). The alignment is general.alignment when set (a power-of-two u32), else 32. */
#ifndef EQ_GGUF_WRITER_H
#define EQ_GGUF_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include "edgeq.h"
#include "gguf/gguf.h"
#include "runtime/outfile.h"

typedef struct eq_gguf_writer eq_gguf_writer;

eq_gguf_writer *eq_gguf_writer_new(void);   /* NULL when out of memory */
void            eq_gguf_writer_free(eq_gguf_writer *w);
const char     *eq_gguf_writer_errmsg(const eq_gguf_writer *w);  /* "" when no error */

/* ---- metadata (before open) ---- */
eq_status eq_gguf_writer_set_u8(eq_gguf_writer *w, const char *key, uint8_t v);
eq_status eq_gguf_writer_set_i8(eq_gguf_writer *w, const char *key, int8_t v);
eq_status eq_gguf_writer_set_u16(eq_gguf_writer *w, const char *key, uint16_t v);
eq_status eq_gguf_writer_set_i16(eq_gguf_writer *w, const char *key, int16_t v);
eq_status eq_gguf_writer_set_u32(eq_gguf_writer *w, const char *key, uint32_t v);
eq_status eq_gguf_writer_set_i32(eq_gguf_writer *w, const char *key, int32_t v);
eq_status eq_gguf_writer_set_u64(eq_gguf_writer *w, const char *key, uint64_t v);
eq_status eq_gguf_writer_set_i64(eq_gguf_writer *w, const char *key, int64_t v);
eq_status eq_gguf_writer_set_f32(eq_gguf_writer *w, const char *key, float v);
eq_status eq_gguf_writer_set_f64(eq_gguf_writer *w, const char *key, double v);
eq_status eq_gguf_writer_set_bool(eq_gguf_writer *w, const char *key, int v);
eq_status eq_gguf_writer_set_str(eq_gguf_writer *w, const char *key, const char *v);
eq_status eq_gguf_writer_set_strn(eq_gguf_writer *w, const char *key, const char *v, size_t len);
/* Numeric array: n packed little-endian values of elem_type (EQ_GGUF_U8 .. EQ_GGUF_F64, BOOL). */
eq_status eq_gguf_writer_set_arr(eq_gguf_writer *w, const char *key, int elem_type, const void *data, uint64_t n);
/* String array; lens may be NULL (then strlen of each). */
eq_status eq_gguf_writer_set_arr_str(eq_gguf_writer *w, const char *key, const char *const *v,
                                     const uint64_t *lens, uint64_t n);
/* Copy one key/value as the reader parsed it, or all of a reader's, in its order. */
eq_status eq_gguf_writer_set_kv(eq_gguf_writer *w, const eq_gguf_kv *kv);
eq_status eq_gguf_writer_copy_kvs(eq_gguf_writer *w, const eq_gguf *g);
/* 1 when the key was there. */
int       eq_gguf_writer_remove(eq_gguf_writer *w, const char *key);
int       eq_gguf_writer_n_kv(const eq_gguf_writer *w);

/* ---- tensor infos (before open), in the order their data will be written ----
 * ne[0..n_dims-1] are used; the written dimension count drops trailing 1s as ggml does. */
eq_status eq_gguf_writer_add_tensor(eq_gguf_writer *w, const char *name, int type, int n_dims, const int64_t *ne);
/* Byte size of tensor i's data (0 for a bad index). */
uint64_t  eq_gguf_writer_tensor_size(const eq_gguf_writer *w, int i);

/* ---- output ---- */
/* Create the output (runtime/outfile.h: a new temporary file in path's folder, renamed to path
 * by finish; path must not be a directory) and write header, metadata and tensor infos. */
eq_status eq_gguf_writer_open(eq_gguf_writer *w, const char *path);
/* The same, with outfile options: inputs the output must not be (checked by file identity) and
 * a hook told the temporary's path (for a signal handler). o is only read during the call. */
eq_status eq_gguf_writer_open_ex(eq_gguf_writer *w, const char *path, const eq_outfile_opts *o);
/* The temporary file being written, NULL when there is none (not open, finished, a sink). */
const char *eq_gguf_writer_temp_path(const eq_gguf_writer *w);
/* The same, with every byte handed to sink (returns non-zero on failure) instead of a file:
 * for hosts without a file system (a browser). name is for messages. */
eq_status eq_gguf_writer_open_sink(eq_gguf_writer *w, const char *name,
                                   int (*sink)(void *user, const void *data, size_t n), void *user);
/* Append tensor data: the tensors' bytes back to back, in add_tensor order (padding is added
 * between them). More bytes than the tensors hold is an error. */
eq_status eq_gguf_writer_write(eq_gguf_writer *w, const void *data, size_t n);
/* Check that all tensor data arrived, close and rename to the target name (sink: just check). */
eq_status eq_gguf_writer_finish(eq_gguf_writer *w);
/* Give up: close and remove the temporary file (also done by free when not finished). */
void      eq_gguf_writer_abort(eq_gguf_writer *w);

#endif
