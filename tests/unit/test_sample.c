/* Sampler: greedy, seeding, the distribution of draws, each filter's cut, the penalty, and
 * hostile logits. */
#include "edgeq.h"
#include "eqtest.h"

#include <math.h>
#include <string.h>

static eq_sampler_params greedy_params(void) {
    eq_sampler_params p = eq_sampler_default_params();
    p.temp = 0.0f;
    return p;
}

/* only the filter under test on; temperature 1 */
static eq_sampler_params plain_params(void) {
    eq_sampler_params p = eq_sampler_default_params();
    p.temp = 1.0f; p.top_k = 0; p.top_p = 1.0f; p.min_p = 0.0f; p.repeat_penalty = 1.0f;
    return p;
}

/* A sampler that must be created (a failure is reported and gives NULL). */
static eq_sampler *new_sampler(const eq_sampler_params *p, int n_vocab) {
    eq_sampler *s = NULL;
    char err[128];
    eq_status st = eq_sampler_new(p, n_vocab, &s, err, sizeof err);
    CHECKF(st == EQ_OK && s, "eq_sampler_new: %s", err);
    return s;
}

/* eq_sampler_new refuses: EQ_ERR_ARG, *out NULL, the message names `param` */
static int refused(const eq_sampler_params *p, int n_vocab, const char *param) {
    eq_sampler *s = (eq_sampler *)p;   /* any non-NULL value: must come back NULL */
    char err[128] = "";
    eq_status st = eq_sampler_new(p, n_vocab, &s, err, sizeof err);
    if (st == EQ_OK) eq_sampler_free(s);
    return st == EQ_ERR_ARG && s == NULL && strstr(err, param) != NULL;
}

/* Draw n times; counts[id]++ */
static void draw_many(eq_sampler *s, const float *logits, int n, int *counts, int n_vocab) {
    memset(counts, 0, sizeof(int) * (size_t)n_vocab);
    for (int i = 0; i < n; i++) {
        eq_token t = eq_sampler_sample(s, logits);
        if (t >= 0 && t < n_vocab) counts[t]++;
    }
}

static void test_params(void) {
    eq_sampler_params d = eq_sampler_default_params();
    CHECK(fabsf(d.temp - 0.8f) < 1e-6f && d.top_k == 40 && fabsf(d.top_p - 0.95f) < 1e-6f);
    CHECK(fabsf(d.min_p - 0.05f) < 1e-6f && d.repeat_penalty == 1.0f && d.repeat_last_n == 64);

    /* a refusal is EQ_ERR_ARG, no sampler, and a message naming the parameter */
    CHECK(refused(&d, 0, "n_vocab"));
    CHECK(refused(&d, -5, "n_vocab"));
    eq_sampler_params b = d; b.temp = NAN;            CHECK(refused(&b, 10, "temp"));
    b = d; b.temp = INFINITY;                         CHECK(refused(&b, 10, "temp"));
    b = d; b.top_p = NAN;                             CHECK(refused(&b, 10, "top_p"));
    b = d; b.min_p = NAN;                             CHECK(refused(&b, 10, "min_p"));
    b = d; b.repeat_penalty = NAN;                    CHECK(refused(&b, 10, "repeat_penalty"));
    b = d; b.repeat_penalty = 0.0f;                   CHECK(refused(&b, 10, "repeat_penalty"));
    b = d; b.repeat_last_n = -1;                      CHECK(refused(&b, 10, "repeat_last_n"));
    CHECK(eq_sampler_new(&d, 10, NULL, NULL, 0) == EQ_ERR_ARG);   /* no out pointer */

    eq_sampler *s = (eq_sampler *)&d;   /* overwritten: NULL on failure, the sampler on success */
    char err[128] = "stale";
    CHECK(eq_sampler_new(NULL, 10, &s, err, sizeof err) == EQ_OK && err[0] == 0);   /* NULL params = defaults */
    CHECK(s != NULL);
    CHECK(eq_sampler_sample(s, NULL) == -1);
    CHECK(eq_sampler_sample(NULL, NULL) == -1);
    eq_sampler_accept(s, -3);        /* ignored, no crash */
    eq_sampler_accept(s, 1000);
    eq_sampler_free(s);
    eq_sampler_free(NULL);
    eq_sampler_reset(NULL);
    eq_sampler_accept(NULL, 1);
}

