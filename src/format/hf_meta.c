/* general.* metadata as gguf-py's Metadata heuristics derive it (the model card, read by
 * hf_card.c, then config.json's _name_or_path, then the folder name), the sampling defaults
 * from generation_config.json, and SHA-256 for the pre-tokenizer check. */
#include "format/hf_internal.h"
#include "format/json.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- SHA-256 (FIPS 180-4) */

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void eq_sha256_hex(const void *data, size_t n, char out[65]) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const uint8_t *p = data;
    size_t left = n;
    while (left >= 64) { sha_block(h, p); p += 64; left -= 64; }
    uint8_t tail[128] = {0};
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tl = left < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++) tail[tl - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha_block(h, tail);
    if (tl == 128) sha_block(h, tail + 64);
    for (int i = 0; i < 8; i++) snprintf(out + 8 * i, 9, "%08x", h[i]);
}

/* ---------------------------------------------------------------- name heuristics */

enum { T_BASENAME = 1, T_SIZE = 2, T_FINETUNE = 4, T_VERSION = 8, T_TYPE = 16 };
#define MAX_PARTS 256   /* '-'-separated parts of a model id looked at (real ids have < 20) */

typedef eq_hf_id_parts id_parts;

void eq_hf_id_parts_free(id_parts *p) {
    free(p->name); free(p->org); free(p->basename); free(p->finetune); free(p->version); free(p->size_label);
    memset(p, 0, sizeof *p);
}

static char *dupn(const char *s, size_t n) {
    char *r = malloc(n + 1);
    if (r) { memcpy(r, s, n); r[n] = 0; }
    return r;
}
static char *dup(const char *s) { return s ? dupn(s, strlen(s)) : NULL; }

static int ieq_prefix(const char *s, const char *lower) {
    for (; *lower; s++, lower++)
        if (tolower((unsigned char)*s) != *lower) return 0;
    return 1;
}

/* (v|iter)?\d+([.]\d+)*  (case-insensitive, whole part) */
static int re_version(const char *s) {
    if (ieq_prefix(s, "iter")) s += 4;
    else if (*s == 'v' || *s == 'V') s++;
    for (;;) {
        size_t n = strspn(s, "0123456789");
        if (!n) return 0;
        s += n;
        if (!*s) return 1;
        if (*s != '.') return 0;
        s++;
    }
}

/* i?q\d(_\w)*|b?fp?(16|32)  (case-insensitive) */
static int re_type(const char *s) {
    const char *p = s;
    if (*p == 'i' || *p == 'I') p++;
    if ((*p == 'q' || *p == 'Q') && isdigit((unsigned char)p[1])) {
        p += 2;
        while (*p == '_' && (isalnum((unsigned char)p[1]) || p[1] == '_')) {
            p += 2;
            /* \w after '_' : greedy, and a later '_' may itself be the \w */
            while (isalnum((unsigned char)*p)) p++;
        }
        if (!*p) return 1;
        /* backtracking cases such as "q4__" : every char after q\d is '_' or \w in pairs */
        p = s + ((*s == 'i' || *s == 'I') ? 3 : 2);
        size_t rest = strlen(p);
        if (rest % 2) return 0;
        for (size_t i = 0; i < rest; i += 2)
            if (p[i] != '_' || !(isalnum((unsigned char)p[i + 1]) || p[i + 1] == '_')) return 0;
        return 1;
    }
    p = s;
    if (*p == 'b' || *p == 'B') p++;
    if (*p != 'f' && *p != 'F') return 0;
    p++;
    if (*p == 'p' || *p == 'P') p++;
    return !strcmp(p, "16") || !strcmp(p, "32");
}

