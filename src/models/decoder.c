/* The forward pass of a pre-norm decoder-only transformer (llama, qwen2, phi3, gemma3), read
 * top to bottom: embed, then per layer RMS norm → Q/K/V → rope → causal attention over the KV
 * cache → output projection → residual, RMS norm → SwiGLU feed-forward → residual; final norm,
 * logits. gemma3 adds, each where the weight or flag is present: scaled embeddings, a norm per
 * Q/K head, norms of the attention and FFN outputs before their residual adds, rope base and
 * sliding window per layer, GeGLU, and logits softcapped.
 * Every step is asked of the context's backend (backend/backend.h), which holds the
 * activations (the slots X, XB, Q, K, V, ATT, HB, HB2, LOGITS) and the KV cache. */
#include "models/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Where the forward pass checks for NaN and infinities: a corrupt file (a weight's scale, a
 * negative norm epsilon, a rope base that overflows) makes them, and the next matmul would
 * quantize them into finite garbage, so every matmul input is checked. site = layer * 4 + the
 * place; the output's checks come after the last layer's. */
enum { AT_ATTN_IN, AT_ATTN, AT_FFN_IN, AT_FFN, AT_COUNT };
static const char *const site_name[AT_COUNT] = {"attention input", "attention", "feed-forward input", "feed-forward"};

static eq_status not_finite(eq_ctx *c, int site, int token) {
    char at[48] = "the output";
    const int layer = site / AT_COUNT;
    if (site >= 0 && layer < c->m->hp.n_layer) snprintf(at, sizeof at, "layer %d's %s", layer, site_name[site % AT_COUNT]);
    snprintf(c->err, sizeof c->err, "the model's numbers are not finite (NaN or inf) in %s at position %d: the file "
             "is corrupt (a weight, the norm epsilon or the rope base)", at, c->n_past + token);
    return EQ_ERR_FORMAT;
}
/* rows 0..rows of slot a, which hold the step's tokens from `first` on */
#define CHECK_FINITE(a, rows, len, first, site) do { \
        int t_ = op->check_finite(be, (a), (rows), (len), (site), (first)); \
        if (t_ >= 0) return not_finite(c, (site), t_); } while (0)

