/* The type table and its kernels: every SIMD kernel against its scalar reference, the
 * references against plain float arithmetic, and the table's bookkeeping.
 *
 * Tolerances (stated once, used everywhere):
 *   - to_float, from_float: bit/byte-exact, SIMD against ref.
 *   - vec_dot SIMD vs ref: |a - b| <= 1e-6 * M, where M = sum_i (|scale part_i| + |min part_i|) * |y_i|
 *     over the dequantized rows (the magnitude the float sums are rounded against); both
 *     sides do the same integer work and differ only in float summation order.
 *   - vec_dot ref vs double dot of the dequantized rows: 1e-6 * M, except Q4_1/Q5_1 at 1e-3 * M
 *     because their minimum term uses the activation's sum stored as fp16 (relative error
 *     up to 2^-11), which is the format's definition, not a kernel error.
 *   (Observed at n = 2048: about 1e-8 * M for both. 1e-6 still catches a single code off by
 *   one, which test_mutants_caught checks.)
 * Random blocks have valid (finite) fp16 scales and every bit pattern in the weight codes;
 * activation codes are kept in [-127, 127] with consistent sums, which is what the
 * activation quantizers produce and what the SIMD dots may assume. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "eqtest.h"
#include "quant/quant.h"
#include "quant/blocks.h"
#include "quant/fp16.h"

#define N_VALUES 2048 /* per row: 8 super-blocks, 64 legacy blocks */
#define DOT_TOL 1e-6  /* relative to M, see above */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}
static float rnd_unit(void) { return (float)(rnd() >> 8) / 16777216.0f; }        /* [0, 1) */
static float rnd_sym(void) { return 2.0f * rnd_unit() - 1.0f; }                   /* [-1, 1) */
static float rnd_gauss(void) {
    float s = 0;
    for (int i = 0; i < 4; i++) s += rnd_sym();
    return s;
}
static eq_f16 rnd_f16_any(void) {
    for (;;) {
        const eq_f16 h = (eq_f16)rnd();
        if ((h & 0x7C00) != 0x7C00) return h; /* skip Inf/NaN */
    }
}

static const int k_all_types[] = {
    EQ_TYPE_F32, EQ_TYPE_F16, EQ_TYPE_BF16, EQ_TYPE_Q4_0, EQ_TYPE_Q4_1, EQ_TYPE_Q5_0, EQ_TYPE_Q5_1,
    EQ_TYPE_Q8_0, EQ_TYPE_Q8_1, EQ_TYPE_Q2_K, EQ_TYPE_Q3_K, EQ_TYPE_Q4_K, EQ_TYPE_Q5_K, EQ_TYPE_Q6_K, EQ_TYPE_Q8_K,
};
#define N_TYPES ((int)(sizeof k_all_types / sizeof k_all_types[0]))

/* Fill a row of `type` with random content. mode FILL_ANY: every finite value, scales over
 * three decades (for conversions); FILL_WEIGHT: scales within a factor 4 and moderate floats,
 * so that every block weighs in a dot product; FILL_ACT: as FILL_WEIGHT, plus codes in
 * [-127, 127] with consistent sums, as an activation. */