/* (([A]|\d+[x])?\d+([._]\d+)?[KMBT][\d]?|small|mini|medium|large|x?xl)  (case-insensitive) */
static int re_size_num(const char *s) {
    /* try the prefixes: none, "a", "\d+x" */
    const char *starts[3];
    int ns = 0;
    starts[ns++] = s;
    if (*s == 'a' || *s == 'A') starts[ns++] = s + 1;
    size_t d = strspn(s, "0123456789");
    if (d && (s[d] == 'x' || s[d] == 'X')) starts[ns++] = s + d + 1;
    for (int k = 0; k < ns; k++) {
        const char *p = starts[k];
        size_t n = strspn(p, "0123456789");
        if (!n) continue;
        p += n;
        if ((*p == '.' || *p == '_') && isdigit((unsigned char)p[1])) {
            const char *q = p + 1 + strspn(p + 1, "0123456789");
            if (strchr("KMBTkmbt", *q) && *q && (!q[1] || (isdigit((unsigned char)q[1]) && !q[2]))) return 1;
        }
        if (*p && strchr("KMBTkmbt", *p) && (!p[1] || (isdigit((unsigned char)p[1]) && !p[2]))) return 1;
    }
    return 0;
}

static int re_size(const char *s) {
    if (re_size_num(s)) return 1;
    static const char *const words[] = {"small", "mini", "medium", "large", "xl", "xxl"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strlen(s) == strlen(words[i]) && ieq_prefix(s, words[i])) return 1;
    return 0;
}

static int re_finetune_word(const char *s) {
    static const char *const words[] = {"chat", "instruct", "vision", "lora"};
    for (size_t i = 0; i < 4; i++)
        if (strlen(s) == strlen(words[i]) && ieq_prefix(s, words[i])) return 1;
    return 0;
}

/* Python str.isalpha / isdecimal on ASCII; a non-ASCII byte counts as a letter */
static int py_isalpha(int c) { return isalpha(c) || c >= 0x80; }

static char *join_parts(char **parts, const int *types, int n, int want, int exclude, int dedupe) {
    size_t len = 0;
    for (int i = 0; i < n; i++) len += strlen(parts[i]) + 1;
    char *r = malloc(len + 1);
    if (!r) return NULL;
    r[0] = 0;
    int any = 0;
    for (int i = 0; i < n; i++) {
        if (!(types[i] & want) || (types[i] & exclude)) continue;
        if (dedupe) {
            int seen = 0;
            for (int j = 0; j < i && !seen; j++)
                seen = (types[j] & want) && !(types[j] & exclude) && !strcmp(parts[j], parts[i]);
            if (seen) continue;
        }
        if (any) strcat(r, "-");
        strcat(r, parts[i]);
        any = 1;
    }
    if (!any) { free(r); return NULL; }
    return r;
}

