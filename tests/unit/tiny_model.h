/* Tiny random models written with the GGUF writer into memory and streamed into the loader:
 * the fixture the forward-pass and generation tests share. Include after eqtest.h (model_make
 * CHECKs what it does). Every architecture variant the loader binds is an arch_case; the vocab
 * is plain "t%d" tokens unless model_make_vocab overrides some. */
#ifndef EQ_TINY_MODEL_H
#define EQ_TINY_MODEL_H
#include "edgeq.h"
#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "quant/quant.h"
#include "membuf.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { E = 256, F = 256, NL = 2, V = 300, N_CTX_TRAIN = 128, N_CTX_ORIG = 32 };
typedef struct {
    const char *name, *arch;
    int n_head, n_head_kv, n_rot;   /* n_rot 0: the whole head */
    int tied, biases, fused, neox;
    float rope_base, rope_linear;   /* rope.scaling.factor of linear scaling, 0: none */
    int rope_freqs, longrope;
    int gemma;                      /* gemma3: heads GEMMA_HD wide, 4 more norms, GeGLU, window */
} arch_case;

/* gemma3's shape here: heads wider than E / n_head (Q = n_head * 128 = 512 with 4 heads), layer
 * 0 slides over the last GEMMA_WINDOW positions with its own rope base, layer 1 is global
 * (pattern 2), logits softcapped at GEMMA_SOFTCAP (tight enough to bend them). */
enum { GEMMA_HD = 128, GEMMA_WINDOW = 4, GEMMA_PATTERN = 2 };
#define GEMMA_ROPE_SWA 20000.0f
#define GEMMA_SOFTCAP 3.0f

#define PHI3_ATTN_FACTOR 1.19f

/* ---- random weights (float masters, one set per architecture) ---------------------------- */

typedef struct {
    const arch_case *a;
    int hd, n_rot, Q, KV;
    float *tok_embd, *out_norm, *output;   /* output NULL when tied */
    float *attn_norm[NL], *wq[NL], *wk[NL], *wv[NL], *bq[NL], *bk[NL], *bv[NL], *wo[NL];
    float *ffn_norm[NL], *wg[NL], *wu[NL], *wd[NL];
    float *q_norm[NL], *k_norm[NL], *post_attn[NL], *post_ffn[NL];   /* gemma3 */
    float *rope_freqs, *rope_long, *rope_short;
    float attn_factor;
} weights;

static uint64_t g_rng;
static float frand(void) {  /* splitmix64 → [-1, 1) */
    uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)(z >> 40) / (float)(1 << 23) - 1.0f;
}
/* uniform with standard deviation scale (a uniform on [-1, 1) has std 1/sqrt(3)) */
static float *randv(size_t n, float scale, float offset) {
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = offset + frand() * scale * 1.7320508f;
    return v;
}

static void weights_make(weights *w, const arch_case *a, uint64_t seed) {
    memset(w, 0, sizeof *w);
    g_rng = seed;
    w->a = a;
    w->hd = a->gemma ? GEMMA_HD : E / a->n_head;
    w->n_rot = a->n_rot ? a->n_rot : w->hd;
    w->Q = a->n_head * w->hd;
    w->KV = a->n_head_kv * w->hd;
    const float s = 1.0f / sqrtf((float)E);
    w->tok_embd = randv((size_t)V * E, 1.0f, 0);
    for (int l = 0; l < NL; l++) {
        w->attn_norm[l] = randv(E, 0.1f, 1.0f);
        w->wq[l] = randv((size_t)w->Q * E, 2 * s, 0);   /* q, k larger: attention not uniform */
        w->wk[l] = randv((size_t)w->KV * E, 2 * s, 0);
        w->wv[l] = randv((size_t)w->KV * E, s, 0);
        if (a->biases) {
            w->bq[l] = randv(w->Q, 0.1f, 0);
            w->bk[l] = randv(w->KV, 0.1f, 0);
            w->bv[l] = randv(w->KV, 0.1f, 0);
        }
        w->wo[l] = randv((size_t)E * w->Q, 1.0f / sqrtf((float)w->Q), 0);
        w->ffn_norm[l] = randv(E, 0.1f, 1.0f);
        w->wg[l] = randv((size_t)F * E, 2 * s, 0);
        w->wu[l] = randv((size_t)F * E, s, 0);
        w->wd[l] = randv((size_t)E * F, 1.0f / sqrtf((float)F), 0);
        if (a->gemma) {
            w->q_norm[l] = randv(w->hd, 0.1f, 1.0f);
            w->k_norm[l] = randv(w->hd, 0.1f, 1.0f);
            w->post_attn[l] = randv(E, 0.1f, 1.0f);
            w->post_ffn[l] = randv(E, 0.1f, 1.0f);
        }
    }
    w->out_norm = randv(E, 0.1f, 1.0f);
    if (!a->tied) w->output = randv((size_t)V * E, 2 * s, 0);
    const int half = w->n_rot / 2;
    if (a->rope_freqs) {  /* Llama 3.1's shape: 1 for the fast dims, up to 8 for the slow ones */
        w->rope_freqs = malloc(half * sizeof(float));
        for (int i = 0; i < half; i++) w->rope_freqs[i] = 1.0f + 7.0f * (float)i / (half - 1);
    }
    if (a->longrope) {
        w->rope_long = malloc(half * sizeof(float));
        w->rope_short = malloc(half * sizeof(float));
        for (int i = 0; i < half; i++) {
            float x = (float)i / (half - 1);
            w->rope_long[i] = 1.0f + 15.0f * x * x;
            w->rope_short[i] = 1.0f + 0.05f * (frand() + 1.0f);
        }
        w->attn_factor = PHI3_ATTN_FACTOR;
    }
}

