/* Conformance against ggml itself (a prebuilt libggml-base, plus a libggml-cpu loaded with
 * dlopen for its dot products):
 *   - dequantize: our to_float_ref == ggml's dequantize_row_* bit for bit, every type;
 *   - quantize: our from_float_ref == ggml's quantize_row_*_ref byte for byte (and, for the
 *     weight formats, == ggml_quantize_chunk without imatrix); our SIMD activation
 *     quantizers (the table this build uses) == ggml's refs too;
 *   - vec_dot: our ref vs ggml's scalar *_generic and our SIMD vs ggml's SIMD kernel, both
 *     within 1e-6 of M = sum |terms| (ggml's float summation order and FMA use differ).
 * Usage: check <path to libggml-cpu-*.so>. Prints "N passed, N failed". */
#include <dlfcn.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ggml.h"
#include "quant/quant.h"
#include "quant/blocks.h"
#include "quant/fp16.h"

/* ggml-quants.h is internal to ggml; these are its exported C symbols (block pointers
 * declared as void *, which is the same ABI). */
#define GG_DEQ(t) void dequantize_row_##t(const void *x, float *y, int64_t k);
#define GG_QREF(t) void quantize_row_##t##_ref(const float *x, void *y, int64_t k);
GG_DEQ(q4_0) GG_DEQ(q4_1) GG_DEQ(q5_0) GG_DEQ(q5_1) GG_DEQ(q8_0)
GG_DEQ(q2_K) GG_DEQ(q3_K) GG_DEQ(q4_K) GG_DEQ(q5_K) GG_DEQ(q6_K) GG_DEQ(q8_K)
GG_QREF(q4_0) GG_QREF(q4_1) GG_QREF(q5_0) GG_QREF(q5_1) GG_QREF(q8_0) GG_QREF(q8_1)
GG_QREF(q2_K) GG_QREF(q3_K) GG_QREF(q4_K) GG_QREF(q5_K) GG_QREF(q6_K) GG_QREF(q8_K)

typedef void (*gg_vec_dot_fn)(int n, float *s, size_t bs, const void *x, size_t bx, const void *y, size_t by, int nrc);
typedef void (*gg_conv_fn)(const void *x, float *y, int64_t k);
typedef void (*gg_quant_fn)(const float *x, void *y, int64_t k);

_Static_assert(GGML_TYPE_Q4_K == EQ_TYPE_Q4_K && GGML_TYPE_BF16 == EQ_TYPE_BF16 && GGML_TYPE_Q8_1 == EQ_TYPE_Q8_1, "type ids");

static int n_pass, n_fail;
static void result(int ok, const char *what, const char *type, const char *detail) {
    if (ok) n_pass++;
    else n_fail++;
    printf("%s %-10s %-5s %s\n", ok ? "ok  " : "FAIL", what, type, detail ? detail : "");
}

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint32_t rnd(void) {
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 32);
}
static float rnd_unit(void) { return (float)(rnd() >> 8) / 16777216.0f; }
static float rnd_gauss(void) { float s = 0; for (int i = 0; i < 4; i++) s += 2 * rnd_unit() - 1; return s; }

typedef struct {
    int id;
    const char *name;
    gg_conv_fn gg_deq;      /* NULL: ggml has no dequantizer for it */
    gg_quant_fn gg_qref;    /* NULL: none */
    int chunk;              /* also compare ggml_quantize_chunk */
    const char *gg_dot;     /* ggml-cpu symbol of the dot product, NULL: none */
    int d_off[2];           /* byte offsets of fp16 scale fields (-1: none) */
    int m_off;              /* offset of the minimum field for affine formats, else -1 */
} type_case;

