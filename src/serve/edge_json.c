/* JSON text for the edge mode: request strings with their lengths, response strings as valid
 * UTF-8 JSON (edge_json.h).
 *
 * cJSON decodes "a\u0000b" into the bytes a, 0, b but hands out only a C string, and it reads
 * a \u escape with non-hex digits as U+0000 too. Nearly every body has no NUL at all, so one
 * pass over its bytes looks for string literals that decode to one; only when some do is the
 * parsed tree walked, meeting the strings in the same document order, to pair each such
 * literal with its item and decode its whole text here. */
#include "edge_json.h"
#include "tokenizer/detok.h"   /* strict UTF-8: eq_utf8_valid_prefix, eq_utf8_repair */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct { const cJSON *item; char *s; size_t n; } jstring;
struct eq_jstrings { jstring *v; int n; };

typedef struct { size_t ord, at, len; } literal;   /* string number ord, text body[at..at+len) */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static unsigned hex4(const char *p) {
    unsigned v = 0;
    for (int k = 0; k < 4; k++) v = v * 16 + (unsigned)hexval(p[k]);
    return v;
}

static size_t put_utf8(unsigned cp, char *o) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decode a literal's text (between its quotes; cJSON accepted it and the scan checked its \u
 * digits) into out, which needs n bytes at most: no escape decodes to more than it spells. */
static size_t decode(const char *s, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] != '\\') { out[o++] = s[i++]; continue; }
        char e = i + 1 < n ? s[i + 1] : 0;
        if (e != 'u' || i + 6 > n) {
            static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
            const char *k = e ? strchr(from, e) : NULL;
            out[o++] = k ? to[k - from] : e;   /* \" \\ \/ stand for themselves */
            i += 2;
            continue;
        }
        unsigned cp = hex4(s + i + 2);
        i += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u') {
            unsigned lo = hex4(s + i + 2);
            if (lo >= 0xDC00 && lo <= 0xDFFF) { cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00); i += 6; }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;   /* unpaired (cJSON refuses those anyway) */
        o += put_utf8(cp, out + o);
    }
    return o;
}

typedef struct {
    const char *body;
    const literal *lits;
    int n_lits, next;
    size_t ord;               /* strings met so far in the walk */
    eq_jstrings *t;
    eq_edge_error *err;
} walk_state;

/* The walk met string number w->ord (a key or a value, cstr its C string): when the scan
 * found a NUL in it, keep its whole text. */
static int take(walk_state *w, const cJSON *item, const char *cstr, int is_key) {
    size_t ord = w->ord++;
    if (w->next >= w->n_lits || w->lits[w->next].ord != ord) return 0;
    const literal *l = &w->lits[w->next++];
    char *s = malloc(l->len + 1);
    if (!s) { eq_edge_set_error(w->err, 503, "server_error", "out_of_memory", NULL, "Out of memory."); return -1; }
    size_t n = decode(w->body + l->at, l->len, s);
    s[n] = 0;
    /* the pairing is by order: check it against what cJSON made of the same literal */
    const char *z = memchr(s, 0, n);
    size_t c = cstr ? strlen(cstr) : (size_t)-1;
    if (!z || c != (size_t)(z - s) || memcmp(s, cstr, c)) {
        free(s);
        eq_edge_set_error(w->err, 400, "invalid_request_error", "invalid_json", NULL,
                          "We could not parse the JSON body of your request: a string could not be decoded.");
        return -1;
    }
    if (is_key) {
        char q[160];
        eq_edge_set_error(w->err, 400, "invalid_request_error", "invalid_value", NULL,
                          "Invalid key '%s' in the request: keys must not contain NUL characters (\\u0000).",
                          eq_edge_excerpt(q, sizeof q, s, n, 40));
        free(s);
        return -1;
    }
    jstring *nv = realloc(w->t->v, (size_t)(w->t->n + 1) * sizeof *nv);
    if (!nv) {
        free(s);
        eq_edge_set_error(w->err, 503, "server_error", "out_of_memory", NULL, "Out of memory.");
        return -1;
    }
    w->t->v = nv;
    w->t->v[w->t->n++] = (jstring){item, s, n};
    return 0;
}

/* Document order: each member's key, then its value (cJSON keeps children in input order,
 * duplicates included). Depth is bounded by cJSON's nesting limit (1000). */
static int walk(walk_state *w, const cJSON *node) {
    for (const cJSON *c = node->child; c; c = c->next) {
        if (cJSON_IsObject(node) && take(w, c, c->string, 1)) return -1;
        if (cJSON_IsString(c)) {
            if (take(w, c, c->valuestring, 0)) return -1;
        } else if ((cJSON_IsArray(c) || cJSON_IsObject(c)) && walk(w, c)) {
            return -1;
        }
    }
    return 0;
}

