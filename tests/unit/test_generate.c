/* The generation loop (eq_gen) on a tiny random llama (tiny_model.h). Greedy picks depend on
 * the weights only, never on the tokens' text, so the test first learns the greedy sequence
 * with a plain eq_decode + argmax loop and then writes models whose vocabulary gives those
 * tokens the text a case needs (byte tokens splitting a character, a NUL, an end-of-generation
 * token). */
#include "eqtest.h"
#include "tiny_model.h"

enum { N_SEQ = 24, N_P = 6 };
static const eq_token k_prompt[N_P] = {1, 17, 255, 3, 42, 128};
static eq_token g_seq[N_SEQ];   /* greedy continuation of k_prompt */

static eq_ctx *new_ctx(eq_model *m, int n_ctx, int n_batch) {
    eq_ctx_params p = eq_ctx_default_params();
    p.n_ctx = n_ctx;
    p.n_threads = 1;
    p.n_batch = n_batch;
    p.kv_type = EQ_KV_F32;
    eq_ctx *c = NULL;
    char err[256];
    CHECKF(eq_ctx_new(m, &p, &c, err, sizeof err) == EQ_OK, "%s", err);
    return c;
}

static int argmax(const float *x) {
    int b = 0;
    for (int i = 1; i < V; i++) if (x[i] > x[b]) b = i;
    return b;
}

/* What a generation gave: all released text, per-step lengths, the end. */
typedef struct {
    char text[4096];
    size_t len;
    size_t step_len[128];
    int steps;
    eq_status st;
    eq_finish finish;
    eq_gen_stats stats;
    char err[256];
} result;

static eq_gen_params greedy(int max_tokens) {
    eq_gen_params p = eq_gen_default_params();
    p.sp.temp = 0;
    p.max_tokens = max_tokens;
    return p;
}

static result run(eq_ctx *c, const eq_token *prompt, int n, const eq_gen_params *p) {
    static result r;
    memset(&r, 0, sizeof r);
    eq_gen *g = NULL;
    r.st = eq_gen_start(c, prompt, n, p, &g, r.err, sizeof r.err);
    for (int done = 0; !r.st && !done && r.steps < 128;) {
        const char *t;
        size_t l;
        r.st = eq_gen_step(g, &t, &l, &done);
        if (r.st) { snprintf(r.err, sizeof r.err, "%s", eq_gen_errmsg(g)); break; }
        if (r.len + l <= sizeof r.text) memcpy(r.text + r.len, t, l);
        r.len += l;
        r.step_len[r.steps++] = l;
    }
    if (g) {
        r.finish = eq_gen_finish_reason(g);
        eq_gen_stats_get(g, &r.stats);
    }
    eq_gen_free(g);
    return r;
}

static size_t piece(eq_model *m, eq_token t, char *out) {
    int k = eq_token_to_piece(m, t, 0, out, 64);
    return k > 0 ? (size_t)k : 0;
}

/* The text of g_seq[0..k) with the default vocabulary */
static size_t seq_text(eq_model *m, int k, char *out) {
    size_t n = 0;
    for (int i = 0; i < k; i++) n += piece(m, g_seq[i], out + n);
    return n;
}

static int abort_left;
static int abort_cb(void *user) { (void)user; return abort_left-- <= 0; }