enum { FILL_ANY, FILL_WEIGHT, FILL_ACT };
static int g_fill_mode;
static eq_f16 rnd_f16_scale(int positive) {
    const int spread = g_fill_mode == FILL_ANY ? 10 : 2;
    const float v = ldexpf(0.5f + 0.5f * rnd_unit(), -(int)(rnd() % spread));
    return eq_fp32_to_fp16(positive || (rnd() & 1) ? v : -v);
}
static void fill_row(int type, void *row, int64_t n, int mode) {
    const int act = mode == FILL_ACT;
    g_fill_mode = mode;
    const size_t bytes = eq_row_size(type, n);
    uint8_t *p = row;
    for (size_t i = 0; i < bytes; i++) p[i] = (uint8_t)rnd();
    const int64_t nb = n / eq_type_traits_get(type)->blck_size;
    switch (type) {
    case EQ_TYPE_F32: for (int64_t i = 0; i < n; i++) ((float *)row)[i] = rnd_gauss(); break;
    case EQ_TYPE_F16: for (int64_t i = 0; i < n; i++) ((eq_f16 *)row)[i] = mode != FILL_ANY ? eq_fp32_to_fp16(rnd_gauss()) : rnd_f16_any(); break;
    case EQ_TYPE_BF16:
        for (int64_t i = 0; i < n; i++) ((eq_bf16 *)row)[i] = mode != FILL_ANY ? eq_fp32_to_bf16(rnd_gauss()) : eq_fp32_to_bf16(rnd_gauss() * ldexpf(1, (int)(rnd() % 40) - 20));
        break;
    case EQ_TYPE_Q4_0: for (int64_t i = 0; i < nb; i++) ((block_q4_0 *)row)[i].d = rnd_f16_scale(0); break;
    case EQ_TYPE_Q5_0: for (int64_t i = 0; i < nb; i++) ((block_q5_0 *)row)[i].d = rnd_f16_scale(0); break;
    case EQ_TYPE_Q4_1: for (int64_t i = 0; i < nb; i++) { ((block_q4_1 *)row)[i].d = rnd_f16_scale(1); ((block_q4_1 *)row)[i].m = rnd_f16_scale(0); } break;
    case EQ_TYPE_Q5_1: for (int64_t i = 0; i < nb; i++) { ((block_q5_1 *)row)[i].d = rnd_f16_scale(1); ((block_q5_1 *)row)[i].m = rnd_f16_scale(0); } break;
    case EQ_TYPE_Q8_0:
        for (int64_t i = 0; i < nb; i++) {
            block_q8_0 *b = &((block_q8_0 *)row)[i];
            b->d = rnd_f16_scale(0);
            if (act) for (int j = 0; j < EQ_QK; j++) if (b->qs[j] == -128) b->qs[j] = -127;
        }
        break;
    case EQ_TYPE_Q8_1:
        for (int64_t i = 0; i < nb; i++) {
            block_q8_1 *b = &((block_q8_1 *)row)[i];
            b->d = rnd_f16_scale(1);
            int sum = 0;
            for (int j = 0; j < EQ_QK; j++) { if (act && b->qs[j] == -128) b->qs[j] = -127; sum += b->qs[j]; }
            b->s = eq_fp32_to_fp16((float)sum * eq_fp16_to_fp32(b->d));
        }
        break;
    case EQ_TYPE_Q2_K: for (int64_t i = 0; i < nb; i++) { ((block_q2_K *)row)[i].d = rnd_f16_scale(1); ((block_q2_K *)row)[i].dmin = rnd_f16_scale(1); } break;
    case EQ_TYPE_Q3_K: for (int64_t i = 0; i < nb; i++) ((block_q3_K *)row)[i].d = rnd_f16_scale(0); break;
    case EQ_TYPE_Q4_K: for (int64_t i = 0; i < nb; i++) { ((block_q4_K *)row)[i].d = rnd_f16_scale(1); ((block_q4_K *)row)[i].dmin = rnd_f16_scale(1); } break;
    case EQ_TYPE_Q5_K: for (int64_t i = 0; i < nb; i++) { ((block_q5_K *)row)[i].d = rnd_f16_scale(1); ((block_q5_K *)row)[i].dmin = rnd_f16_scale(1); } break;
    case EQ_TYPE_Q6_K: for (int64_t i = 0; i < nb; i++) ((block_q6_K *)row)[i].d = rnd_f16_scale(0); break;
    case EQ_TYPE_Q8_K:
        for (int64_t i = 0; i < nb; i++) {
            block_q8_K *b = &((block_q8_K *)row)[i];
            b->d = ldexpf(0.5f + 0.5f * rnd_unit(), -(int)(rnd() % (mode == FILL_ANY ? 10 : 2)));
            if (act) for (int j = 0; j < EQ_QK_K; j++) if (b->qs[j] == -128) b->qs[j] = -127;
            for (int g = 0; g < EQ_QK_K / 16; g++) {
                int sum = 0;
                for (int j = 0; j < 16; j++) sum += b->qs[16 * g + j];
                b->bsums[g] = (int16_t)sum;
            }
        }
        break;
    }
}

