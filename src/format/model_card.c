/* Model card front matter: the card's line handling, then a YAML reader that follows PyYAML's
 * scanner where model cards can tell the difference (see model_card.h). */
#include "format/model_card.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- arena */

/* Nodes and their text live in a few large blocks, so a document frees in one walk and
 * pointers stay valid while the tree grows. */
typedef struct blk {
    struct blk *next;
    size_t used, cap;
    max_align_t data[];
} blk;

struct eq_mc {
    blk *blocks;
    const eq_mc_node *root;
};

static void *arena_alloc(eq_mc *d, size_t size) {
    size_t a = sizeof(max_align_t);
    if (size > SIZE_MAX / 2) return NULL;
    size = (size + a - 1) / a * a;
    blk *b = d->blocks;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > (64u << 10) ? size : (64u << 10);
        b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = d->blocks;
        d->blocks = b;
    }
    void *r = (char *)b->data + b->used;
    b->used += size;
    return r;
}

void eq_mc_free(eq_mc *d) {
    if (!d) return;
    for (blk *b = d->blocks, *nb; b; b = nb) {
        nb = b->next;
        free(b);
    }
    free(d);
}

const eq_mc_node *eq_mc_root(const eq_mc *d) { return d ? d->root : NULL; }

const eq_mc_node *eq_mc_get(const eq_mc_node *map, const char *key) {
    if (!map || map->kind != EQ_MC_MAP || !key) return NULL;
    size_t kl = strlen(key);
    const eq_mc_node *found = NULL;
    for (const eq_mc_node *v = map->child; v; v = v->next)
        if (v->key && v->key->kind == EQ_MC_STR && v->key->len == kl && !memcmp(v->key->text, key, kl)) found = v;
    return found;
}

/* ---------------------------------------------------------------- UTF-8 */

/* Length of the valid UTF-8 sequence at s (strict, as Python decodes), 0 if invalid;
 * *cp gets the code point. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; v = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

/* Offset of the first invalid byte, or n when all of it is UTF-8. */
static size_t utf8_check(const char *s, size_t n) {
    size_t i = 0;
    uint32_t cp;
    while (i < n) {
        size_t l = utf8_seq((const unsigned char *)s + i, n - i, &cp);
        if (!l) return i;
        i += l;
    }
    return n;
}