static void weights_free(weights *w) {
    free(w->tok_embd); free(w->out_norm); free(w->output);
    for (int l = 0; l < NL; l++) {
        free(w->attn_norm[l]); free(w->wq[l]); free(w->wk[l]); free(w->wv[l]); free(w->bq[l]); free(w->bk[l]);
        free(w->bv[l]); free(w->wo[l]); free(w->ffn_norm[l]); free(w->wg[l]); free(w->wu[l]); free(w->wd[l]);
        free(w->q_norm[l]); free(w->k_norm[l]); free(w->post_attn[l]); free(w->post_ffn[l]);
    }
    free(w->rope_freqs); free(w->rope_long); free(w->rope_short);
}

/* ---- the model file, in memory (membuf.h) ----------------------------------------------------- */

/* A tensor to write: rows x ne0 floats from up to three stacked parts (phi3's fusions). */
typedef struct { const char *name; int type, rows, ne0; const float *part[3]; int part_rows[3]; } wtensor;

static void add_t(wtensor *t, int *n, const char *name, int type, int ne0, const float *a, int ra,
                  const float *b, int rb, const float *c, int rc) {
    wtensor x = {name, type, ra + rb + rc, ne0, {a, b, c}, {ra, rb, rc}};
    t[(*n)++] = x;
}

/* A token of the vocabulary written other than "t%d": its text and token type (1 normal,
 * 3 control, 6 byte: "<0xNN>"). */
typedef struct { int id; const char *text; int type; } tiny_token;