/* Offsets of the scale (d) and minimum fields of the affine formats, -1 elsewhere. */
static void affine_fields(int type, int *d_off, int *m_off) {
    *d_off = *m_off = -1;
    switch (type) {
    case EQ_TYPE_Q4_1: *d_off = offsetof(block_q4_1, d); *m_off = offsetof(block_q4_1, m); break;
    case EQ_TYPE_Q5_1: *d_off = offsetof(block_q5_1, d); *m_off = offsetof(block_q5_1, m); break;
    case EQ_TYPE_Q2_K: *d_off = offsetof(block_q2_K, d); *m_off = offsetof(block_q2_K, dmin); break;
    case EQ_TYPE_Q4_K: *d_off = offsetof(block_q4_K, d); *m_off = offsetof(block_q4_K, dmin); break;
    case EQ_TYPE_Q5_K: *d_off = offsetof(block_q5_K, d); *m_off = offsetof(block_q5_K, dmin); break;
    }
}

static int bits_equal(const float *a, const float *b, int64_t n, int64_t *where) {
    for (int64_t i = 0; i < n; i++)
        if (eq_f32_bits(a[i]) != eq_f32_bits(b[i])) { *where = i; return 0; }
    return 1;
}

/* ---------------- comparisons, shared by the real checks and the mutation checks ---------------- */

typedef struct { double ref, got, mag, exact; } dot_result;

/* Dot of row x (type) and row y (its vec_dot_type) through `fn`, with the ref's value, the
 * magnitude M and the double-precision dot of the dequantized rows. */
static dot_result run_dot(int type, eq_vec_dot_fn fn, const void *x, const void *y, int n) {
    const eq_type_traits *tr = eq_type_traits_ref(type), *ty = eq_type_traits_ref(tr->vec_dot_type);
    float *fx = malloc(sizeof(float) * n), *fy = malloc(sizeof(float) * n), *fa = malloc(sizeof(float) * n);
    tr->to_float(x, fx, n);
    ty->to_float(y, fy, n);
    dot_result r = {0};
    float got = 0, ref = 0;
    fn(n, &got, x, y);
    tr->vec_dot(n, &ref, x, y);
    r.got = got; r.ref = ref;
    for (int i = 0; i < n; i++) r.exact += (double)fx[i] * fy[i];
    int d_off, m_off;
    affine_fields(type, &d_off, &m_off);
    if (m_off < 0) {
        for (int i = 0; i < n; i++) r.mag += fabs((double)fx[i] * fy[i]);
    } else {
        /* Split value = scale part + min part by zeroing one field at a time. */
        const size_t bytes = eq_row_size(type, n), bsz = tr->type_size;
        uint8_t *tmp = malloc(bytes);
        for (int part = 0; part < 2; part++) {
            memcpy(tmp, x, bytes);
            for (size_t b = 0; b < bytes / bsz; b++) memset(tmp + b * bsz + (part ? d_off : m_off), 0, 2);
            tr->to_float(tmp, fa, n);
            for (int i = 0; i < n; i++) r.mag += fabs((double)fa[i] * fy[i]);
        }
        free(tmp);
    }
    free(fx); free(fy); free(fa);
    return r;
}

static int dot_close(double a, double b, double mag, double rel) { return fabs(a - b) <= rel * mag + 1e-30; }

/* ---------------- the checks ---------------- */