static void test_greedy(void) {
    float l[8] = { 0.1f, 2.0f, -1.0f, 3.5f, 3.4f, 0.0f, -7.0f, 1.0f };
    eq_sampler_params p = greedy_params();
    eq_sampler *s = new_sampler(&p, 8);
    CHECK(eq_sampler_sample(s, l) == 3);
    float tie[8] = { 1.0f, 5.0f, 5.0f, 5.0f, 0, 0, 0, 0 };
    CHECK(eq_sampler_sample(s, tie) == 1);   /* ties: lowest id */
    eq_sampler_free(s);

    /* top-k = 1 is greedy at any temperature, for many seeds */
    int ok = 1;
    for (int seed = 0; seed < 50; seed++) {
        eq_sampler_params q = eq_sampler_default_params();
        q.top_k = 1; q.temp = 5.0f; q.top_p = 1.0f; q.min_p = 0.0f; q.seed = (uint64_t)seed;
        eq_sampler *t = new_sampler(&q, 8);
        for (int i = 0; i < 20; i++) ok &= eq_sampler_sample(t, l) == 3;
        ok &= eq_sampler_sample(t, tie) == 1;
        eq_sampler_free(t);
    }
    CHECK(ok);

    /* a large vocabulary: the argmax is found wherever it is */
    enum { NV = 150000 };
    static float big[NV];
    for (int i = 0; i < NV; i++) big[i] = (float)((i * 7919) % 1000) / 100.0f;
    big[123457] = 50.0f;
    s = new_sampler(&p, NV);
    CHECK(eq_sampler_sample(s, big) == 123457);
    eq_sampler_free(s);
}

static void test_seed(void) {
    enum { NV = 1000, N = 64 };
    static float l[NV];
    for (int i = 0; i < NV; i++) l[i] = sinf((float)i) * 2.0f;
    eq_sampler_params p = plain_params();
    p.seed = 42;
    eq_sampler *a = new_sampler(&p, NV), *b = new_sampler(&p, NV);
    p.seed = 43;
    eq_sampler *c = new_sampler(&p, NV);
    eq_token sa[N], sb[N], sc[N];
    for (int i = 0; i < N; i++) {
        sa[i] = eq_sampler_sample(a, l);
        sb[i] = eq_sampler_sample(b, l);
        sc[i] = eq_sampler_sample(c, l);
    }
    CHECK(memcmp(sa, sb, sizeof sa) == 0);
    CHECK(memcmp(sa, sc, sizeof sa) != 0);
    /* reset re-seeds: the same sequence again */
    eq_sampler_reset(a);
    int same = 1;
    for (int i = 0; i < N; i++) same &= eq_sampler_sample(a, l) == sa[i];
    CHECK(same);
    eq_sampler_free(a); eq_sampler_free(b); eq_sampler_free(c);

    /* default chain (top-k, top-p, min-p, temp 0.8) is reproducible too */
    eq_sampler_params d = eq_sampler_default_params();
    a = new_sampler(&d, NV); b = new_sampler(&d, NV);
    same = 1;
    for (int i = 0; i < N; i++) same &= eq_sampler_sample(a, l) == eq_sampler_sample(b, l);
    CHECK(same);
    eq_sampler_free(a); eq_sampler_free(b);
}

/* chi-square of observed counts against expected probabilities */
static double chi2(const int *counts, const double *prob, int k, int n) {
    double x = 0.0;
    for (int i = 0; i < k; i++) {
        double e = prob[i] * n;
        if (e > 0) x += (counts[i] - e) * (counts[i] - e) / e;
        else if (counts[i] > 0) x += 1e9;
    }
    return x;
}

