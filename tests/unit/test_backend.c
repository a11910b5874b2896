/* The seam from the forward pass's side, with a backend that only records what it is asked:
 * eq_forward asks the backend for every step (the op sequence of a layer, fused or not, the
 * output rows; gemma3's extra steps) and ends with submit; a deferred backend's not-finite report at read is worded
 * like the CPU's immediate one (layer and position); a synchronous one stops the step before
 * submit; a failing submit passes its message on. No model file: the model and context are
 * built by hand (internal headers), since only their shapes matter here. */
#include "eqtest.h"
#include "models/model.h"

#include <string.h>

typedef struct {
    eq_backend base;
    char log[4096];
    int checks, bad_check;    /* bad_check: the check (1-based) that finds a bad row; 0: none */
    eq_status submit_st, read_st;
    eq_fault fault;
    int read_row0, read_n;
} rec;

static void put(eq_backend *b, const char *s) {
    rec *r = (rec *)b;
    size_t n = strlen(r->log);
    snprintf(r->log + n, sizeof r->log - n, "%s%s", n ? " " : "", s);
}
static const char *act_name(eq_act a) {
    static const char *const names[] = {"X", "XB", "Q", "K", "V", "ATT", "HB", "HB2", "LOGITS"};
    return a < EQ_ACT_COUNT ? names[a] : "?";
}
static void r_free(eq_backend *b) { (void)b; }
static void r_get_rows(eq_backend *b, eq_act dst, const eq_weight *w, const eq_token *ids, int n) { put(b, "embed"); }
static void r_rmsnorm(eq_backend *b, eq_act dst, eq_act src, int row0, int n, int len, const eq_weight *w, float eps) {
    char s[64];
    snprintf(s, sizeof s, "norm:%d+%d", row0, n);
    put(b, s);
}
static void r_matmul(eq_backend *b, eq_act dst, const eq_weight *w, const eq_weight *bias, eq_act src, int n) {
    char s[64];
    snprintf(s, sizeof s, "mm:%s", act_name(dst));
    put(b, s);
}
static void r_copy_cols(eq_backend *b, eq_act dst, eq_act src, int n, int col0, int len, int src_len) { put(b, "split"); }
static void r_rope(eq_backend *b, eq_act a, int n, int n_head, int pos0, const eq_rope *r, const eq_weight *f) { put(b, "rope"); }
static void r_scale(eq_backend *b, eq_act a, int n, int len, float s) { put(b, "scale"); }
static void r_store_kv(eq_backend *b, int layer, int n, int pos0) { put(b, "kv"); }
static void r_attention(eq_backend *b, int layer, int n, int pos0, float scale, int window) {
    char s[64];
    snprintf(s, sizeof s, window ? "attn:w%d" : "attn", window);
    put(b, s);
}
static void r_swiglu(eq_backend *b, eq_act dst, eq_act g, eq_act u, int n, int len, int ld, int up_col0) { put(b, "swiglu"); }
static void r_geglu(eq_backend *b, eq_act dst, eq_act g, eq_act u, int n, int len, int ld, int up_col0) { put(b, "geglu"); }
static void r_softcap(eq_backend *b, eq_act a, int n, int len, float cap) { put(b, "softcap"); }
static void r_add(eq_backend *b, eq_act dst, eq_act src, int n, int len) { put(b, "add"); }
static int r_check(eq_backend *b, eq_act a, int n, int len, int site, int first) {
    rec *r = (rec *)b;
    put(b, "check");
    return ++r->checks == r->bad_check ? first + n - 1 : -1;
}
static eq_status r_submit(eq_backend *b) {
    rec *r = (rec *)b;
    put(b, "submit");
    if (r->submit_st) snprintf(b->err, sizeof b->err, "device lost");
    return r->submit_st;
}
static eq_status r_read(eq_backend *b, eq_act a, int row0, int n, int len, float *dst, eq_fault *fault) {
    rec *r = (rec *)b;
    r->read_row0 = row0;
    r->read_n = n;
    memset(dst, 0, (size_t)n * len * sizeof *dst);
    if (r->read_st == EQ_ERR_FORMAT) *fault = r->fault;
    return r->read_st;
}
static const eq_backend_ops rec_ops = {r_free, r_get_rows, r_rmsnorm, r_matmul, r_copy_cols, r_rope, r_scale,
                                       r_store_kv, r_attention, r_swiglu, r_geglu, r_softcap, r_add, r_check,
                                       r_submit, r_read, NULL};

static const char *const LAYER =
    "norm:0+3 check mm:Q mm:K mm:V rope rope kv attn check mm:XB add norm:0+3 check mm:HB mm:HB2 swiglu check mm:XB add";
static const char *const LAYER_PHI3 =
    "norm:0+3 check mm:HB split split split rope rope scale kv attn check mm:XB add norm:0+3 check mm:HB2 swiglu check mm:XB add";
/* gemma3: QK-norm over each head's rows (3 tokens x 2 Q heads, x 1 KV head), Q pre-scaled, a
 * window on the sliding layers, the post-norms before each residual add, GeGLU */
#define LAYER_GEMMA3(attn) \
    "norm:0+3 check mm:Q mm:K mm:V norm:0+6 norm:0+3 rope rope scale kv " attn " check mm:XB norm:0+3 add " \
    "norm:0+3 check mm:HB mm:HB2 geglu check mm:XB norm:0+3 add"