static void test_table(void) {
    static const struct { int id; const char *name; int blck; size_t size; int vdt; } want[] = {
        { EQ_TYPE_F32, "F32", 1, 4, EQ_TYPE_F32 },        { EQ_TYPE_F16, "F16", 1, 2, EQ_TYPE_F16 },
        { EQ_TYPE_BF16, "BF16", 1, 2, EQ_TYPE_BF16 },     { EQ_TYPE_Q4_0, "Q4_0", 32, 18, EQ_TYPE_Q8_0 },
        { EQ_TYPE_Q4_1, "Q4_1", 32, 20, EQ_TYPE_Q8_1 },   { EQ_TYPE_Q5_0, "Q5_0", 32, 22, EQ_TYPE_Q8_0 },
        { EQ_TYPE_Q5_1, "Q5_1", 32, 24, EQ_TYPE_Q8_1 },   { EQ_TYPE_Q8_0, "Q8_0", 32, 34, EQ_TYPE_Q8_0 },
        { EQ_TYPE_Q8_1, "Q8_1", 32, 36, EQ_TYPE_Q8_1 },   { EQ_TYPE_Q2_K, "Q2_K", 256, 84, EQ_TYPE_Q8_K },
        { EQ_TYPE_Q3_K, "Q3_K", 256, 110, EQ_TYPE_Q8_K }, { EQ_TYPE_Q4_K, "Q4_K", 256, 144, EQ_TYPE_Q8_K },
        { EQ_TYPE_Q5_K, "Q5_K", 256, 176, EQ_TYPE_Q8_K }, { EQ_TYPE_Q6_K, "Q6_K", 256, 210, EQ_TYPE_Q8_K },
        { EQ_TYPE_Q8_K, "Q8_K", 256, 292, EQ_TYPE_Q8_K },
    };
    int known = 0;
    for (int t = -3; t < EQ_TYPE_COUNT + 3; t++) known += eq_type_traits_get(t) != NULL;
    CHECKF(known == (int)(sizeof want / sizeof want[0]), "%d known types", known);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const eq_type_traits *g = eq_type_traits_get(want[i].id), *r = eq_type_traits_ref(want[i].id);
        CHECKF(g && r, "%s present", want[i].name);
        if (!g || !r) continue;
        CHECKF(strcmp(g->name, want[i].name) == 0 && g->blck_size == want[i].blck && g->type_size == want[i].size &&
               g->vec_dot_type == want[i].vdt, "%s traits", want[i].name);
        CHECK(r->blck_size == g->blck_size && r->type_size == g->type_size && r->vec_dot_type == g->vec_dot_type);
        CHECKF(g->to_float && g->from_float && r->to_float && r->from_float, "%s converters", want[i].name);
        const int act_only = want[i].id == EQ_TYPE_Q8_1 || want[i].id == EQ_TYPE_Q8_K;
        CHECKF(act_only ? (!g->vec_dot && !r->vec_dot) : (g->vec_dot && r->vec_dot), "%s vec_dot", want[i].name);
        CHECK(strcmp(eq_type_name(want[i].id), want[i].name) == 0);
        CHECK(eq_type_from_name(want[i].name) == want[i].id);
        char lower[8];
        size_t l = 0;
        for (; want[i].name[l]; l++) lower[l] = (char)(want[i].name[l] >= 'A' && want[i].name[l] <= 'Z' ? want[i].name[l] + 32 : want[i].name[l]);
        lower[l] = 0;
        CHECKF(eq_type_from_name(lower) == want[i].id, "from_name(%s)", lower);
        CHECK(eq_row_size(want[i].id, 4096) == (size_t)(4096 / want[i].blck) * want[i].size);
    }
    static const int unknown[] = { -1, 4, 5, 16, 29, 31, 39, 40, 1000 };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK(eq_type_traits_get(unknown[i]) == NULL);
        CHECK(eq_type_traits_ref(unknown[i]) == NULL);
        CHECK(strcmp(eq_type_name(unknown[i]), "?") == 0);
        CHECK(eq_row_size(unknown[i], 256) == 0);
    }
    CHECK(eq_type_from_name("Q4_2") == -1);
    CHECK(eq_type_from_name("Q4") == -1);
    CHECK(eq_type_from_name("Q4_KX") == -1);
    CHECK(eq_type_from_name("") == -1);
    CHECK(eq_type_from_name(NULL) == -1);
    CHECK(eq_row_size(EQ_TYPE_Q4_K, 255) == 0);          /* not whole blocks */
    CHECK(eq_row_size(EQ_TYPE_Q4_0, 33) == 0);
    CHECK(eq_row_size(EQ_TYPE_F32, -4) == 0);
    CHECK(eq_row_size(EQ_TYPE_F16, 7) == 14);
    CHECK(eq_row_size(EQ_TYPE_Q8_K, 0) == 0);
    CHECK(eq_row_size(EQ_TYPE_F32, INT64_MAX) == 0);     /* 4 * (2^63 - 1) does not fit size_t */
    CHECK(eq_row_size(EQ_TYPE_F16, INT64_MAX / 2) == (sizeof(size_t) >= 8 ? (size_t)(INT64_MAX / 2) * 2 : 0));
    const char *isa = eq_quant_isa();
    CHECKF(!strcmp(isa, "avx2") || !strcmp(isa, "avx512") || !strcmp(isa, "neon") || !strcmp(isa, "wasm-simd128") ||
           !strcmp(isa, "scalar"), "isa %s", isa);
    printf("quant kernels: %s\n", isa);
}

