/* The per-tensor type choice of llama-quantize (llama.cpp src/llama-quant.cpp:
 * tensor_allows_quantization, llama_tensor_get_type(_impl), tensor_type_fallback), for the
 * file types edgeq writes. The IQ/TQ/MXFP4 branches of the original are left out because
 * none of those mixtures can be asked for here; everything else follows it line by line,
 * including its counters (attn_v layers are counted in tensor order, not parsed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quant/quantize.h"
#include "quant/quant.h"

static const struct { const char *name; int ftype; int type; } k_ftypes[] = {
    {"F32", EQ_FTYPE_ALL_F32, EQ_TYPE_F32},          {"F16", EQ_FTYPE_MOSTLY_F16, EQ_TYPE_F16},
    {"BF16", EQ_FTYPE_MOSTLY_BF16, EQ_TYPE_BF16},    {"Q8_0", EQ_FTYPE_MOSTLY_Q8_0, EQ_TYPE_Q8_0},
    {"Q4_0", EQ_FTYPE_MOSTLY_Q4_0, EQ_TYPE_Q4_0},    {"Q4_1", EQ_FTYPE_MOSTLY_Q4_1, EQ_TYPE_Q4_1},
    {"Q5_0", EQ_FTYPE_MOSTLY_Q5_0, EQ_TYPE_Q5_0},    {"Q5_1", EQ_FTYPE_MOSTLY_Q5_1, EQ_TYPE_Q5_1},
    {"Q2_K", EQ_FTYPE_MOSTLY_Q2_K, EQ_TYPE_Q2_K},    {"Q3_K_S", EQ_FTYPE_MOSTLY_Q3_K_S, EQ_TYPE_Q3_K},
    {"Q3_K_M", EQ_FTYPE_MOSTLY_Q3_K_M, EQ_TYPE_Q3_K}, {"Q3_K_L", EQ_FTYPE_MOSTLY_Q3_K_L, EQ_TYPE_Q3_K},
    {"Q4_K_S", EQ_FTYPE_MOSTLY_Q4_K_S, EQ_TYPE_Q4_K}, {"Q4_K_M", EQ_FTYPE_MOSTLY_Q4_K_M, EQ_TYPE_Q4_K},
    {"Q5_K_S", EQ_FTYPE_MOSTLY_Q5_K_S, EQ_TYPE_Q5_K}, {"Q5_K_M", EQ_FTYPE_MOSTLY_Q5_K_M, EQ_TYPE_Q5_K},
    {"Q6_K", EQ_FTYPE_MOSTLY_Q6_K, EQ_TYPE_Q6_K},
    /* llama-quantize's aliases */
    {"Q3_K", EQ_FTYPE_MOSTLY_Q3_K_M, EQ_TYPE_Q3_K},   {"Q4_K", EQ_FTYPE_MOSTLY_Q4_K_M, EQ_TYPE_Q4_K},
    {"Q5_K", EQ_FTYPE_MOSTLY_Q5_K_M, EQ_TYPE_Q5_K},
};
#define N_FTYPES ((int)(sizeof k_ftypes / sizeof k_ftypes[0]))

static int upper(int c) { return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c; }

int eq_ftype_from_name(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < N_FTYPES; i++) {
        const char *a = k_ftypes[i].name, *b = name;
        while (*a && *b && *a == upper((unsigned char)*b)) { a++; b++; }
        if (!*a && !*b) return k_ftypes[i].ftype;
    }
    return -1;
}

const char *eq_ftype_name(int ftype) {
    for (int i = 0; i < N_FTYPES; i++)
        if (k_ftypes[i].ftype == ftype) return k_ftypes[i].name;
    return "?";
}

int eq_ftype_default_type(int ftype) {
    for (int i = 0; i < N_FTYPES; i++)
        if (k_ftypes[i].ftype == ftype) return k_ftypes[i].type;
    return -1;
}

static int is_quantized(int type) {
    return type != EQ_TYPE_F32 && type != EQ_TYPE_F16 && type != EQ_TYPE_BF16;
}