int main(void) {
    static float dummy[64], logits[10 * 3];
    eq_layer layers[2];
    memset(layers, 0, sizeof layers);
    eq_model m;
    memset(&m, 0, sizeof m);
    m.hp = (eq_hparams){.n_vocab = 10, .n_ctx_train = 16, .n_embd = 4, .n_layer = 2, .n_ff = 8, .n_head = 2,
                        .n_head_kv = 1, .head_dim = 2, .n_rot = 2, .norm_eps = 1e-5f, .rope_base = 10000,
                        .rope_freq_scale = 1, .rope_attn_factor = 1};
    m.layers = layers;
    for (int l = 0; l < 2; l++) layers[l].w_gate.data = dummy;   /* separate gate and up */
    rec r;
    memset(&r, 0, sizeof r);
    r.base.op = &rec_ops;
    eq_ctx c;
    memset(&c, 0, sizeof c);
    c.m = &m;
    c.be = &r.base;
    c.logits = logits;
    c.n_past = 5;
    const eq_token toks[3] = {1, 2, 9};

    /* every step through the backend, in order; the output over the last row only */
    char want[4096];
    snprintf(want, sizeof want, "embed %s %s norm:2+1 check mm:LOGITS check submit", LAYER, LAYER);
    CHECK(eq_forward(&c, toks, 3, 0) == EQ_OK);
    CHECKF(!strcmp(r.log, want), "\n got %s\nwant %s", r.log, want);
    CHECK(eq_forward_read(&c, 0, NULL) == EQ_OK && r.read_row0 == 0 && r.read_n == 1);

    /* the logits of the last two rows: two output rows normed from token 1 on, both read */
    r.log[0] = 0;
    snprintf(want, sizeof want, "embed %s %s norm:1+2 check mm:LOGITS check submit", LAYER, LAYER);
    CHECK(eq_forward(&c, toks, 3, 2) == EQ_OK && !strcmp(r.log, want));
    CHECK(eq_forward_read(&c, 2, logits) == EQ_OK && r.read_row0 == 0 && r.read_n == 2);
    CHECK(eq_forward_read(&c, 3, logits) == EQ_ERR_ARG);   /* more rows than the step made */

    /* phi3: fused QKV (split three ways), Q pre-scaled, fused gate|up */
    for (int l = 0; l < 2; l++) { layers[l].w_gate.data = NULL; layers[l].wqkv.data = dummy; }
    m.hp.q_prescale = 1;
    r.log[0] = 0;
    snprintf(want, sizeof want, "embed %s %s norm:2+1 check mm:LOGITS check submit", LAYER_PHI3, LAYER_PHI3);
    CHECK(eq_forward(&c, toks, 3, 0) == EQ_OK);
    CHECKF(!strcmp(r.log, want), "\n got %s\nwant %s", r.log, want);

    /* gemma3: scaled embeddings, layer 0 sliding (window 4), layer 1 global, softcapped logits */
    eq_layer g_layers[2];
    memset(g_layers, 0, sizeof g_layers);
    for (int l = 0; l < 2; l++) {
        eq_layer *L = &g_layers[l];
        L->w_gate.data = L->q_norm.data = L->k_norm.data = L->attn_post_norm.data = L->ffn_post_norm.data = dummy;
    }
    g_layers[0].swa = 1;
    eq_hparams hp_saved = m.hp;
    eq_layer *layers_saved = m.layers;
    m.layers = g_layers;
    m.hp.n_swa = 4;
    m.hp.rope_base_swa = 10000;
    m.hp.embd_scale = 2;
    m.hp.attn_scale = 0.5f;
    m.hp.final_logit_softcap = 30;
    m.hp.gelu = 1;
    r.log[0] = 0;
    snprintf(want, sizeof want, "embed scale %s %s norm:2+1 check mm:LOGITS softcap check submit",
             LAYER_GEMMA3("attn:w4"), LAYER_GEMMA3("attn"));
    CHECK(eq_forward(&c, toks, 3, 0) == EQ_OK);
    CHECKF(!strcmp(r.log, want), "\n got %s\nwant %s", r.log, want);
    m.hp = hp_saved;
    m.layers = layers_saved;

    /* a deferred backend reports at read: worded as the CPU's immediate check */
    r.read_st = EQ_ERR_FORMAT;
    r.fault = (eq_fault){1 * 4 + 3, 2};
    CHECK(eq_forward(&c, toks, 3, 0) == EQ_OK);
    CHECKF(eq_forward_read(&c, 0, NULL) == EQ_ERR_FORMAT && strstr(c.err, "layer 1's feed-forward at position 7"), "%s", c.err);
    r.fault = (eq_fault){2 * 4, 0};
    CHECK(eq_forward_read(&c, 0, NULL) == EQ_ERR_FORMAT && strstr(c.err, "in the output at position 5"));
    r.fault = (eq_fault){-3, 0};   /* nonsense from a backend: no out-of-range lookup */
    CHECK(eq_forward_read(&c, 0, NULL) == EQ_ERR_FORMAT && strstr(c.err, "in the output"));
    r.read_st = EQ_OK;

    /* a synchronous backend: the step stops at the check, before submit */
    r.log[0] = 0;
    r.checks = 0;
    r.bad_check = 3;
    CHECK(eq_forward(&c, toks, 3, 0) == EQ_ERR_FORMAT);
    CHECKF(strstr(c.err, "layer 0's feed-forward input at position 7") && !strstr(r.log, "submit"), "%s", c.err);
    r.bad_check = 0;

    /* a failing submit: its message */
    r.submit_st = EQ_ERR_NOMEM;
    CHECK(eq_forward(&c, toks, 3, 0) == EQ_ERR_NOMEM && strstr(c.err, "device lost"));
    r.submit_st = EQ_OK;

    /* bad token ids are turned away before the backend sees anything */
    r.log[0] = 0;
    const eq_token bad[2] = {1, 10};
    CHECK(eq_forward(&c, bad, 2, 0) == EQ_ERR_ARG && !r.log[0]);
    return eqt_done();
}