static const type_case k_cases[] = {
    { EQ_TYPE_F16,  "F16",  NULL, NULL, 0, "ggml_vec_dot_f16", {-1, -1}, -1 },
    { EQ_TYPE_BF16, "BF16", NULL, NULL, 0, "ggml_vec_dot_bf16", {-1, -1}, -1 },
    { EQ_TYPE_F32,  "F32",  NULL, NULL, 0, "ggml_vec_dot_f32", {-1, -1}, -1 },
    { EQ_TYPE_Q4_0, "Q4_0", dequantize_row_q4_0, quantize_row_q4_0_ref, 1, "ggml_vec_dot_q4_0_q8_0", {offsetof(block_q4_0, d), -1}, -1 },
    { EQ_TYPE_Q4_1, "Q4_1", dequantize_row_q4_1, quantize_row_q4_1_ref, 1, "ggml_vec_dot_q4_1_q8_1", {offsetof(block_q4_1, d), offsetof(block_q4_1, m)}, offsetof(block_q4_1, m) },
    { EQ_TYPE_Q5_0, "Q5_0", dequantize_row_q5_0, quantize_row_q5_0_ref, 1, "ggml_vec_dot_q5_0_q8_0", {offsetof(block_q5_0, d), -1}, -1 },
    { EQ_TYPE_Q5_1, "Q5_1", dequantize_row_q5_1, quantize_row_q5_1_ref, 1, "ggml_vec_dot_q5_1_q8_1", {offsetof(block_q5_1, d), offsetof(block_q5_1, m)}, offsetof(block_q5_1, m) },
    { EQ_TYPE_Q8_0, "Q8_0", dequantize_row_q8_0, quantize_row_q8_0_ref, 1, "ggml_vec_dot_q8_0_q8_0", {offsetof(block_q8_0, d), -1}, -1 },
    { EQ_TYPE_Q8_1, "Q8_1", NULL, quantize_row_q8_1_ref, 0, NULL, {offsetof(block_q8_1, d), offsetof(block_q8_1, s)}, -1 },
    { EQ_TYPE_Q2_K, "Q2_K", dequantize_row_q2_K, quantize_row_q2_K_ref, 1, "ggml_vec_dot_q2_K_q8_K", {offsetof(block_q2_K, d), offsetof(block_q2_K, dmin)}, offsetof(block_q2_K, dmin) },
    { EQ_TYPE_Q3_K, "Q3_K", dequantize_row_q3_K, quantize_row_q3_K_ref, 1, "ggml_vec_dot_q3_K_q8_K", {offsetof(block_q3_K, d), -1}, -1 },
    { EQ_TYPE_Q4_K, "Q4_K", dequantize_row_q4_K, quantize_row_q4_K_ref, 1, "ggml_vec_dot_q4_K_q8_K", {offsetof(block_q4_K, d), offsetof(block_q4_K, dmin)}, offsetof(block_q4_K, dmin) },
    { EQ_TYPE_Q5_K, "Q5_K", dequantize_row_q5_K, quantize_row_q5_K_ref, 1, "ggml_vec_dot_q5_K_q8_K", {offsetof(block_q5_K, d), offsetof(block_q5_K, dmin)}, offsetof(block_q5_K, dmin) },
    { EQ_TYPE_Q6_K, "Q6_K", dequantize_row_q6_K, quantize_row_q6_K_ref, 1, "ggml_vec_dot_q6_K_q8_K", {offsetof(block_q6_K, d), -1}, -1 },
    { EQ_TYPE_Q8_K, "Q8_K", dequantize_row_q8_K, quantize_row_q8_K_ref, 0, NULL, {-1, -1}, -1 },
};
#define N_CASES ((int)(sizeof k_cases / sizeof k_cases[0]))

#define N 4096 /* values per row: 16 super-blocks */

static gg_quant_fn gg_ref_quantizer(int type) {
    for (int i = 0; i < N_CASES; i++) if (k_cases[i].id == type) return k_cases[i].gg_qref;
    return NULL;
}