static void test_to_float(void) {
    for (int ti = 0; ti < N_TYPES; ti++) {
        const int type = k_all_types[ti];
        const eq_type_traits *g = eq_type_traits_get(type), *r = eq_type_traits_ref(type);
        /* Block-size-1 types also get a ragged length to reach the SIMD tails. */
        const int64_t n = g->blck_size == 1 ? N_VALUES + 13 : N_VALUES;
        void *row = malloc(eq_row_size(type, n));
        float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
        int ok = 1;
        for (int rep = 0; rep < 4 && ok; rep++) {
            fill_row(type, row, n, FILL_ANY);
            memset(a, 0xAB, sizeof(float) * n);
            memset(b, 0xCD, sizeof(float) * n);
            r->to_float(row, a, n);
            g->to_float(row, b, n);
            int64_t at = -1;
            ok = bits_equal(a, b, n, &at);
            CHECKF(ok, "to_float %s: SIMD differs from ref at %lld (%g vs %g)", g->name, (long long)at,
                   at >= 0 ? b[at] : 0.0, at >= 0 ? a[at] : 0.0);
        }
        free(row); free(a); free(b);
    }
}

/* Inputs the quantizers must agree on: smooth, heavy-tailed, a zero block, exact ties. */
static void fill_floats(float *x, int64_t n, int kind) {
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = rnd_gauss(); break;
        case 1: x[i] = rnd_gauss() * (rnd() % 64 == 0 ? 50.0f : 1.0f) * ldexpf(1, (int)(rnd() % 8) - 4); break;
        case 2: x[i] = (i / 256) % 2 ? 0.0f : rnd_gauss(); break;         /* whole zero (super-)blocks */
        case 3: x[i] = (float)((int)(rnd() % 254) - 127) + 0.5f; break;   /* halves: rounding ties */
        default: x[i] = (rnd() & 1) ? 1.0f : -1.0f; break;                /* equal magnitudes */
        }
    }
    if (kind == 3) /* an exact +-127 in every 32 makes d = 1 for Q8_0/Q8_1 and Q8_K's scale -1 or 1 */
        for (int64_t i = 0; i < n; i += 32) x[i + (i / 32) % 32] = (i / 32) % 2 ? 127.0f : -127.0f;
}

static void test_from_float(void) {
    for (int ti = 0; ti < N_TYPES; ti++) {
        const int type = k_all_types[ti];
        const eq_type_traits *g = eq_type_traits_get(type), *r = eq_type_traits_ref(type);
        const int64_t n = g->blck_size == 1 ? N_VALUES + 13 : N_VALUES;
        const size_t bytes = eq_row_size(type, n);
        float *x = malloc(sizeof(float) * n);
        uint8_t *a = malloc(bytes), *b = malloc(bytes);
        for (int kind = 0; kind < 5; kind++) {
            fill_floats(x, n, kind);
            memset(a, 0x5A, bytes);
            memset(b, 0xA5, bytes);
            r->from_float(x, a, n);
            g->from_float(x, b, n);
            size_t at = 0;
            while (at < bytes && a[at] == b[at]) at++;
            CHECKF(at == bytes, "from_float %s (inputs %d): SIMD differs from ref at byte %zu", g->name, kind, at);
        }
        free(x); free(a); free(b);
    }
}

/* Quantize-dequantize error: catches a ref quantizer that is consistent with the SIMD one
 * but wrong (the byte-exact comparison with ggml lives in tests/conformance/ggml_types). */