static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* ggml_n_dims: dimensions up to the last one above 1 */
static int n_dims(const int64_t ne[4]) {
    for (int i = 3; i >= 1; i--)
        if (ne[i] > 1) return i + 1;
    return 1;
}

int eq_qplan_allows(const char *name, const int64_t ne[4]) {
    if (n_dims(ne) < 2) return 0; /* only 2-D and 3-D (experts) weights */
    static const char *const never[] = {
        "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
        "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight",
        "indexer.q_proj.weight", "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight",
        "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
        "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight",
        "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
        "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd",
        "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook",
        "mm.a.code_embd",
    };
    /* llama checks name.rfind("weight") == size - 6, which a name shorter than 6 also passes
     * (npos - ... wraps); such names do not occur in practice, so "ends with" it is */
    if (!ends_with(name, "weight")) return 0;
    for (size_t i = 0; i < sizeof never / sizeof *never; i++)
        if (has(name, never[i])) return 0;
    /* BERT's positional and token-type embeddings (LLM_TN names) */
    if (!strcmp(name, "position_embd.weight") || !strcmp(name, "token_types.weight")) return 0;
    return 1;
}

enum cat { C_TOKEN_EMBD, C_ATTN_Q, C_ATTN_V, C_ATTN_K, C_ATTN_QKV, C_ATTN_KV_B, C_ATTN_OUTPUT,
           C_FFN_UP, C_FFN_GATE, C_FFN_DOWN, C_OUTPUT, C_OTHER };

static int is_token_embd(const char *n) {
    return !strcmp(n, "token_embd.weight") || !strcmp(n, "per_layer_token_embd.weight");
}

static enum cat category(const char *n) {
    if (!strcmp(n, "output.weight")) return C_OUTPUT;
    if (is_token_embd(n)) return C_TOKEN_EMBD;
    if (has(n, "attn_qkv.weight")) return C_ATTN_QKV;
    if (has(n, "attn_kv_b.weight")) return C_ATTN_KV_B;
    if (has(n, "attn_v.weight")) return C_ATTN_V;
    if (has(n, "attn_k.weight")) return C_ATTN_K;
    if (has(n, "attn_q.weight")) return C_ATTN_Q;
    if (has(n, "attn_output.weight")) return C_ATTN_OUTPUT;
    if (has(n, "ffn_up")) return C_FFN_UP;
    if (has(n, "ffn_gate")) return C_FFN_GATE;
    if (has(n, "ffn_down")) return C_FFN_DOWN;
    return C_OTHER;
}

static int is_attn_v(enum cat c) { return c == C_ATTN_V || c == C_ATTN_QKV || c == C_ATTN_KV_B; }