/* gguf-py Metadata.get_model_id_components */
int eq_hf_model_id_components(const char *model_id, int64_t total_params, id_parts *out) {
    memset(out, 0, sizeof *out);
    if (!model_id) return 0;
    if (strchr(model_id, ' ')) { out->name = dup(model_id); return out->name ? 0 : -1; }
    const char *slash = strchr(model_id, '/');
    const char *full = model_id;
    int has_org = 0;
    if (slash) {
        /* "./x" or "../x" is a path, not an org; "/name" keeps Python's empty org */
        if (slash == model_id || model_id[0] != '.') {
            out->org = dupn(model_id, (size_t)(slash - model_id));
            has_org = 1;
        }
        full = slash + 1;
    }
    out->name = dup(full);
    if (!out->name || (has_org && !out->org)) { eq_hf_id_parts_free(out); return -1; }
    /* split on '-', dropping empty parts */
    char *buf = dup(full);
    if (!buf) { eq_hf_id_parts_free(out); return -1; }
    char *parts[MAX_PARTS];
    int types[MAX_PARTS] = {0};
    int n = 0;
    for (char *tok = buf, *next; tok && n < MAX_PARTS; tok = next) {
        next = strchr(tok, '-');
        if (next) *next++ = 0;
        if (*tok) parts[n++] = dup(tok);
    }
    free(buf);
    for (int i = 0; i < n; i++) {
        char *part = parts[i];
        if (!part) goto oom;
        if (re_version(part)) types[i] |= T_VERSION;
        else if (re_type(part)) {
            types[i] |= T_TYPE;
            for (char *c = part; *c; c++) *c = (char)toupper((unsigned char)*c);
        } else if (i > 0 && re_size(part)) {
            for (char *c = part; *c; c++) if (*c == '_') *c = '.';
            size_t L = strlen(part);
            if (isdigit((unsigned char)part[L - 1]) && L >= 2) {
                /* bloom-7b1 -> 7.1B */
                char *np = malloc(L + 2);
                if (!np) goto oom;
                memcpy(np, part, L - 2);
                np[L - 2] = '.';
                np[L - 1] = part[L - 1];
                np[L] = part[L - 2];
                np[L + 1] = 0;
                free(part);
                parts[i] = part = np;
                L++;
            }
            if (L > 1 && isdigit((unsigned char)part[L - 2]) && strchr("kmbt", part[L - 1]))
                part[L - 1] = (char)toupper((unsigned char)part[L - 1]);
            if (total_params != 0) {
                /* float(part[:-1]) * 1000 ** " KMBT".find(part[-1]); a ValueError skips this */
                char *num = dupn(part, L - 1);
                if (!num) goto oom;
                char *end;
                double v = strtod(num, &end);
                int ok = *num && !*end && !isspace((unsigned char)num[0]) && strspn(num, "0123456789.") == strlen(num);
                free(num);
                if (ok) {
                    const char *pos = strchr(" KMBT", part[L - 1]);
                    int e = pos && part[L - 1] ? (int)(pos - " KMBT") : -1;
                    double label = v * pow(1000.0, e);
                    int64_t tp = total_params;
                    if ((tp < 0 && label < (double)((-tp) / 8)) ||
                        (tp > 0 && fabs(label - (double)tp) > (double)(7 * tp / 8))) {
                        types[i] |= T_FINETUNE;
                        part[L - 1] = (char)tolower((unsigned char)part[L - 1]);
                    }
                }
            }
            if (!types[i]) types[i] |= T_SIZE;
        } else if (i > 0 && re_finetune_word(part)) {
            if (total_params < 0 && strlen(part) == 4 && ieq_prefix(part, "lora")) types[i] |= T_TYPE;
            else types[i] |= T_FINETUNE;
        }
    }
    {
        int numeric_size = 0;
        for (int i = 0; i < n; i++)
            if (types[i] & T_SIZE)
                for (const char *c = parts[i]; *c; c++) if (isdigit((unsigned char)*c)) numeric_size = 1;
        if (numeric_size)
            for (int i = 0; i < n; i++) {
                if (!(types[i] & T_SIZE)) continue;
                int alpha = 1;
                for (const char *c = parts[i]; *c; c++) if (!py_isalpha((unsigned char)*c)) alpha = 0;
                if (alpha) types[i] &= ~T_SIZE;
            }
    }
    int at_start = 1;
    for (int i = 0; i < n; i++) {
        if (at_start && ((!types[i] && py_isalpha((unsigned char)parts[i][0])) || (types[i] & T_VERSION)))
            types[i] |= T_BASENAME;
        else {
            at_start = 0;
            if (!types[i]) types[i] |= T_FINETUNE;
        }
    }
    for (int i = n - 1; i >= 0; i--) {
        if ((types[i] & T_BASENAME) && (types[i] & ~T_BASENAME)) types[i] &= ~T_BASENAME;
        else break;
    }
    out->basename = join_parts(parts, types, n, T_BASENAME, 0, 0);
    out->size_label = join_parts(parts, types, n, T_SIZE, 0, 1);
    out->finetune = join_parts(parts, types, n, T_FINETUNE, 0, 0);
    out->version = join_parts(parts, types, n, T_VERSION, T_BASENAME, 0);
    if (!out->size_label && !out->finetune && !out->version) { free(out->basename); out->basename = NULL; }
    for (int i = 0; i < n; i++) free(parts[i]);
    return 0;
oom:
    for (int i = 0; i < n; i++) free(parts[i]);
    eq_hf_id_parts_free(out);
    return -1;
}