int main(void) {
    weights w;
    weights_make(&w, &(arch_case){"llama", "llama", 4, 2, 0, 0, 0, 0, 0, 10000.0f, 0.0f, 0, 0, 0}, 7);
    eq_model *m = model_make_vocab(&w, EQ_TYPE_F32, NULL, 0, 2);
    if (!m) return eqt_done();

    /* the reference: plain decode + argmax */
    eq_ctx *c = new_ctx(m, 64, 8);
    float ref_logits[V];
    CHECK(eq_decode(c, k_prompt, N_P) == EQ_OK);
    memcpy(ref_logits, eq_ctx_logits(c), sizeof ref_logits);
    for (int i = 0; i < N_SEQ; i++) {
        g_seq[i] = argmax(eq_ctx_logits(c));
        CHECK(eq_decode(c, &g_seq[i], 1) == EQ_OK);
    }
    int distinct = 1;   /* the first 4 must differ for the vocabulary cases below */
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < i; j++) distinct &= g_seq[i] != g_seq[j] && g_seq[i] > 2 && g_seq[j] > 2;
    CHECKF(distinct, "the greedy sequence starts %d %d %d %d: pick another prompt", g_seq[0], g_seq[1], g_seq[2], g_seq[3]);

    char want[4096];
    size_t wl;
    result r;
    {   /* greedy generation gives the reference's tokens and text; the cache records them */
        eq_gen_params p = greedy(8);
        r = run(c, k_prompt, N_P, &p);
        wl = seq_text(m, 8, want);
        CHECK(r.st == EQ_OK && r.finish == EQ_FINISH_LENGTH && r.stats.n_gen == 8);
        CHECK(r.len == wl && !memcmp(r.text, want, wl));
        int n;
        const eq_token *have = eq_ctx_tokens(c, &n);
        CHECK(n == N_P + 7 && !memcmp(have, k_prompt, sizeof k_prompt) && !memcmp(have + N_P, g_seq, 7 * sizeof *have));
        CHECK(r.stats.n_prompt == N_P && r.stats.n_cached == 0 && r.stats.n_evaluated == N_P);
        CHECK(r.stats.seed != EQ_SEED_RANDOM);   /* a fresh one was drawn */
        p.sp.seed = 1234;
        r = run(c, k_prompt, N_P, &p);
        CHECK(r.stats.seed == 1234);
    }
    char p0[64], p1[64], p2[64];
    size_t l0 = piece(m, g_seq[0], p0), l1 = piece(m, g_seq[1], p1), l2 = piece(m, g_seq[2], p2);
    {   /* a stop string split across tokens: the tail that could begin it is held back */
        char stop[8] = {p0[l0 - 1], p1[0], p1[1]};
        size_t sl = 3;
        const char *sv[1] = {stop};
        eq_gen_params p = greedy(8);
        p.stop = sv;
        p.stop_len = &sl;
        p.n_stop = 1;
        r = run(c, k_prompt, N_P, &p);
        CHECK(r.st == EQ_OK && r.finish == EQ_FINISH_STOP && r.stats.n_gen == 2);
        CHECK(r.len == l0 - 1 && !memcmp(r.text, p0, l0 - 1));
        CHECKF(r.step_len[0] == l0 - 1, "first step released %zu bytes", r.step_len[0]);
        /* at the very start */
        stop[0] = p0[0];
        sl = 1;
        r = run(c, k_prompt, N_P, &p);
        CHECK(r.st == EQ_OK && r.finish == EQ_FINISH_STOP && r.len == 0 && r.stats.n_gen == 1);
        /* never completed: the held-back tail comes out at the end */
        wl = seq_text(m, 3, want);
        memcpy(stop, p2, l2);
        stop[l2] = '#';
        sl = l2 + 1;
        p.max_tokens = 3;
        r = run(c, k_prompt, N_P, &p);
        CHECK(r.st == EQ_OK && r.finish == EQ_FINISH_LENGTH && r.len == wl && !memcmp(r.text, want, wl));
        CHECKF(r.steps == 3 && r.step_len[2] >= l2, "steps %d: %zu %zu %zu (l2 %zu)", r.steps, r.step_len[0], r.step_len[1], r.step_len[2], l2);   /* the last step releases the held tail */
        /* a stop string in the prompt's continuation beyond max_tokens never matters */
        p.max_tokens = 0;
        r = run(c, k_prompt, N_P, &p);
        CHECK(r.st == EQ_OK && r.finish == EQ_FINISH_LENGTH && r.len == 0 && r.stats.n_gen == 0 && r.steps == 1);
    }
    {   /* max_tokens 1 */
        eq_gen_params p = greedy(1);
        r = run(c, k_prompt, N_P, &p);
        CHECK(r.st == EQ_OK && r.finish == EQ_FINISH_LENGTH && r.stats.n_gen == 1 && r.len == l0 && !memcmp(r.text, p0, l0));
    }
    {   /* prompt batches: n_batch 4 takes two steps, then the same tokens */
        eq_gen_params p = greedy(4);
        p.n_batch = 4;
        r = run(c, k_prompt, N_P, &p);
        wl = seq_text(m, 4, want);
        CHECK(r.st == EQ_OK && r.steps == 5 && r.step_len[0] == 0 && r.len == wl && !memcmp(r.text, want, wl));
    }
    {   /* prefix reuse: a prompt sharing 4 tokens with the cache evaluates only the rest, and
         * its logits are bit for bit a fresh context's */
        eq_token other[N_P] = {1, 17, 255, 3, 77, 99};
        eq_gen_params p = greedy(0);
        p.reuse_prefix = 1;
        r = run(c, k_prompt, N_P, &p);
        r = run(c, other, N_P, &p);
        CHECK(r.st == EQ_OK && r.stats.n_cached == 4);
        float got[V];
        memcpy(got, eq_ctx_logits(c), sizeof got);
        eq_ctx *c2 = new_ctx(m, 64, 8);
        CHECK(eq_decode(c2, other, N_P) == EQ_OK && !memcmp(got, eq_ctx_logits(c2), sizeof got));
        eq_ctx_free(c2);
        r = run(c, other, N_P, &p);   /* the same prompt: all but the last token reused */
        CHECK(r.st == EQ_OK && r.stats.n_cached == N_P - 1 && !memcmp(got, eq_ctx_logits(c), sizeof got));
        p.reuse_prefix = 0;
        r = run(c, other, N_P, &p);
        CHECK(r.st == EQ_OK && r.stats.n_cached == 0);
        /* reuse after a generation: the cache holds prompt + generated tokens */
        p = greedy(5);
        p.reuse_prefix = 1;
        r = run(c, k_prompt, N_P, &p);
        eq_token longer[N_P + 3];
        memcpy(longer, k_prompt, sizeof k_prompt);
        memcpy(longer + N_P, g_seq, 3 * sizeof *longer);
        p.max_tokens = 0;
        r = run(c, longer, N_P + 3, &p);
        CHECK(r.st == EQ_OK && r.stats.n_cached == N_P + 2);
    }
    {   /* OpenAI penalties: greedy repeats itself here, a presence penalty forbids it */
        eq_gen_params p = greedy(N_SEQ);
        r = run(c, k_prompt, N_P, &p);
        int rep = 0;
        for (int i = 0; i < N_SEQ - 1; i++)   /* the tokens the cache will hold */
            for (int j = 0; j < i; j++) rep |= g_seq[i] == g_seq[j];
        CHECKF(rep, "the greedy sequence never repeats: the penalty case shows nothing");
        for (int k = 0; k < 2; k++) {
            p.presence_penalty = k ? 0 : 1e6f;
            p.frequency_penalty = k ? 1e6f : 0;
            eq_gen *g = NULL;
            CHECK(eq_gen_start(c, k_prompt, N_P, &p, &g, NULL, 0) == EQ_OK);
            const char *t;
            size_t l;
            int done = 0;
            while (!done && eq_gen_step(g, &t, &l, &done) == EQ_OK) {}
            int n;
            const eq_token *have = eq_ctx_tokens(c, &n);
            int again = 0;
            for (int i = N_P; i < n; i++)
                for (int j = N_P; j < i; j++) again |= have[i] == have[j];
            CHECKF(!again && n > N_P + 8, "again %d n %d", again, n);   /* it may end on EOS */
            eq_gen_free(g);
        }
    }
    {   /* the context fills up: "length" */
        eq_ctx *small = new_ctx(m, N_P + 3, 8);
        eq_gen_params p = greedy(-1);
        r = run(small, k_prompt, N_P, &p);
        CHECK(r.st == EQ_OK && r.finish == EQ_FINISH_LENGTH && r.stats.n_gen == 4 && eq_ctx_n_past(small) == N_P + 3);
        eq_ctx_free(small);
        small = new_ctx(m, N_P, 8);
        r = run(small, k_prompt, N_P, &p);
        CHECKF(r.st == EQ_ERR_CONTEXT_FULL && strstr(r.err, "6 tokens") && strstr(r.err, "only 6"), "%s", r.err);
        eq_ctx_free(small);
    }
    {   /* abort mid-prompt: the error surfaces, the generation frees cleanly, the cache holds
         * the batches evaluated before */
        eq_gen_params p = greedy(4);
        p.n_batch = 2;
        abort_left = NL;   /* one batch's worth of layer checks */
        eq_ctx_set_abort(c, abort_cb, NULL);
        r = run(c, k_prompt, N_P, &p);
        eq_ctx_set_abort(c, NULL, NULL);
        CHECKF(r.st == EQ_ERR_ABORTED && r.stats.n_evaluated < N_P, "%d", r.st);
        int n;
        const eq_token *have = eq_ctx_tokens(c, &n);
        CHECK(n == r.stats.n_evaluated && n < N_P && !memcmp(have, k_prompt, (size_t)n * sizeof *have));
    }
    {   /* eq_gen_stop, a deadline's early end: refused before the prompt is in; between steps,
         * and after an abort while generating, it ends with "length" and releases the tail held
         * back for a stop string that never completed */
        char stop[80];
        memcpy(stop, p1, l1);
        stop[l1] = '#';
        size_t sl = l1 + 1;
        const char *sv[1] = {stop};
        eq_gen_params p = greedy(8);
        p.stop = sv;
        p.stop_len = &sl;
        p.n_stop = 1;
        eq_gen *g = NULL;
        char err[256], got[256];
        const char *t;
        size_t l, n = 0;
        int done = 0;
        CHECK(eq_gen_start(c, k_prompt, N_P, &p, &g, err, sizeof err) == EQ_OK);
        CHECK(eq_gen_stop(g, &t, &l) == EQ_ERR_ARG && l == 0 && eq_gen_errmsg(g)[0]);
        for (int i = 0; i < 2 && !done; i++) {
            CHECK(eq_gen_step(g, &t, &l, &done) == EQ_OK);
            memcpy(got + n, t, l);
            n += l;
        }
        CHECK(!done && n == l0);   /* p1 is held back: it could begin "p1#" */
        CHECK(eq_gen_stop(g, &t, &l) == EQ_OK && l == l1 && !memcmp(t, p1, l1));
        CHECK(eq_gen_finish_reason(g) == EQ_FINISH_LENGTH);
        CHECK(eq_gen_stop(g, &t, &l) == EQ_OK && l == 0);   /* already over */
        eq_gen_free(g);

        memcpy(stop, p0, l0);
        stop[l0] = '#';
        sl = l0 + 1;
        abort_left = NL;   /* the prompt's one batch passes; the first generated token's decode aborts */
        eq_ctx_set_abort(c, abort_cb, NULL);
        CHECK(eq_gen_start(c, k_prompt, N_P, &p, &g, err, sizeof err) == EQ_OK);
        CHECK(eq_gen_step(g, &t, &l, &done) == EQ_OK && l == 0 && !done);   /* p0 held back */
        CHECK(eq_gen_step(g, &t, &l, &done) == EQ_ERR_ABORTED);
        eq_ctx_set_abort(c, NULL, NULL);
        CHECK(eq_gen_stop(g, &t, &l) == EQ_OK && l == l0 && !memcmp(t, p0, l0));
        eq_gen_stats st;
        eq_gen_stats_get(g, &st);
        CHECK(eq_gen_finish_reason(g) == EQ_FINISH_LENGTH && st.n_gen == 1);
        eq_gen_free(g);
    }
    {   /* bad parameters, each with a message */
        eq_gen *g = NULL;
        char err[256];
        eq_gen_params p = greedy(4);
        eq_token bad[2] = {1, V};
        CHECK(eq_gen_start(c, k_prompt, 0, &p, &g, err, sizeof err) == EQ_ERR_ARG && err[0] && !g);
        CHECK(eq_gen_start(c, bad, 2, &p, &g, err, sizeof err) == EQ_ERR_ARG && err[0] && !g);
        size_t zero = 0;
        const char *sv[1] = {"x"};
        p.stop = sv;
        p.stop_len = &zero;
        p.n_stop = 1;
        CHECK(eq_gen_start(c, k_prompt, N_P, &p, &g, err, sizeof err) == EQ_ERR_ARG && err[0] && !g);
        p = greedy(4);
        p.presence_penalty = NAN;
        CHECK(eq_gen_start(c, k_prompt, N_P, &p, &g, err, sizeof err) == EQ_ERR_ARG && err[0] && !g);
        p = greedy(4);
        p.sp.temp = NAN;
        CHECK(eq_gen_start(c, k_prompt, N_P, &p, &g, err, sizeof err) == EQ_ERR_ARG && strstr(err, "sampling") && !g);
        p = greedy(4);
        p.n_batch = -1;
        CHECK(eq_gen_start(c, k_prompt, N_P, &p, &g, err, sizeof err) == EQ_ERR_ARG && err[0] && !g);
    }
    eq_ctx_free(c);
    eq_model_free(m);

    /* Vocabularies giving the greedy tokens other text. */
    {   /* "€" (E2 82 AC) in three byte tokens: whole characters, or bytes as they come */
        tiny_token over[3] = {{g_seq[0], "<0xE2>", 6}, {g_seq[1], "<0x82>", 6}, {g_seq[2], "<0xAC>", 6}};
        m = model_make_vocab(&w, EQ_TYPE_F32, over, 3, 2);
        c = m ? new_ctx(m, 64, 8) : NULL;
        if (c) {
            eq_gen_params p = greedy(3);
            r = run(c, k_prompt, N_P, &p);
            CHECK(r.st == EQ_OK && r.steps == 3 && r.step_len[0] == 0 && r.step_len[1] == 0 && r.len == 3 &&
                  !memcmp(r.text, "\xE2\x82\xAC", 3));
            p.raw_bytes = 1;
            r = run(c, k_prompt, N_P, &p);
            CHECK(r.st == EQ_OK && r.step_len[0] == 1 && r.step_len[1] == 1 && r.len == 3 && !memcmp(r.text, "\xE2\x82\xAC", 3));
            p = greedy(2);   /* cut short: the unfinished character is flushed as U+FFFD */
            r = run(c, k_prompt, N_P, &p);
            CHECK(r.st == EQ_OK && r.len == 3 && !memcmp(r.text, "\xEF\xBF\xBD", 3));
            /* a stop string inside the character */
            size_t sl = 2;
            const char *sv[1] = {"\x82\xAC"};
            p = greedy(3);
            p.stop = sv;
            p.stop_len = &sl;
            p.n_stop = 1;
            p.raw_bytes = 1;
            r = run(c, k_prompt, N_P, &p);
            CHECK(r.st == EQ_OK && r.finish == EQ_FINISH_STOP && r.len == 1 && r.text[0] == '\xE2');
        }
        eq_ctx_free(c);
        eq_model_free(m);
    }
    {   /* a NUL token: kept in the text (by length), and matched inside a stop string */
        tiny_token over[1] = {{g_seq[1], "<0x00>", 6}};
        m = model_make_vocab(&w, EQ_TYPE_F32, over, 1, 2);
        c = m ? new_ctx(m, 64, 8) : NULL;
        if (c) {
            eq_gen_params p = greedy(3);
            r = run(c, k_prompt, N_P, &p);
            CHECK(r.st == EQ_OK && r.len == l0 + 1 + l2 && r.text[l0] == 0 && !memcmp(r.text + l0 + 1, p2, l2));
            char stop[64] = {0};
            memcpy(stop + 1, p2, l2);
            size_t sl = l2 + 1;
            const char *sv[1] = {stop};
            p.stop = sv;
            p.stop_len = &sl;
            p.n_stop = 1;
            r = run(c, k_prompt, N_P, &p);
            CHECK(r.st == EQ_OK && r.finish == EQ_FINISH_STOP && r.len == l0 && !memcmp(r.text, p0, l0));
        }
        eq_ctx_free(c);
        eq_model_free(m);
    }
    {   /* the third greedy token is the end of generation: "stop", unless ignore_eos */
        m = model_make_vocab(&w, EQ_TYPE_F32, NULL, 0, g_seq[2]);
        c = m ? new_ctx(m, 64, 8) : NULL;
        if (c) {
            eq_gen_params p = greedy(6);
            r = run(c, k_prompt, N_P, &p);
            CHECK(r.st == EQ_OK && r.finish == EQ_FINISH_STOP && r.stats.n_gen == 2 && r.len == l0 + l1);
            p.ignore_eos = 1;
            r = run(c, k_prompt, N_P, &p);
            /* counted and evaluated, but without text */
            CHECK(r.st == EQ_OK && r.finish == EQ_FINISH_LENGTH && r.stats.n_gen == 6 && r.step_len[2] == 0);
            int n;
            const eq_token *have = eq_ctx_tokens(c, &n);
            CHECK(n == N_P + 5 && !memcmp(have + N_P, g_seq, 5 * sizeof *have));
        }
        eq_ctx_free(c);
        eq_model_free(m);
    }
    weights_free(&w);
    return eqt_done();
}
