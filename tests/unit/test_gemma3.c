/* gemma3's hyperparameters are read as llama.cpp reads them (sliding window and its layer
 * pattern, the two rope bases, key/value length, optional final logit softcapping, embedding
 * and Q scales), vocabulary-only loads succeed, and a full load binds tensors (a header-only
 * file: the first one is missing). Models are written in memory; the forward pass is tested
 * in test_forward.c and against llama.cpp in tests/conformance/models; the gelu table here. */
#include "eqtest.h"
#include "membuf.h"
#include "gguf/writer.h"
#include "models/model.h"
#include "ops/ops.h"
#include "quant/fp16.h"

#include <math.h>
#include <string.h>


enum { PAT_NONE, PAT_INT, PAT_BOOLS, PAT_BAD_LEN };
typedef struct {
    int n_layer, n_embd, n_head;
    int swa;               /* 0: no attention.sliding_window key */
    int pattern_kind, pattern;
    float rope_swa;        /* 0: no rope.freq_base_swa key */
    float softcap;         /* 0: no final_logit_softcapping key */
    int no_eps;
} spec;

/* header-only GGUF (no tensors) with a 4-token SentencePiece vocabulary */
static eq_status load(const spec *s, int vocab_only, eq_model **m, char *err, size_t errlen) {
    eq_gguf_writer *w = eq_gguf_writer_new();
    eq_gguf_writer_set_str(w, "general.architecture", "gemma3");
    eq_gguf_writer_set_u32(w, "gemma3.context_length", 32768);
    eq_gguf_writer_set_u32(w, "gemma3.embedding_length", (uint32_t)s->n_embd);
    eq_gguf_writer_set_u32(w, "gemma3.block_count", (uint32_t)s->n_layer);
    eq_gguf_writer_set_u32(w, "gemma3.feed_forward_length", 2048);
    eq_gguf_writer_set_u32(w, "gemma3.attention.head_count", (uint32_t)s->n_head);
    eq_gguf_writer_set_u32(w, "gemma3.attention.head_count_kv", 1);
    eq_gguf_writer_set_u32(w, "gemma3.attention.key_length", 256);
    eq_gguf_writer_set_u32(w, "gemma3.attention.value_length", 256);
    if (!s->no_eps) eq_gguf_writer_set_f32(w, "gemma3.attention.layer_norm_rms_epsilon", 1e-6f);
    eq_gguf_writer_set_f32(w, "gemma3.rope.freq_base", 1e6f);
    if (s->swa) eq_gguf_writer_set_u32(w, "gemma3.attention.sliding_window", (uint32_t)s->swa);
    if (s->pattern_kind == PAT_INT) eq_gguf_writer_set_u32(w, "gemma3.attention.sliding_window_pattern", (uint32_t)s->pattern);
    if (s->pattern_kind == PAT_BOOLS || s->pattern_kind == PAT_BAD_LEN) {
        uint8_t b[64];
        for (int i = 0; i < s->n_layer; i++) b[i] = (uint8_t)(i % 3 != 1);   /* 1: sliding */
        eq_gguf_writer_set_arr(w, "gemma3.attention.sliding_window_pattern", EQ_GGUF_BOOL, b,
                               (uint64_t)(s->n_layer - (s->pattern_kind == PAT_BAD_LEN)));
    }
    if (s->rope_swa > 0) eq_gguf_writer_set_f32(w, "gemma3.rope.freq_base_swa", s->rope_swa);
    if (s->softcap > 0) eq_gguf_writer_set_f32(w, "gemma3.final_logit_softcapping", s->softcap);
    const char *toks[] = { "<pad>", "<eos>", "<bos>", "<unk>" };
    float scores[] = { 0, 0, 0, 0 };
    int32_t types[] = { 3, 3, 3, 2 };
    eq_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    eq_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, 4);
    eq_gguf_writer_set_arr(w, "tokenizer.ggml.scores", EQ_GGUF_F32, scores, 4);
    eq_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", EQ_GGUF_I32, types, 4);
    membuf f = { 0 };
    eq_status st = eq_gguf_writer_open_sink(w, "gemma3-test.gguf", mem_sink, &f);
    if (!st) st = eq_gguf_writer_finish(w);
    CHECKF(!st, "writing: %s", eq_gguf_writer_errmsg(w));
    eq_gguf_writer_free(w);
    eq_model_params p = eq_model_default_params();
    p.vocab_only = vocab_only;
    eq_loader *l = NULL;
    *m = NULL;
    if (!st) st = eq_loader_new(&p, 1, &l, err, errlen);
    if (!st) st = eq_loader_feed(l, 0, f.p, f.n);
    if (!st) st = eq_loader_finish(l, m);
    if (l) snprintf(err, errlen, "%s", eq_loader_errmsg(l));
    eq_loader_free(l);
    free(f.p);
    return st;
}

