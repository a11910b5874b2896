/* The CPU backend: the ops of src/ops on host arrays, threaded by the pool, the KV cache in
 * host memory. Weights are read in place from the model's tensor memory (eq_weight.data). */
#ifndef EQ_BACKEND_CPU_H
#define EQ_BACKEND_CPU_H

#include "backend/backend.h"
#include "runtime/threadpool.h"

typedef struct {
    eq_backend base;
    eq_backend_params p;
    eq_pool *pool;
    float *act[EQ_ACT_COUNT];    /* n_batch rows of p.width[a] (LOGITS: logits_rows rows) */
    int logits_rows;
    void **k_cache, **v_cache;   /* per layer: [n_head_kv][kv_cap][head_dim] of kv_type */
    int *kv_cap;                 /* per layer: positions kept, n_ctx or a sliding window's ring
                                    (eq_kv_keep), position p at row p % kv_cap */
    float *att_scores;           /* per pool share: eq_cpu_att_heads rows of n_ctx */
    uint16_t *att_q16;           /* per pool share: eq_cpu_att_heads queries in F16 */
    void *qbuf;                  /* activations converted to a kernel's vec_dot_type */
    uint16_t *gelu_table;        /* GeGLU models: gelu on every F16 input (eq_gelu_table), or NULL */
    eq_status failed;            /* sticky, reported by submit */
} eq_cpu;

/* The bytes eq_backend_cpu_new(p) allocates (all but a few small tables); *kv_out (may be
 * NULL) gets the KV cache's share. p->mm must be set, as for eq_backend_cpu_new. */
uint64_t eq_backend_cpu_bytes(const eq_backend_params *p, uint64_t *kv_out);
eq_status eq_backend_cpu_new(const eq_backend_params *p, eq_backend **out, char *err, size_t errlen);

/* attention.c */
#define EQ_ATT_HEADS 8   /* query heads per attention task, at most */
/* query heads per attention task: the heads per KV head, up to EQ_ATT_HEADS */
int eq_cpu_att_heads(const eq_backend_params *p);
void eq_cpu_store_kv(eq_backend *b, int layer, int n, int pos0);
void eq_cpu_attention(eq_backend *b, int layer, int n, int pos0, float scale, int window);

#endif
