/* Hugging Face folder -> GGUF (see include/edgeq_quantize.h): config.json, the tensor plan, the stream. */
#include "format/hf_internal.h"
#include "format/json.h"
#include "format/safetensors.h"
#include "quant/quant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- hyper-parameters */

/* find_hparam: the first key present wins (a null value counts as absent). 1 found, 0 not,
 * or an error when the value is not an integer in [lo, hi]. */
static eq_status hp_int(eq_hf *h, const char *const *keys, int64_t lo, int64_t hi, int64_t *out, int *found) {
    *found = 0;
    for (; *keys; keys++) {
        const cJSON *v = eq_json_get(h->config, *keys);
        if (!v) continue;
        if (cJSON_IsNull(v)) return EQ_OK;
        if (!eq_json_as_int(v, lo, hi, out))
            return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: \"%s\" is not an integer in [%lld, %lld]", h->dir, *keys,
                              (long long)lo, (long long)hi);
        *found = 1;
        return EQ_OK;
    }
    return EQ_OK;
}

static eq_status hp_num(eq_hf *h, const cJSON *o, const char *where, const char *const *keys, double *out, int *found) {
    *found = 0;
    for (; *keys; keys++) {
        const cJSON *v = eq_json_get(o, *keys);
        if (!v) continue;
        if (cJSON_IsNull(v)) return EQ_OK;
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: %s\"%s\" is not a number", h->dir, where, *keys);
        *out = v->valuedouble;
        *found = 1;
        return EQ_OK;
    }
    return EQ_OK;
}

static int py_truthy_json(const cJSON *v) {
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v)) return 0;
    if (cJSON_IsArray(v) || cJSON_IsObject(v)) return v->child != NULL;
    if (cJSON_IsString(v)) return v->valuestring && *v->valuestring;
    if (cJSON_IsNumber(v)) return v->valuedouble != 0;
    return 1;
}

/* ASCII case-insensitive compare (strcasecmp is POSIX, not C11) */
static int strcasecmp_c(const char *a, const char *b) {
    for (;; a++, b++) {
        int x = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a, y = (*b >= 'A' && *b <= 'Z') ? *b + 32 : *b;
        if (x != y || !x) return x - y;
    }
}

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

typedef struct {
    int64_t n_layer, n_embd, n_head, n_head_kv, n_ff, n_vocab, head_dim, n_ctx;
    int has_ctx, has_head_dim, has_ff, has_vocab;
    /* rope_parameters, as TextModel.__init__ builds it */
    const cJSON *rope;          /* rope_parameters / rope_scaling object, or NULL */
    double rope_theta; int has_rope_theta;
    const char *rope_type;      /* rope.rope_type, or rope.type, or NULL */
    double partial_rotary; int has_partial;
    int64_t orig_ctx; int has_orig_ctx;
} hparams;

static eq_status load_hparams(eq_hf *h, hparams *hp) {
    memset(hp, 0, sizeof *hp);
    eq_status st;
    int f;
    const int64_t BIG = (int64_t)1 << 31;
    if ((st = hp_int(h, KEYS("n_layers", "num_hidden_layers", "n_layer", "num_layers"), 1, 1 << 16, &hp->n_layer, &f))) return st;
    if (!f) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: missing \"num_hidden_layers\"", h->dir);
    if ((st = hp_int(h, KEYS("hidden_size", "n_embd", "dim"), 1, 1 << 20, &hp->n_embd, &f))) return st;
    if (!f) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: missing \"hidden_size\"", h->dir);
    if ((st = hp_int(h, KEYS("num_attention_heads", "n_head", "n_heads"), 1, 1 << 16, &hp->n_head, &f))) return st;
    if (!f) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: missing \"num_attention_heads\"", h->dir);
    if ((st = hp_int(h, KEYS("num_key_value_heads", "n_kv_heads"), 1, 1 << 16, &hp->n_head_kv, &f))) return st;
    if (!f) hp->n_head_kv = hp->n_head;
    else if (hp->n_head % hp->n_head_kv)
        return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: num_attention_heads %lld is not a multiple of num_key_value_heads %lld",
                          h->dir, (long long)hp->n_head, (long long)hp->n_head_kv);
    if ((st = hp_int(h, KEYS("prefix_dense_intermediate_size", "dense_intermediate_size", "intermediate_size", "n_inner", "hidden_dim"),
                     1, 1 << 24, &hp->n_ff, &hp->has_ff))) return st;
    if ((st = hp_int(h, KEYS("vocab_size"), 1, BIG, &hp->n_vocab, &hp->has_vocab))) return st;
    if ((st = hp_int(h, KEYS("max_position_embeddings", "n_ctx", "n_positions", "max_length", "max_sequence_length", "model_max_length"),
                     0, UINT32_MAX, &hp->n_ctx, &hp->has_ctx))) return st;
    if ((st = hp_int(h, KEYS("head_dim"), 1, 1 << 16, &hp->head_dim, &hp->has_head_dim))) return st;
    if (!hp->has_head_dim && hp->n_embd % hp->n_head)
        return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: hidden_size %lld is not a multiple of num_attention_heads %lld",
                          h->dir, (long long)hp->n_embd, (long long)hp->n_head);

    const cJSON *rp = eq_json_get(h->config, "rope_parameters");
    if (!rp || cJSON_IsNull(rp)) rp = eq_json_get(h->config, "rope_scaling");
    if (rp && cJSON_IsNull(rp)) rp = NULL;
    if (rp && !cJSON_IsObject(rp)) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: \"rope_scaling\" is not an object", h->dir);
    if (eq_json_get(rp, "full_attention") || eq_json_get(rp, "sliding_attention"))
        return eq_hf_fail(h, EQ_ERR_UNSUPPORTED, "%s/config.json: per-attention-type rope_parameters are not supported", h->dir);
    hp->rope = rp;
    /* rope_parameters' own values first, then the top-level ones the script mirrors into it */
    if ((st = hp_num(h, rp, "rope_scaling.", KEYS("rope_theta"), &hp->rope_theta, &hp->has_rope_theta))) return st;
    if (!hp->has_rope_theta &&
        (st = hp_num(h, h->config, "", KEYS("global_rope_theta", "rope_global_theta", "rope_theta_global", "rope_theta", "rotary_emb_base"),
                     &hp->rope_theta, &hp->has_rope_theta))) return st;
    hp->rope_type = eq_json_str(rp, "rope_type");
    if (!hp->rope_type) hp->rope_type = eq_json_str(rp, "type");
    if ((st = hp_num(h, rp, "rope_scaling.", KEYS("partial_rotary_factor"), &hp->partial_rotary, &hp->has_partial))) return st;
    if (!hp->has_partial &&
        (st = hp_num(h, h->config, "", KEYS("partial_rotary_factor", "rope_pct", "rope_percent"), &hp->partial_rotary, &hp->has_partial)))
        return st;
    const cJSON *o = eq_json_get(rp, "original_max_position_embeddings");
    if (!o || cJSON_IsNull(o)) o = eq_json_get(h->config, "original_max_position_embeddings");
    if (o && !cJSON_IsNull(o)) {
        if (!eq_json_as_int(o, 1, UINT32_MAX, &hp->orig_ctx))
            return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: \"original_max_position_embeddings\" is not a positive integer", h->dir);
        hp->has_orig_ctx = 1;
    }
    return EQ_OK;
}