static size_t utf8_put(char *o, uint32_t cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | (cp >> 6 & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---------------------------------------------------------------- parser state */

typedef struct {
    const char *s;
    size_t n, pos;
    size_t ls;            /* where the current line starts */
    size_t lind;          /* its leading spaces */
    long line;            /* 1-based */
    long line0;           /* added to line numbers in messages */
    eq_mc *doc;
    size_t nodes;
    int depth;
    int started;          /* the document's content has begun (a later "---" is a 2nd document) */
    int odd;              /* the scalar being read holds NUL or a lone surrogate */
    char *sb;             /* scratch text of the scalar being read */
    size_t sl, sc;
    int failed;
    int nomem;
    char *msg;
    size_t msglen;
} P;

static void fail(P *p, const char *fmt, ...) {
    if (p->failed) return;
    p->failed = 1;
    if (!p->msg || !p->msglen) return;
    int k = snprintf(p->msg, p->msglen, "line %ld: ", p->line + p->line0);
    if (k < 0 || (size_t)k >= p->msglen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg + k, p->msglen - (size_t)k, fmt, ap);
    va_end(ap);
}

static void oom(P *p) {
    fail(p, "out of memory");
    p->nomem = 1;
}

static int ch(const P *p, size_t k) { return p->pos + k < p->n ? (unsigned char)p->s[p->pos + k] : 0; }
static int ws0(int c) { return c == ' ' || c == '\n' || c == 0; }
static long col(const P *p) { return (long)(p->pos - p->ls); }
static int at_end(const P *p) { return p->pos >= p->n; }

static void set_line_start(P *p, size_t at) {
    p->ls = at;
    size_t i = at;
    while (i < p->n && p->s[i] == ' ') i++;
    p->lind = i - at;
}

/* Step over the '\n' at pos. */
static void nl(P *p) {
    p->pos++;
    p->line++;
    set_line_start(p, p->pos);
}

/* "---" or "..." then a space or line end, at column 0 */
static int doc_marker(const P *p) {
    if (col(p) != 0 || p->pos + 3 > p->n) return 0;
    const char *q = p->s + p->pos;
    return (!memcmp(q, "---", 3) || !memcmp(q, "...", 3)) && ws0(ch(p, 3));
}

static void sb_reset(P *p) { p->sl = 0; p->odd = 0; }

static int sb_put(P *p, const char *s, size_t n) {
    if (p->sl + n + 1 > p->sc) {
        size_t nc = p->sc ? p->sc : 256;
        while (nc < p->sl + n + 1) {
            if (nc > SIZE_MAX / 2) { oom(p); return -1; }
            nc *= 2;
        }
        char *nb = realloc(p->sb, nc);
        if (!nb) { oom(p); return -1; }
        p->sb = nb;
        p->sc = nc;
    }
    memcpy(p->sb + p->sl, s, n);
    p->sl += n;
    return 0;
}

static int sb_rep(P *p, char c, size_t k) {
    for (size_t i = 0; i < k; i++)
        if (sb_put(p, &c, 1)) return -1;
    return 0;
}

/* Spaces, comments and line breaks up to the next token. A "---" line ends nothing here (it
 * would start a second document: unsupported); "..." ends the document when only blank
 * lines and comments follow it. */
static void skip_to_token(P *p) {
    for (;;) {
        while (ch(p, 0) == ' ') p->pos++;
        if (ch(p, 0) == '#')
            while (ch(p, 0) != '\n' && ch(p, 0) != 0) p->pos++;
        if (ch(p, 0) == '\n') { nl(p); }
        else if (!doc_marker(p)) return;
        if (!doc_marker(p)) continue;
        if (p->s[p->pos] == '-') {
            if (p->started) { fail(p, "a second YAML document ('---') is not supported"); return; }
            p->pos += 3;   /* an explicit start of the (only) document */
            p->started = 1;
            continue;
        }
        /* "...": the end; nothing but comments may follow */
        p->pos += 3;
        for (;;) {
            while (ch(p, 0) == ' ') p->pos++;
            if (ch(p, 0) == '#')
                while (ch(p, 0) != '\n' && ch(p, 0) != 0) p->pos++;
            if (ch(p, 0) == '\n') { nl(p); continue; }
            break;
        }
        if (!at_end(p)) { fail(p, "text after the end of the YAML document ('...')"); return; }
        return;
    }
}

/* ---------------------------------------------------------------- nodes */

static eq_mc_node *mk(P *p, eq_mc_kind kind) {
    if (p->failed) return NULL;
    if (++p->nodes > EQ_MC_MAX_NODES) { fail(p, "more than %u values", (unsigned)EQ_MC_MAX_NODES); return NULL; }
    eq_mc_node *v = arena_alloc(p->doc, sizeof *v);
    if (!v) { oom(p); return NULL; }
    memset(v, 0, sizeof *v);
    v->kind = kind;
    v->falsy = kind == EQ_MC_NULL || kind == EQ_MC_SEQ || kind == EQ_MC_MAP;   /* until items come */
    return v;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int all_in(const char *s, size_t n, const char *set) {
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr(set, s[i])) return 0;
    return 1;
}
static int any_nonzero_digit(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != '0' && s[i] != '_' && s[i] != ':' && s[i] != '.') return 1;
    return 0;
}

/* Match (:[0-5]?[0-9])+ from s; returns the length matched (0 if none). */
static size_t sexagesimal_tail(const char *s, size_t n) {
    size_t i = 0, ok = 0;
    while (i < n && s[i] == ':') {
        size_t j = i + 1;
        if (j + 1 < n && s[j] >= '0' && s[j] <= '5' && is_digit(s[j + 1])) j += 2;
        else if (j < n && is_digit(s[j])) j += 1;
        else break;
        i = ok = j;
    }
    return ok;
}

/* PyYAML's implicit int; *zero when its value is 0 */
static int yaml_int(const char *s, size_t n, int *zero) {
    size_t i = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) i++;
    const char *t = s + i;
    size_t m = n - i;
    if (m >= 3 && t[0] == '0' && t[1] == 'b' && all_in(t + 2, m - 2, "01_")) { *zero = !any_nonzero_digit(t + 2, m - 2); return 1; }
    if (m >= 3 && t[0] == '0' && t[1] == 'x' && all_in(t + 2, m - 2, "0123456789abcdefABCDEF_")) { *zero = !any_nonzero_digit(t + 2, m - 2); return 1; }
    if (m >= 2 && t[0] == '0' && all_in(t + 1, m - 1, "01234567_")) { *zero = !any_nonzero_digit(t, m); return 1; }
    if (m == 1 && t[0] == '0') { *zero = 1; return 1; }
    if (m >= 1 && t[0] >= '1' && t[0] <= '9') {
        size_t j = 1;
        while (j < m && (is_digit(t[j]) || t[j] == '_')) j++;
        if (j == m) { *zero = 0; return 1; }
        if (j + sexagesimal_tail(t + j, m - j) == m) { *zero = 0; return 1; }   /* 1:30 */
    }
    return 0;
}

/* PyYAML's implicit float (YAML 1.1: a dot is required, "1e5" is text) */
static int yaml_float(const char *s, size_t n, int *zero) {
    size_t i = 0;
    int sign = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) { i++; sign = 1; }
    const char *t = s + i;
    size_t m = n - i;
    if (m == 4 && t[0] == '.' && (!memcmp(t + 1, "inf", 3) || !memcmp(t + 1, "Inf", 3) || !memcmp(t + 1, "INF", 3))) { *zero = 0; return 1; }
    if (!sign && m == 4 && t[0] == '.' && (!memcmp(t + 1, "nan", 3) || !memcmp(t + 1, "NaN", 3) || !memcmp(t + 1, "NAN", 3))) { *zero = 0; return 1; }
    /* exponent: [eE][-+][0-9]+ at the end */
    size_t mant = m;
    for (size_t k = 0; k + 2 < m; k++)
        if ((t[k] == 'e' || t[k] == 'E') && (t[k + 1] == '-' || t[k + 1] == '+') && all_in(t + k + 2, m - k - 2, "0123456789")) { mant = k; break; }
    /* [0-9][0-9_]* . [0-9_]*  |  . [0-9][0-9_]* (no sign) */
    if (mant >= 1 && is_digit(t[0])) {
        size_t j = 1;
        while (j < mant && (is_digit(t[j]) || t[j] == '_')) j++;
        if (j < mant && t[j] == '.' && all_in(t + j + 1, mant - j - 1, "0123456789_")) { *zero = !any_nonzero_digit(t, mant); return 1; }
        /* sexagesimal: [0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*, no exponent */
        if (mant == m) {
            size_t k = sexagesimal_tail(t + j, m - j);
            if (k && j + k < m && t[j + k] == '.' && all_in(t + j + k + 1, m - j - k - 1, "0123456789_")) { *zero = !any_nonzero_digit(t, m); return 1; }
        }
    }
    if (!sign && mant >= 2 && t[0] == '.' && is_digit(t[1]) && all_in(t + 2, mant - 2, "0123456789_")) { *zero = !any_nonzero_digit(t, mant); return 1; }
    return 0;
}