/* Random content with finite scales; every bit pattern in the codes. */
static void fill_row(const type_case *c, void *row, int n) {
    const eq_type_traits *t = eq_type_traits_ref(c->id);
    const size_t bytes = eq_row_size(c->id, n);
    uint8_t *p = row;
    for (size_t i = 0; i < bytes; i++) p[i] = (uint8_t)rnd();
    if (c->id == EQ_TYPE_F32) { for (int i = 0; i < n; i++) ((float *)row)[i] = rnd_gauss(); return; }
    if (c->id == EQ_TYPE_F16) { for (int i = 0; i < n; i++) ((eq_f16 *)row)[i] = eq_fp32_to_fp16(rnd_gauss()); return; }
    if (c->id == EQ_TYPE_BF16) { for (int i = 0; i < n; i++) ((eq_bf16 *)row)[i] = eq_fp32_to_bf16(rnd_gauss()); return; }
    for (size_t b = 0; b < bytes / t->type_size; b++) {
        uint8_t *blk = p + b * t->type_size;
        for (int f = 0; f < 2; f++) {
            if (c->d_off[f] < 0) continue;
            const float v = ldexpf(0.5f + 0.5f * rnd_unit(), -(int)(rnd() % 3)) * ((rnd() & 1) ? 1 : -1);
            const eq_f16 h = eq_fp32_to_fp16(v);
            memcpy(blk + c->d_off[f], &h, 2);
        }
        if (c->id == EQ_TYPE_Q8_K) {
            block_q8_K *q = (block_q8_K *)blk;
            q->d = ldexpf(0.5f + 0.5f * rnd_unit(), -(int)(rnd() % 3));
        }
    }
}

static void fill_floats(float *x, int n, int kind) {
    for (int i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = rnd_gauss(); break;
        case 1: x[i] = rnd_gauss() * (rnd() % 64 == 0 ? 40.0f : 1.0f) * ldexpf(1, (int)(rnd() % 10) - 5); break;
        case 2: x[i] = (i / 256) % 3 == 1 ? 0.0f : rnd_gauss() * 0.01f; break;
        case 3: x[i] = (float)((int)(rnd() % 254) - 127) + 0.5f; break;
        default: x[i] = (float)((int)(rnd() % 9) - 4); break; /* few distinct values: many equal magnitudes */
        }
    }
    if (kind == 3)
        for (int i = 0; i < n; i += 32) x[i + (i / 32) % 32] = (i / 32) % 2 ? 127.0f : -127.0f;
}
#define N_KINDS 5

static void check_dequant(const type_case *c) {
    if (!c->gg_deq) return;
    void *row = malloc(eq_row_size(c->id, N));
    float *a = malloc(sizeof(float) * N), *b = malloc(sizeof(float) * N);
    int bad = -1;
    for (int rep = 0; rep < 8 && bad < 0; rep++) {
        fill_row(c, row, N);
        eq_type_traits_ref(c->id)->to_float(row, a, N);
        c->gg_deq(row, b, N);
        for (int i = 0; i < N; i++) if (memcmp(&a[i], &b[i], 4) != 0) { bad = i; break; }
    }
    char msg[96] = "";
    if (bad >= 0) snprintf(msg, sizeof msg, "first difference at %d: %.9g vs ggml %.9g", bad, a[bad], b[bad]);
    result(bad < 0, "dequant", c->name, msg);
    free(row); free(a); free(b);
}

static size_t first_diff(const uint8_t *a, const uint8_t *b, size_t n) {
    size_t i = 0;
    while (i < n && a[i] == b[i]) i++;
    return i;
}

static void check_quant(const type_case *c) {
    if (!c->gg_qref) return;
    const size_t bytes = eq_row_size(c->id, N);
    float *x = malloc(sizeof(float) * N);
    uint8_t *ours = malloc(bytes), *simd = malloc(bytes), *gg = malloc(bytes), *ggc = malloc(bytes);
    int ok_ref = 1, ok_simd = 1, ok_chunk = 1;
    char msg[3][96] = { "", "", "" };
    for (int kind = 0; kind < N_KINDS; kind++) {
        fill_floats(x, N, kind);
        /* ggml's q8_K leaves bsums of an all-zero block untouched; we write zeros. */
        memset(gg, 0, bytes); memset(ggc, 0, bytes);
        memset(ours, 0xEE, bytes); memset(simd, 0xDD, bytes);
        eq_type_traits_ref(c->id)->from_float(x, ours, N);
        eq_type_traits_get(c->id)->from_float(x, simd, N);
        c->gg_qref(x, gg, N);
        size_t at = first_diff(ours, gg, bytes);
        if (at != bytes && ok_ref) { ok_ref = 0; snprintf(msg[0], 96, "inputs %d: byte %zu: %02x vs ggml %02x", kind, at, ours[at], gg[at]); }
        at = first_diff(simd, gg, bytes);
        if (at != bytes && ok_simd) { ok_simd = 0; snprintf(msg[1], 96, "inputs %d: byte %zu: %02x vs ggml %02x", kind, at, simd[at], gg[at]); }
        if (c->chunk) {
            /* 4 rows of N/4 values through ggml's public entry point. */
            ggml_quantize_chunk((enum ggml_type)c->id, x, ggc, 0, 4, N / 4, NULL);
            at = first_diff(ours, ggc, bytes);
            if (at != bytes && ok_chunk) { ok_chunk = 0; snprintf(msg[2], 96, "inputs %d: byte %zu", kind, at); }
        }
    }
    result(ok_ref, "quant_ref", c->name, msg[0]);
    if (eq_type_traits_get(c->id)->from_float != eq_type_traits_ref(c->id)->from_float)
        result(ok_simd, "quant_simd", c->name, msg[1]);
    if (c->chunk) result(ok_chunk, "quant_chunk", c->name, msg[2]);
    free(x); free(ours); free(simd); free(gg); free(ggc);
}