/* ---------------------------------------------------------------- the tensor plan */

enum {
    K_TOKEN_EMBD, K_OUTPUT_NORM, K_OUTPUT, K_ATTN_NORM, K_Q, K_K, K_V, K_O, K_QKV,
    K_FFN_NORM, K_GATE, K_UP, K_DOWN, K_GATE_UP, K_EXTRA
};

typedef struct {
    char   name[96];
    int    type;
    int    n_dims;
    int64_t ne[4];          /* GGUF order (innermost first) */
    long   src;             /* safetensors index, -1: generated */
    int    permute;         /* heads for the llama Q/K permutation, 0: none */
    float *gen;             /* generated values (rope factors) */
} planned;

typedef struct {
    planned *t;
    size_t n, cap;
} plan;

static void plan_free(plan *p) {
    for (size_t i = 0; i < p->n; i++) free(p->t[i].gen);
    free(p->t);
}

static planned *plan_add(plan *p) {
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 64;
        planned *nt = realloc(p->t, nc * sizeof *nt);
        if (!nt) return NULL;
        p->t = nt;
        p->cap = nc;
    }
    planned *t = &p->t[p->n++];
    memset(t, 0, sizeof *t);
    t->src = -1;
    return t;
}

/* HF name -> GGUF name for the three architectures (gguf-py's TensorNameMap subset). */
static int map_name(int arch, const char *hf, char *out, size_t cap, int *kind, int *bid, int *is_bias) {
    const char *suffix = NULL;
    size_t L = strlen(hf);
    char base[256];
    if (L > 7 && !strcmp(hf + L - 7, ".weight")) { suffix = ".weight"; L -= 7; }
    else if (L > 5 && !strcmp(hf + L - 5, ".bias")) { suffix = ".bias"; L -= 5; }
    if (!suffix || L >= sizeof base) return 0;
    memcpy(base, hf, L);
    base[L] = 0;
    *is_bias = suffix[1] == 'b';
    *bid = -1;
    static const struct { const char *hf, *gg; int kind; } top[] = {
        {"model.embed_tokens", "token_embd", K_TOKEN_EMBD},
        {"model.norm", "output_norm", K_OUTPUT_NORM},
        {"lm_head", "output", K_OUTPUT},
    };
    for (size_t i = 0; i < sizeof top / sizeof *top; i++)
        if (!strcmp(base, top[i].hf)) {
            *kind = top[i].kind;
            snprintf(out, cap, "%s%s", top[i].gg, suffix);
            return 1;
        }
    static const char pre[] = "model.layers.";
    if (strncmp(base, pre, sizeof pre - 1)) return 0;
    const char *p = base + sizeof pre - 1;
    char *end;
    long b = strtol(p, &end, 10);
    if (end == p || *end != '.' || b < 0 || b > 1 << 16 || (p[0] == '0' && end - p > 1)) return 0;
    const char *rest = end + 1;
    static const struct { const char *hf, *gg; int kind, phi3_only; } blk[] = {
        {"input_layernorm", "attn_norm", K_ATTN_NORM, 0},
        {"self_attn.q_proj", "attn_q", K_Q, 0},
        {"self_attn.k_proj", "attn_k", K_K, 0},
        {"self_attn.v_proj", "attn_v", K_V, 0},
        {"self_attn.o_proj", "attn_output", K_O, 0},
        {"self_attn.qkv_proj", "attn_qkv", K_QKV, 1},
        {"post_attention_layernorm", "ffn_norm", K_FFN_NORM, 0},
        {"mlp.gate_proj", "ffn_gate", K_GATE, 0},
        {"mlp.up_proj", "ffn_up", K_UP, 0},
        {"mlp.down_proj", "ffn_down", K_DOWN, 0},
        {"mlp.gate_up_proj", "ffn_up", K_GATE_UP, 1},
    };
    for (size_t i = 0; i < sizeof blk / sizeof *blk; i++)
        if (!strcmp(rest, blk[i].hf)) {
            if (blk[i].phi3_only && arch != EQ_HF_PHI3) return 0;
            *kind = blk[i].kind;
            *bid = (int)b;
            snprintf(out, cap, "blk.%ld.%s%s", b, blk[i].gg, suffix);
            return 1;
        }
    return 0;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static void shape_str(const int64_t *d, int n, char *buf, size_t cap) {
    size_t o = 0;
    o += (size_t)snprintf(buf + o, cap - o, "[");
    for (int i = 0; i < n && o < cap; i++) o += (size_t)snprintf(buf + o, cap - o, i ? ", %lld" : "%lld", (long long)d[i]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
}

/* The shape config.json implies for a tensor (HF order, outermost first). */
static int expected_shape(const hparams *hp, int arch, int kind, int is_bias, int64_t *d) {
    int64_t hd = hp->has_head_dim ? hp->head_dim : hp->n_embd / hp->n_head;
    int64_t q = hp->n_head * hd, kv = hp->n_head_kv * hd, E = hp->n_embd, F = hp->n_ff;
    int64_t rows;
    switch (kind) {
    case K_TOKEN_EMBD: case K_OUTPUT:
        if (!hp->has_vocab) return 0;   /* nothing to check against */
        d[0] = hp->n_vocab; d[1] = E; return 2;
    case K_OUTPUT_NORM: case K_ATTN_NORM: case K_FFN_NORM: d[0] = E; return 1;
    case K_Q: rows = q; break;
    case K_K: case K_V: rows = kv; break;
    case K_QKV: rows = q + 2 * kv; break;
    case K_O: if (is_bias) { d[0] = E; return 1; } d[0] = E; d[1] = q; return 2;
    case K_GATE: case K_UP: if (!hp->has_ff) return 0; rows = F; break;
    case K_GATE_UP: if (!hp->has_ff) return 0; rows = 2 * F; break;
    case K_DOWN: if (!hp->has_ff) return 0; if (is_bias) { d[0] = E; return 1; } d[0] = E; d[1] = F; return 2;
    default: return 0;
    }
    (void)arch;
    d[0] = rows;
    if (is_bias) return 1;
    d[1] = E;
    return 2;
}

static int out_type_for(const char *name, int n_dims, int64_t ne0, int ftype_type) {
    if (n_dims <= 1 || ends_with(name, "_norm.weight")) return EQ_TYPE_F32;
    if (!ends_with(name, ".weight")) return EQ_TYPE_F32;
    if (ftype_type == EQ_TYPE_Q8_0 && ne0 % 32) return EQ_TYPE_F16;   /* QuantError -> F16, as the script falls back */
    return ftype_type;
}

/* llama: rope_freqs for rope_type "llama3", in float32 as torch computes it */
static eq_status gen_llama3_freqs(eq_hf *h, const hparams *hp, plan *p) {
    if (!hp->rope_type) return EQ_OK;
    char lt[16];
    size_t i;
    for (i = 0; hp->rope_type[i] && i < sizeof lt - 1; i++) lt[i] = (char)((hp->rope_type[i] >= 'A' && hp->rope_type[i] <= 'Z') ? hp->rope_type[i] + 32 : hp->rope_type[i]);
    lt[i] = 0;
    if (strcmp(lt, "llama3")) return EQ_OK;
    double base = hp->has_rope_theta ? hp->rope_theta : 10000.0;
    int64_t dim = hp->has_head_dim ? hp->head_dim : hp->n_embd / hp->n_head;
    double factor = 8.0, lo = 1.0, hi = 4.0, old = 8192;
    int f;
    eq_status st;
    if ((st = hp_num(h, hp->rope, "rope_scaling.", KEYS("factor"), &factor, &f))) return st;
    if ((st = hp_num(h, hp->rope, "rope_scaling.", KEYS("low_freq_factor"), &lo, &f))) return st;
    if ((st = hp_num(h, hp->rope, "rope_scaling.", KEYS("high_freq_factor"), &hi, &f))) return st;
    if (hp->has_orig_ctx) old = (double)hp->orig_ctx;
    planned *t = plan_add(p);
    if (!t) return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
    int64_t n = (dim + 1) / 2;
    t->gen = malloc((size_t)n * sizeof(float));
    if (!t->gen) return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
    float low_wl = (float)(old / lo), high_wl = (float)(old / hi);
    for (int64_t k = 0; k < n; k++) {
        float e = (float)(2 * k) / (float)dim;
        float freq = 1.0f / powf((float)base, e);
        float wl = (float)(2 * 3.14159265358979323846) / freq;
        float r;
        if (wl < high_wl) r = 1.0f;
        else if (wl > low_wl) r = (float)factor;
        else {
            float smooth = ((float)old / wl - (float)lo) / ((float)hi - (float)lo);
            r = 1.0f / ((1.0f - smooth) / (float)factor + smooth);
        }
        t->gen[k] = r;
    }
    snprintf(t->name, sizeof t->name, "rope_freqs.weight");
    t->type = EQ_TYPE_F32;
    t->n_dims = 1;
    t->ne[0] = n;
    return EQ_OK;
}

/* phi3: LongRoPE factors and the attention factor (generate_extra_tensors) */
static eq_status gen_phi3(eq_hf *h, const hparams *hp, plan *p, int64_t n_ctx, double *attn_factor, int *has_attn) {
    *has_attn = 0;
    const cJSON *lf = eq_json_get(hp->rope, "long_factor"), *sf = eq_json_get(hp->rope, "short_factor");
    if (!py_truthy_json(lf)) return EQ_OK;
    if (!hp->has_orig_ctx) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: missing \"original_max_position_embeddings\"", h->dir);
    double scale = (double)n_ctx / (double)hp->orig_ctx;
    const char *rt = hp->rope_type ? hp->rope_type : "";
    if (!*rt) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: missing rope_scaling.type", h->dir);
    if (!strcasecmp_c(rt, "su") || !strcasecmp_c(rt, "longrope"))
        *attn_factor = scale > 1.0 ? sqrt(1 + log(scale) / log((double)hp->orig_ctx)) : 1.0;
    else if (!strcasecmp_c(rt, "yarn"))
        *attn_factor = scale > 1.0 ? 0.1 * log(scale) + 1.0 : 1.0;
    else return eq_hf_fail(h, EQ_ERR_UNSUPPORTED, "%s/config.json: rope scaling type '%s' is not supported", h->dir, rt);
    *has_attn = 1;
    if (!cJSON_IsArray(lf) || !cJSON_IsArray(sf))
        return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: rope_scaling.long_factor / short_factor must be lists", h->dir);
    double rot = hp->has_partial ? hp->partial_rotary : 1.0;
    int64_t rope_dims = (int64_t)(rot * (double)hp->n_embd) / hp->n_head;
    int nl = cJSON_GetArraySize(lf), ns = cJSON_GetArraySize(sf);
    if (nl != ns || (double)nl != (double)rope_dims / 2)
        return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: rope long/short factors must have %g entries (long %d, short %d)",
                          h->dir, (double)rope_dims / 2, nl, ns);
    for (int w = 0; w < 2; w++) {
        const cJSON *arr = w ? sf : lf;
        planned *t = plan_add(p);
        if (!t) return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
        t->gen = malloc((size_t)nl * sizeof(float) + 1);
        if (!t->gen) return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
        int k = 0;
        for (const cJSON *e = arr->child; e; e = e->next, k++) {
            if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
                return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: rope_scaling.%s[%d] is not a number", h->dir, w ? "short_factor" : "long_factor", k);
            t->gen[k] = (float)e->valuedouble;
        }
        snprintf(t->name, sizeof t->name, w ? "rope_factors_short.weight" : "rope_factors_long.weight");
        t->type = EQ_TYPE_F32;
        t->n_dims = 1;
        t->ne[0] = nl;
    }
    return EQ_OK;
}