static int use_more_bits(int i_layer, int n_layers) {
    return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

/* sscanf(name, "blk.%d.") without sscanf's overflow UB: -1 when absent */
static int block_of(const char *n, int *ok) {
    *ok = 0;
    if (strncmp(n, "blk.", 4)) return -1;
    const char *p = n + 4;
    int neg = 0;
    if (*p == '-' || *p == '+') neg = *p++ == '-';
    if (*p < '0' || *p > '9') return -1;
    long v = 0;
    while (*p >= '0' && *p <= '9') {
        if (v < 100000000) v = v * 10 + (*p - '0');
        p++;
    }
    *ok = 1; /* sscanf matched the number even if the '.' after it is missing */
    return (int)(neg ? -v : v);
}

typedef struct {
    const eq_qplan_params *p;
    int n_attention_wv, i_attention_wv, n_ffn_down, i_ffn_down, n_ffn_gate, i_ffn_gate, n_ffn_up, i_ffn_up;
    int n_fallback, has_tied;
    int is_falcon, is_70b;
} qstate;

static int n_gqa(const eq_qplan_params *p) { return p->n_head_kv ? p->n_head / p->n_head_kv : 0; }

/* layer_info: with experts the layer comes from the name (experts are not consecutive) */
static int layer_of(const qstate *qs, int counter, const char *name, int *i_layer, char *err, size_t errlen) {
    *i_layer = counter;
    if (qs->p->n_expert > 1) {
        int ok;
        int l = block_of(name, &ok);
        if (!ok) { snprintf(err, errlen, "failed to determine the layer of tensor '%s'", name); return -1; }
        if (l < 0 || l >= qs->p->n_layer) {
            snprintf(err, errlen, "bad layer %d for tensor '%s' (must be in [0, %d))", l, name, qs->p->n_layer);
            return -1;
        }
        *i_layer = l;
    }
    return 0;
}

static int get_type_impl(qstate *qs, int new_type, const eq_qplan_tensor *t, enum cat c, int *out, char *err, size_t errlen) {
    const eq_qplan_params *p = qs->p;
    const int ft = p->ftype;
    const int n_expert = p->n_expert;
    if (c == C_OUTPUT || (qs->has_tied && c == C_TOKEN_EMBD)) {
        if (p->output_type >= 0) {
            new_type = p->output_type;
        } else {
            const int64_t nx = t->ne[0];
            const int qk_k = eq_type_traits_get(new_type)->blck_size;
            if (qs->is_falcon || nx % qk_k != 0) new_type = EQ_TYPE_Q8_0;
            else if (new_type != EQ_TYPE_Q8_0) new_type = EQ_TYPE_Q6_K;
        }
    } else if (c == C_TOKEN_EMBD) {
        if (p->token_embd_type >= 0) new_type = p->token_embd_type;
    } else if (is_attn_v(c)) {
        if (ft == EQ_FTYPE_MOSTLY_Q2_K) new_type = n_gqa(p) >= 4 ? EQ_TYPE_Q4_K : EQ_TYPE_Q3_K;
        else if (ft == EQ_FTYPE_MOSTLY_Q3_K_M) new_type = qs->i_attention_wv < 2 ? EQ_TYPE_Q5_K : EQ_TYPE_Q4_K;
        else if (ft == EQ_FTYPE_MOSTLY_Q3_K_L) new_type = EQ_TYPE_Q5_K;
        else if ((ft == EQ_FTYPE_MOSTLY_Q4_K_M || ft == EQ_FTYPE_MOSTLY_Q5_K_M) &&
                 use_more_bits(qs->i_attention_wv, qs->n_attention_wv)) new_type = EQ_TYPE_Q6_K;
        else if (ft == EQ_FTYPE_MOSTLY_Q4_K_S && qs->i_attention_wv < 4) new_type = EQ_TYPE_Q5_K;
        /* 70B: attn_v is 8x smaller than attn_q (8 heads share it), so more bits are cheap */
        if (qs->is_70b && (new_type == EQ_TYPE_Q3_K || new_type == EQ_TYPE_Q4_K)) new_type = EQ_TYPE_Q5_K;
        if (n_expert == 8) new_type = EQ_TYPE_Q8_0;
        ++qs->i_attention_wv;
    } else if (c == C_ATTN_K) {
        if (n_expert == 8) new_type = EQ_TYPE_Q8_0;
    } else if (c == C_ATTN_Q) {
        /* only IQ mixtures change attn_q */
    } else if (c == C_FFN_DOWN) {
        int i_layer, n_layer = qs->n_ffn_down;
        if (layer_of(qs, qs->i_ffn_down, t->name, &i_layer, err, errlen)) return -1;
        if (ft == EQ_FTYPE_MOSTLY_Q2_K) new_type = EQ_TYPE_Q3_K;
        else if (ft == EQ_FTYPE_MOSTLY_Q3_K_M) {
            new_type = i_layer < n_layer / 16 ? EQ_TYPE_Q5_K
                     : !qs->is_falcon || use_more_bits(i_layer, n_layer) ? EQ_TYPE_Q4_K : EQ_TYPE_Q3_K;
        } else if (ft == EQ_FTYPE_MOSTLY_Q3_K_L) {
            new_type = qs->is_falcon ? EQ_TYPE_Q4_K : EQ_TYPE_Q5_K;
        } else if (ft == EQ_FTYPE_MOSTLY_Q4_K_M) {
            if (qs->is_falcon) {
                new_type = i_layer < n_layer / 16 ? EQ_TYPE_Q6_K : use_more_bits(i_layer, n_layer) ? EQ_TYPE_Q5_K : EQ_TYPE_Q4_K;
            } else if (use_more_bits(i_layer, n_layer)) {
                new_type = EQ_TYPE_Q6_K;
            }
        } else if (ft == EQ_FTYPE_MOSTLY_Q5_K_M && use_more_bits(i_layer, n_layer)) {
            new_type = EQ_TYPE_Q6_K;
        } else if (ft == EQ_FTYPE_MOSTLY_Q4_K_S && !qs->is_falcon && i_layer < n_layer / 8) {
            new_type = EQ_TYPE_Q5_K;
        } else if ((ft == EQ_FTYPE_MOSTLY_Q4_0 || ft == EQ_FTYPE_MOSTLY_Q5_0) && p->has_imatrix && i_layer < n_layer / 8) {
            /* guards the first ffn_down layers against Q4_0/Q5_0 going wrong, with an imatrix only */
            new_type = ft == EQ_FTYPE_MOSTLY_Q4_0 ? EQ_TYPE_Q4_1 : EQ_TYPE_Q5_1;
        }
        ++qs->i_ffn_down;
    } else if (c == C_ATTN_OUTPUT) {
        if (!qs->is_falcon) {
            if (n_expert == 8) {
                if (ft == EQ_FTYPE_MOSTLY_Q2_K || ft == EQ_FTYPE_MOSTLY_Q3_K_S || ft == EQ_FTYPE_MOSTLY_Q3_K_M ||
                    ft == EQ_FTYPE_MOSTLY_Q4_K_S || ft == EQ_FTYPE_MOSTLY_Q4_K_M) new_type = EQ_TYPE_Q5_K;
            } else {
                if (ft == EQ_FTYPE_MOSTLY_Q2_K) new_type = EQ_TYPE_Q3_K;
                else if (ft == EQ_FTYPE_MOSTLY_Q3_K_M) new_type = EQ_TYPE_Q4_K;
                else if (ft == EQ_FTYPE_MOSTLY_Q3_K_L) new_type = EQ_TYPE_Q5_K;
            }
        } else if (ft == EQ_FTYPE_MOSTLY_Q3_K_L) {
            new_type = EQ_TYPE_Q4_K;
        }
    } else if (c == C_ATTN_QKV) {
        /* unreachable: attn_qkv is an attn_v-like category and takes the branch above */
    } else if (c == C_FFN_GATE || c == C_FFN_UP) {
        int i_layer;
        int *ctr = c == C_FFN_GATE ? &qs->i_ffn_gate : &qs->i_ffn_up;
        if (layer_of(qs, *ctr, t->name, &i_layer, err, errlen)) return -1;
        ++*ctr; /* only IQ3_XS changes them */
    }
    *out = new_type;
    return 0;
}

/* A row length the type's blocks do not divide: the next type down that fits, else F16. */
static int fallback(qstate *qs, const eq_qplan_tensor *t, int type) {
    const int64_t ncols = t->ne[0];
    const int blck = eq_type_traits_get(type)->blck_size;
    if (ncols % blck == 0) return type;
    ++qs->n_fallback;
    int r = type;
    switch (type) {
    case EQ_TYPE_Q2_K: case EQ_TYPE_Q3_K: r = EQ_TYPE_Q4_0; break;
    case EQ_TYPE_Q4_K: r = EQ_TYPE_Q5_0; break;
    case EQ_TYPE_Q5_K: r = EQ_TYPE_Q5_1; break;
    case EQ_TYPE_Q6_K: r = EQ_TYPE_Q8_0; break;
    default: r = type; break; /* already a 32-block type: F16 below */
    }
    if (ncols % eq_type_traits_get(r)->blck_size != 0) r = EQ_TYPE_F16;
    return r;
}

int eq_qplan(const eq_qplan_params *p, const eq_qplan_tensor *t, int n, int *out_types, int *n_fallback,
             char *err, size_t errlen) {
    if (err && errlen) err[0] = 0;
    char dummy[8];
    if (!err || !errlen) { err = dummy; errlen = sizeof dummy; }
    const int default_type = eq_ftype_default_type(p->ftype);
    if (default_type < 0) { snprintf(err, errlen, "unsupported file type %d", p->ftype); return -1; }
    qstate qs;
    memset(&qs, 0, sizeof qs);
    qs.p = p;
    qs.has_tied = 1; /* until output.weight shows up */
    const char *arch = p->arch ? p->arch : "";
    qs.is_falcon = !strcmp(arch, "falcon");
    /* LLM_TYPE_70B as the loaders of these architectures set it */
    if (p->n_layer == 80 && ((!strcmp(arch, "llama") && p->n_expert != 8 && p->n_head != p->n_head_kv) ||
                             !strcmp(arch, "qwen2") || !strcmp(arch, "deci") || !strcmp(arch, "olmo")))
        qs.is_70b = 1;
    for (int i = 0; i < n; i++) {
        enum cat c = category(t[i].name);
        if (is_attn_v(c)) qs.n_attention_wv++;
        if (c == C_OUTPUT) qs.has_tied = 0;
    }
    qs.n_ffn_down = qs.n_ffn_gate = qs.n_ffn_up = p->n_layer;

    for (int i = 0; i < n; i++) {
        const eq_qplan_tensor *ti = &t[i];
        enum cat c = category(ti->name);
        int type = ti->type;
        if (eq_qplan_allows(ti->name, ti->ne)) {
            if (p->token_embd_type >= 0 && c == C_TOKEN_EMBD) type = p->token_embd_type;
            else if (p->output_type >= 0 && c == C_OUTPUT) type = p->output_type;
            else {
                type = default_type;
                if (is_quantized(default_type)) {
                    if (!p->pure && get_type_impl(&qs, type, ti, c, &type, err, errlen)) return -1;
                    type = fallback(&qs, ti, type);
                }
            }
        }
        const eq_type_traits *tr = eq_type_traits_get(type);
        if (!tr || ti->ne[0] % tr->blck_size != 0) {
            snprintf(err, errlen, "tensor '%s': row length %lld cannot be stored as %s (blocks of %d)", ti->name,
                     (long long)ti->ne[0], eq_type_name(type), tr ? tr->blck_size : 0);
            return -1;
        }
        out_types[i] = type;
    }
    if (n_fallback) *n_fallback = qs.n_fallback;
    return 0;
}

/* ---- llama's tensor order ---- */

static int blk_key(const char *name) {
    int ok;
    int b = block_of(name, &ok);
    return ok ? b : -1;
}

static int before(const eq_qplan_tensor *t, const int *key, int a, int b) {
    return key[a] != key[b] ? key[a] < key[b] : strcmp(t[a].name, t[b].name) < 0;
}

void eq_qplan_sort(const eq_qplan_tensor *t, int *idx, int n) {
    if (n < 2) return;
    int *key = malloc((size_t)n * sizeof *key);
    int *tmp = malloc((size_t)n * sizeof *tmp);
    if (!key || !tmp) {
        /* no memory for the merge sort: insertion sort in place (slow only for huge n) */
        free(key);
        free(tmp);
        for (int i = 1; i < n; i++) {
            int v = idx[i], j = i - 1;
            while (j >= 0) {
                int kj = blk_key(t[idx[j]].name), kv = blk_key(t[v].name);
                if (!(kj != kv ? kj > kv : strcmp(t[idx[j]].name, t[v].name) > 0)) break;
                idx[j + 1] = idx[j];
                j--;
            }
            idx[j + 1] = v;
        }
        return;
    }
    /* keys are indexed by tensor, idx holds tensor indices in [0, n) */
    for (int i = 0; i < n; i++) key[idx[i]] = blk_key(t[idx[i]].name);
    for (int w = 1; w < n; w *= 2) { /* bottom-up merge sort: stable, O(n log n) */
        for (int lo = 0; lo < n; lo += 2 * w) {
            int mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int a = lo, b = mid, o = lo;
            while (a < mid && b < hi) tmp[o++] = before(t, key, idx[b], idx[a]) ? idx[b++] : idx[a++];
            while (a < mid) tmp[o++] = idx[a++];
            while (b < hi) tmp[o++] = idx[b++];
        }
        memcpy(idx, tmp, (size_t)n * sizeof *idx);
    }
    free(key);
    free(tmp);
}
