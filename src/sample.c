/* Token sampling: llama.cpp's common chain, in its order:
 *   repetition penalty -> top-k -> top-p -> min-p -> temperature -> draw.
 *
 * Contract (in addition to include/edgeq.h):
 *   - eq_sampler_new fails with EQ_ERR_ARG, naming the parameter, on: n_vocab <= 0; temp NaN
 *     or infinite; top_p or min_p NaN; repeat_penalty NaN, infinite or <= 0; repeat_last_n < 0
 *     (llama.cpp's "-1 = whole context" has no meaning here, so it is refused rather than
 *     guessed); with EQ_ERR_NOMEM when memory runs out. p == NULL means the defaults.
 *   - eq_sampler_sample returns -1 when s or logits is NULL, otherwise a token in [0, n_vocab).
 *     NaN logits are never picked (unless every logit is NaN); +inf counts as the largest value.
 *   - The draw uses the sampler's own xoshiro256** stream seeded from params.seed, so a seed
 *     gives the same tokens on every platform and thread count. eq_sampler_reset forgets the
 *     accepted tokens and re-seeds the stream (as llama.cpp's dist sampler does).
 */
#include "edgeq.h"
#include "runtime/status.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* "EDGE" in hex-speak; any fixed value keeps runs reproducible by default. */
#define EQ_DEFAULT_SEED 0xED6E5EEDC0FFEE01ull
/* When top-k is off and top-p needs an ordering, sort only this many first: the nucleus is
 * almost always far smaller than the vocabulary (llama.cpp uses the same heuristic). */
#define EQ_TOP_P_PROBE 256

typedef struct { float l; int32_t id; } eq_cand;

struct eq_sampler {
    eq_sampler_params p;
    int n_vocab;
    uint64_t rng[4];     /* xoshiro256** state */
    eq_cand *cand;       /* n_vocab scratch candidates */
    /* penalty window: ring of the last repeat_last_n accepted tokens + per-token counts */
    int32_t *ring;
    int32_t *count;      /* n_vocab; only when the penalty is on */
    int ring_head, ring_len;
};

eq_sampler_params eq_sampler_default_params(void) {
    eq_sampler_params p;
    p.temp = 0.8f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.repeat_penalty = 1.0f;
    p.repeat_last_n = 64;
    p.seed = EQ_DEFAULT_SEED;
    return p;
}

/* ---- RNG ---------------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void rng_seed(eq_sampler *s) {
    uint64_t x = s->p.seed;
    /* splitmix64 never yields an all-zero xoshiro state for 4 consecutive outputs */
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(uint64_t *st) {
    uint64_t r = rotl(st[1] * 5, 7) * 9;
    uint64_t t = st[1] << 17;
    st[2] ^= st[0]; st[3] ^= st[1]; st[1] ^= st[2]; st[0] ^= st[3];
    st[2] ^= t;
    st[3] = rotl(st[3], 45);
    return r;
}

/* uniform in [0, 1) with 53 random bits */
static double rng_unit(uint64_t *st) { return (double)(rng_next(st) >> 11) * 0x1.0p-53; }

/* ---- lifetime ----------------------------------------------------------------------------- */

static int penalty_on(const eq_sampler_params *p) {
    return p->repeat_penalty != 1.0f && p->repeat_last_n > 0;
}

eq_status eq_sampler_new(const eq_sampler_params *params, int n_vocab, eq_sampler **out, char *errbuf,
                         size_t errlen) {
    if (!out) return eq_errf(errbuf, errlen, EQ_ERR_ARG, "eq_sampler_new: out is NULL");
    *out = NULL;
    eq_sampler_params p = params ? *params : eq_sampler_default_params();
    if (n_vocab <= 0) return eq_errf(errbuf, errlen, EQ_ERR_ARG, "bad n_vocab %d: must be > 0", n_vocab);
    if (isnan(p.temp) || isinf(p.temp))
        return eq_errf(errbuf, errlen, EQ_ERR_ARG, "bad temp %g: must be a finite number", (double)p.temp);
    if (isnan(p.top_p)) return eq_errf(errbuf, errlen, EQ_ERR_ARG, "bad top_p: NaN");
    if (isnan(p.min_p)) return eq_errf(errbuf, errlen, EQ_ERR_ARG, "bad min_p: NaN");
    if (!isfinite(p.repeat_penalty) || p.repeat_penalty <= 0.0f)
        return eq_errf(errbuf, errlen, EQ_ERR_ARG, "bad repeat_penalty %g: must be finite and > 0",
                       (double)p.repeat_penalty);
    if (p.repeat_last_n < 0)
        return eq_errf(errbuf, errlen, EQ_ERR_ARG, "bad repeat_last_n %d: must be >= 0", p.repeat_last_n);

    eq_sampler *s = calloc(1, sizeof *s);
    if (!s) return eq_errf(errbuf, errlen, EQ_ERR_NOMEM, "out of memory");
    s->p = p;
    s->n_vocab = n_vocab;
    s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
    if (!s->cand) goto fail;
    if (penalty_on(&p)) {
        s->ring = malloc((size_t)p.repeat_last_n * sizeof *s->ring);
        s->count = calloc((size_t)n_vocab, sizeof *s->count);
        if (!s->ring || !s->count) goto fail;
    }
    rng_seed(s);
    if (errbuf && errlen) errbuf[0] = 0;
    *out = s;
    return EQ_OK;
fail:
    eq_sampler_free(s);
    return eq_errf(errbuf, errlen, EQ_ERR_NOMEM, "out of memory (a sampler over %d tokens)", n_vocab);
}