static void test_roundtrip_error(void) {
    static const struct { int type; double max_rel_rmse; } lim[] = {
        { EQ_TYPE_F16, 1e-3 }, { EQ_TYPE_BF16, 5e-3 }, { EQ_TYPE_Q8_0, 0.01 }, { EQ_TYPE_Q8_1, 0.01 }, { EQ_TYPE_Q8_K, 0.01 },
        { EQ_TYPE_Q6_K, 0.04 }, { EQ_TYPE_Q5_0, 0.08 }, { EQ_TYPE_Q5_1, 0.08 }, { EQ_TYPE_Q5_K, 0.06 },
        { EQ_TYPE_Q4_0, 0.15 }, { EQ_TYPE_Q4_1, 0.15 }, { EQ_TYPE_Q4_K, 0.12 }, { EQ_TYPE_Q3_K, 0.25 }, { EQ_TYPE_Q2_K, 0.45 },
    };
    float *x = malloc(sizeof(float) * N_VALUES), *z = malloc(sizeof(float) * N_VALUES);
    void *q = malloc(eq_row_size(EQ_TYPE_F32, N_VALUES));
    fill_floats(x, N_VALUES, 0);
    double ss = 0;
    for (int i = 0; i < N_VALUES; i++) ss += (double)x[i] * x[i];
    for (size_t k = 0; k < sizeof lim / sizeof lim[0]; k++) {
        const eq_type_traits *r = eq_type_traits_ref(lim[k].type);
        r->from_float(x, q, N_VALUES);
        r->to_float(q, z, N_VALUES);
        double se = 0;
        for (int i = 0; i < N_VALUES; i++) se += ((double)z[i] - x[i]) * ((double)z[i] - x[i]);
        const double rel = sqrt(se / ss);
        CHECKF(rel <= lim[k].max_rel_rmse, "%s round trip: relative rmse %.4f > %.4f", r->name, rel, lim[k].max_rel_rmse);
    }
    free(x); free(z); free(q);
}

static void test_vec_dot(void) {
    for (int ti = 0; ti < N_TYPES; ti++) {
        const int type = k_all_types[ti];
        const eq_type_traits *g = eq_type_traits_get(type);
        if (!g->vec_dot) continue;
        const int n = g->blck_size == 1 ? N_VALUES + 13 : N_VALUES;
        void *x = malloc(eq_row_size(type, n)), *y = malloc(eq_row_size(g->vec_dot_type, n));
        const double rel_exact = (type == EQ_TYPE_Q4_1 || type == EQ_TYPE_Q5_1) ? 1e-3 : DOT_TOL;
        int bad_simd = 0, bad_exact = 0;
        double worst_simd = 0, worst_exact = 0;
        for (int rep = 0; rep < 8; rep++) {
            fill_row(type, x, n, FILL_WEIGHT);
            fill_row(g->vec_dot_type, y, n, FILL_ACT);
            const dot_result r = run_dot(type, g->vec_dot, x, y, n);
            if (!dot_close(r.got, r.ref, r.mag, DOT_TOL)) bad_simd++;
            if (!dot_close(r.ref, r.exact, r.mag, rel_exact)) bad_exact++;
            if (fabs(r.got - r.ref) / r.mag > worst_simd) worst_simd = fabs(r.got - r.ref) / r.mag;
            if (fabs(r.ref - r.exact) / r.mag > worst_exact) worst_exact = fabs(r.ref - r.exact) / r.mag;
        }
        if (getenv("EQ_TEST_VERBOSE")) printf("%-5s worst |simd-ref|/M %.3g, |ref-exact|/M %.3g\n", g->name, worst_simd, worst_exact);
        CHECKF(!bad_simd, "vec_dot %s: SIMD vs ref off in %d of 8 (worst %.3g of M)", g->name, bad_simd, worst_simd);
        CHECKF(!bad_exact, "vec_dot %s: ref vs dequantized dot off in %d of 8 (worst %.3g of M)", g->name, bad_exact, worst_exact);
        /* Real rows: quantized activations from the table's own quantizer. */
        {
            float *fy = malloc(sizeof(float) * n);
            fill_floats(fy, n, 1);
            eq_type_traits_get(g->vec_dot_type)->from_float(fy, y, n);
            const dot_result r = run_dot(type, g->vec_dot, x, y, n);
            CHECKF(dot_close(r.got, r.ref, r.mag, DOT_TOL), "vec_dot %s on quantized activations: %g vs %g", g->name, r.got, r.ref);
            free(fy);
        }
        free(x); free(y);
    }
}