static int digits(const char *s, size_t n, size_t i, size_t lo, size_t hi) {
    size_t k = 0;
    while (i + k < n && k < hi && is_digit(s[i + k])) k++;
    return k >= lo ? (int)k : -1;
}

/* PyYAML's implicit timestamp: YYYY-MM-DD, or a date and time */
static int yaml_timestamp(const char *s, size_t n) {
    if (n < 8 || digits(s, n, 0, 4, 4) != 4 || s[4] != '-') return 0;
    if (n == 10 && digits(s, n, 5, 2, 2) == 2 && s[7] == '-' && digits(s, n, 8, 2, 2) == 2) return 1;
    size_t i = 5;
    int k;
    if ((k = digits(s, n, i, 1, 2)) < 0) return 0;
    i += (size_t)k;
    if (i >= n || s[i++] != '-') return 0;
    if ((k = digits(s, n, i, 1, 2)) < 0) return 0;
    i += (size_t)k;
    if (i < n && (s[i] == 'T' || s[i] == 't')) i++;
    else {
        size_t j = i;
        while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
        if (i == j) return 0;
    }
    if ((k = digits(s, n, i, 1, 2)) < 0) return 0;
    i += (size_t)k;
    if (i >= n || s[i++] != ':' || digits(s, n, i, 2, 2) != 2) return 0;
    i += 2;
    if (i >= n || s[i++] != ':' || digits(s, n, i, 2, 2) != 2) return 0;
    i += 2;
    if (i < n && s[i] == '.') { i++; while (i < n && is_digit(s[i])) i++; }
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    if (i == n) return 1;
    if (s[i] == 'Z') return i + 1 == n;
    if (s[i] != '-' && s[i] != '+') return 0;
    i++;
    if ((k = digits(s, n, i, 1, 2)) < 0) return 0;
    i += (size_t)k;
    if (i == n) return 1;
    if (s[i++] != ':' || digits(s, n, i, 2, 2) != 2) return 0;
    return i + 2 == n;
}

static int is_word(const char *s, size_t n, const char *const *words) {
    for (; *words; words++)
        if (strlen(*words) == n && !memcmp(s, *words, n)) return 1;
    return 0;
}

/* The scratch text as a scalar node; plain scalars get PyYAML's implicit type. */
static eq_mc_node *mk_scalar(P *p, int plain) {
    eq_mc_node *v = mk(p, EQ_MC_STR);
    if (!v) return NULL;
    char *t = arena_alloc(p->doc, p->sl + 1);
    if (!t) { oom(p); return NULL; }
    memcpy(t, p->sb ? p->sb : "", p->sl);
    t[p->sl] = 0;
    v->text = t;
    v->len = p->sl;
    v->falsy = p->sl == 0;
    if (p->odd) { v->kind = EQ_MC_OTHER; v->falsy = 0; return v; }
    if (!plain) return v;
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", NULL};
    static const char *const falses[] = {"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", NULL};
    int zero;
    size_t n = p->sl;
    if (is_word(t, n, nulls)) { v->kind = EQ_MC_NULL; v->falsy = 1; }
    else if (is_word(t, n, trues)) { v->kind = EQ_MC_BOOL; v->falsy = 0; }
    else if (is_word(t, n, falses)) { v->kind = EQ_MC_BOOL; v->falsy = 1; }
    else if (yaml_float(t, n, &zero)) { v->kind = EQ_MC_FLOAT; v->falsy = zero; }
    else if (yaml_int(t, n, &zero)) { v->kind = EQ_MC_INT; v->falsy = zero; }
    else if (yaml_timestamp(t, n) || (n == 1 && t[0] == '=') || (n == 2 && !memcmp(t, "<<", 2))) {
        v->kind = EQ_MC_OTHER;   /* a date; '=' and '<<' have no safe_load constructor as values */
        v->falsy = 0;
    }
    return v;
}

static void append(eq_mc_node *coll, eq_mc_node **tail, eq_mc_node *v, const eq_mc_node *key) {
    v->key = key;
    if (*tail) (*tail)->next = v;
    else coll->child = v;
    *tail = v;
    coll->n++;
    coll->falsy = 0;
}

/* ---------------------------------------------------------------- scalars */

/* check_plain: may a plain scalar start here? */
static int plain_start(int c0, int c1, int flow) {
    if (ws0(c0)) return 0;
    if (strchr("-?:,[]{}#&*!|>'\"%@`", c0)) return !ws0(c1) && (c0 == '-' || (!flow && (c0 == '?' || c0 == ':')));
    return 1;
}

/* A plain scalar: chunks of text folded over line breaks; in block context the lines after
 * the first must be indented past `ind`. */
static eq_mc_node *plain(P *p, long ind, int flow) {
    long indent = ind + 1;
    sb_reset(p);
    char pend = 0;          /* what separates the next chunk: ' ' x pend_n or '\n' x pend_n */
    size_t pend_n = 0;
    for (;;) {
        if (ch(p, 0) == '#') break;
        size_t len = 0;
        for (;;) {
            int c = ch(p, len);
            if (ws0(c)) break;
            if (c == ':') {
                int d = ch(p, len + 1);
                if (ws0(d) || (flow && strchr(",[]{}", d))) break;
            }
            if (flow && strchr(",?[]{}", c)) break;
            len++;
        }
        if (!len) break;
        if (pend && sb_rep(p, pend, pend_n)) return NULL;
        if (sb_put(p, p->s + p->pos, len)) return NULL;
        p->pos += len;
        pend = 0;
        size_t k = 0;
        while (ch(p, 0) == ' ') { p->pos++; k++; }
        if (ch(p, 0) == '\n') {
            nl(p);
            if (doc_marker(p)) break;
            size_t breaks = 0;
            int marker = 0;
            while (ch(p, 0) == ' ' || ch(p, 0) == '\n') {
                if (ch(p, 0) == ' ') p->pos++;
                else {
                    nl(p);
                    breaks++;
                    if (doc_marker(p)) { marker = 1; break; }
                }
            }
            if (marker) break;
            if (breaks) { pend = '\n'; pend_n = breaks; }
            else { pend = ' '; pend_n = 1; }
        } else if (k) {
            pend = ' ';
            pend_n = k;
        }
        if (!pend || ch(p, 0) == '#' || (!flow && col(p) < indent)) break;
    }
    return mk_scalar(p, 1);
}