eq_status eq_forward(eq_ctx *c, const eq_token *tokens, int n, int n_out) {
    const eq_model *m = c->m;
    const eq_hparams *hp = &m->hp;
    const int E = hp->n_embd, F = hp->n_ff, hd = hp->head_dim;
    const int Qd = hp->n_head * hd, KVd = hp->n_head_kv * hd;
    eq_backend *be = c->be;
    const eq_backend_ops *op = be->op;
    const int pos0 = c->n_past;

    for (int t = 0; t < n; t++) {
        if (tokens[t] < 0 || tokens[t] >= hp->n_vocab) {
            snprintf(c->err, sizeof c->err, "token id %d is out of range (vocabulary has %d)", tokens[t], hp->n_vocab);
            return EQ_ERR_ARG;
        }
    }
    op->get_rows(be, EQ_ACT_X, &m->tok_embd, tokens, n);
    if (hp->embd_scale) op->scale(be, EQ_ACT_X, n, E, hp->embd_scale);

    eq_rope rope = {hp->n_rot, hd, hp->rope_type, hp->rope_base, hp->rope_freq_scale, hp->rope_attn_factor, 0.0f, {0, 0}, NULL};
    if (hp->rope_yarn) {
        rope.ext_factor = 1.0f;
        eq_rope_yarn_corr_dims(hp->n_rot, hp->n_ctx_orig, hp->rope_base, hp->yarn_beta_fast, hp->yarn_beta_slow, rope.corr_dims);
        /* llama.cpp folds the YaRN magnitude correction into attn_factor and cancels it again */
        rope.attn_factor *= 1.0f / (1.0f + 0.1f * logf(1.0f / hp->rope_freq_scale));
    }
    /* phi3 and gemma3 scale Q before attention, the others the scores */
    const float kq_scale = hp->attn_scale ? hp->attn_scale : 1.0f / sqrtf((float)hd);
    void (*const glu)(eq_backend *, eq_act, eq_act, eq_act, int, int, int, int) = hp->gelu ? op->geglu : op->swiglu;

    for (int l = 0; l < hp->n_layer; l++) {
        const eq_layer *L = &m->layers[l];
        const int site = l * AT_COUNT;
        /* gemma3's sliding-window layers: their own rope base, no rope scaling */
        eq_rope rope_l = rope;
        if (L->swa) { rope_l.freq_base = hp->rope_base_swa; rope_l.freq_scale = 1.0f; }
        if (c->abort_cb && c->abort_cb(c->abort_user)) {
            snprintf(c->err, sizeof c->err, "aborted");
            return EQ_ERR_ABORTED;
        }
        op->rmsnorm(be, EQ_ACT_XB, EQ_ACT_X, 0, n, E, &L->attn_norm, hp->norm_eps);
        CHECK_FINITE(EQ_ACT_XB, n, E, 0, site + AT_ATTN_IN);

        if (eq_weight_present(&L->wqkv)) {
            /* fused: each row is Q, then K, then V */
            const int D = Qd + 2 * KVd;
            op->matmul(be, EQ_ACT_HB, &L->wqkv, &L->bqkv, EQ_ACT_XB, n);
            op->copy_cols(be, EQ_ACT_Q, EQ_ACT_HB, n, 0, Qd, D);
            op->copy_cols(be, EQ_ACT_K, EQ_ACT_HB, n, Qd, KVd, D);
            op->copy_cols(be, EQ_ACT_V, EQ_ACT_HB, n, Qd + KVd, KVd, D);
        } else {
            op->matmul(be, EQ_ACT_Q, &L->wq, &L->bq, EQ_ACT_XB, n);
            op->matmul(be, EQ_ACT_K, &L->wk, &L->bk, EQ_ACT_XB, n);
            op->matmul(be, EQ_ACT_V, &L->wv, &L->bv, EQ_ACT_XB, n);
        }
        if (eq_weight_present(&L->q_norm)) {   /* QK-norm: each head's rows normed on their own */
            op->rmsnorm(be, EQ_ACT_Q, EQ_ACT_Q, 0, n * hp->n_head, hd, &L->q_norm, hp->norm_eps);
            op->rmsnorm(be, EQ_ACT_K, EQ_ACT_K, 0, n * hp->n_head_kv, hd, &L->k_norm, hp->norm_eps);
        }
        op->rope(be, EQ_ACT_Q, n, hp->n_head, pos0, &rope_l, c->rope_factors);
        op->rope(be, EQ_ACT_K, n, hp->n_head_kv, pos0, &rope_l, c->rope_factors);
        if (hp->q_prescale) op->scale(be, EQ_ACT_Q, n, Qd, kq_scale);
        op->store_kv(be, l, n, pos0);
        op->attention(be, l, n, pos0, hp->q_prescale ? 1.0f : kq_scale, L->swa ? hp->n_swa : 0);
        CHECK_FINITE(EQ_ACT_ATT, n, Qd, 0, site + AT_ATTN);
        op->matmul(be, EQ_ACT_XB, &L->wo, NULL, EQ_ACT_ATT, n);
        if (eq_weight_present(&L->attn_post_norm)) op->rmsnorm(be, EQ_ACT_XB, EQ_ACT_XB, 0, n, E, &L->attn_post_norm, hp->norm_eps);
        op->add(be, EQ_ACT_X, EQ_ACT_XB, n, E);

        op->rmsnorm(be, EQ_ACT_XB, EQ_ACT_X, 0, n, E, &L->ffn_norm, hp->norm_eps);
        CHECK_FINITE(EQ_ACT_XB, n, E, 0, site + AT_FFN_IN);
        if (!eq_weight_present(&L->w_gate)) {
            /* fused: the first F outputs are the gate, the next F the up projection */
            op->matmul(be, EQ_ACT_HB2, &L->w_up, NULL, EQ_ACT_XB, n);
            glu(be, EQ_ACT_HB, EQ_ACT_HB2, EQ_ACT_HB2, n, F, 2 * F, F);
        } else {
            op->matmul(be, EQ_ACT_HB, &L->w_gate, NULL, EQ_ACT_XB, n);
            op->matmul(be, EQ_ACT_HB2, &L->w_up, NULL, EQ_ACT_XB, n);
            glu(be, EQ_ACT_HB, EQ_ACT_HB, EQ_ACT_HB2, n, F, F, 0);
        }
        CHECK_FINITE(EQ_ACT_HB, n, F, 0, site + AT_FFN);
        op->matmul(be, EQ_ACT_XB, &L->w_down, NULL, EQ_ACT_HB, n);
        if (eq_weight_present(&L->ffn_post_norm)) op->rmsnorm(be, EQ_ACT_XB, EQ_ACT_XB, 0, n, E, &L->ffn_post_norm, hp->norm_eps);
        op->add(be, EQ_ACT_X, EQ_ACT_XB, n, E);
    }

    /* the output projection runs only over the rows asked for (at least the last), batched */
    const int rows = n_out > 0 ? n_out : 1, t0 = n - rows, site = hp->n_layer * AT_COUNT;
    op->rmsnorm(be, EQ_ACT_XB, EQ_ACT_X, t0, rows, E, &m->output_norm, hp->norm_eps);
    CHECK_FINITE(EQ_ACT_XB, rows, E, t0, site);
    op->matmul(be, EQ_ACT_LOGITS, &m->output, NULL, EQ_ACT_XB, rows);
    if (hp->final_logit_softcap) op->softcap(be, EQ_ACT_LOGITS, rows, hp->n_vocab, hp->final_logit_softcap);
    CHECK_FINITE(EQ_ACT_LOGITS, rows, hp->n_vocab, t0, site);
    c->n_logit_rows = rows;
    eq_status st = op->submit(be);
    if (st) snprintf(c->err, sizeof c->err, "%s", be->err);
    return st;
}