/* ---------------- mutation checks: the comparisons above must reject broken kernels ---------------- */

static int g_mut_type;
/* A dot that forgets the last block. */
static void broken_dot_short(int n, float *s, const void *x, const void *y) {
    const eq_type_traits *t = eq_type_traits_ref(g_mut_type);
    t->vec_dot(n - t->blck_size, s, x, y);
}
/* A dot with one weight code off by one (lowest bit of the first code byte flipped). */
static void broken_dot_one_code(int n, float *s, const void *x, const void *y) {
    const eq_type_traits *t = eq_type_traits_ref(g_mut_type);
    const size_t bytes = eq_row_size(g_mut_type, n);
    uint8_t *c = malloc(bytes);
    memcpy(c, x, bytes);
    size_t code = 0; /* first byte of quantized codes in block 0 */
    switch (g_mut_type) {
    case EQ_TYPE_Q4_0: code = offsetof(block_q4_0, qs); break;
    case EQ_TYPE_Q4_1: code = offsetof(block_q4_1, qs); break;
    case EQ_TYPE_Q5_0: code = offsetof(block_q5_0, qs); break;
    case EQ_TYPE_Q5_1: code = offsetof(block_q5_1, qs); break;
    case EQ_TYPE_Q8_0: code = offsetof(block_q8_0, qs); break;
    case EQ_TYPE_Q2_K: code = offsetof(block_q2_K, qs); break;
    case EQ_TYPE_Q3_K: code = offsetof(block_q3_K, qs); break;
    case EQ_TYPE_Q4_K: code = offsetof(block_q4_K, qs); break;
    case EQ_TYPE_Q5_K: code = offsetof(block_q5_K, qs); break;
    case EQ_TYPE_Q6_K: code = offsetof(block_q6_K, ql); break;
    case EQ_TYPE_F16: code = 1; break;  /* mantissa bit 8 of the first value */
    case EQ_TYPE_BF16: code = 0; break; /* last mantissa bit of the first value */
    case EQ_TYPE_F32: code = 3; break;  /* exponent bit 1: a float dot has no codes */
    }
    c[code] ^= 1;
    t->vec_dot(n, s, c, y);
    free(c);
}

static void test_mutants_caught(void) {
    for (int ti = 0; ti < N_TYPES; ti++) {
        const int type = k_all_types[ti];
        const eq_type_traits *r = eq_type_traits_ref(type);
        if (!r->vec_dot) continue;
        g_mut_type = type;
        const int n = N_VALUES;
        void *x = malloc(eq_row_size(type, n)), *y = malloc(eq_row_size(r->vec_dot_type, n));
        fill_row(type, x, n, FILL_WEIGHT);
        fill_row(r->vec_dot_type, y, n, FILL_ACT);
        dot_result a = run_dot(type, broken_dot_short, x, y, n);
        CHECKF(!dot_close(a.got, a.ref, a.mag, DOT_TOL), "%s: a dot missing one block went unnoticed", r->name);
        int caught = 0;
        for (int rep = 0; rep < 8; rep++) {
            fill_row(type, x, n, FILL_WEIGHT);
            fill_row(r->vec_dot_type, y, n, FILL_ACT);
            a = run_dot(type, broken_dot_one_code, x, y, n);
            caught += !dot_close(a.got, a.ref, a.mag, DOT_TOL);
        }
        /* A draw may put a small activation under the flipped code. */
        CHECKF(caught >= 6, "%s: a one-code error was caught only %d of 8 times", r->name, caught);
        free(x); free(y);
    }
    /* Exact comparisons: a single changed bit must show. */
    float a[64], b[64];
    for (int i = 0; i < 64; i++) a[i] = b[i] = rnd_gauss();
    b[63] = nextafterf(b[63], 2.0f);
    int64_t at;
    CHECK(!bits_equal(a, b, 64, &at) && at == 63);
}

int main(void) {
    test_table();
    test_to_float();
    test_from_float();
    test_roundtrip_error();
    test_vec_dot();
    test_mutants_caught();
    return eqt_done();
}
