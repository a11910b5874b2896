/* The WebGPU kernels' oracle: writes random test cases and the answers of edgeq's scalar
 * reference into DIR/cases.json (shapes, parameters, where each array lies) + DIR/data.bin
 * (the arrays, little endian). Weights are quantized with the library's own quantizer
 * (eq_quantize_rows), dequantized with the reference to_float and dotted in double; norms,
 * rope and SwiGLU are src/ops' functions; attention is decoder.c's, in double, with its F16
 * roundings of Q and of the probabilities. For every output it also writes the scale the
 * tolerance is relative to (sum |w*x| of the terms that made it).
 *
 *   wgsl_oracle DIR [seed]
 */
#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ops/ops.h"
#include "quant/fp16.h"
#include "quant/quant.h"
#include "quant/quantize.h"

static FILE *bin, *js;
static long bin_at;
static int n_cases;
static uint64_t rng_state;

static uint64_t rnd(void) {  /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static float urand(float lo, float hi) { return lo + (hi - lo) * (float)((rnd() >> 40) / 16777216.0); }

static void *xmalloc(size_t n) {
    void *p = calloc(1, n ? n : 1);
    if (!p) { fprintf(stderr, "out of memory\n"); exit(1); }
    return p;
}

static int first_array;
static void case_begin(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void case_begin(const char *kind, const char *fmt, ...) {
    fprintf(js, "%s\n{\"kind\": \"%s\", ", n_cases++ ? "," : "", kind);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(js, fmt, ap);
    va_end(ap);
    fprintf(js, ", \"arrays\": {");
    first_array = 1;
}
static void arr(const char *name, const char *dtype, const void *p, size_t bytes) {
    fwrite(p, 1, bytes, bin);
    fprintf(js, "%s\"%s\": [\"%s\", %ld, %zu]", first_array ? "" : ", ", name, dtype, bin_at, bytes);
    first_array = 0;
    bin_at += (long)bytes;
    while (bin_at % 4) { fputc(0, bin); bin_at++; }
}
static void case_end(void) { fprintf(js, "}}"); }

/* random rows of n floats, each row with its own scale (real weights vary per row) */
static float *random_rows(int64_t rows, int64_t n, float amp) {
    float *x = xmalloc((size_t)(rows * n) * sizeof *x);
    for (int64_t r = 0; r < rows; r++) {
        const float s = amp * urand(0.25f, 1.0f);
        for (int64_t i = 0; i < n; i++) x[r * n + i] = s * urand(-1, 1);
    }
    return x;
}

/* quantized weight of N rows x K; also returns its reference dequantization */
static uint8_t *make_weight(int type, int K, int N, float **deq, size_t *bytes) {
    float *src = random_rows(N, K, 1.0f);
    const size_t rb = eq_row_size(type, K);
    uint8_t *w = xmalloc(rb * (size_t)N);
    if (eq_quantize_rows(type, src, w, N, K, NULL) != rb * (size_t)N) { fprintf(stderr, "quantize %d failed\n", type); exit(1); }
    *deq = xmalloc((size_t)K * N * sizeof(float));
    for (int r = 0; r < N; r++) eq_type_traits_ref(type)->to_float(w + rb * r, *deq + (size_t)r * K, K);
    free(src);
    *bytes = rb * (size_t)N;
    return w;
}

/* Y = W X for T tokens, with sum |w*x| per output */
static void matmul_case(const char *kind, int type, int K, int N, int T, int max_chunk) {
    float *deq;
    size_t wb;
    uint8_t *w = make_weight(type, K, N, &deq, &wb);
    float *x = random_rows(T, K, 1.0f);
    float *y = xmalloc((size_t)T * N * sizeof *y), *a = xmalloc((size_t)T * N * sizeof *a);
    /* the activations as the CPU rounds them for this weight type (its vec_dot_type: F16 for
     * F16, Q8_0/Q8_1/Q8_K for the quantized ones), which the GPU reproduces (qact.wgsl, xr) */
    float *xr = xmalloc((size_t)T * K * sizeof *xr);
    const int vdt = eq_type_traits_get(type)->vec_dot_type;   /* Q8_1: f32 on the GPU (webgpu.js QACT) */
    const eq_type_traits *vt = eq_type_traits_get(vdt == EQ_TYPE_Q8_1 ? EQ_TYPE_F32 : vdt);
    void *xq = xmalloc((size_t)K * 4 + 1024);
    for (int t = 0; t < T; t++) {
        vt->from_float(x + (size_t)t * K, xq, K);
        vt->to_float(xq, xr + (size_t)t * K, K);
    }
    free(xq);
    for (int t = 0; t < T; t++)
        for (int r = 0; r < N; r++) {
            double s = 0, sa = 0;
            for (int i = 0; i < K; i++) {
                const double v = (double)deq[(size_t)r * K + i] * xr[(size_t)t * K + i];
                s += v;
                sa += fabs(v);
            }
            y[(size_t)t * N + r] = (float)s;
            a[(size_t)t * N + r] = (float)sa;
        }
    case_begin(kind, "\"type\": %d, \"type_name\": \"%s\", \"K\": %d, \"N\": %d, \"T\": %d, \"max_chunk\": %d",
               type, eq_type_name(type), K, N, T, max_chunk);
    arr("w", "u8", w, wb);
    arr("x", "f32", x, (size_t)T * K * 4);
    arr("y", "f32", y, (size_t)T * N * 4);
    arr("absy", "f32", a, (size_t)T * N * 4);
    case_end();
    free(deq); free(w); free(x); free(y); free(a); free(xr);
}

static void embed_case(int type, int K, int N, int max_chunk) {
    float *deq;
    size_t wb;
    uint8_t *w = make_weight(type, K, N, &deq, &wb);
    const uint32_t ids[] = {3, (uint32_t)N - 1, 0, 17 % N, (uint32_t)N / 2};
    const int T = 5;
    float *y = xmalloc((size_t)T * K * sizeof *y);
    for (int t = 0; t < T; t++) memcpy(y + (size_t)t * K, deq + (size_t)ids[t] * K, (size_t)K * sizeof *y);
    case_begin("embed", "\"type\": %d, \"type_name\": \"%s\", \"K\": %d, \"N\": %d, \"T\": %d, \"max_chunk\": %d",
               type, eq_type_name(type), K, N, T, max_chunk);
    arr("w", "u8", w, wb);
    arr("ids", "u32", ids, sizeof ids);
    arr("y", "f32", y, (size_t)T * K * 4);
    case_end();
    free(deq); free(w); free(y);
}

static void rmsnorm_case(int n, int T, int with_w) {
    float *x = random_rows(T, n, 3.0f), *w = random_rows(1, n, 2.0f), *y = xmalloc((size_t)T * n * sizeof *y);
    const float eps = 1e-5f;
    for (int t = 0; t < T; t++) eq_rmsnorm(y + (size_t)t * n, x + (size_t)t * n, with_w ? w : NULL, n, eps);
    case_begin("rmsnorm", "\"n\": %d, \"T\": %d, \"with_w\": %d, \"eps\": %.9g", n, T, with_w, eps);
    arr("x", "f32", x, (size_t)T * n * 4);
    arr("w", "f32", w, (size_t)n * 4);
    arr("y", "f32", y, (size_t)T * n * 4);
    case_end();
    free(x); free(w); free(y);
}

static void rope_case(const char *name, int mode, int n_head, int hd, int n_rot, int T, int pos0, float base,
                      float freq_scale, float attn_factor, int yarn, int with_ff) {
    eq_rope r = {n_rot, hd, mode, base, freq_scale, attn_factor, 0.0f, {0, 0}, NULL};
    float *ff = NULL;
    if (with_ff) {
        ff = xmalloc((size_t)n_rot / 2 * sizeof *ff);
        for (int i = 0; i < n_rot / 2; i++) ff[i] = urand(1.0f, 40.0f);
        r.freq_factors = ff;
    }
    if (yarn) {
        r.ext_factor = 1.0f;
        eq_rope_yarn_corr_dims(n_rot, 4096, base, 32.0f, 1.0f, r.corr_dims);
        r.attn_factor *= 1.0f / (1.0f + 0.1f * logf(1.0f / freq_scale));
    }
    const int D = n_head * hd;
    float *x = random_rows(T, D, 2.0f), *y = xmalloc((size_t)T * D * sizeof *y);
    memcpy(y, x, (size_t)T * D * sizeof *y);
    for (int t = 0; t < T; t++) eq_rope_apply(&r, y + (size_t)t * D, n_head, pos0 + t);
    case_begin("rope", "\"name\": \"%s\", \"mode\": %d, \"n_head\": %d, \"head_dim\": %d, \"n_rot\": %d, \"T\": %d, "
               "\"pos0\": %d, \"freq_base\": %.9g, \"freq_scale\": %.9g, \"attn_factor\": %.9g, \"ext_factor\": %.9g, "
               "\"corr_dims\": [%.9g, %.9g], \"with_ff\": %d",
               name, mode, n_head, hd, n_rot, T, pos0, base, freq_scale, r.attn_factor, r.ext_factor,
               r.corr_dims[0], r.corr_dims[1], with_ff);
    arr("x", "f32", x, (size_t)T * D * 4);
    if (ff) arr("ff", "f32", ff, (size_t)n_rot / 2 * 4);
    arr("y", "f32", y, (size_t)T * D * 4);
    case_end();
    free(x); free(y); free(ff);
}

/* f32 values over the whole half range and around its edges: normals, subnormals, ties,
 * overflow to inf; the cache must hold the CPU's exact bits */
static void store_kv_case(int kv_dim, int T, int pos0) {
    const int n = T * kv_dim;
    float *x = xmalloc((size_t)n * sizeof *x);
    for (int i = 0; i < n; i++) {
        switch (i % 7) {
        case 0: x[i] = urand(-4, 4); break;
        case 1: x[i] = urand(-1, 1) * 1e-5f; break;                 /* half subnormals */
        case 2: x[i] = urand(-1, 1) * 7e4f; break;                  /* some overflow */
        case 3: x[i] = eq_f32_from_bits(eq_f32_bits(urand(0.5f, 2)) | 0x1000u) * (i & 1 ? -1 : 1); break; /* near ties */
        case 4: x[i] = eq_f32_from_bits(0x33000000u + (uint32_t)(rnd() % 0x2000000u)); break;   /* tiny */
        case 6: x[i] = ldexpf((float)(2 * (rnd() % 1024) + 1), -25) * (rnd() & 1 ? -1.0f : 1.0f); break; /* half-subnormal ties */
        case 5: x[i] = eq_f32_from_bits(((uint32_t)rnd() & 0x807fe000u) | 0x3f801000u); break; /* exact ties */
        default: break;
        }
    }
    uint16_t *h = xmalloc((size_t)n * sizeof *h);
    for (int i = 0; i < n; i++) h[i] = eq_fp32_to_fp16(x[i]);
    case_begin("store_kv", "\"kv_dim\": %d, \"T\": %d, \"pos0\": %d", kv_dim, T, pos0);
    arr("x", "f32", x, (size_t)n * 4);
    arr("h", "u16", h, (size_t)n * 2);
    case_end();
    free(x); free(h);
}

/* decoder.c attention() in double, with its F16 roundings */
static void attention_case(int n_head, int n_kv, int hd, int T, int pos0, float qamp, int prescale) {
    const int kvd = n_kv * hd, Qd = n_head * hd, n_ctx = pos0 + T, group = n_head / n_kv;
    const float scale = prescale ? 1.0f : 1.0f / sqrtf((float)hd);
    float *q = random_rows(T, Qd, qamp);
    uint16_t *kc = xmalloc((size_t)n_ctx * kvd * 2), *vc = xmalloc((size_t)n_ctx * kvd * 2);
    for (size_t i = 0; i < (size_t)n_ctx * kvd; i++) { kc[i] = eq_fp32_to_fp16(urand(-1, 1)); vc[i] = eq_fp32_to_fp16(urand(-1, 1)); }
    float *o = xmalloc((size_t)T * Qd * 4), *ao = xmalloc((size_t)T * Qd * 4);
    float *sc = xmalloc((size_t)n_ctx * sizeof *sc);
    for (int t = 0; t < T; t++)
        for (int h = 0; h < n_head; h++) {
            const int pos = pos0 + t, kvh = h / group;
            float q16[256];
            for (int i = 0; i < hd; i++) q16[i] = eq_fp16_to_fp32(eq_fp32_to_fp16(q[(size_t)t * Qd + h * hd + i]));
            float mx = -INFINITY;
            for (int p = 0; p <= pos; p++) {
                double s = 0;
                for (int i = 0; i < hd; i++) s += (double)q16[i] * eq_fp16_to_fp32(kc[(size_t)p * kvd + kvh * hd + i]);
                sc[p] = (float)s * scale;
                if (sc[p] > mx) mx = sc[p];
            }
            double sum = 0;
            for (int p = 0; p <= pos; p++) { sc[p] = expf(sc[p] - mx); sum += sc[p]; }
            const float inv = (float)(1.0 / sum);
            for (int i = 0; i < hd; i++) {
                double s = 0, sa = 0;
                for (int p = 0; p <= pos; p++) {
                    const float w = eq_fp16_to_fp32(eq_fp32_to_fp16(sc[p] * inv));
                    const double v = (double)w * eq_fp16_to_fp32(vc[(size_t)p * kvd + kvh * hd + i]);
                    s += v;
                    sa += fabs(v);
                }
                o[(size_t)t * Qd + h * hd + i] = (float)s;
                ao[(size_t)t * Qd + h * hd + i] = (float)sa;
            }
        }
    case_begin("attention", "\"n_head\": %d, \"n_head_kv\": %d, \"head_dim\": %d, \"T\": %d, \"pos0\": %d, \"scale\": %.9g",
               n_head, n_kv, hd, T, pos0, scale);
    arr("q", "f32", q, (size_t)T * Qd * 4);
    arr("k", "u16", kc, (size_t)n_ctx * kvd * 2);
    arr("v", "u16", vc, (size_t)n_ctx * kvd * 2);
    arr("y", "f32", o, (size_t)T * Qd * 4);
    arr("absy", "f32", ao, (size_t)T * Qd * 4);
    case_end();
    free(q); free(kc); free(vc); free(o); free(ao); free(sc);
}

static void swiglu_case(int n, int T) {
    float *g = random_rows(T, n, 6.0f), *u = random_rows(T, n, 2.0f), *y = xmalloc((size_t)T * n * 4);
    memcpy(y, g, (size_t)T * n * 4);
    eq_swiglu(y, u, T * n);
    case_begin("swiglu", "\"n\": %d, \"T\": %d", n, T);
    arr("g", "f32", g, (size_t)T * n * 4);
    arr("u", "f32", u, (size_t)T * n * 4);
    arr("y", "f32", y, (size_t)T * n * 4);
    case_end();
    free(g); free(u); free(y);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: wgsl_oracle DIR [seed]\n"); return 2; }
    rng_state = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/data.bin", argv[1]);
    bin = fopen(path, "wb");
    snprintf(path, sizeof path, "%s/cases.json", argv[1]);
    js = fopen(path, "w");
    if (!bin || !js) { fprintf(stderr, "wgsl_oracle: cannot write into %s\n", argv[1]); return 1; }
    fprintf(js, "[");

    const int types[] = {EQ_TYPE_F32, EQ_TYPE_F16, EQ_TYPE_Q4_0, EQ_TYPE_Q4_1, EQ_TYPE_Q5_0, EQ_TYPE_Q5_1,
                         EQ_TYPE_Q8_0, EQ_TYPE_Q2_K, EQ_TYPE_Q3_K, EQ_TYPE_Q4_K, EQ_TYPE_Q5_K, EQ_TYPE_Q6_K};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        const int ty = types[i], kq = eq_type_traits_ref(ty)->blck_size == 256;
        /* 17 legacy blocks: rows of 306..408 bytes, most not a multiple of 4 */
        const int K = kq ? 768 : 544, N = 77;
        matmul_case("matvec", ty, K, N, 1, 0);
        const int Ts[] = {1, 2, 7, 64};
        for (int j = 0; j < 4; j++) matmul_case("matmul", ty, K, N, Ts[j], 0);
        embed_case(ty, K, 40, 0);
    }
    /* K past matvec's 2048-value activation tile (and not a multiple of it) */
    matmul_case("matvec", EQ_TYPE_Q4_K, 4352, 19, 1, 0);
    matmul_case("matvec", EQ_TYPE_Q8_0, 2080, 9, 1, 0);
    matmul_case("matmul", EQ_TYPE_Q6_K, 2304, 70, 3, 0);
    /* a tensor split across buffers at row boundaries (chunk limit forced small) */
    matmul_case("matvec", EQ_TYPE_Q6_K, 512, 300, 1, 420 * 97);
    matmul_case("matvec", EQ_TYPE_Q4_0, 544, 200, 1, 306 * 64 + 100);
    matmul_case("matmul", EQ_TYPE_Q8_0, 544, 150, 7, 578 * 40);
    embed_case(EQ_TYPE_Q4_0, 544, 100, 306 * 30);

    rmsnorm_case(576, 3, 1);
    rmsnorm_case(100, 1, 1);
    rmsnorm_case(3072, 2, 0);

    rope_case("norm hd64", EQ_ROPE_NORM, 4, 64, 64, 3, 0, 10000.0f, 1.0f, 1.0f, 0, 0);
    rope_case("neox hd128 pos 4000", EQ_ROPE_NEOX, 2, 128, 128, 2, 4000, 1000000.0f, 1.0f, 1.0f, 0, 0);
    rope_case("neox partial 32/96", EQ_ROPE_NEOX, 3, 96, 32, 2, 1, 10000.0f, 1.0f, 1.0f, 0, 0);
    rope_case("norm partial 16/64", EQ_ROPE_NORM, 2, 64, 16, 7, 30, 10000.0f, 1.0f, 1.0f, 0, 0);
    rope_case("neox longrope ff", EQ_ROPE_NEOX, 2, 96, 96, 2, 2000, 10000.0f, 1.0f, 1.1902f, 0, 1);
    rope_case("norm yarn", EQ_ROPE_NORM, 2, 128, 128, 2, 7000, 10000.0f, 0.25f, 1.0f, 1, 0);
    rope_case("neox linear scale pos 30000", EQ_ROPE_NEOX, 1, 64, 64, 1, 30000, 10000.0f, 0.5f, 1.0f, 0, 0);

    store_kv_case(256, 3, 5);
    store_kv_case(128, 1, 0);

    attention_case(32, 4, 64, 1, 0, 2.0f, 0);     /* one position */
    attention_case(32, 4, 64, 1, 299, 2.0f, 0);   /* more positions than a tile */
    attention_case(14, 2, 64, 7, 5, 4.0f, 0);
    attention_case(8, 2, 96, 2, 600, 3.0f, 0);
    attention_case(4, 4, 128, 64, 0, 2.0f, 0);    /* a causal prompt from position 0 */
    attention_case(14, 2, 128, 2, 40, 12.0f, 1);  /* peaked softmax; q_prescale: scale 1 */

    swiglu_case(1000, 2);

    fprintf(js, "\n]\n");
    if (fclose(js) || fclose(bin)) { fprintf(stderr, "wgsl_oracle: write failed\n"); return 1; }
    printf("%d cases, %ld bytes\n", n_cases, bin_at);
    return 0;
}