/* Line breaks inside a quoted scalar: each empty line is one '\n'. */
static long quoted_breaks(P *p) {
    long n = 0;
    for (;;) {
        if (doc_marker(p)) { fail(p, "a document marker inside a quoted string"); return -1; }
        while (ch(p, 0) == ' ') p->pos++;
        if (ch(p, 0) != '\n') return n;
        nl(p);
        n++;
    }
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static eq_mc_node *quoted(P *p, int dbl) {
    long start_line = p->line;
    int q = dbl ? '"' : '\'';
    p->pos++;
    sb_reset(p);
    for (;;) {
        /* non-space text */
        for (;;) {
            size_t len = 0;
            for (;;) {
                int c = ch(p, len);
                if (c == '\'' || c == '"' || c == '\\' || ws0(c)) break;
                len++;
            }
            if (len) {
                if (sb_put(p, p->s + p->pos, len)) return NULL;
                p->pos += len;
            }
            int c = ch(p, 0);
            if (!dbl && c == '\'' && ch(p, 1) == '\'') {
                if (sb_put(p, "'", 1)) return NULL;
                p->pos += 2;
            } else if ((dbl && c == '\'') || (!dbl && (c == '"' || c == '\\'))) {
                if (sb_put(p, p->s + p->pos, 1)) return NULL;
                p->pos++;
            } else if (dbl && c == '\\') {
                p->pos++;
                int e = ch(p, 0);
                static const char from[] = "0abtnvfre \"\\/";
                static const char to[] = {0, 7, 8, 9, 10, 11, 12, 13, 27, ' ', '"', '\\', '/'};
                const char *f = e ? strchr(from, e) : NULL;
                char u[4];
                if (f) {
                    if (e == '0') p->odd = 1;   /* NUL: gguf-py would store it; we keep C strings */
                    if (sb_put(p, &to[f - from], 1)) return NULL;
                    p->pos++;
                } else if (e == 'N' || e == '_' || e == 'L' || e == 'P') {
                    uint32_t cp = e == 'N' ? 0x85 : e == '_' ? 0xA0 : e == 'L' ? 0x2028 : 0x2029;
                    if (sb_put(p, u, utf8_put(u, cp))) return NULL;
                    p->pos++;
                } else if (e == 'x' || e == 'u' || e == 'U') {
                    int nd = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    uint32_t cp = 0;
                    p->pos++;
                    for (int i = 0; i < nd; i++) {
                        int hv = hexval(ch(p, (size_t)i));
                        if (hv < 0) { fail(p, "a \\%c escape needs %d hexadecimal digits", e, nd); return NULL; }
                        cp = cp << 4 | (uint32_t)hv;
                    }
                    p->pos += (size_t)nd;
                    if (cp > 0x10FFFF) { fail(p, "escape \\U%08X is past U+10FFFF", (unsigned)cp); return NULL; }
                    if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) { p->odd = 1; cp = 0xFFFD; }
                    if (sb_put(p, u, utf8_put(u, cp))) return NULL;
                } else if (e == '\n') {
                    nl(p);   /* an escaped line break joins the lines */
                    long b = quoted_breaks(p);
                    if (b < 0 || sb_rep(p, '\n', (size_t)b)) return NULL;
                } else {
                    fail(p, "unknown escape in a double-quoted string");
                    return NULL;
                }
            } else break;
        }
        if (ch(p, 0) == q) break;
        /* white space */
        size_t k = 0;
        while (ch(p, k) == ' ') k++;
        if (p->pos + k >= p->n) {
            p->line = start_line;
            fail(p, "a quoted string is not closed");
            return NULL;
        }
        if (ch(p, k) == '\n') {
            p->pos += k;
            nl(p);
            long b = quoted_breaks(p);
            if (b < 0) return NULL;
            if (b ? sb_rep(p, '\n', (size_t)b) : sb_put(p, " ", 1)) return NULL;
        } else {
            if (sb_put(p, p->s + p->pos, k)) return NULL;
            p->pos += k;
        }
    }
    p->pos++;
    return mk_scalar(p, 0);
}

/* | and > block scalars, with PyYAML's indentation detection, folding and chomping. */
static size_t block_breaks(P *p, long indent) {
    size_t n = 0;
    while (col(p) < indent && ch(p, 0) == ' ') p->pos++;
    while (ch(p, 0) == '\n') {
        nl(p);
        n++;
        while (col(p) < indent && ch(p, 0) == ' ') p->pos++;
    }
    return n;
}

