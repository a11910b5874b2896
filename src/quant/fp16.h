/* IEEE half and bfloat16 conversions (round-to-nearest-even), the way ggml converts. */
#ifndef EQ_FP16_H
#define EQ_FP16_H

#include <stdint.h>
#include <string.h>

typedef uint16_t eq_f16;
typedef uint16_t eq_bf16;

static inline float eq_f32_from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t eq_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static inline float eq_fp16_to_fp32(eq_f16 h) {
    /* Branch-light exact conversion (same technique as the FP16 library ggml uses). */
    const uint32_t w = (uint32_t)h << 16;
    const uint32_t sign = w & 0x80000000u;
    const uint32_t two_w = w + w;
    const uint32_t exp_offset = 0xE0u << 23;
    const float exp_scale = eq_f32_from_bits(0x7800000u);
    const float normalized = eq_f32_from_bits((two_w >> 4) + exp_offset) * exp_scale;
    const uint32_t magic_mask = 126u << 23;
    const float magic_bias = 0.5f;
    const float denormalized = eq_f32_from_bits((two_w >> 17) | magic_mask) - magic_bias;
    const uint32_t denormalized_cutoff = 1u << 27;
    const uint32_t result = sign | (two_w < denormalized_cutoff ? eq_f32_bits(denormalized) : eq_f32_bits(normalized));
    return eq_f32_from_bits(result);
}

static inline eq_f16 eq_fp32_to_fp16(float f) {
    const float scale_to_inf = eq_f32_from_bits(0x77800000u);
    const float scale_to_zero = eq_f32_from_bits(0x08800000u);
    float base = (f < 0 ? -f : f) * scale_to_inf * scale_to_zero;
    const uint32_t w = eq_f32_bits(f);
    const uint32_t shl1_w = w + w;
    const uint32_t sign = w & 0x80000000u;
    uint32_t bias = shl1_w & 0xFF000000u;
    if (bias < 0x71000000u) bias = 0x71000000u;
    base = eq_f32_from_bits((bias >> 1) + 0x07800000u) + base;
    const uint32_t bits = eq_f32_bits(base);
    const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
    const uint32_t mantissa_bits = bits & 0x00000FFFu;
    const uint32_t nonsign = exp_bits + mantissa_bits;
    return (eq_f16)((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

static inline float eq_bf16_to_fp32(eq_bf16 h) { return eq_f32_from_bits((uint32_t)h << 16); }

static inline eq_bf16 eq_fp32_to_bf16(float f) {
    uint32_t u = eq_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (eq_bf16)((u >> 16) | 64); /* quiet NaN */
    return (eq_bf16)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

#endif