void eq_sampler_free(eq_sampler *s) {
    if (!s) return;
    free(s->cand);
    free(s->ring);
    free(s->count);
    free(s);
}

void eq_sampler_reset(eq_sampler *s) {
    if (!s) return;
    if (s->count) memset(s->count, 0, (size_t)s->n_vocab * sizeof *s->count);
    s->ring_head = s->ring_len = 0;
    rng_seed(s);
}

void eq_sampler_accept(eq_sampler *s, eq_token t) {
    /* out-of-range tokens are ignored: they cannot appear in the logits anyway */
    if (!s || !s->ring || t < 0 || t >= s->n_vocab) return;
    int n = s->p.repeat_last_n;
    if (s->ring_len == n) {           /* window full: the oldest token leaves */
        s->count[s->ring[s->ring_head]]--;
        s->ring[s->ring_head] = t;
        s->ring_head = (s->ring_head + 1) % n;
    } else {
        s->ring[(s->ring_head + s->ring_len) % n] = t;
        s->ring_len++;
    }
    s->count[t]++;
}

/* ---- ordering helpers --------------------------------------------------------------------- */

/* Total order: higher logit first, lower id on ties, so every step is deterministic. */
static int better(const eq_cand *a, const eq_cand *b) {
    return a->l > b->l || (a->l == b->l && a->id < b->id);
}

static int cand_cmp(const void *pa, const void *pb) {
    const eq_cand *a = pa, *b = pb;
    return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

static void swap_c(eq_cand *a, eq_cand *b) { eq_cand t = *a; *a = *b; *b = t; }

/* Move the k best of c[0..n) to the front (in no particular order): quickselect, O(n)
 * expected. Keys are all distinct (ids are), so equal logits cannot degrade partitioning. */
static void select_top(eq_cand *c, int n, int k) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        /* median of three as pivot, parked at hi */
        if (better(&c[mid], &c[lo])) swap_c(&c[mid], &c[lo]);
        if (better(&c[hi], &c[lo])) swap_c(&c[hi], &c[lo]);
        if (better(&c[mid], &c[hi])) swap_c(&c[mid], &c[hi]);
        eq_cand pv = c[hi];
        int st = lo;
        for (int i = lo; i < hi; i++)
            if (better(&c[i], &pv)) swap_c(&c[i], &c[st++]);
        swap_c(&c[st], &c[hi]);
        if (st == k - 1 || st == k) return;  /* c[0..k) now holds the k best */
        if (st < k) lo = st + 1; else hi = st - 1;
    }
}

/* Sort the k best of c[0..n) into c[0..k). */
static void partial_sort(eq_cand *c, int n, int k) {
    if (k < n) select_top(c, n, k);
    qsort(c, (size_t)k, sizeof *c, cand_cmp);
}

/* ---- the chain ---------------------------------------------------------------------------- */