/* Every tensor that will be written, in the script's order: generated ones, then the
 * safetensors tensors (shard by shard, by name), mapped, checked and typed. */
static eq_status build_plan(eq_hf *h, const hparams *hp, const eq_st_model *st_m, int ftype_type, plan *p,
                            double *attn_factor, int *has_attn) {
    eq_status st;
    *has_attn = 0;
    if (h->arch == EQ_HF_LLAMA && (st = gen_llama3_freqs(h, hp, p))) return st;
    if (h->arch == EQ_HF_PHI3) {
        int64_t n_ctx;
        int f;
        if ((st = hp_int(h, KEYS("n_positions", "max_position_embeddings"), 1, UINT32_MAX, &n_ctx, &f))) return st;
        if (!f) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: missing \"max_position_embeddings\"", h->dir);
        if ((st = gen_phi3(h, hp, p, n_ctx, attn_factor, has_attn))) return st;
    }
    char *seen = calloc((size_t)hp->n_layer * 16 + 16, 1);   /* which (layer, kind) pairs we have */
    if (!seen) return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
    st = EQ_OK;
    for (size_t i = 0; i < st_m->n_tensors && !st; i++) {
        const eq_st_tensor *s = &st_m->tensors[i];
        const char *name = s->name;
        const char *file = st_m->files[s->file];
        if (ends_with(name, ".attention.masked_bias") || ends_with(name, ".attention.bias") || ends_with(name, ".rotary_emb.inv_freq"))
            continue;
        char gname[96];
        int kind, bid, is_bias;
        if (!map_name(h->arch, name, gname, sizeof gname, &kind, &bid, &is_bias)) {
            st = eq_hf_fail(h, EQ_ERR_UNSUPPORTED, "%s: tensor '%s': cannot map it to a GGUF name for %s", file, name, h->arch_name);
            break;
        }
        if (bid >= hp->n_layer) {
            st = eq_hf_fail(h, EQ_ERR_FORMAT, "%s: tensor '%s': layer %d but config.json has num_hidden_layers %lld", file, name, bid,
                            (long long)hp->n_layer);
            break;
        }
        int64_t exp[4];
        int ne = expected_shape(hp, h->arch, kind, is_bias, exp);
        if (ne && (ne != s->n_dims || memcmp(exp, s->shape, (size_t)ne * sizeof *exp))) {
            char a[96], b[96];
            shape_str(s->shape, s->n_dims, a, sizeof a);
            shape_str(exp, ne, b, sizeof b);
            st = eq_hf_fail(h, EQ_ERR_FORMAT, "%s: tensor '%s' has shape %s but config.json implies %s", file, name, a, b);
            break;
        }
        if (s->n_dims == 0 || s->n_elem == 0) {
            st = eq_hf_fail(h, EQ_ERR_FORMAT, "%s: tensor '%s' is empty", file, name);
            break;
        }
        planned *t = plan_add(p);
        if (!t) { st = eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory"); break; }
        snprintf(t->name, sizeof t->name, "%s", gname);
        t->src = (long)i;
        t->n_dims = s->n_dims;
        for (int d = 0; d < s->n_dims; d++) t->ne[d] = s->shape[s->n_dims - 1 - d];
        t->type = out_type_for(gname, s->n_dims, t->ne[0], ftype_type);
        if (h->arch == EQ_HF_LLAMA && (kind == K_Q || kind == K_K)) {
            /* LlamaModel.permute: HF interleaves rotary halves differently from GGML */
            int64_t heads = kind == K_Q ? hp->n_head : hp->n_head_kv;
            if (s->shape[0] % (heads * 2)) {
                st = eq_hf_fail(h, EQ_ERR_FORMAT, "%s: tensor '%s': %lld rows do not split into %lld heads of even size", file, name,
                                (long long)s->shape[0], (long long)heads);
                break;
            }
            t->permute = (int)heads;
        }
        if (bid >= 0) {
            size_t k = (size_t)bid * 16 + (size_t)kind;
            if (!is_bias) seen[k] = 1;
        } else if (kind == K_TOKEN_EMBD) seen[(size_t)hp->n_layer * 16] = 1;
    }
    if (!st && !seen[(size_t)hp->n_layer * 16])
        st = eq_hf_fail(h, EQ_ERR_FORMAT, "%s: no model.embed_tokens.weight in the safetensors", h->dir);
    for (int64_t l = 0; l < hp->n_layer && !st; l++) {
        /* every layer needs its attention and feed-forward weights, or the model cannot run */
        int need_attn = h->arch == EQ_HF_PHI3 ? (seen[l * 16 + K_QKV] || (seen[l * 16 + K_Q] && seen[l * 16 + K_K] && seen[l * 16 + K_V]))
                                              : (seen[l * 16 + K_Q] && seen[l * 16 + K_K] && seen[l * 16 + K_V]);
        if (!need_attn || !seen[l * 16 + K_O] || !seen[l * 16 + K_DOWN])
            st = eq_hf_fail(h, EQ_ERR_FORMAT, "%s: layer %lld is missing attention or feed-forward weights (config.json says %lld layers)",
                            h->dir, (long long)l, (long long)hp->n_layer);
    }
    free(seen);
    return st;
}