static eq_mc_node *block_scalar(P *p, long ind) {
    int folded = ch(p, 0) == '>';
    p->pos++;
    int chomp = 0;        /* -1 strip, 0 clip, +1 keep */
    long incr = 0;
    for (int i = 0; i < 2; i++) {
        int c = ch(p, 0);
        if ((c == '+' || c == '-') && !chomp) { chomp = c == '+' ? 1 : -1; p->pos++; }
        else if (is_digit(c) && !incr) {
            if (c == '0') { fail(p, "a block scalar's indentation indicator cannot be 0"); return NULL; }
            incr = c - '0';
            p->pos++;
        }
    }
    if (!ws0(ch(p, 0))) { fail(p, "a block scalar indicator must be followed by a space or a line end"); return NULL; }
    while (ch(p, 0) == ' ') p->pos++;
    if (ch(p, 0) == '#')
        while (ch(p, 0) != '\n' && ch(p, 0) != 0) p->pos++;
    if (ch(p, 0) != '\n' && ch(p, 0) != 0) { fail(p, "expected a comment or a line break after a block scalar indicator"); return NULL; }
    if (ch(p, 0) == '\n') nl(p);
    long min_indent = ind + 1 < 1 ? 1 : ind + 1, indent;
    size_t breaks = 0;
    if (!incr) {
        long max_indent = 0;
        while (ch(p, 0) == ' ' || ch(p, 0) == '\n') {
            if (ch(p, 0) == ' ') {
                p->pos++;
                if (col(p) > max_indent) max_indent = col(p);
            } else {
                nl(p);
                breaks++;
            }
        }
        indent = max_indent > min_indent ? max_indent : min_indent;
    } else {
        indent = min_indent + incr - 1;
        breaks = block_breaks(p, indent);
    }
    sb_reset(p);
    int line_break = 0;
    while (col(p) == indent && !at_end(p)) {
        if (sb_rep(p, '\n', breaks)) return NULL;
        int leading_non_space = ch(p, 0) != ' ';
        size_t len = 0;
        while (ch(p, len) != '\n' && ch(p, len) != 0) len++;
        if (sb_put(p, p->s + p->pos, len)) return NULL;
        p->pos += len;
        line_break = 0;
        if (ch(p, 0) == '\n') { nl(p); line_break = 1; }
        breaks = block_breaks(p, indent);
        if (col(p) == indent && !at_end(p)) {
            if (folded && line_break && leading_non_space && ch(p, 0) != ' ') {
                if (!breaks && sb_put(p, " ", 1)) return NULL;
            } else if (line_break && sb_put(p, "\n", 1)) return NULL;
        } else break;
    }
    if (chomp != -1 && line_break && sb_put(p, "\n", 1)) return NULL;
    if (chomp == 1 && sb_rep(p, '\n', breaks)) return NULL;
    return mk_scalar(p, 0);
}

/* ---------------------------------------------------------------- properties, flow */

/* &anchor and !tag in front of a node: anchors are kept out of the way (aliases are not
 * resolved), a tag makes the node OTHER. Returns 1 when there were some, 0 none, -1 error. */
static int props(P *p, int *tagged) {
    int seen_anchor = 0, seen_tag = 0;
    for (;;) {
        int c = ch(p, 0);
        if (c == '&' && !seen_anchor) {
            p->pos++;
            size_t k = 0;
            for (int d; (d = ch(p, k)) && (is_digit(d) || (d >= 'A' && d <= 'Z') || (d >= 'a' && d <= 'z') || d == '-' || d == '_');) k++;
            if (!k || !(ws0(ch(p, k)) || strchr("?:,]}%@`", ch(p, k)))) { fail(p, "a malformed anchor"); return -1; }
            p->pos += k;
            seen_anchor = 1;
        } else if (c == '!' && !seen_tag) {
            while (!ws0(ch(p, 0))) p->pos++;   /* the tag itself is not needed */
            seen_tag = 1;
            *tagged = 1;
        } else return seen_anchor || seen_tag;
        while (ch(p, 0) == ' ') p->pos++;
    }
}

static eq_mc_node *alias(P *p) {
    p->pos++;
    size_t k = 0;
    for (int d; (d = ch(p, k)) && (is_digit(d) || (d >= 'A' && d <= 'Z') || (d >= 'a' && d <= 'z') || d == '-' || d == '_');) k++;
    if (!k || !(ws0(ch(p, k)) || strchr("?:,]}%@`", ch(p, k)))) { fail(p, "a malformed alias"); return NULL; }
    p->pos += k;
    eq_mc_node *v = mk(p, EQ_MC_OTHER);
    if (v) { v->text = ""; v->falsy = 0; }
    return v;
}

static eq_mc_node *flow_node(P *p);

static eq_mc_node *flow_coll(P *p) {
    if (++p->depth > EQ_MC_MAX_DEPTH) { fail(p, "nested deeper than %d levels", EQ_MC_MAX_DEPTH); return NULL; }
    int is_map = ch(p, 0) == '{';
    int close = is_map ? '}' : ']';
    long open_line = p->line;
    p->pos++;
    eq_mc_node *coll = mk(p, is_map ? EQ_MC_MAP : EQ_MC_SEQ), *tail = NULL;
    if (!coll) return NULL;
    for (;;) {
        skip_to_token(p);
        if (p->failed) return NULL;
        if (ch(p, 0) == close) { p->pos++; break; }
        if (at_end(p)) { p->line = open_line; fail(p, "a '%c' is not closed", is_map ? '{' : '['); return NULL; }
        if (ch(p, 0) == '?' && ws0(ch(p, 1))) { fail(p, "complex keys ('?') are not supported"); return NULL; }
        long key_line = p->line;
        eq_mc_node *k = flow_node(p);
        if (!k) return NULL;
        skip_to_token(p);
        if (p->failed) return NULL;
        eq_mc_node *v = NULL;
        if (ch(p, 0) == ':') {
            if (p->line != key_line) { fail(p, "a flow key must be on one line"); return NULL; }
            p->pos++;
            skip_to_token(p);
            if (p->failed) return NULL;
            if (ch(p, 0) == ',' || ch(p, 0) == close) v = mk(p, EQ_MC_NULL);
            else v = flow_node(p);
            if (!v) return NULL;
            skip_to_token(p);
            if (p->failed) return NULL;
            if (is_map) append(coll, &tail, v, k);
            else {   /* [a: b] is a one-pair mapping */
                eq_mc_node *m = mk(p, EQ_MC_MAP), *mt = NULL;
                if (!m) return NULL;
                append(m, &mt, v, k);
                append(coll, &tail, m, NULL);
            }
        } else if (is_map) {
            if (!(v = mk(p, EQ_MC_NULL))) return NULL;
            append(coll, &tail, v, k);
        } else append(coll, &tail, k, NULL);
        if (ch(p, 0) == ',') { p->pos++; continue; }
        if (ch(p, 0) == close) { p->pos++; break; }
        if (at_end(p)) { p->line = open_line; fail(p, "a '%c' is not closed", is_map ? '{' : '['); return NULL; }
        fail(p, "expected ',' or '%c' in a flow collection", close);
        return NULL;
    }
    p->depth--;
    return coll;
}