static void check_float_convert(void) {
    float *x = malloc(sizeof(float) * N), *back = malloc(sizeof(float) * N);
    uint16_t *a = malloc(2 * N), *b = malloc(2 * N), *s = malloc(2 * N);
    int ok16 = 1, ok16s = 1, okbf = 1, okbfs = 1;
    for (int kind = 0; kind < N_KINDS; kind++) {
        fill_floats(x, N, kind);
        for (int i = 0; i < N; i += 97) x[i] *= 1e5f; /* overflow to inf, subnormals below */
        for (int i = 5; i < N; i += 89) x[i] *= 1e-6f;
        eq_type_traits_ref(EQ_TYPE_F16)->from_float(x, a, N);
        eq_type_traits_get(EQ_TYPE_F16)->from_float(x, s, N);
        ggml_fp32_to_fp16_row(x, (ggml_fp16_t *)b, N);
        ok16 &= memcmp(a, b, 2 * N) == 0;
        ok16s &= memcmp(s, b, 2 * N) == 0;
        eq_type_traits_ref(EQ_TYPE_BF16)->from_float(x, a, N);
        eq_type_traits_get(EQ_TYPE_BF16)->from_float(x, s, N);
        ggml_fp32_to_bf16_row_ref(x, (ggml_bf16_t *)b, N);
        okbf &= memcmp(a, b, 2 * N) == 0;
        okbfs &= memcmp(s, b, 2 * N) == 0;
    }
    result(ok16, "quant_ref", "F16", NULL);
    result(ok16s, "quant_simd", "F16", NULL);
    result(okbf, "quant_ref", "BF16", NULL);
    result(okbfs, "quant_simd", "BF16", NULL);
    /* dequant: every finite half and a spread of bf16 patterns */
    int okd16 = 1, okdbf = 1;
    for (int base = 0; base < 65536; base += N) {
        for (int i = 0; i < N; i++) a[i] = (uint16_t)(base + i);
        for (int i = 0; i < N; i++) if ((a[i] & 0x7C00) == 0x7C00) a[i] = 0x3C00; /* keep Inf/NaN out */
        eq_type_traits_ref(EQ_TYPE_F16)->to_float(a, x, N);
        ggml_fp16_to_fp32_row((const ggml_fp16_t *)a, back, N);
        okd16 &= memcmp(x, back, sizeof(float) * N) == 0;
        eq_type_traits_ref(EQ_TYPE_BF16)->to_float(a, x, N);
        ggml_bf16_to_fp32_row((const ggml_bf16_t *)a, back, N);
        okdbf &= memcmp(x, back, sizeof(float) * N) == 0;
    }
    result(okd16, "dequant", "F16", NULL);
    result(okdbf, "dequant", "BF16", NULL);
    free(x); free(back); free(a); free(b); free(s);
}