eq_status eq_forward_read(eq_ctx *c, int n_out, float *out) {
    const int V = c->m->hp.n_vocab, rows = c->n_logit_rows;
    eq_fault fault = {0, 0};
    c->argmax = -1;
    if (c->step_argmax && n_out == 0) {   /* greedy on a GPU: the token, not the logits */
        c->step_argmax = 0;
        int id = -1;
        eq_status st = c->be->op->read_argmax(c->be, &id, &fault);
        if (st == EQ_ERR_FORMAT) return not_finite(c, fault.site, fault.token);
        if (st) { snprintf(c->err, sizeof c->err, "%s", c->be->err); return st; }
        if (id < 0 || id >= V) {
            snprintf(c->err, sizeof c->err, "the device's greedy token %d is not in the vocabulary", id);
            return EQ_ERR_DEVICE;
        }
        c->argmax = id;
        return EQ_OK;
    }
    c->step_argmax = 0;
    if (rows < 1 || n_out > rows) {
        snprintf(c->err, sizeof c->err, "the last step computed the logits of %d tokens, not %d", rows, n_out);
        return EQ_ERR_ARG;
    }
    eq_status st = n_out > 0 && out ? c->be->op->read(c->be, EQ_ACT_LOGITS, rows - n_out, n_out, V, out, &fault)
                                    : c->be->op->read(c->be, EQ_ACT_LOGITS, rows - 1, 1, V, c->logits, &fault);
    if (st == EQ_ERR_FORMAT) return not_finite(c, fault.site, fault.token);
    if (st) { snprintf(c->err, sizeof c->err, "%s", c->be->err); return st; }
    if (n_out > 0 && out) memcpy(c->logits, out + (size_t)(n_out - 1) * V, (size_t)V * sizeof(float));
    return EQ_OK;
}
