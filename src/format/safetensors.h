/* Hugging Face safetensors reader: one file or a sharded set (model.safetensors.index.json).
 *
 * Only the headers are read up front; tensor data is read one tensor at a time on request, so
 * a model never has to fit in memory. Every header value is untrusted: dtypes, shapes and
 * offsets are checked against each other and against the file size before anything is read.
 * Tensors are listed as convert_hf_to_gguf.py sees them: shard by shard (shard names sorted),
 * and by name within a shard. */
#ifndef EQ_SAFETENSORS_H
#define EQ_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "edgeq.h"

#define EQ_ST_MAX_DIMS 4
#define EQ_ST_MAX_HEADER (100u << 20)   /* the format's own limit is 100 MB */

typedef struct {
    char    *name;
    int      dtype;                     /* EQ_TYPE_F32 / EQ_TYPE_F16 / EQ_TYPE_BF16 */
    int      n_dims;
    int64_t  shape[EQ_ST_MAX_DIMS];     /* row-major, outermost first (as stored) */
    int64_t  n_elem;
    uint64_t offset;                    /* absolute offset in its file */
    uint64_t nbytes;
    int      file;                      /* index into eq_st_model.files */
} eq_st_tensor;

typedef struct {
    int            n_files;
    char         **files;               /* full paths */
    size_t         n_tensors;
    eq_st_tensor  *tensors;
} eq_st_model;

/* Parse one header (the JSON after the 8-byte length) of a file whose data section has
 * data_size bytes and starts at absolute offset data_start; appends to m with file index
 * `file`. fname only names the file in errors. Exposed for the unit tests. */
eq_status eq_st_parse_header(eq_st_model *m, int file, const char *fname, const char *json,
                             size_t len, uint64_t data_start, uint64_t data_size,
                             char *err, size_t errlen);

/* Add one .safetensors file (reads its header). */
eq_status eq_st_add_file(eq_st_model *m, const char *path, char *err, size_t errlen);

/* Open the weights of a model folder: model.safetensors.index.json's shards when it exists
 * (every tensor it lists must be found, and only those), else every model*.safetensors. */
eq_status eq_st_open_dir(const char *dir, eq_st_model **out, char *err, size_t errlen);

eq_st_model *eq_st_new(void);
void eq_st_free(eq_st_model *m);

/* -1 when absent */
long eq_st_find(const eq_st_model *m, const char *name);

/* Read tensor i as float32 (converting F16/BF16) into dst (n_elem floats). */
eq_status eq_st_read_f32(const eq_st_model *m, size_t i, float *dst, char *err, size_t errlen);

#endif