/* eos_id < 0: no tokenizer.ggml.eos_token_id key */
/* mp: the load's parameters (NULL: the defaults) */
static eq_model *model_make_with(const weights *w, int type, const tiny_token *over, int n_over, int eos_id,
                                 const eq_model_params *mp) {
    const arch_case *a = w->a;
    char key[96];
    eq_gguf_writer *wr = eq_gguf_writer_new();
#define KEY(suffix) (snprintf(key, sizeof key, "%s.%s", a->arch, suffix), key)
    eq_gguf_writer_set_str(wr, "general.architecture", a->arch);
    eq_gguf_writer_set_u32(wr, KEY("context_length"), N_CTX_TRAIN);
    eq_gguf_writer_set_u32(wr, KEY("embedding_length"), E);
    eq_gguf_writer_set_u32(wr, KEY("feed_forward_length"), F);
    eq_gguf_writer_set_u32(wr, KEY("block_count"), NL);
    eq_gguf_writer_set_u32(wr, KEY("attention.head_count"), a->n_head);
    eq_gguf_writer_set_u32(wr, KEY("attention.head_count_kv"), a->n_head_kv);
    eq_gguf_writer_set_f32(wr, KEY("attention.layer_norm_rms_epsilon"), 1e-5f);
    eq_gguf_writer_set_u32(wr, KEY("rope.dimension_count"), w->n_rot);
    eq_gguf_writer_set_f32(wr, KEY("rope.freq_base"), a->rope_base);
    if (a->rope_linear) {
        eq_gguf_writer_set_str(wr, KEY("rope.scaling.type"), "linear");
        eq_gguf_writer_set_f32(wr, KEY("rope.scaling.factor"), a->rope_linear);
    }
    if (a->longrope) {
        eq_gguf_writer_set_u32(wr, KEY("rope.scaling.original_context_length"), N_CTX_ORIG);
        eq_gguf_writer_set_f32(wr, KEY("rope.scaling.attn_factor"), w->attn_factor);
    }
    if (a->gemma) {
        eq_gguf_writer_set_u32(wr, KEY("attention.key_length"), (uint32_t)w->hd);
        eq_gguf_writer_set_u32(wr, KEY("attention.value_length"), (uint32_t)w->hd);
        eq_gguf_writer_set_u32(wr, KEY("attention.sliding_window"), GEMMA_WINDOW);
        eq_gguf_writer_set_u32(wr, KEY("attention.sliding_window_pattern"), GEMMA_PATTERN);
        eq_gguf_writer_set_f32(wr, KEY("rope.freq_base_swa"), GEMMA_ROPE_SWA);
        eq_gguf_writer_set_f32(wr, KEY("final_logit_softcapping"), GEMMA_SOFTCAP);
    }
#undef KEY
    /* a vocabulary of plain tokens: the test feeds ids, it never tokenizes */
    static char texts[V][8];
    const char *toks[V];
    float scores[V];
    int32_t ttypes[V];
    for (int i = 0; i < V; i++) {
        snprintf(texts[i], sizeof texts[i], i == 0 ? "<unk>" : i == 1 ? "<s>" : i == 2 ? "</s>" : "t%d", i);
        toks[i] = texts[i];
        scores[i] = -(float)i;
        ttypes[i] = i < 3 ? (i ? 3 : 2) : 1;
    }
    for (int i = 0; i < n_over; i++) {
        toks[over[i].id] = over[i].text;
        ttypes[over[i].id] = over[i].type;
    }
    if (eos_id >= 0) eq_gguf_writer_set_u32(wr, "tokenizer.ggml.eos_token_id", (uint32_t)eos_id);
    eq_gguf_writer_set_str(wr, "tokenizer.ggml.model", "llama");
    eq_gguf_writer_set_arr_str(wr, "tokenizer.ggml.tokens", toks, NULL, V);
    eq_gguf_writer_set_arr(wr, "tokenizer.ggml.scores", EQ_GGUF_F32, scores, V);
    eq_gguf_writer_set_arr(wr, "tokenizer.ggml.token_type", EQ_GGUF_I32, ttypes, V);

    wtensor t[64];
    int n = 0;
    static char names[64][48];
    const int f32 = EQ_TYPE_F32;
    add_t(t, &n, "token_embd.weight", type, E, w->tok_embd, V, NULL, 0, NULL, 0);
    for (int l = 0; l < NL; l++) {
#define NAME(s) (snprintf(names[n], sizeof names[n], "blk.%d." s, l), names[n])
        add_t(t, &n, NAME("attn_norm.weight"), f32, E, w->attn_norm[l], 1, NULL, 0, NULL, 0);
        if (a->fused) {
            add_t(t, &n, NAME("attn_qkv.weight"), type, E, w->wq[l], w->Q, w->wk[l], w->KV, w->wv[l], w->KV);
        } else {
            add_t(t, &n, NAME("attn_q.weight"), type, E, w->wq[l], w->Q, NULL, 0, NULL, 0);
            add_t(t, &n, NAME("attn_k.weight"), type, E, w->wk[l], w->KV, NULL, 0, NULL, 0);
            add_t(t, &n, NAME("attn_v.weight"), type, E, w->wv[l], w->KV, NULL, 0, NULL, 0);
        }
        if (a->biases) {
            add_t(t, &n, NAME("attn_q.bias"), f32, w->Q, w->bq[l], 1, NULL, 0, NULL, 0);
            add_t(t, &n, NAME("attn_k.bias"), f32, w->KV, w->bk[l], 1, NULL, 0, NULL, 0);
            add_t(t, &n, NAME("attn_v.bias"), f32, w->KV, w->bv[l], 1, NULL, 0, NULL, 0);
        }
        add_t(t, &n, NAME("attn_output.weight"), type, w->Q, w->wo[l], E, NULL, 0, NULL, 0);
        add_t(t, &n, NAME("ffn_norm.weight"), f32, E, w->ffn_norm[l], 1, NULL, 0, NULL, 0);
        if (a->fused) {
            add_t(t, &n, NAME("ffn_up.weight"), type, E, w->wg[l], F, w->wu[l], F, NULL, 0);
        } else {
            add_t(t, &n, NAME("ffn_gate.weight"), type, E, w->wg[l], F, NULL, 0, NULL, 0);
            add_t(t, &n, NAME("ffn_up.weight"), type, E, w->wu[l], F, NULL, 0, NULL, 0);
        }
        add_t(t, &n, NAME("ffn_down.weight"), type, F, w->wd[l], E, NULL, 0, NULL, 0);
        if (a->gemma) {
            add_t(t, &n, NAME("attn_q_norm.weight"), f32, w->hd, w->q_norm[l], 1, NULL, 0, NULL, 0);
            add_t(t, &n, NAME("attn_k_norm.weight"), f32, w->hd, w->k_norm[l], 1, NULL, 0, NULL, 0);
            add_t(t, &n, NAME("post_attention_norm.weight"), f32, E, w->post_attn[l], 1, NULL, 0, NULL, 0);
            add_t(t, &n, NAME("post_ffw_norm.weight"), f32, E, w->post_ffn[l], 1, NULL, 0, NULL, 0);
        }
#undef NAME
    }
    add_t(t, &n, "output_norm.weight", f32, E, w->out_norm, 1, NULL, 0, NULL, 0);
    if (w->output) add_t(t, &n, "output.weight", type, E, w->output, V, NULL, 0, NULL, 0);
    if (w->rope_freqs) add_t(t, &n, "rope_freqs.weight", f32, w->n_rot / 2, w->rope_freqs, 1, NULL, 0, NULL, 0);
    if (w->rope_long) {
        add_t(t, &n, "rope_factors_long.weight", f32, w->n_rot / 2, w->rope_long, 1, NULL, 0, NULL, 0);
        add_t(t, &n, "rope_factors_short.weight", f32, w->n_rot / 2, w->rope_short, 1, NULL, 0, NULL, 0);
    }
    for (int i = 0; i < n; i++) {
        int64_t ne[2] = {t[i].ne0, t[i].rows};
        eq_gguf_writer_add_tensor(wr, t[i].name, t[i].type, t[i].rows > 1 ? 2 : 1, ne);
    }
    membuf file = {0};
    eq_status st = eq_gguf_writer_open_sink(wr, "forward-test.gguf", mem_sink, &file);
    for (int i = 0; i < n && !st; i++) {
        /* the reference quantizers in both builds: the twin must see the same bytes */
        const eq_type_traits *tt = eq_type_traits_ref(t[i].type);
        const size_t rs = eq_row_size(t[i].type, t[i].ne0);
        unsigned char *buf = malloc(rs * t[i].rows);
        int r = 0;
        for (int p = 0; p < 3; p++)
            for (int k = 0; k < t[i].part_rows[p]; k++, r++)
                tt->from_float(t[i].part[p] + (size_t)k * t[i].ne0, buf + rs * r, t[i].ne0);
        st = eq_gguf_writer_write(wr, buf, rs * t[i].rows);
        free(buf);
    }
    if (!st) st = eq_gguf_writer_finish(wr);
    CHECKF(!st, "%s %s: writing the model: %s", a->name, eq_type_name(type), eq_gguf_writer_errmsg(wr));
    eq_gguf_writer_free(wr);

    /* streamed in odd-sized chunks, as a fetch body would arrive */
    eq_model *m = NULL;
    eq_loader *ld = NULL;
    char lerr[256];
    st = eq_loader_new(mp, 1, &ld, lerr, sizeof lerr);
    CHECKF(!st, "%s %s: eq_loader_new: %s", a->name, eq_type_name(type), lerr);
    for (size_t at = 0; at < file.n && !st; at += 40000)
        st = eq_loader_feed(ld, 0, file.p + at, file.n - at < 40000 ? file.n - at : 40000);
    if (!st) st = eq_loader_finish(ld, &m);
    CHECKF(!st && m, "%s %s: loading the model: %s", a->name, eq_type_name(type), ld ? eq_loader_errmsg(ld) : lerr);
    eq_loader_free(ld);
    free(file.p);
    return st ? NULL : m;
}

static inline eq_model *model_make_vocab(const weights *w, int type, const tiny_token *over, int n_over, int eos_id) {
    return model_make_with(w, type, over, n_over, eos_id, NULL);
}
static inline eq_model *model_make(const weights *w, int type) { return model_make_vocab(w, type, NULL, 0, -1); }

#endif