eq_status eq_jstrings_scan(const char *body, size_t len, const cJSON *root, eq_jstrings **out,
                           eq_edge_error *err) {
    *out = NULL;
    literal *lits = NULL;
    int n_lits = 0, cap = 0;
    size_t ord = 0;
    eq_status st = EQ_OK;
    /* outside strings a valid body has '"' only where a string starts */
    for (size_t i = 0; i < len && !st; i++) {
        if (body[i] != '"') continue;
        size_t at = ++i;
        int nul = 0;
        for (; i < len && body[i] != '"'; i++) {
            if (body[i] == 0) nul = 1;   /* a raw 0 byte: cJSON copies it into the string */
            if (body[i] != '\\') continue;
            if (i + 1 < len && body[i + 1] == 'u') {
                int ok = i + 6 <= len;
                for (int k = 2; ok && k < 6; k++) ok = hexval(body[i + k]) >= 0;
                if (!ok) {
                    eq_edge_set_error(err, 400, "invalid_request_error", "invalid_json", NULL,
                                      "We could not parse the JSON body of your request: invalid \\u escape at byte %zu "
                                      "(four hex digits expected).", i);
                    st = EQ_ERR_FORMAT;
                    break;
                }
                if (hex4(body + i + 2) == 0) nul = 1;
                i += 5;
            } else {
                i++;
            }
        }
        if (nul && !st) {
            if (n_lits == cap) {
                int nc = cap ? cap * 2 : 8;
                literal *nl = realloc(lits, (size_t)nc * sizeof *nl);
                if (!nl) {
                    eq_edge_set_error(err, 503, "server_error", "out_of_memory", NULL, "Out of memory.");
                    st = EQ_ERR_NOMEM;
                    break;
                }
                lits = nl;
                cap = nc;
            }
            lits[n_lits++] = (literal){ord, at, i - at};
        }
        ord++;
    }
    if (!st && n_lits) {
        eq_jstrings *t = calloc(1, sizeof *t);
        walk_state w = {body, lits, n_lits, 0, 0, t, err};
        if (!t) {
            eq_edge_set_error(err, 503, "server_error", "out_of_memory", NULL, "Out of memory.");
            st = EQ_ERR_NOMEM;
        } else if (cJSON_IsString(root) ? take(&w, root, root->valuestring, 0) : walk(&w, root)) {
            st = err->status == 503 ? EQ_ERR_NOMEM : EQ_ERR_ARG;
        } else if (w.next != n_lits) {
            eq_edge_set_error(err, 400, "invalid_request_error", "invalid_json", NULL,
                              "We could not parse the JSON body of your request: a string could not be decoded.");
            st = EQ_ERR_FORMAT;
        }
        if (st) eq_jstrings_free(t);
        else *out = t;
    }
    free(lits);
    return st;
}

void eq_jstrings_free(eq_jstrings *t) {
    if (!t) return;
    for (int i = 0; i < t->n; i++) free(t->v[i].s);
    free(t->v);
    free(t);
}

const char *eq_jstr(const eq_jstrings *t, const cJSON *v, size_t *n) {
    for (int i = 0; t && i < t->n; i++)
        if (t->v[i].item == v) { *n = t->v[i].n; return t->v[i].s; }
    *n = strlen(v->valuestring);
    return v->valuestring;
}

int eq_jstr_is(const eq_jstrings *t, const cJSON *v, const char *lit) {
    size_t n;
    const char *s = eq_jstr(t, v, &n);
    return n == strlen(lit) && !memcmp(s, lit, n);
}

char *eq_json_quote(const char *s, size_t n) {
    char *fixed = NULL;
    if (eq_utf8_valid_prefix(s, n) < n) {   /* generated text is valid already; this is the net */
        fixed = malloc(eq_utf8_repair(s, n, NULL) + 1);
        if (!fixed) return NULL;
        n = eq_utf8_repair(s, n, fixed);
        s = fixed;
    }
    char *o = n <= (SIZE_MAX - 3) / 6 ? malloc(n * 6 + 3) : NULL;   /* \u00XX at worst */
    if (!o) { free(fixed); return NULL; }
    size_t k = 0;
    o[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
        if (esc) {
            o[k++] = esc[0];
            o[k++] = esc[1];
        } else if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";
            memcpy(o + k, "\\u00", 4);
            o[k + 4] = hex[c >> 4];
            o[k + 5] = hex[c & 15];
            k += 6;
        } else {
            o[k++] = (char)c;
        }
    }
    o[k++] = '"';
    o[k] = 0;
    free(fixed);
    return o;
}

const char *eq_edge_excerpt(char *buf, size_t cap, const char *s, size_t n, int max_chars) {
    if (cap < 4) { if (cap) buf[0] = 0; return buf; }
    size_t o = 0, i = 0;
    int chars = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4, adv = len;
        const char *piece = s + i;
        if (c == 0) { piece = "\\u0000"; len = 6; adv = 1; }
        else if (i + len > n || eq_utf8_valid_prefix(s + i, len) != len) { piece = "\xef\xbf\xbd"; len = 3; adv = 1; }
        if (chars == max_chars || o + len + 4 > cap) {   /* room for "..." and the NUL stays */
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(buf + o, piece, len);
        o += len;
        i += adv;
        chars++;
    }
    buf[o] = 0;
    return buf;
}