static eq_mc_node *flow_node(P *p) {
    int tagged = 0, had = props(p, &tagged);
    if (had < 0) return NULL;
    if (had) {
        skip_to_token(p);
        if (p->failed) return NULL;
    }
    int c = ch(p, 0);
    eq_mc_node *v;
    if (had && (c == ',' || c == ']' || c == '}' || c == ':')) v = mk(p, EQ_MC_NULL);   /* "[&a , b]" */
    else if (c == '*') v = alias(p);
    else if (c == '"' || c == '\'') v = quoted(p, c == '"');
    else if (c == '[' || c == '{') v = flow_coll(p);
    else if (plain_start(c, ch(p, 1), 1)) v = plain(p, -1, 1);
    else {
        if (c) fail(p, "'%c' cannot start a value here", c);
        else fail(p, "a flow collection is not closed");
        return NULL;
    }
    if (v && tagged) { v->kind = EQ_MC_OTHER; v->falsy = 0; }
    return v;
}

/* ---------------------------------------------------------------- block structure */

static eq_mc_node *block_node(P *p, long ind);

/* Does a simple key start here: a one-line scalar followed by ':' and a space or line end? */
static int key_ahead(const P *p) {
    const char *s = p->s;
    size_t n = p->n, i = p->pos;
    if (i >= n) return 0;
    char q = s[i];
    if (q == '"' || q == '\'') {
        for (i++;; i++) {
            if (i >= n || s[i] == '\n') return 0;   /* multi-line: not a simple key */
            if (q == '\'' && s[i] == '\'') {
                if (i + 1 < n && s[i + 1] == '\'') { i++; continue; }
                break;
            }
            if (q == '"' && s[i] == '\\') { if (i + 1 >= n || s[i + 1] == '\n') return 0; i++; continue; }
            if (q == '"' && s[i] == '"') break;
        }
        i++;
        while (i < n && s[i] == ' ') i++;
        return i < n && s[i] == ':' && (i + 1 >= n || s[i + 1] == ' ' || s[i + 1] == '\n');
    }
    if (!plain_start((unsigned char)q, i + 1 < n ? (unsigned char)s[i + 1] : 0, 0)) return 0;
    for (; i < n && s[i] != '\n'; i++) {
        if (s[i] == ':' && (i + 1 >= n || s[i + 1] == ' ' || s[i + 1] == '\n')) return 1;
        if (s[i] == ' ' && i + 1 < n && s[i + 1] == '#') return 0;
    }
    return 0;
}

/* After a value: the rest of its line must be blank or a comment (a plain scalar may already
 * have moved on to the next line's first token). */
static int value_ends(P *p) {
    if (p->failed) return 0;
    if (col(p) == (long)p->lind && !at_end(p) && ch(p, 0) != '\n' && p->pos > p->ls) return 1;
    if (col(p) == 0 && p->pos > 0 && p->s[p->pos - 1] == '\n') return 1;
    while (ch(p, 0) == ' ') p->pos++;
    if (ch(p, 0) == '#')   /* PyYAML takes '#' after a token as a comment even with no space */
        while (ch(p, 0) != '\n' && ch(p, 0) != 0) p->pos++;
    if (ch(p, 0) == '\n' || at_end(p)) return 1;
    if (ch(p, 0) == ':') fail(p, "a mapping value where none may start (\"key: a: b\"?)");
    else fail(p, "unexpected text after a value");
    return 0;
}

/* A node that starts mid-line: a scalar, a flow collection, a block scalar, an alias, or
 * properties followed by any of those (or by a block collection on the next lines). */
static eq_mc_node *inline_node(P *p, long ind) {
    int tagged = 0;
    eq_mc_node *v;
    if (ch(p, 0) == '&' || ch(p, 0) == '!') {
        if (props(p, &tagged) < 0) return NULL;
        if (ch(p, 0) == '#' || ch(p, 0) == '\n' || at_end(p)) {
            skip_to_token(p);
            if (p->failed) return NULL;
            if (at_end(p) || col(p) <= ind) v = mk(p, EQ_MC_NULL);
            else if (ch(p, 0) == '&' || ch(p, 0) == '!') { fail(p, "more than one set of node properties"); return NULL; }
            else v = block_node(p, ind);
            if (v && tagged) { v->kind = EQ_MC_OTHER; v->falsy = 0; }
            return v;
        }
    }
    int c = ch(p, 0);
    if (c == '*') v = alias(p);
    else if (c == '"' || c == '\'') v = quoted(p, c == '"');
    else if (c == '[' || c == '{') v = flow_coll(p);
    else if (c == '|' || c == '>') v = block_scalar(p, ind);
    else if (c == '-' && ws0(ch(p, 1))) { fail(p, "a list item ('- ') cannot start on this line"); return NULL; }
    else if (plain_start(c, ch(p, 1), 0)) v = plain(p, ind, 0);
    else { fail(p, "'%c' cannot start a value", c); return NULL; }
    if (v && tagged) { v->kind = EQ_MC_OTHER; v->falsy = 0; }
    return v;
}

