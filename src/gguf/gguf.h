/* GGUF v2/v3 reader: a push parser. Feed it byte chunks in file order; it asks for nothing.
 *
 * The header (metadata + tensor infos) is buffered until it parses completely; every count,
 * length and offset is checked before use. Once it is in, on_header runs (the model allocates
 * tensor memory and sets each tensor's `data`), and from then on each byte of the data section
 * is copied straight to its tensor's destination (or skipped when `data` is NULL). */
#ifndef EQ_GGUF_H
#define EQ_GGUF_H

#include <stddef.h>
#include <stdint.h>
#include "edgeq.h"

enum {
    EQ_GGUF_U8 = 0, EQ_GGUF_I8 = 1, EQ_GGUF_U16 = 2, EQ_GGUF_I16 = 3, EQ_GGUF_U32 = 4,
    EQ_GGUF_I32 = 5, EQ_GGUF_F32 = 6, EQ_GGUF_BOOL = 7, EQ_GGUF_STRING = 8, EQ_GGUF_ARRAY = 9,
    EQ_GGUF_U64 = 10, EQ_GGUF_I64 = 11, EQ_GGUF_F64 = 12, EQ_GGUF_NTYPES = 13
};

#define EQ_GGUF_MAX_DIMS 4
#define EQ_GGUF_DEFAULT_ALIGNMENT 32

typedef struct {
    char    *key;
    int      type;      /* EQ_GGUF_* */
    int      arr_type;  /* element type when type == EQ_GGUF_ARRAY */
    uint64_t n;         /* array length (1 for a scalar) */
    union { uint64_t u; int64_t i; double f; } v;   /* scalar value (bool/ints/floats widened) */
    char    *str;       /* string value, NUL-terminated (length in str_len) */
    uint64_t str_len;
    void    *arr;       /* numeric array: packed little-endian values of arr_type */
    char   **arr_str;   /* string array: n NUL-terminated strings */
    uint32_t *arr_str_len;
} eq_gguf_kv;

typedef struct {
    char    *name;
    int      n_dims;
    int64_t  ne[EQ_GGUF_MAX_DIMS];  /* unused dims are 1 */
    int      type;                  /* EQ_TYPE_* */
    uint64_t offset;                /* from the start of the data section */
    uint64_t nbytes;
    void    *data;                  /* destination, set by the owner in on_header; NULL: skip */
    void    *dev;                   /* the owner's handle to a copy elsewhere (a GPU buffer);
                                       the reader neither reads nor frees it */
    int      packed;                /* the owner repacked `data` (quant/repack.h) */
} eq_gguf_tensor;

typedef struct eq_gguf eq_gguf;
typedef eq_status (*eq_gguf_header_cb)(eq_gguf *g, void *user);
/* A tensor's last byte is in (its `data` complete): runs before any later byte is routed, so
 * the owner may reuse the memory for the next tensor. Non-OK stops the feed (set g->err). */
typedef eq_status (*eq_gguf_tensor_cb)(eq_gguf *g, eq_gguf_tensor *t, void *user);

struct eq_gguf {
    uint32_t version;
    uint64_t n_kv, n_tensors;
    eq_gguf_kv *kv;
    eq_gguf_kv **kv_sorted; /* the kv entries by key, for lookups (NULL: scan kv, as for a
                               hand-built eq_gguf) */
    eq_gguf_tensor *tensors;
    uint32_t alignment;
    uint64_t data_offset;   /* absolute offset of the data section */
    uint64_t data_size;     /* bytes from data_offset to the end of the last tensor */
    uint64_t total_size;    /* whole input size if known (0 otherwise) */
    int header_ready;

    /* streaming state */
    uint8_t *hbuf; size_t hlen, hcap, next_try;
    uint64_t pos;           /* bytes consumed so far (absolute offset) */
    eq_gguf_tensor **order; /* tensors sorted by offset, for routing */
    uint64_t cursor;        /* index into order */
    eq_gguf_header_cb on_header;
    void *on_header_user;
    eq_gguf_tensor_cb on_tensor;   /* optional (set after eq_gguf_new); gets on_header_user */
    char err[256];
};

/* total_size: the input's size when known (file size, Content-Length), else 0. It lets bad
 * offsets be reported before anything is allocated. */
eq_gguf  *eq_gguf_new(uint64_t total_size, eq_gguf_header_cb on_header, void *user);
eq_status eq_gguf_feed(eq_gguf *g, const void *buf, size_t n);
/* End of input: EQ_ERR_FORMAT if the header or any tensor's data is incomplete. */
eq_status eq_gguf_finish(eq_gguf *g);
void      eq_gguf_free(eq_gguf *g);

/* Parse a whole file from disk (reads it in chunks through eq_gguf_feed). */
eq_status eq_gguf_read_file(const char *path, eq_gguf_header_cb on_header, void *user,
                            eq_gguf **out, char *errbuf, size_t errlen);

/* lookups; -1 / NULL when absent. Keys: binary search (a hostile header may hold millions) */
int         eq_gguf_find_key(const eq_gguf *g, const char *key);
const eq_gguf_kv *eq_gguf_get(const eq_gguf *g, const char *key);
int         eq_gguf_find_tensor(const eq_gguf *g, const char *name);
/* typed getters: return 1 and set *out when the key exists with a compatible scalar type
 * (any integer type for ints, any number for floats); 0 when absent or mistyped */
int eq_gguf_get_u64(const eq_gguf *g, const char *key, uint64_t *out);
int eq_gguf_get_i64(const eq_gguf *g, const char *key, int64_t *out);
int eq_gguf_get_f64(const eq_gguf *g, const char *key, double *out);
int eq_gguf_get_bool(const eq_gguf *g, const char *key, int *out);
const char *eq_gguf_get_str(const eq_gguf *g, const char *key);
/* array element readers (bounds-checked; return 0 on type mismatch / out of range) */
int eq_gguf_arr_f64(const eq_gguf_kv *kv, uint64_t i, double *out);
int eq_gguf_arr_i64(const eq_gguf_kv *kv, uint64_t i, int64_t *out);
const char *eq_gguf_type_name(int vtype);  /* metadata value type name */
size_t      eq_gguf_value_size(int vtype); /* bytes of a fixed-size value type, 0 for string/array */

#endif