/* ---------------------------------------------------------------- metadata */

#define W(call) do { eq_status ws_ = (call); if (ws_) return eq_hf_wfail(h, ws_); } while (0)

static eq_status set_rope_scaling(eq_hf *h, const hparams *hp) {
    if (!hp->rope_type) return EQ_OK;
    const char *rt = hp->rope_type;
    double factor;
    int has_factor;
    eq_status st;
    if ((st = hp_num(h, hp->rope, "rope_scaling.", KEYS("factor"), &factor, &has_factor))) return st;
    char key[128];
#define AK(suffix) (snprintf(key, sizeof key, "%s.%s", h->arch_name, suffix), key)
    if (!strcmp(rt, "linear") && has_factor) {
        W(eq_gguf_writer_set_str(h->w, AK("rope.scaling.type"), "linear"));
        W(eq_gguf_writer_set_f32(h->w, AK("rope.scaling.factor"), (float)factor));
    } else if (!strcmp(rt, "yarn") && has_factor) {
        W(eq_gguf_writer_set_str(h->w, AK("rope.scaling.type"), "yarn"));
        W(eq_gguf_writer_set_f32(h->w, AK("rope.scaling.factor"), (float)factor));
        if (!hp->has_orig_ctx) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: yarn needs original_max_position_embeddings", h->dir);
        W(eq_gguf_writer_set_u32(h->w, AK("rope.scaling.original_context_length"), (uint32_t)hp->orig_ctx));
        static const struct { const char *const keys[3]; const char *gk; } y[] = {
            {{"extrapolation_factor", NULL, NULL}, "rope.scaling.yarn_ext_factor"},
            {{"attention_factor", "attn_factor", NULL}, "rope.scaling.yarn_attn_factor"},
            {{"beta_fast", NULL, NULL}, "rope.scaling.yarn_beta_fast"},
            {{"beta_slow", NULL, NULL}, "rope.scaling.yarn_beta_slow"},
        };
        for (size_t i = 0; i < sizeof y / sizeof *y; i++) {
            double v;
            int f;
            if ((st = hp_num(h, hp->rope, "rope_scaling.", y[i].keys, &v, &f))) return st;
            if (f) W(eq_gguf_writer_set_f32(h->w, AK(y[i].gk), (float)v));
        }
    } else if (!strcmp(rt, "su") || !strcmp(rt, "longrope")) {
        W(eq_gguf_writer_set_str(h->w, AK("rope.scaling.type"), "longrope"));
    }
    /* "dynamic", "llama3" (rope_freqs) and unknown types write nothing here, as in the script */
    return EQ_OK;
#undef AK
}