/* '- ' items at column c. indentless: the value of a mapping key at that same column, ended
 * by the next key. */
static eq_mc_node *block_seq(P *p, long c, int indentless) {
    if (++p->depth > EQ_MC_MAX_DEPTH) { fail(p, "nested deeper than %d levels", EQ_MC_MAX_DEPTH); return NULL; }
    p->started = 1;
    eq_mc_node *seq = mk(p, EQ_MC_SEQ), *tail = NULL;
    if (!seq) return NULL;
    for (;;) {
        p->pos++;   /* the '-' */
        while (ch(p, 0) == ' ') p->pos++;
        eq_mc_node *item;
        if (ch(p, 0) == '#' || ch(p, 0) == '\n' || at_end(p)) {
            skip_to_token(p);
            if (p->failed) return NULL;
            item = !at_end(p) && col(p) > c ? block_node(p, c) : mk(p, EQ_MC_NULL);
        } else {
            item = block_node(p, c);
        }
        if (!item) return NULL;
        append(seq, &tail, item, NULL);
        skip_to_token(p);
        if (p->failed) return NULL;
        if (at_end(p) || col(p) < c) break;
        if (col(p) > c) { fail(p, "bad indentation of a list item"); return NULL; }
        if (!(ch(p, 0) == '-' && ws0(ch(p, 1)))) {
            if (indentless) break;
            fail(p, "expected a list item ('- ')");
            return NULL;
        }
    }
    p->depth--;
    return seq;
}

/* "key: value" lines at column c. */
static eq_mc_node *block_map(P *p, long c) {
    if (++p->depth > EQ_MC_MAX_DEPTH) { fail(p, "nested deeper than %d levels", EQ_MC_MAX_DEPTH); return NULL; }
    p->started = 1;
    eq_mc_node *map = mk(p, EQ_MC_MAP), *tail = NULL;
    if (!map) return NULL;
    for (;;) {
        if (ch(p, 0) == '?' && ws0(ch(p, 1))) { fail(p, "complex keys ('?') are not supported"); return NULL; }
        if (!key_ahead(p)) {
            if (ch(p, 0) == '-' && ws0(ch(p, 1))) fail(p, "a list item where a mapping key was expected");
            else fail(p, "could not find the ':' after a mapping key");
            return NULL;
        }
        eq_mc_node *k;
        int q = ch(p, 0);
        if (q == '"' || q == '\'') k = quoted(p, q == '"');
        else k = plain(p, c, 0);
        if (!k) return NULL;
        if (k->kind == EQ_MC_OTHER && k->len == 2 && !memcmp(k->text, "<<", 2) && q != '"' && q != '\'') {
            fail(p, "merge keys ('<<') are not supported");
            return NULL;
        }
        while (ch(p, 0) == ' ') p->pos++;
        if (ch(p, 0) != ':') { fail(p, "could not find the ':' after a mapping key"); return NULL; }
        p->pos++;
        while (ch(p, 0) == ' ') p->pos++;
        eq_mc_node *v;
        if (ch(p, 0) == '#' || ch(p, 0) == '\n' || at_end(p)) {
            skip_to_token(p);
            if (p->failed) return NULL;
            if (at_end(p)) v = mk(p, EQ_MC_NULL);
            else if (col(p) > c) v = block_node(p, c);
            else if (col(p) == c && ch(p, 0) == '-' && ws0(ch(p, 1))) v = block_seq(p, c, 1);
            else v = mk(p, EQ_MC_NULL);
        } else {
            v = inline_node(p, c);
            if (v && !value_ends(p)) return NULL;
        }
        if (!v) return NULL;
        append(map, &tail, v, k);
        skip_to_token(p);
        if (p->failed) return NULL;
        if (at_end(p) || col(p) < c) break;
        if (col(p) > c) { fail(p, "bad indentation of a mapping entry"); return NULL; }
    }
    p->depth--;
    return map;
}

/* The node at the current token, in block context, inside a collection indented `ind`. */
static eq_mc_node *block_node(P *p, long ind) {
    long c = col(p);
    if (ch(p, 0) == '-' && ws0(ch(p, 1))) return block_seq(p, c, 0);
    if (key_ahead(p)) return block_map(p, c);
    p->started = 1;
    eq_mc_node *v = inline_node(p, ind);
    if (v && !value_ends(p)) return NULL;
    return v;
}

/* ---------------------------------------------------------------- documents */

/* PyYAML's reader refuses control characters other than tab and line breaks, DEL, the C1
 * controls but NEL, and U+FFFE / U+FFFF. */
static int check_printable(P *p) {
    const unsigned char *s = (const unsigned char *)p->s;
    long line = 1;
    for (size_t i = 0; i < p->n; i++) {
        unsigned c = s[i];
        uint32_t cp = c;
        if (c == '\n') { line++; continue; }
        if (c >= 0x80) {
            size_t l = utf8_seq(s + i, p->n - i, &cp);   /* valid: checked before */
            if (l) i += l - 1;
        }
        if ((cp < 0x20 && cp != '\t' && cp != '\r') || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F && cp != 0x85) || cp == 0xFFFE || cp == 0xFFFF) {
            p->line = line;
            fail(p, "character U+%04X is not allowed in YAML", (unsigned)cp);
            return -1;
        }
    }
    return 0;
}