eq_token eq_sampler_sample(eq_sampler *s, const float *logits) {
    if (!s || !logits) return -1;
    const eq_sampler_params *p = &s->p;
    eq_cand *c = s->cand;
    int n = s->n_vocab;

    /* NaN would poison every comparison and sum: make it the least likely value. +inf becomes
     * FLT_MAX so that "logit - max" stays finite for the winner. */
    for (int i = 0; i < n; i++) {
        float l = logits[i];
        if (isnan(l)) l = -INFINITY;
        else if (l > FLT_MAX) l = FLT_MAX;
        c[i].l = l;
        c[i].id = i;
    }

    /* Repetition penalty, once per distinct token in the window. A count is negated while
     * its token is being penalised so that repeats in the ring are skipped, then restored. */
    if (s->ring && s->ring_len > 0) {
        int w = p->repeat_last_n;
        for (int j = 0; j < s->ring_len; j++) {
            int32_t t = s->ring[(s->ring_head + j) % w];
            if (s->count[t] <= 0) continue;
            if (c[t].l <= 0) c[t].l *= p->repeat_penalty;
            else c[t].l /= p->repeat_penalty;
            s->count[t] = -s->count[t];
        }
        for (int j = 0; j < s->ring_len; j++) {
            int32_t t = s->ring[(s->ring_head + j) % w];
            if (s->count[t] < 0) s->count[t] = -s->count[t];
        }
    }

    /* Greedy: argmax after the penalty, lowest id on ties. */
    if (p->temp <= 0.0f) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (c[i].l > c[best].l) best = i;
        return best;
    }

    int sorted = 0;  /* c[0..n) is in best-first order */

    /* top-k */
    if (p->top_k > 0 && p->top_k < n) {
        partial_sort(c, n, p->top_k);
        n = p->top_k;
        sorted = 1;
    }

    /* Max and normaliser of the temperature-1 softmax over what is left: top-p is measured on
     * it (temperature comes later in the chain) and min-p is relative to its max. */
    float maxl = c[0].l;
    if (sorted) {
        maxl = c[0].l;
    } else {
        for (int i = 1; i < n; i++) if (c[i].l > maxl) maxl = c[i].l;
    }
    if (maxl == -INFINITY) {
        /* nothing has any probability (all -inf or NaN): fall back to the greedy choice */
        int best = 0;
        for (int i = 1; i < n; i++) if (better(&c[i], &c[best])) best = i;
        return c[best].id;
    }

    int use_top_p = p->top_p < 1.0f;
    int use_min_p = p->min_p > 0.0f;

    /* min-p keeps a best-first prefix (logit >= max + log(min_p)); so does top-p. Filtering by
     * min-p first is therefore the same as llama.cpp's top-p-then-min-p, and shrinks what has to
     * be sorted. The top-p sum still runs over the full post-top-k set (z below). */
    double z = 0.0;
    if (use_top_p)
        for (int i = 0; i < n; i++) z += exp((double)c[i].l - maxl);

    int m = n;  /* size of the min-p set; it is c[0..m) afterwards */
    if (use_min_p) {
        float min_l = maxl + logf(p->min_p);
        if (sorted) {
            m = 1;  /* the best token always stays */
            while (m < n && c[m].l >= min_l) m++;
        } else {
            m = 0;
            for (int i = 0; i < n; i++)
                if (c[i].l >= min_l) swap_c(&c[i], &c[m++]);
            if (m == 0) {  /* min_p > 1: keep the single best */
                int best = 0;
                for (int i = 1; i < n; i++) if (better(&c[i], &c[best])) best = i;
                swap_c(&c[0], &c[best]);
                m = 1;
            }
        }
    }

    int keep = m;
    if (use_top_p) {
        /* walk the best-first order until the cumulative probability reaches top_p */
        int have = sorted ? m : 0;  /* c[0..have) is sorted */
        double cum = 0.0;
        keep = m;
        for (int i = 0; i < m; i++) {
            if (i == have) {
                /* sort more: a probe first, everything if the probe was not enough */
                int want = have == 0 && m > EQ_TOP_P_PROBE ? EQ_TOP_P_PROBE : m;
                partial_sort(c + have, m - have, want - have);
                have = want;
            }
            cum += exp((double)c[i].l - maxl) / z;
            if (cum >= p->top_p) { keep = i + 1; break; }
        }
    }
    n = keep;

    /* temperature + draw: p_i ~ exp((l_i - max) / temp), computed relative to the max so that
     * a small temperature cannot overflow. */
    double total = 0.0;
    for (int i = 0; i < n; i++) total += exp(((double)c[i].l - maxl) / p->temp);
    double r = rng_unit(s->rng) * total;
    double acc = 0.0;
    int last = 0;
    for (int i = 0; i < n; i++) {
        double w = exp(((double)c[i].l - maxl) / p->temp);
        if (w <= 0.0) continue;
        acc += w;
        last = i;
        if (r < acc) return c[i].id;
    }
    return c[last].id;  /* rounding left r at the very top */
}