static eq_status set_params(eq_hf *h, const hparams *hp, int file_type) {
    char key[128];
#define AK(suffix) (snprintf(key, sizeof key, "%s.%s", h->arch_name, suffix), key)
    eq_status st;
    int f;
    double v;
    if (h->arch == EQ_HF_PHI3) {
        int64_t n_ctx;
        if ((st = hp_int(h, KEYS("n_positions", "max_position_embeddings"), 1, UINT32_MAX, &n_ctx, &f))) return st;
        if (!hp->has_orig_ctx) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: missing \"original_max_position_embeddings\"", h->dir);
        if (!hp->has_ff) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: missing \"intermediate_size\"", h->dir);
        double eps;
        if ((st = hp_num(h, h->config, "", KEYS("rms_norm_eps"), &eps, &f))) return st;
        if (!f) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: missing \"rms_norm_eps\"", h->dir);
        if (!hp->has_rope_theta) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: missing \"rope_theta\"", h->dir);
        double rot = hp->has_partial ? hp->partial_rotary : 1.0;
        int64_t rope_dims = (int64_t)(rot * (double)hp->n_embd) / hp->n_head;
        W(eq_gguf_writer_set_u32(h->w, AK("context_length"), (uint32_t)n_ctx));
        W(eq_gguf_writer_set_u32(h->w, AK("rope.scaling.original_context_length"), (uint32_t)hp->orig_ctx));
        W(eq_gguf_writer_set_u32(h->w, AK("embedding_length"), (uint32_t)hp->n_embd));
        W(eq_gguf_writer_set_u32(h->w, AK("feed_forward_length"), (uint32_t)hp->n_ff));
        W(eq_gguf_writer_set_u32(h->w, AK("block_count"), (uint32_t)hp->n_layer));
        W(eq_gguf_writer_set_u32(h->w, AK("attention.head_count"), (uint32_t)hp->n_head));
        W(eq_gguf_writer_set_u32(h->w, AK("attention.head_count_kv"), (uint32_t)hp->n_head_kv));
        W(eq_gguf_writer_set_f32(h->w, AK("attention.layer_norm_rms_epsilon"), (float)eps));
        W(eq_gguf_writer_set_u32(h->w, AK("rope.dimension_count"), (uint32_t)rope_dims));
        W(eq_gguf_writer_set_f32(h->w, AK("rope.freq_base"), (float)hp->rope_theta));
        W(eq_gguf_writer_set_u32(h->w, "general.file_type", (uint32_t)file_type));
        int64_t sw = 0;
        if ((st = hp_int(h, KEYS("sliding_window"), 0, UINT32_MAX, &sw, &f))) return st;
        W(eq_gguf_writer_set_u32(h->w, AK("attention.sliding_window"), (uint32_t)(f ? sw : 0)));
        return EQ_OK;
    }
    /* TextModel.set_gguf_parameters */
    W(eq_gguf_writer_set_u32(h->w, AK("block_count"), (uint32_t)hp->n_layer));
    if (hp->has_ctx) W(eq_gguf_writer_set_u32(h->w, AK("context_length"), (uint32_t)hp->n_ctx));
    W(eq_gguf_writer_set_u32(h->w, AK("embedding_length"), (uint32_t)hp->n_embd));
    if (hp->has_ff) W(eq_gguf_writer_set_u32(h->w, AK("feed_forward_length"), (uint32_t)hp->n_ff));
    W(eq_gguf_writer_set_u32(h->w, AK("attention.head_count"), (uint32_t)hp->n_head));
    {
        int64_t kv;
        if ((st = hp_int(h, KEYS("num_key_value_heads", "n_kv_heads"), 1, 1 << 16, &kv, &f))) return st;
        if (f) W(eq_gguf_writer_set_u32(h->w, AK("attention.head_count_kv"), (uint32_t)kv));
    }
    int causal;
    if (eq_json_bool(h->config, "is_causal", &causal) == 1 && !causal) W(eq_gguf_writer_set_bool(h->w, AK("attention.causal"), 0));
    if ((st = set_rope_scaling(h, hp))) return st;
    if (hp->has_rope_theta) W(eq_gguf_writer_set_f32(h->w, AK("rope.freq_base"), (float)hp->rope_theta));
    if ((st = hp_num(h, h->config, "", KEYS("rms_norm_eps", "norm_eps"), &v, &f))) return st;
    if (f) W(eq_gguf_writer_set_f32(h->w, AK("attention.layer_norm_rms_epsilon"), (float)v));
    if ((st = hp_num(h, h->config, "", KEYS("layer_norm_eps", "layer_norm_epsilon", "norm_epsilon"), &v, &f))) return st;
    if (f) W(eq_gguf_writer_set_f32(h->w, AK("attention.layer_norm_epsilon"), (float)v));
    {
        int64_t x;
        if ((st = hp_int(h, KEYS("num_local_experts", "num_experts", "n_routed_experts"), 0, 1 << 20, &x, &f))) return st;
        if (f) return eq_hf_fail(h, EQ_ERR_UNSUPPORTED, "%s/config.json: mixture-of-experts models are not supported", h->dir);
    }
    if (hp->has_head_dim) {
        W(eq_gguf_writer_set_u32(h->w, AK("attention.key_length"), (uint32_t)hp->head_dim));
        W(eq_gguf_writer_set_u32(h->w, AK("attention.value_length"), (uint32_t)hp->head_dim));
    }
    W(eq_gguf_writer_set_u32(h->w, "general.file_type", (uint32_t)file_type));
    if (h->arch == EQ_HF_LLAMA) {
        if (!hp->has_vocab) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: missing \"vocab_size\"", h->dir);
        W(eq_gguf_writer_set_u32(h->w, AK("vocab_size"), (uint32_t)hp->n_vocab));
        int64_t rd = hp->has_head_dim ? hp->head_dim : hp->n_embd / hp->n_head;
        W(eq_gguf_writer_set_u32(h->w, AK("rope.dimension_count"), (uint32_t)rd));
    }
    return EQ_OK;
