/* Unicode helpers; see unicode.h. */
#include "tokenizer/unicode.h"

static int is_white_space(uint32_t cp) {
    /* PropList.txt White_Space: too few to be worth a table */
    if (cp <= 0x20) return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20;
    if (cp < 0x85) return 0;
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

unsigned eq_ucp_flags(uint32_t cp) {
    if (cp > 0x10FFFF) return EQ_U_UNDEF;
    int lo = 0, hi = eq_ucd_n_ranges - 1;   /* last range whose start <= cp */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if ((eq_ucd_ranges[mid] >> 8) <= cp) lo = mid; else hi = mid - 1;
    }
    unsigned f = eq_ucd_ranges[lo] & 0xFF;
    if (is_white_space(cp)) f |= EQ_U_SPACE;
    return f;
}

size_t eq_utf8_len(uint8_t lead) {
    static const uint8_t len[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
    return len[lead >> 4];
}

uint32_t eq_utf8_next(const uint8_t *s, size_t n, size_t *off) {
    size_t i = *off;
    uint8_t c = s[i];
    int need;
    uint32_t cp;
    if (c < 0x80) { *off = i + 1; return c; }
    if (c < 0xC0) { *off = i + 1; return 0xFFFD; }
    if (c < 0xE0) { need = 1; cp = c & 0x1F; }
    else if (c < 0xF0) { need = 2; cp = c & 0x0F; }
    else if (c < 0xF8) { need = 3; cp = c & 0x07; }
    else { *off = i + 1; return 0xFFFD; }
    if (i + (size_t)need >= n) { *off = i + 1; return 0xFFFD; }
    for (int k = 1; k <= need; k++) {
        if ((s[i + k] & 0xC0) != 0x80) { *off = i + 1; return 0xFFFD; }
        cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    *off = i + 1 + need;
    return cp;
}

int eq_utf8_put(uint32_t cp, uint8_t out[4]) {
    if (cp > 0x10FFFF) cp = 0xFFFD;
    if (cp < 0x80) { out[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) { out[0] = 0xC0 | (cp >> 6); out[1] = 0x80 | (cp & 0x3F); return 2; }
    if (cp < 0x10000) {
        out[0] = 0xE0 | (cp >> 12); out[1] = 0x80 | ((cp >> 6) & 0x3F); out[2] = 0x80 | (cp & 0x3F);
        return 3;
    }
    out[0] = 0xF0 | (cp >> 18); out[1] = 0x80 | ((cp >> 12) & 0x3F);
    out[2] = 0x80 | ((cp >> 6) & 0x3F); out[3] = 0x80 | (cp & 0x3F);
    return 4;
}

/* Printable bytes stand for themselves; the other 68 (0x00-0x20, 0x7F-0xA0, 0xAD) are given
 * U+0100.. in byte order. */
uint32_t eq_byte_to_ucp(uint8_t b) {
    if (b <= 0x20) return 0x100 + b;
    if (b >= 0x7F && b <= 0xA0) return 0x100 + 33 + (b - 0x7F);
    if (b == 0xAD) return 0x100 + 67;
    return b;
}

int eq_ucp_to_byte(uint32_t cp) {
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return (int)cp;
    if (cp < 0x100 || cp > 0x143) return -1;
    uint32_t k = cp - 0x100;
    if (k <= 0x20) return (int)k;
    if (k < 67) return (int)(0x7F + (k - 33));
    return 0xAD;
}