static void test_distribution(void) {
    enum { NV = 6, N = 200000 };
    float l[NV] = { 1.0f, 0.0f, -1.0f, 2.0f, 0.5f, -3.0f };
    int counts[NV];
    double prob[NV], z = 0;
    for (int i = 0; i < NV; i++) z += exp(l[i]);
    for (int i = 0; i < NV; i++) prob[i] = exp(l[i]) / z;
    eq_sampler_params p = plain_params();
    eq_sampler *s = new_sampler(&p, NV);
    draw_many(s, l, N, counts, NV);
    /* 5 degrees of freedom: P(chi2 > 25) ~ 1.4e-4; the seed is fixed so this is deterministic */
    double x = chi2(counts, prob, NV, N);
    CHECKF(x < 25.0, "chi2 = %f", x);
    eq_sampler_free(s);

    /* temperature 2 flattens: p ~ exp(l / 2) */
    p.temp = 2.0f;
    s = new_sampler(&p, NV);
    z = 0;
    for (int i = 0; i < NV; i++) z += exp(l[i] / 2.0);
    for (int i = 0; i < NV; i++) prob[i] = exp(l[i] / 2.0) / z;
    draw_many(s, l, N, counts, NV);
    x = chi2(counts, prob, NV, N);
    CHECKF(x < 25.0, "chi2 (temp 2) = %f", x);
    eq_sampler_free(s);
}

static void test_top_k(void) {
    enum { NV = 10, N = 20000 };
    float l[NV] = { 0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 4.5f, 0.5f, 1.5f, 2.5f, 3.5f };
    int counts[NV];
    eq_sampler_params p = plain_params();
    p.top_k = 3;   /* ids 5, 4, 9 */
    eq_sampler *s = new_sampler(&p, NV);
    draw_many(s, l, N, counts, NV);
    int outside = 0;
    for (int i = 0; i < NV; i++) if (i != 5 && i != 4 && i != 9) outside += counts[i];
    CHECK(outside == 0);
    CHECK(counts[5] > 0 && counts[4] > 0 && counts[9] > 0);
    double z = exp(4.5) + exp(4.0) + exp(3.5);
    double prob[3] = { exp(4.5) / z, exp(4.0) / z, exp(3.5) / z };
    int c3[3] = { counts[5], counts[4], counts[9] };
    double x = chi2(c3, prob, 3, N);
    CHECKF(x < 20.0, "chi2 top-k = %f", x);
    eq_sampler_free(s);
}