#undef AK
}

/* ---------------------------------------------------------------- data */

/* HF (n_head, 2, rows/n_head/2, cols) -> (n_head, rows/n_head/2, 2, cols) */
static void permute_rows(const float *src, float *dst, int64_t rows, int64_t cols, int64_t heads) {
    int64_t per = rows / heads, half = per / 2;
    for (int64_t hh = 0; hh < heads; hh++)
        for (int64_t i = 0; i < half; i++)
            for (int j = 0; j < 2; j++)
                memcpy(dst + (hh * per + i * 2 + j) * cols, src + (hh * per + j * half + i) * cols, (size_t)cols * sizeof(float));
}

static eq_status write_tensor(eq_hf *h, const eq_st_model *m, const planned *t) {
    int64_t n = 1;
    for (int d = 0; d < t->n_dims; d++) n *= t->ne[d];
    float *x = t->gen;
    float *buf = NULL, *tmp = NULL;
    void *out = NULL;
    eq_status st = EQ_OK;
    if (t->src >= 0) {
        buf = malloc((size_t)n * sizeof(float) + 1);
        if (!buf) return eq_hf_fail(h, EQ_ERR_NOMEM, "tensor '%s': out of memory (%lld values)", m->tensors[t->src].name, (long long)n);
        if ((st = eq_st_read_f32(m, (size_t)t->src, buf, h->err, h->errlen))) { free(buf); return st; }
        x = buf;
        if (t->permute) {
            tmp = malloc((size_t)n * sizeof(float) + 1);
            if (!tmp) { free(buf); return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory"); }
            int64_t cols = t->n_dims > 1 ? t->ne[0] : 1, rows = n / cols;
            permute_rows(buf, tmp, rows, cols, t->permute);
            x = tmp;
        }
    }
    if (t->type == EQ_TYPE_F32) {
        if (eq_gguf_writer_write(h->w, x, (size_t)n * sizeof(float))) st = eq_hf_wfail(h, EQ_ERR_IO);
    } else {
        /* convert a slab of rows at a time, so the output copy stays small */
        const eq_type_traits *tr = eq_type_traits_ref(t->type);
        int64_t ne0 = t->ne[0], rows = n / ne0;
        size_t rs = eq_row_size(t->type, ne0);
        int64_t slab = (int64_t)((4u << 20) / (rs ? rs : 1));
        if (slab < 1) slab = 1;
        out = malloc((size_t)(slab < rows ? slab : rows) * rs + 1);
        if (!out || !tr || !tr->from_float || !rs) st = eq_hf_fail(h, EQ_ERR_NOMEM, "tensor '%s': out of memory", t->name);
        for (int64_t r = 0; r < rows && !st; r += slab) {
            int64_t k = rows - r < slab ? rows - r : slab;
            tr->from_float(x + r * ne0, out, k * ne0);
            if (eq_gguf_writer_write(h->w, out, (size_t)k * rs)) st = eq_hf_wfail(h, EQ_ERR_IO);
        }
    }
    free(out);
    free(tmp);
    free(buf);
    return st;
}

/* ---------------------------------------------------------------- driver */

static eq_status load_opt_json(eq_hf *h, const char *name, cJSON **out) {
    *out = NULL;
    char *p = eq_path_join(h->dir, name);
    if (!p) return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
    eq_status st = EQ_OK;
    if (eq_file_exists(p)) st = eq_json_load(p, out, h->err, h->errlen);
    if (!st && *out && !cJSON_IsObject(*out)) {
        st = eq_hf_fail(h, EQ_ERR_FORMAT, "%s: not a JSON object", p);
        cJSON_Delete(*out);
        *out = NULL;
    }
    free(p);
    return st;
}

/* hparams come from transformers' AutoConfig.to_dict() in the script, not from config.json as
 * written: mirror what transformers 5 does to these three configs (defaults, head_dim for
 * llama, rope_scaling + rope_theta folded into rope_parameters). general.* and SpecialVocab
 * read config.json itself: they see the file as it is. */
static int absent(const cJSON *c, const char *k) {
    const cJSON *v = eq_json_get(c, k);
    return !v || cJSON_IsNull(v);
}

static eq_status set_num(cJSON *o, const char *k, double v) {
    cJSON *n = cJSON_CreateNumber(v);
    if (!n) return EQ_ERR_NOMEM;
    if (cJSON_GetObjectItemCaseSensitive(o, k)) { if (!cJSON_ReplaceItemInObjectCaseSensitive(o, k, n)) { cJSON_Delete(n); return EQ_ERR_NOMEM; } }
    else if (!cJSON_AddItemToObject(o, k, n)) { cJSON_Delete(n); return EQ_ERR_NOMEM; }
    return EQ_OK;
}

static eq_status set_str(cJSON *o, const char *k, const char *v) {
    cJSON *n = cJSON_CreateString(v);
    if (!n) return EQ_ERR_NOMEM;
    if (cJSON_GetObjectItemCaseSensitive(o, k)) { if (!cJSON_ReplaceItemInObjectCaseSensitive(o, k, n)) { cJSON_Delete(n); return EQ_ERR_NOMEM; } }
    else if (!cJSON_AddItemToObject(o, k, n)) { cJSON_Delete(n); return EQ_ERR_NOMEM; }
    return EQ_OK;
}

static eq_status autoconfig(eq_hf *h) {
    cJSON *c = h->config;
    eq_status st = EQ_OK;
    static const struct { int arch; const char *k; double v; } dflt[] = {
        {EQ_HF_LLAMA, "vocab_size", 32000}, {EQ_HF_LLAMA, "hidden_size", 4096}, {EQ_HF_LLAMA, "intermediate_size", 11008},
        {EQ_HF_LLAMA, "num_hidden_layers", 32}, {EQ_HF_LLAMA, "num_attention_heads", 32},
        {EQ_HF_LLAMA, "max_position_embeddings", 2048}, {EQ_HF_LLAMA, "rms_norm_eps", 1e-6},
        {EQ_HF_QWEN2, "vocab_size", 151936}, {EQ_HF_QWEN2, "hidden_size", 4096}, {EQ_HF_QWEN2, "intermediate_size", 22016},
        {EQ_HF_QWEN2, "num_hidden_layers", 32}, {EQ_HF_QWEN2, "num_attention_heads", 32},
        {EQ_HF_QWEN2, "max_position_embeddings", 32768}, {EQ_HF_QWEN2, "rms_norm_eps", 1e-6},
        {EQ_HF_PHI3, "vocab_size", 32064}, {EQ_HF_PHI3, "hidden_size", 3072}, {EQ_HF_PHI3, "intermediate_size", 8192},
        {EQ_HF_PHI3, "num_hidden_layers", 32}, {EQ_HF_PHI3, "num_attention_heads", 32},
        {EQ_HF_PHI3, "max_position_embeddings", 4096}, {EQ_HF_PHI3, "original_max_position_embeddings", 4096},
        {EQ_HF_PHI3, "rms_norm_eps", 1e-5},
    };
    for (size_t i = 0; i < sizeof dflt / sizeof *dflt && !st; i++)
        if (dflt[i].arch == h->arch && absent(c, dflt[i].k)) st = set_num(c, dflt[i].k, dflt[i].v);
    if (!st && absent(c, "num_key_value_heads") && cJSON_IsNumber(eq_json_get(c, "num_attention_heads")))
        st = set_num(c, "num_key_value_heads", eq_json_get(c, "num_attention_heads")->valuedouble);
    if (!st && h->arch == EQ_HF_LLAMA && absent(c, "head_dim")) {
        int64_t e, n;
        if (eq_json_int(c, "hidden_size", 1, 1 << 24, &e) == 1 && eq_json_int(c, "num_attention_heads", 1, 1 << 16, &n) == 1)
            st = set_num(c, "head_dim", (double)(e / n));
    }
    if (!st && h->arch == EQ_HF_QWEN2) {
        int use = 0;
        eq_json_bool(c, "use_sliding_window", &use);
        if (!use && eq_json_get(c, "sliding_window")) cJSON_ReplaceItemInObjectCaseSensitive(c, "sliding_window", cJSON_CreateNull());
    }
    if (!st && absent(c, "rope_parameters")) {
        const cJSON *rs = eq_json_get(c, "rope_scaling");
        cJSON *rp = cJSON_IsObject(rs) ? cJSON_Duplicate(rs, 1) : cJSON_CreateObject();
        if (!rp) st = EQ_ERR_NOMEM;
        if (!st && absent(rp, "rope_theta")) {
            double th = 10000.0;
            eq_json_num(c, "rope_theta", &th);
            st = set_num(rp, "rope_theta", th);
        }
        if (!st && h->arch == EQ_HF_PHI3 && absent(rp, "partial_rotary_factor")) {
            double pr = 1.0;
            eq_json_num(c, "partial_rotary_factor", &pr);
            st = set_num(rp, "partial_rotary_factor", pr);
        }
        if (!st && absent(rp, "rope_type")) st = set_str(rp, "rope_type", eq_json_str(rp, "type") ? eq_json_str(rp, "type") : "default");
        if (!st && h->arch == EQ_HF_PHI3 && absent(rp, "original_max_position_embeddings") &&
            cJSON_IsNumber(eq_json_get(c, "original_max_position_embeddings")))
            st = set_num(rp, "original_max_position_embeddings", eq_json_get(c, "original_max_position_embeddings")->valuedouble);
        if (!st) {
            cJSON_DeleteItemFromObjectCaseSensitive(c, "rope_parameters");
            if (!cJSON_AddItemToObject(c, "rope_parameters", rp)) st = EQ_ERR_NOMEM;
            else rp = NULL;
        }
        cJSON_Delete(rp);
        cJSON_DeleteItemFromObjectCaseSensitive(c, "rope_scaling");
        cJSON_DeleteItemFromObjectCaseSensitive(c, "rope_theta");
    }
    return st ? eq_hf_fail(h, st, "out of memory") : EQ_OK;
}

eq_hf_convert_params eq_hf_convert_default_params(void) {
    eq_hf_convert_params p;
    memset(&p, 0, sizeof p);
    p.outtype = EQ_HF_OUTTYPE_AUTO;
    return p;
}

/* Every file of the folder the conversion may read (malloc'd paths, then the shards' own), for
 * the output to be checked against: writing over one of them would destroy the model. */
static const char *const read_names[] = {
    "config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json", "README.md",
    "chat_template.jinja", "chat_template.json", "added_tokens.json", "tokenizer.model", "model.safetensors.index.json",
};
#define N_READ_NAMES (sizeof read_names / sizeof *read_names)

static const char **input_list(const char *dir, const eq_st_model *stm, int *n) {
    *n = 0;
    const char **v = calloc(N_READ_NAMES + (size_t)stm->n_files, sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; i < N_READ_NAMES; i++)
        if (!(v[(*n)++] = eq_path_join(dir, read_names[i]))) { while (*n) free((char *)v[--*n]); free(v); return NULL; }
    for (int i = 0; i < stm->n_files; i++) v[(*n)++] = stm->files[i];
    return v;
}

static void input_list_free(const char **v) {
    if (!v) return;
    for (size_t i = 0; i < N_READ_NAMES; i++) free((char *)v[i]);
    free(v);
}

eq_status eq_hf_convert(const char *hf_dir, const char *out_path, const eq_hf_convert_params *params,
                        char *err, size_t errlen) {
    const eq_hf_convert_params pd = params ? *params : eq_hf_convert_default_params();
    const int outtype = pd.outtype;
    eq_outfile_temp_fn on_temp = pd.on_temp;
    void *user = pd.user;
    char dummy[8];
    if (!err || !errlen) { err = dummy; errlen = sizeof dummy; }
    err[0] = 0;
    eq_hf hh, *h = &hh;
    memset(h, 0, sizeof *h);
    h->dir = hf_dir;
    h->err = err;
    h->errlen = errlen;
    h->warn = pd.warn;
    h->warn_user = user;
    if (!hf_dir || !out_path) return eq_hf_fail(h, EQ_ERR_ARG, "no model folder or output file given");
    if (outtype != EQ_HF_OUTTYPE_AUTO && outtype != EQ_TYPE_F32 && outtype != EQ_TYPE_F16 && outtype != EQ_TYPE_BF16 && outtype != EQ_TYPE_Q8_0)
        return eq_hf_fail(h, EQ_ERR_ARG, "output type must be f32, f16, bf16 or q8_0");
    eq_st_model *stm = NULL;
    plan p = {0};
    eq_status st;
    char *cpath = eq_path_join(hf_dir, "config.json");
    if (!cpath) return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
    st = eq_json_load(cpath, &h->config, err, errlen);
    if (!st && !cJSON_IsObject(h->config)) st = eq_hf_fail(h, EQ_ERR_FORMAT, "%s: not a JSON object", cpath);
    free(cpath);
    if (!st) st = load_opt_json(h, "tokenizer.json", &h->tok_json);
    if (!st) st = load_opt_json(h, "tokenizer_config.json", &h->tok_config);
    if (!st) st = load_opt_json(h, "generation_config.json", &h->gen_config);
    if (!st) {
        const cJSON *archs = eq_json_get(h->config, "architectures");
        const char *a = cJSON_IsArray(archs) && cJSON_IsString(archs->child) ? archs->child->valuestring : NULL;
        if (!a) st = eq_hf_fail(h, EQ_ERR_FORMAT, "%s/config.json: missing \"architectures\"", hf_dir);
        else if (!strcmp(a, "LlamaForCausalLM") || !strcmp(a, "LLaMAForCausalLM")) { h->arch = EQ_HF_LLAMA; h->arch_name = "llama"; }
        else if (!strcmp(a, "Phi3ForCausalLM")) { h->arch = EQ_HF_PHI3; h->arch_name = "phi3"; }
        else if (!strcmp(a, "Qwen2ForCausalLM")) { h->arch = EQ_HF_QWEN2; h->arch_name = "qwen2"; }
        else st = eq_hf_fail(h, EQ_ERR_UNSUPPORTED, "%s/config.json: architecture %.100s is not supported (LlamaForCausalLM, Phi3ForCausalLM, Qwen2ForCausalLM)", hf_dir, a);
    }
    hparams hp;
    if (!st) st = autoconfig(h);
    if (!st) st = load_hparams(h, &hp);
    if (!st) st = eq_st_open_dir(hf_dir, &stm, err, errlen);
    /* before the work: the output may be neither a folder nor one of the files read */
    const char **inputs = NULL;
    eq_outfile_opts oo = {NULL, 0, on_temp, user};
    if (!st) {
        inputs = input_list(hf_dir, stm, &oo.n_inputs);
        oo.inputs = inputs;
        if (!inputs) st = eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
        else st = eq_outfile_check(out_path, &oo, err, errlen);
    }
    int ftype_type = outtype;
    if (!st && outtype == EQ_HF_OUTTYPE_AUTO) {
        /* the first 2-D-or-more BF16/F16 tensor decides; all-F32 models get F16 */
        ftype_type = EQ_TYPE_F16;
        for (size_t i = 0; i < stm->n_tensors; i++) {
            if (stm->tensors[i].n_dims < 2) continue;
            if (stm->tensors[i].dtype == EQ_TYPE_BF16) { ftype_type = EQ_TYPE_BF16; break; }
            if (stm->tensors[i].dtype == EQ_TYPE_F16) { ftype_type = EQ_TYPE_F16; break; }
        }
    }
    int file_type = ftype_type == EQ_TYPE_F32 ? 0 : ftype_type == EQ_TYPE_F16 ? 1 : ftype_type == EQ_TYPE_Q8_0 ? 7 : 32;
    double attn_factor = 1.0;
    int has_attn = 0;
    if (!st) st = build_plan(h, &hp, stm, ftype_type, &p, &attn_factor, &has_attn);
    if (!st) {
        h->w = eq_gguf_writer_new();
        if (!h->w) st = eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
    }
    uint64_t total = 0;
    for (size_t i = 0; !st && i < p.n; i++) {
        uint64_t n = 1;
        for (int d = 0; d < p.t[i].n_dims; d++) n *= (uint64_t)p.t[i].ne[d];
        total += n;
    }
    /* the script's order: architecture, generated-tensor keys, general.*, hparams, quantization
     * version, tokenizer */
#define WS(call) do { if (!st) { eq_status ws_ = (call); if (ws_) st = eq_hf_wfail(h, ws_); } } while (0)
    WS(eq_gguf_writer_set_str(h->w, "general.architecture", h->arch_name));
    if (!st && has_attn) {
        char key[64];
        snprintf(key, sizeof key, "%s.rope.scaling.attn_factor", h->arch_name);
        WS(eq_gguf_writer_set_f32(h->w, key, (float)attn_factor));
    }
    WS(eq_gguf_writer_set_str(h->w, "general.type", "model"));
    if (!st) st = eq_hf_set_meta_model(h, total);
    if (!st) st = set_params(h, &hp, file_type);
    WS(eq_gguf_writer_set_u32(h->w, "general.quantization_version", 2));
    if (!st) st = eq_hf_set_vocab(h);
    for (size_t i = 0; i < p.n && !st; i++)
        WS(eq_gguf_writer_add_tensor(h->w, p.t[i].name, p.t[i].type, p.t[i].n_dims, p.t[i].ne));
    WS(eq_gguf_writer_open_ex(h->w, out_path, &oo));
    for (size_t i = 0; i < p.n && !st; i++) st = write_tensor(h, stm, &p.t[i]);
    WS(eq_gguf_writer_finish(h->w));
#undef WS
    if (st && h->w) eq_gguf_writer_abort(h->w);
    eq_gguf_writer_free(h->w);
    input_list_free(inputs);
    plan_free(&p);
    eq_st_free(stm);
    cJSON_Delete(h->config);
    cJSON_Delete(h->tok_json);
    cJSON_Delete(h->tok_config);
    cJSON_Delete(h->gen_config);
    return st;
}