/* Bytes of the character at p when Python's str.split() counts it as white space, else 0. */
static size_t py_space(const char *p) {
    const unsigned char *u = (const unsigned char *)p;
    if ((u[0] >= 0x09 && u[0] <= 0x0D) || (u[0] >= 0x1C && u[0] <= 0x20)) return 1;
    if (u[0] == 0xC2 && (u[1] == 0x85 || u[1] == 0xA0)) return 2;
    if (u[0] == 0xE1 && u[1] == 0x9A && u[2] == 0x80) return 3;                        /* U+1680 */
    if (u[0] == 0xE2 && u[1] == 0x80 && ((u[2] >= 0x80 && u[2] <= 0x8A) || u[2] == 0xA8 || u[2] == 0xA9 || u[2] == 0xAF))
        return 3;                                                                        /* U+2000-200A, 2028, 2029, 202F */
    if (u[0] == 0xE2 && u[1] == 0x81 && u[2] == 0x9F) return 3;                        /* U+205F */
    if (u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80) return 3;                        /* U+3000 */
    return 0;
}

/* Metadata.id_to_title: words split on '-' and white space, joined by one space; words
 * whose letters are all lowercase are title-cased unless they look like a version
 * (v1.2) or start with a digit. */
char *eq_hf_id_to_title(const char *s) {
    size_t L = strlen(s);
    char *r = malloc(L + 1);
    if (!r) return NULL;
    size_t o = 0;
    const char *p = s;
    for (;;) {
        for (;;) {
            size_t k = *p == '-' ? 1 : py_space(p);
            if (!k) break;
            p += k;
        }
        if (!*p) break;
        const char *w = p;
        while (*p && *p != '-' && !py_space(p)) p++;
        size_t wl = (size_t)(p - w);
        if (o) r[o++] = ' ';
        int has_lower = 0, has_upper = 0;
        for (size_t i = 0; i < wl; i++) {
            if (islower((unsigned char)w[i])) has_lower = 1;
            if (isupper((unsigned char)w[i])) has_upper = 1;
        }
        int islower_word = has_lower && !has_upper;
        int versionish = isdigit((unsigned char)w[0]);
        if (!versionish && w[0] == 'v' && wl > 1) {
            /* v\d+(\.\d+)* */
            size_t i = 1;
            versionish = 1;
            for (;;) {
                size_t d = i;
                while (i < wl && isdigit((unsigned char)w[i])) i++;
                if (i == d) { versionish = 0; break; }
                if (i == wl) break;
                if (w[i] != '.') { versionish = 0; break; }
                i++;
            }
        }
        if (islower_word && !versionish) {
            int prev_alpha = 0;
            for (size_t i = 0; i < wl; i++) {
                unsigned char c = (unsigned char)w[i];
                if (isalpha(c)) { r[o++] = (char)(prev_alpha ? tolower(c) : toupper(c)); prev_alpha = 1; }
                else { r[o++] = (char)c; prev_alpha = c >= 0x80; }
            }
        } else {
            memcpy(r + o, w, wl);
            o += wl;
        }
    }
    r[o] = 0;
    return r;
}

/* gguf-py utility.model_weight_count_rounded_notation(n, min_digits=2) */
static void size_label_of(uint64_t n, char *out, size_t cap) {
    double scaled;
    const char *suf;
    if ((double)n > 1e12) { scaled = (double)n * 1e-12; suf = "T"; }
    else if ((double)n > 1e9) { scaled = (double)n * 1e-9; suf = "B"; }
    else if ((double)n > 1e6) { scaled = (double)n * 1e-6; suf = "M"; }
    else { scaled = (double)n * 1e-3; suf = "K"; }
    char digits[64];
    snprintf(digits, sizeof digits, "%.0f", nearbyint(scaled));   /* round() is half-to-even */
    const char *d = digits;
    while (*d == '0') d++;
    int fix = 2 - (int)strlen(d);
    if (fix < 0) fix = 0;
    snprintf(out, cap, "%.*f%s", fix, scaled, suf);
}