/* the real 270M's keys: window 512, default pattern 6, no swa base or softcap keys */
static void test_270m(void) {
    spec s = { 18, 640, 4, 512, PAT_NONE, 0, 0, 0, 0 };
    eq_model *m;
    char err[320];
    CHECKF(load(&s, 1, &m, err, sizeof err) == EQ_OK, "%s", err);
    if (!m) return;
    const eq_hparams *hp = &m->hp;
    CHECK(hp->n_layer == 18 && hp->n_embd == 640 && hp->n_head == 4 && hp->n_head_kv == 1);
    CHECK(hp->head_dim == 256);           /* key_length, not n_embd / n_head = 160 */
    CHECK(hp->n_rot == 256 && hp->rope_type == EQ_ROPE_NEOX);
    CHECK(hp->n_swa == 512);
    CHECK(hp->rope_base == 1e6f && hp->rope_base_swa == 10000.0f);
    CHECK(hp->final_logit_softcap == 0.0f);
    CHECK(fabsf(hp->embd_scale - sqrtf(640.0f)) < 1e-6f);
    CHECK(fabsf(hp->attn_scale - 1.0f / 16.0f) < 1e-9f);
    CHECK(fabsf(hp->norm_eps - 1e-6f) < 1e-12f);
    CHECK(hp->n_vocab == 4 && eq_model_n_layer(m) == 18 && eq_model_n_embd(m) == 640);
    int global = 0, ok = 1;
    for (int i = 0; i < 18; i++) {
        ok &= m->layers[i].swa == (i % 6 != 5);
        global += !m->layers[i].swa;
    }
    CHECKF(ok && global == 3, "layers 5, 11, 17 global, the rest sliding (%d global)", global);
    eq_model_free(m);
}

