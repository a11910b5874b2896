/* gguf-py's Metadata name heuristics: a model id ("org/Name-7B-Instruct-v0.1") split into
 * basename, size label, fine-tune and version (get_model_id_components), and id_to_title.
 * Used by hf_meta.c and hf_card.c; apart from both so that neither includes the other. */
#include "format/hf_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