/* M = sum_i (|scale part| + |min part|) * |y_i| over the dequantized rows (ggml's to_float). */
static double magnitude(const type_case *c, const void *x, const void *y, int n) {
    const eq_type_traits *t = eq_type_traits_ref(c->id), *ty = eq_type_traits_ref(t->vec_dot_type);
    float *fx = malloc(sizeof(float) * n), *fy = malloc(sizeof(float) * n);
    ty->to_float(y, fy, n);
    double m = 0;
    const size_t bytes = eq_row_size(c->id, n);
    uint8_t *tmp = malloc(bytes);
    for (int part = 0; part < (c->m_off >= 0 ? 2 : 1); part++) {
        memcpy(tmp, x, bytes);
        if (c->m_off >= 0)
            for (size_t b = 0; b < bytes / t->type_size; b++) memset(tmp + b * t->type_size + (part ? c->d_off[0] : c->m_off), 0, 2);
        t->to_float(tmp, fx, n);
        for (int i = 0; i < n; i++) m += fabs((double)fx[i] * fy[i]);
    }
    free(fx); free(fy); free(tmp);
    return m;
}

static void check_vec_dot(const type_case *c, void *cpu) {
    if (!c->gg_dot) return;
    char gname[96];
    snprintf(gname, sizeof gname, "%s_generic", c->gg_dot);
    gg_vec_dot_fn gg_simd = (gg_vec_dot_fn)dlsym(cpu, c->gg_dot);
    gg_vec_dot_fn gg_gen = (gg_vec_dot_fn)dlsym(cpu, gname);
    if (!gg_simd) { result(0, "vec_dot", c->name, "symbol missing in libggml-cpu"); return; }
    const eq_type_traits *t = eq_type_traits_ref(c->id), *g = eq_type_traits_get(c->id);
    const int vdt = t->vec_dot_type;
    void *x = malloc(eq_row_size(c->id, N)), *y = malloc(eq_row_size(vdt, N));
    float *fy = malloc(sizeof(float) * N);
    double worst_ref = 0, worst_simd = 0;
    for (int rep = 0; rep < 16; rep++) {
        fill_row(c, x, N);
        /* Activations as ggml makes them: its own reference quantizer of random floats. */
        fill_floats(fy, N, rep % 2);
        if (vdt == EQ_TYPE_F32) memcpy(y, fy, sizeof(float) * N);
        else if (vdt == EQ_TYPE_F16) ggml_fp32_to_fp16_row(fy, y, N);
        else if (vdt == EQ_TYPE_BF16) ggml_fp32_to_bf16_row_ref(fy, y, N);
        else gg_ref_quantizer(vdt)(fy, y, N);
        const double m = magnitude(c, x, y, N);
        float ours_ref, ours_simd, theirs_gen, theirs_simd;
        t->vec_dot(N, &ours_ref, x, y);
        g->vec_dot(N, &ours_simd, x, y);
        gg_simd(N, &theirs_simd, 0, x, 0, y, 0, 1);
        if (gg_gen) gg_gen(N, &theirs_gen, 0, x, 0, y, 0, 1);
        else theirs_gen = theirs_simd;
        const double e1 = fabs((double)ours_ref - theirs_gen) / m, e2 = fabs((double)ours_simd - theirs_simd) / m;
        if (e1 > worst_ref) worst_ref = e1;
        if (e2 > worst_simd) worst_simd = e2;
    }
    char msg[96];
    snprintf(msg, sizeof msg, "worst |diff|/M %.2g (vs %s)", worst_ref, gg_gen ? "ggml generic" : "ggml");
    result(worst_ref <= 1e-6, "vdot_ref", c->name, msg);
    snprintf(msg, sizeof msg, "worst |diff|/M %.2g (vs ggml SIMD)", worst_simd);
    result(worst_simd <= 1e-6, "vdot_simd", c->name, msg);
    free(x); free(y); free(fy);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s libggml-cpu-*.so\n", argv[0]); return 2; }
    void *cpu = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!cpu) { fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror()); return 2; }
    void (*cpu_init)(void) = (void (*)(void))dlsym(cpu, "ggml_cpu_init");
    if (cpu_init) cpu_init();
    printf("edgeq kernels: %s; ggml cpu: %s\n", eq_quant_isa(), argv[1]);
    for (int i = 0; i < N_CASES; i++) {
        check_dequant(&k_cases[i]);
        check_quant(&k_cases[i]);
        check_vec_dot(&k_cases[i], cpu);
    }
    check_float_convert();
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