static const char *base_name(const char *dir, char *buf, size_t cap) {
    /* Path(dir).name: the last component, trailing slashes ignored */
    size_t L = strlen(dir);
    while (L > 1 && dir[L - 1] == '/') L--;
    size_t b = L;
    while (b > 0 && dir[b - 1] != '/') b--;
    size_t n = L - b;
    if (n >= cap) n = cap - 1;
    memcpy(buf, dir + b, n);
    buf[n] = 0;
    if (!strcmp(buf, ".") || !strcmp(buf, "..")) {
        /* Path(".").name is "" in Python; a relative "." folder has no name to use */
        buf[0] = 0;
    }
    return buf;
}

#define SETSTR(key, v) do { if (eq_gguf_writer_set_str(h->w, key, v)) return eq_hf_wfail(h, EQ_ERR_NOMEM); } while (0)

static eq_status sampling(eq_hf *h) {
    const cJSON *g = h->gen_config;
    if (!g) return EQ_OK;
    const char *seq = eq_json_str(g, "sequence");
    if (seq) SETSTR("general.sampling.sequence", seq);
    static const struct { const char *json, *alt, *key; int is_int; } k[] = {
        {"top_k", NULL, "general.sampling.top_k", 1},
        {"top_p", NULL, "general.sampling.top_p", 0},
        {"min_p", NULL, "general.sampling.min_p", 0},
        {"xtc_probability", NULL, "general.sampling.xtc_probability", 0},
        {"xtc_threshold", NULL, "general.sampling.xtc_threshold", 0},
        {"temperature", NULL, "general.sampling.temp", 0},
        {"penalty_last_n", NULL, "general.sampling.penalty_last_n", 1},
        {"penalty_repeat", "repetition_penalty", "general.sampling.penalty_repeat", 0},
        {"mirostat", NULL, "general.sampling.mirostat", 1},
        {"mirostat_tau", NULL, "general.sampling.mirostat_tau", 0},
        {"mirostat_eta", NULL, "general.sampling.mirostat_eta", 0},
    };
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        const char *jk = k[i].json;
        if (!eq_json_get(g, jk) && k[i].alt) jk = k[i].alt;
        const cJSON *v = eq_json_get(g, jk);
        if (!v || cJSON_IsNull(v)) continue;
        eq_status st;
        if (k[i].is_int) {
            int64_t x;
            if (!eq_json_as_int(v, INT32_MIN, INT32_MAX, &x))
                return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/generation_config.json: \"%s\" is not a 32-bit integer", h->dir, jk);
            st = eq_gguf_writer_set_i32(h->w, k[i].key, (int32_t)x);
        } else {
            double x;
            if (eq_json_num(g, jk, &x) != 1)
                return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/generation_config.json: \"%s\" is not a number", h->dir, jk);
            st = eq_gguf_writer_set_f32(h->w, k[i].key, (float)x);
        }
        if (st) return eq_hf_wfail(h, st);
    }
    return EQ_OK;
}

/* Fill what is still None from one model id, as apply_metadata_heuristic does for
 * _name_or_path and the folder name. -1 when out of memory. */
static int fill_from_id(eq_hf_meta *m, const char *id, int64_t total_params) {
    id_parts c;
    if (eq_hf_model_id_components(id, total_params, &c)) return -1;
    int r = 0;
    if (!m->name && c.name && !(m->name = eq_hf_id_to_title(c.name))) r = -1;
    if (!m->organization && c.org && !(m->organization = eq_hf_id_to_title(c.org))) r = -1;
#define TAKE(dst, src) do { if (!(dst) && (src)) { (dst) = (src); (src) = NULL; } } while (0)
    TAKE(m->basename, c.basename);
    TAKE(m->finetune, c.finetune);
    TAKE(m->version, c.version);
    TAKE(m->size_label, c.size_label);
#undef TAKE
    eq_hf_id_parts_free(&c);
    return r;
}

/* gguf-py's add_string writes nothing for an empty string */
static eq_status put_str(eq_hf *h, const char *key, const char *v) {
    if (!v || !*v) return EQ_OK;
    eq_status st = eq_gguf_writer_set_str(h->w, key, v);
    return st ? eq_hf_wfail(h, st) : EQ_OK;
}