static void test_top_p(void) {
    /* probabilities 0.5, 0.25, 0.125, 0.0625, 0.0625 (as logits of log p) */
    enum { NV = 5, N = 20000 };
    float l[NV] = { logf(0.0625f), logf(0.25f), logf(0.5f), logf(0.0625f), logf(0.125f) };
    int counts[NV];
    eq_sampler_params p = plain_params();
    /* cumulative: 0.5 (id2), 0.75 (id1), 0.875 (id4), ...: top_p 0.7 keeps {2, 1} */
    p.top_p = 0.7f;
    eq_sampler *s = new_sampler(&p, NV);
    draw_many(s, l, N, counts, NV);
    CHECK(counts[0] == 0 && counts[3] == 0 && counts[4] == 0);
    CHECK(counts[2] > 0 && counts[1] > 0);
    /* renormalised 2/3, 1/3 */
    CHECKF(fabs(counts[2] / (double)N - 2.0 / 3.0) < 0.02, "top-p share %f", counts[2] / (double)N);
    eq_sampler_free(s);

    /* 0.8 crosses at id4: keeps {2, 1, 4} */
    p.top_p = 0.8f;
    s = new_sampler(&p, NV);
    draw_many(s, l, N, counts, NV);
    CHECK(counts[0] == 0 && counts[3] == 0);
    CHECK(counts[2] > 0 && counts[1] > 0 && counts[4] > 0);
    eq_sampler_free(s);

    /* tiny top_p still keeps the best token */
    p.top_p = 0.0f;
    s = new_sampler(&p, NV);
    draw_many(s, l, 200, counts, NV);
    CHECK(counts[2] == 200);
    eq_sampler_free(s);

    /* top-p is measured after top-k: with top-k 2 the set {2, 1} renormalises to 2/3, 1/3 and
     * top_p 0.6 keeps only id 2 */
    p.top_p = 0.6f; p.top_k = 2;
    s = new_sampler(&p, NV);
    draw_many(s, l, 500, counts, NV);
    CHECK(counts[2] == 500);
    eq_sampler_free(s);

    /* large vocabulary without top-k: the probe / full sort paths agree with the math.
     * 4000 equal tokens + 2 heavy ones; top_p just above the heavy pair's mass must spill
     * into the flat tail (past the first probe). */
    enum { NB = 4002 };
    static float big[NB];
    for (int i = 0; i < NB; i++) big[i] = 0.0f;
    big[10] = logf(2000.0f); big[3000] = logf(2000.0f);  /* each 2000 / 8000 = 0.25 */
    static int cb[NB];
    p = plain_params();
    p.top_p = 0.45f;  /* the pair holds 0.5: the tail is cut */
    s = new_sampler(&p, NB);
    draw_many(s, big, 2000, cb, NB);
    CHECK(cb[10] + cb[3000] == 2000);
    eq_sampler_free(s);
    p.top_p = 0.9f;   /* needs ~3200 tail tokens (1/8000 each): lowest ids first among equals */
    s = new_sampler(&p, NB);
    draw_many(s, big, 1000, cb, NB);
    int tail_hi = 0, tail_lo = 0;
    for (int i = 0; i < NB; i++) {
        if (i == 10 || i == 3000) continue;
        if (i > 3300) tail_hi += cb[i]; else tail_lo += cb[i];
    }
    CHECK(tail_hi == 0 && tail_lo > 0);
    eq_sampler_free(s);
}

static void test_min_p(void) {
    enum { NV = 5, N = 20000 };
    /* relative to the max (id 0): 1, 0.5, 0.2, 0.09, 0.3 */
    float l[NV] = { 0.0f, logf(0.5f), logf(0.2f), logf(0.09f), logf(0.3f) };
    int counts[NV];
    eq_sampler_params p = plain_params();
    p.min_p = 0.25f;   /* keeps ids 0, 1, 4 */
    eq_sampler *s = new_sampler(&p, NV);
    draw_many(s, l, N, counts, NV);
    CHECK(counts[2] == 0 && counts[3] == 0);
    CHECK(counts[0] > 0 && counts[1] > 0 && counts[4] > 0);
    eq_sampler_free(s);

    p.min_p = 0.1f;    /* keeps all but id 3 */
    p.top_k = 4;       /* sorted path */
    s = new_sampler(&p, NV);
    draw_many(s, l, N, counts, NV);
    CHECK(counts[3] == 0 && counts[2] > 0);
    eq_sampler_free(s);

    p.min_p = 2.0f; p.top_k = 0;   /* nothing qualifies: the best stays */
    s = new_sampler(&p, NV);
    draw_many(s, l, 100, counts, NV);
    CHECK(counts[0] == 100);
    eq_sampler_free(s);
}

