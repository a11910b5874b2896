/* eq_quantize_rows against ggml_quantize_chunk (a prebuilt libggml-base), byte for byte:
 * every weight type, with and without an importance matrix, over data shaped to reach the
 * corners of the searches (gaussian, heavy outliers, all-positive, all-negative, constant,
 * zero and tiny sub-blocks, mixed magnitudes). Prints "N passed, N failed". */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ggml.h"
#include "quant/quant.h"
#include "quant/quantize.h"

_Static_assert((int)GGML_TYPE_Q4_K == EQ_TYPE_Q4_K && (int)GGML_TYPE_BF16 == EQ_TYPE_BF16 && (int)GGML_TYPE_Q8_0 == EQ_TYPE_Q8_0, "type ids");

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 32);
}
static float unit(void) { return (float)(rnd() >> 8) / 16777216.0f; }
static float gauss(void) { float s = 0; for (int i = 0; i < 6; i++) s += 2 * unit() - 1; return s * 0.7f; }

enum { D_GAUSS, D_OUTLIER, D_POS, D_NEG, D_CONST, D_SPARSE, D_TINY, D_MIXED, D_COUNT };
static const char *dist_name[D_COUNT] = {"gauss", "outlier", "positive", "negative", "const", "sparse", "tiny", "mixed"};

static void fill(float *x, int64_t n, int dist) {
    for (int64_t i = 0; i < n; i++) {
        float v = gauss() * 0.05f;
        switch (dist) {
        case D_OUTLIER: if (rnd() % 61 == 0) v *= 40; break;
        case D_POS: v = fabsf(v) + 0.01f; break;
        case D_NEG: v = -fabsf(v) - 0.001f; break;
        case D_CONST: v = 0.125f; break;
        case D_SPARSE: if ((i / 16) % 3) v = 0; break;           /* whole zero sub-blocks */
        case D_TINY: v *= 1e-7f; if ((i / 32) % 4 == 1) v *= 1e-12f; break;
        case D_MIXED: v *= powf(10.0f, (float)((i / 32) % 5) - 2); break;
        default: break;
        }
        x[i] = v;
    }
}

static void fill_imatrix(float *w, int64_t n, int kind) {
    for (int64_t i = 0; i < n; i++) {
        float v = expf(gauss() * 1.5f);
        if (kind == 1 && rnd() % 17 == 0) v *= 300;  /* outlier channels */
        if (kind == 2 && i % 7 == 0) v = 0;          /* dead channels */
        w[i] = v;
    }
}

int main(void) {
    static const int types[] = {EQ_TYPE_F32, EQ_TYPE_F16, EQ_TYPE_BF16, EQ_TYPE_Q4_0, EQ_TYPE_Q4_1, EQ_TYPE_Q5_0,
                                EQ_TYPE_Q5_1, EQ_TYPE_Q8_0, EQ_TYPE_Q2_K, EQ_TYPE_Q3_K, EQ_TYPE_Q4_K, EQ_TYPE_Q5_K,
                                EQ_TYPE_Q6_K};
    const int64_t nrows = 6;
    int pass = 0, fail = 0;
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++) {
        const int type = types[ti];
        const int blk = eq_type_traits_get(type)->blck_size;
        /* 256-wide K rows; the 32-block types also get a row length that is not a multiple of 256 */
        const int64_t widths[2] = {1024, blk == 256 ? 512 : 288};
        for (int wi = 0; wi < 2; wi++) {
            const int64_t n_per_row = widths[wi];
            const size_t rs = eq_row_size(type, n_per_row);
            float *x = malloc(sizeof(float) * (size_t)(nrows * n_per_row));
            float *im = malloc(sizeof(float) * (size_t)n_per_row);
            uint8_t *a = malloc(rs * (size_t)nrows), *b = malloc(rs * (size_t)nrows);
            for (int dist = 0; dist < D_COUNT; dist++) {
                for (int imk = -1; imk < 3; imk++) {
                    fill(x, nrows * n_per_row, dist);
                    if (imk >= 0) fill_imatrix(im, n_per_row, imk);
                    const float *imp = imk >= 0 ? im : NULL;
                    memset(a, 0xAA, rs * (size_t)nrows);
                    memset(b, 0x55, rs * (size_t)nrows);
                    size_t ga = ggml_quantize_chunk((enum ggml_type)type, x, a, 0, nrows, n_per_row, imp);
                    size_t gb = eq_quantize_rows(type, x, b, nrows, n_per_row, imp);
                    int ok = ga == gb && ga == rs * (size_t)nrows && !memcmp(a, b, ga);
                    if (ok) pass++;
                    else {
                        fail++;
                        size_t at = 0;
                        while (at < ga && at < gb && a[at] == b[at]) at++;
                        printf("FAIL %-5s n_per_row=%lld %-8s imatrix=%s: first difference at byte %zu of %zu\n",
                               eq_type_name(type), (long long)n_per_row, dist_name[dist], imp ? "yes" : "no", at, ga);
                    }
                }
            }
            printf("%s %-5s n_per_row=%-5lld (8 distributions x {no imatrix, 3 imatrices})\n", fail ? "...." : "ok  ",
                   eq_type_name(type), (long long)n_per_row);
            free(x); free(im); free(a); free(b);
        }
    }
    printf("%d passed, %d failed\n", pass, fail);
    return fail != 0;
}