static int parse(const char *text, size_t len, long line0, eq_mc **out, char *msg, size_t msglen) {
    *out = NULL;
    if (msg && msglen) msg[0] = 0;
    P p;
    memset(&p, 0, sizeof p);
    p.s = text;
    p.n = len;
    p.line = 1;
    p.line0 = line0;
    p.msg = msg;
    p.msglen = msglen;
    size_t bad = utf8_check(text, len);
    if (bad < len) {
        if (msg && msglen) snprintf(msg, msglen, "not UTF-8 (byte %zu)", bad);
        return EQ_MC_BAD;
    }
    if (check_printable(&p)) return EQ_MC_BAD;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\t' || text[i] == '\r') {
            /* the card fixes leave neither; other YAML is not our business */
            p.line = 1;
            for (size_t j = 0; j < i; j++) p.line += text[j] == '\n';
            fail(&p, "tabs and carriage returns are not supported");
            return EQ_MC_BAD;
        }
    p.doc = calloc(1, sizeof *p.doc);
    if (!p.doc) { oom(&p); return EQ_MC_NOMEM; }
    /* a byte order mark at the very start is dropped (and takes no column) */
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) p.pos = 3;
    set_line_start(&p, p.pos);
    skip_to_token(&p);   /* also steps over an explicit "---" start */
    const eq_mc_node *root = NULL;
    if (!p.failed && !at_end(&p)) {
        if (ch(&p, 0) == '%') fail(&p, "YAML directives ('%%') are not supported");
        else {
            root = block_node(&p, -1);
            skip_to_token(&p);
            if (!p.failed && !at_end(&p)) fail(&p, "unexpected text after the document's content");
        }
    }
    free(p.sb);
    if (p.failed) {
        eq_mc_free(p.doc);
        return p.nomem ? EQ_MC_NOMEM : EQ_MC_BAD;
    }
    if (!root || root->kind != EQ_MC_MAP) {
        const char *what = !root ? "empty" : root->kind == EQ_MC_SEQ ? "a list" : "a single value";
        if (msg && msglen) snprintf(msg, msglen, "the front matter is %s, not a mapping of keys", what);
        eq_mc_free(p.doc);
        return EQ_MC_NOT_MAP;
    }
    p.doc->root = root;
    *out = p.doc;
    return EQ_MC_OK;
}

int eq_mc_parse_yaml(const char *text, size_t len, eq_mc **out, char *msg, size_t msglen) {
    return parse(text ? text : "", text ? len : 0, 0, out, msg, msglen);
}

/* Length of a line break at s (Python's str.splitlines after universal-newline reading:
 * \n, \r\n, \r, \v, \f, \x1c-\x1e, U+0085, U+2028, U+2029), 0 if none. */
static size_t line_break_at(const char *s, size_t n) {
    unsigned char c = (unsigned char)s[0];
    if (c == '\r') return n > 1 && s[1] == '\n' ? 2 : 1;
    if (c == '\n' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E)) return 1;
    if (c == 0xC2 && n > 1 && (unsigned char)s[1] == 0x85) return 2;
    if (c == 0xE2 && n > 2 && (unsigned char)s[1] == 0x80 && ((unsigned char)s[2] == 0xA8 || (unsigned char)s[2] == 0xA9)) return 3;
    return 0;
}

int eq_mc_parse_card(const char *data, size_t len, eq_mc **out, char *msg, size_t msglen) {
    *out = NULL;
    if (msg && msglen) msg[0] = 0;
    if (!data) return EQ_MC_NONE;
    if (len > SIZE_MAX / 4) {
        if (msg && msglen) snprintf(msg, msglen, "too large");
        return EQ_MC_BAD;
    }
    size_t bad = utf8_check(data, len);
    if (bad < len) {
        /* the script's open(..., encoding="utf-8").read() fails on the whole file */
        if (msg && msglen) snprintf(msg, msglen, "not UTF-8 (byte %zu)", bad);
        return EQ_MC_BAD;
    }
    if (len == 0) return EQ_MC_NONE;
    /* the first line must be exactly "---" */
    size_t i = 0;
    while (i < len && !line_break_at(data + i, len - i)) i++;
    if (i != 3 || memcmp(data, "---", 3)) return EQ_MC_NONE;
    if (i < len) i += line_break_at(data + i, len - i);
    /* the YAML: the following lines up to a "---" line, each ended by '\n', with "- no\n"
     * quoted (the "Norway problem") and every tab two spaces, as the script does */
    size_t cap = (len - i) * 2 + 2, o = 0;
    char *y = malloc(cap);
    if (!y) {
        if (msg && msglen) snprintf(msg, msglen, "out of memory");
        return EQ_MC_NOMEM;
    }
    size_t start = i;
    while (start < len) {
        size_t e = start;
        while (e < len && !line_break_at(data + e, len - e)) e++;
        if (e - start == 3 && !memcmp(data + start, "---", 3)) break;
        for (size_t k = start; k < e; k++) {
            if (data[k] == '\t') { y[o++] = ' '; y[o++] = ' '; }
            else y[o++] = data[k];
        }
        y[o++] = '\n';
        start = e < len ? e + line_break_at(data + e, len - e) : e;
    }
    if (!o) y[o++] = '\n';   /* "\n".join([]) + "\n" */
    /* "- no\n" -> "- \"no\"\n": in place would shift; do it into a second buffer. The
     * pattern holds no tab, so replacing after the tabs is the same as before them. */
    size_t hits = 0;
    for (size_t k = 0; k + 5 <= o; k++)
        if (!memcmp(y + k, "- no\n", 5)) { hits++; k += 4; }
    char *t = y;
    size_t tn = o;
    if (hits) {
        t = malloc(o + hits * 2 + 1);
        if (!t) {
            free(y);
            if (msg && msglen) snprintf(msg, msglen, "out of memory");
            return EQ_MC_NOMEM;
        }
        tn = 0;
        for (size_t k = 0; k < o;) {
            if (k + 5 <= o && !memcmp(y + k, "- no\n", 5)) { memcpy(t + tn, "- \"no\"\n", 7); tn += 7; k += 5; }
            else t[tn++] = y[k++];
        }
        free(y);
    }
    int r = parse(t, tn, 1, out, msg, msglen);
    free(t);
    return r;
}