static void test_penalty(void) {
    float l[4] = { 1.0f, 2.0f, 1.8f, -1.0f };
    eq_sampler_params p = greedy_params();
    p.repeat_penalty = 1.5f;
    p.repeat_last_n = 3;
    eq_sampler *s = new_sampler(&p, 4);
    CHECK(eq_sampler_sample(s, l) == 1);
    eq_sampler_accept(s, 1);                 /* 2.0 / 1.5 = 1.33 < 1.8 */
    CHECK(eq_sampler_sample(s, l) == 2);
    eq_sampler_accept(s, 2);                 /* 1.8 / 1.5 = 1.2 > 1.0: id 2 beats id 0? no: */
    CHECK(eq_sampler_sample(s, l) == 1);     /* 1.33 > 1.2 > 1.0 */
    eq_sampler_accept(s, 1);                 /* repeated token is penalised once, not twice */
    CHECK(eq_sampler_sample(s, l) == 1);
    /* the window slides: after three more id-0 tokens ids 1 and 2 are free again */
    eq_sampler_accept(s, 0); eq_sampler_accept(s, 0); eq_sampler_accept(s, 0);
    CHECK(eq_sampler_sample(s, l) == 1);
    eq_sampler_reset(s);
    CHECK(eq_sampler_sample(s, l) == 1);
    eq_sampler_free(s);

    /* negative logits are multiplied: a penalised -1 falls below an unpenalised -1.2 */
    float n[3] = { -1.0f, -1.2f, -5.0f };
    s = new_sampler(&p, 3);
    CHECK(eq_sampler_sample(s, n) == 0);
    eq_sampler_accept(s, 0);
    CHECK(eq_sampler_sample(s, n) == 1);
    eq_sampler_free(s);

    /* repeat_penalty 1 is off */
    p.repeat_penalty = 1.0f;
    s = new_sampler(&p, 4);
    eq_sampler_accept(s, 1);
    CHECK(eq_sampler_sample(s, l) == 1);
    eq_sampler_free(s);
}

static void test_hostile(void) {
    enum { NV = 8 };
    float l[NV] = { NAN, 1.0f, INFINITY, -INFINITY, NAN, 3.0f, INFINITY, 0.0f };
    eq_sampler_params p = greedy_params();
    eq_sampler *s = new_sampler(&p, NV);
    CHECK(eq_sampler_sample(s, l) == 2);           /* +inf wins, lowest id */
    eq_sampler_free(s);

    p = eq_sampler_default_params();
    s = new_sampler(&p, NV);
    int ok = 1;
    for (int i = 0; i < 200; i++) {
        eq_token t = eq_sampler_sample(s, l);
        ok &= t == 2 || t == 6;                    /* only the +inf tokens have mass */
    }
    CHECK(ok);
    eq_sampler_free(s);

    float allnan[NV], allneg[NV];
    for (int i = 0; i < NV; i++) { allnan[i] = NAN; allneg[i] = -INFINITY; }
    p = plain_params();
    p.top_p = 0.9f; p.min_p = 0.1f;
    s = new_sampler(&p, NV);
    eq_token a = eq_sampler_sample(s, allnan), b = eq_sampler_sample(s, allneg);
    CHECK(a >= 0 && a < NV && b >= 0 && b < NV);
    float one_nan[NV] = { 1, 1, 1, NAN, 1, 1, 1, 1 };
    ok = 1;
    for (int i = 0; i < 200; i++) ok &= eq_sampler_sample(s, one_nan) != 3;
    CHECK(ok);
    eq_sampler_free(s);

    /* huge finite logits and a tiny temperature stay finite */
    float huge[3] = { 3e38f, -3e38f, 2.9e38f };
    p = plain_params();
    p.temp = 1e-6f;
    s = new_sampler(&p, 3);
    CHECK(eq_sampler_sample(s, huge) == 0);
    eq_sampler_free(s);

    /* penalty on +inf / FLT_MAX-sized logits */
    p = greedy_params();
    p.repeat_penalty = 1.3f;
    s = new_sampler(&p, NV);
    eq_sampler_accept(s, 2);
    eq_token t = eq_sampler_sample(s, l);
    CHECK(t >= 0 && t < NV);
    eq_sampler_free(s);
}

int main(void) {
    test_params();
    test_greedy();
    test_seed();
    test_distribution();
    test_top_k();
    test_top_p();
    test_min_p();
    test_penalty();
    test_hostile();
    return eqt_done();
}