static void test_variants(void) {
    eq_model *m;
    char err[320];
    /* an explicit pattern, the swa rope base and softcapping present; 27B's Q scale */
    spec s = { 62, 5376, 32, 1024, PAT_INT, 4, 20000.0f, 30.0f, 0 };
    CHECKF(load(&s, 1, &m, err, sizeof err) == EQ_OK, "%s", err);
    if (m) {
        CHECK(m->hp.rope_base_swa == 20000.0f && m->hp.final_logit_softcap == 30.0f);
        CHECK(m->layers[3].swa == 0 && m->layers[2].swa == 1 && m->layers[7].swa == 0 && m->layers[8].swa == 1);
        CHECK(fabsf(m->hp.attn_scale - 1.0f / sqrtf(168.0f)) < 1e-7f);   /* n_embd / n_head */
        eq_model_free(m);
    }
    /* per-layer booleans */
    spec b = { 6, 640, 4, 512, PAT_BOOLS, 0, 0, 0, 0 };
    CHECKF(load(&b, 1, &m, err, sizeof err) == EQ_OK, "%s", err);
    if (m) {
        int ok = 1;
        for (int i = 0; i < 6; i++) ok &= m->layers[i].swa == (i % 3 != 1);
        CHECK(ok);
        eq_model_free(m);
    }
    /* pattern 0: every layer slides; no window: none does */
    spec z = { 6, 640, 4, 512, PAT_INT, 0, 0, 0, 0 };
    CHECKF(load(&z, 1, &m, err, sizeof err) == EQ_OK, "%s", err);
    if (m) {
        int ok = 1;
        for (int i = 0; i < 6; i++) ok &= m->layers[i].swa == 1;
        CHECK(ok);
        eq_model_free(m);
    }
    spec n = { 6, 640, 4, 0, PAT_INT, 2, 0, 0, 0 };
    CHECKF(load(&n, 1, &m, err, sizeof err) == EQ_OK, "%s", err);
    if (m) {
        int ok = m->hp.n_swa == 0;
        for (int i = 0; i < 6; i++) ok &= m->layers[i].swa == 0;
        CHECK(ok);
        eq_model_free(m);
    }
    /* a pattern that does not fit the layers, or no epsilon (llama.cpp requires it): no
     * hyperparameters, but a vocabulary-only load still works */
    spec bad = { 6, 640, 4, 512, PAT_BAD_LEN, 0, 0, 0, 0 };
    CHECKF(load(&bad, 1, &m, err, sizeof err) == EQ_OK, "%s", err);
    if (m) { CHECK(m->hp.n_layer == 0 && m->hp.n_vocab == 4 && eq_model_n_vocab(m) == 4); eq_model_free(m); }
    spec ne = { 18, 640, 4, 512, PAT_NONE, 0, 0, 0, 1 };
    CHECKF(load(&ne, 1, &m, err, sizeof err) == EQ_OK, "%s", err);
    if (m) { CHECK(m->hp.n_layer == 0); eq_model_free(m); }
}

static void test_full_load_binds(void) {
    spec s = { 18, 640, 4, 512, PAT_NONE, 0, 0, 0, 0 };
    eq_model *m;
    char err[320];
    eq_status st = load(&s, 0, &m, err, sizeof err);
    CHECKF(st == EQ_ERR_FORMAT && !m && strstr(err, "missing tensor 'token_embd.weight'"), "%d %s", st, err);
}

/* GeGLU through the gelu table gives the numbers of the tanh it replaces, for every F16
 * input, and around the +-10 cut-offs (taken on the input before rounding) */
static void test_gelu_table(void) {
    static uint16_t table[65536];
    eq_gelu_table(table);
    int bad = 0;
    for (uint32_t i = 0; i < 65536; i++) {
        float x[2] = { eq_fp16_to_fp32((uint16_t)i), 0 }, y[2];
        if (x[0] != x[0]) continue;                       /* NaN in, NaN out: not comparable */
        const float u[2] = { 1.5f, -0.75f };
        x[1] = x[0] * 1.0009765625f;                       /* between F16 values */
        y[0] = x[0]; y[1] = x[1];
        eq_geglu(x, u, 2, table);
        eq_geglu(y, u, 2, NULL);
        if (memcmp(x, y, sizeof x) != 0) bad++;
    }
    CHECKF(bad == 0, "%d inputs differ between the gelu table and tanh", bad);
    float g[4] = { -10.0f, -9.999f, 9.999f, 10.0f }, h[4];
    const float u[4] = { 2, 2, 2, 2 };
    memcpy(h, g, sizeof g);
    eq_geglu(g, u, 4, table);
    eq_geglu(h, u, 4, NULL);
    CHECK(memcmp(g, h, sizeof g) == 0 && g[0] == 0.0f && g[3] == 20.0f && g[1] <= 0.0f && g[1] > -1e-3f && g[2] > 19.0f);
}

int main(void) {
    test_gelu_table();
    test_270m();
    test_variants();
    test_full_load_binds();
    return eqt_done();
}