static eq_status put_sources(eq_hf *h, const char *what, int has, const eq_hf_source *src, size_t n) {
    if (!has) return EQ_OK;
    static const char *const field[EQ_HF_SRC_FIELDS] = {"name", "author", "version", "organization", "description",
                                                        "url", "doi", "uuid", "repo_url"};
    char key[96];
    snprintf(key, sizeof key, "general.%s.count", what);
    eq_status st = eq_gguf_writer_set_u32(h->w, key, (uint32_t)n);
    if (st) return eq_hf_wfail(h, st);
    for (size_t i = 0; i < n; i++)
        for (int f = 0; f < EQ_HF_SRC_FIELDS; f++) {
            snprintf(key, sizeof key, "general.%s.%zu.%s", what, i, field[f]);
            if ((st = put_str(h, key, src[i].f[f]))) return st;
        }
    return EQ_OK;
}

static eq_status put_strv(eq_hf *h, const char *key, char *const *v, size_t n, int bad) {
    if (!n || bad) return EQ_OK;   /* add_array skips an empty list */
    eq_status st = eq_gguf_writer_set_arr_str(h->w, key, (const char *const *)v, NULL, n);
    return st ? eq_hf_wfail(h, st) : EQ_OK;
}

/* Metadata.set_gguf_meta_model's order (sampling keys were written before) */
static eq_status write_meta(eq_hf *h, const eq_hf_meta *m) {
    const struct { const char *key; const char *v; } kv[] = {
        {"general.name", m->name}, {"general.author", m->author}, {"general.version", m->version},
        {"general.organization", m->organization}, {"general.finetune", m->finetune}, {"general.basename", m->basename},
        {"general.description", m->description}, {"general.size_label", m->size_label},
        {"general.license", m->license}, {"general.license.name", m->license_name}, {"general.license.link", m->license_link},
        {"general.source.url", m->source_url}, {"general.source.doi", m->source_doi},
        {"general.source.uuid", m->source_uuid}, {"general.source.repo_url", m->source_repo_url},
    };
    eq_status st = EQ_OK;
    for (size_t i = 0; i < sizeof kv / sizeof *kv && !st; i++) st = put_str(h, kv[i].key, kv[i].v);
    if (!st) st = put_sources(h, "base_model", m->has_base_models, m->base_models, m->n_base_models);
    if (!st) st = put_sources(h, "dataset", m->has_datasets, m->datasets, m->n_datasets);
    if (!st) st = put_strv(h, "general.tags", m->tags, m->n_tags, m->tags_bad);
    if (!st) st = put_strv(h, "general.languages", m->languages, m->n_languages, m->languages_bad);
    return st;
}

eq_status eq_hf_set_meta_model(eq_hf *h, uint64_t total_params) {
    eq_status st = sampling(h);
    if (st) return st;
    eq_hf_meta m;
    memset(&m, 0, sizeof m);
    /* the model card first, then _name_or_path (when it looks like an id, not a path), then
     * the folder name: each fills only what is still unset */
    st = eq_hf_read_card(h, (int64_t)total_params, &m);
    const char *nop = eq_json_str(h->config, "_name_or_path");
    int slashes = 0;
    for (const char *p = nop; p && *p; p++) slashes += *p == '/';
    char dbuf[1024];
    const char *dname = base_name(h->dir, dbuf, sizeof dbuf);
    if (!st && nop && slashes <= 1 && fill_from_id(&m, nop, (int64_t)total_params)) st = EQ_ERR_NOMEM;
    if (!st && fill_from_id(&m, dname, (int64_t)total_params)) st = EQ_ERR_NOMEM;
    if (!st && !m.name && !(m.name = dup(dname))) st = EQ_ERR_NOMEM;
    if (!st && !m.size_label && total_params > 0) {
        char b[64];
        size_label_of(total_params, b, sizeof b);
        if (!(m.size_label = dup(b))) st = EQ_ERR_NOMEM;
    }
    if (st == EQ_ERR_NOMEM && !h->err[0]) eq_hf_fail(h, st, "out of memory");
    if (!st) st = write_meta(h, &m);
    eq_hf_meta_free(&m);
    return st;
}
