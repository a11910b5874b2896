/* Backtracking matcher with ECMAScript semantics over 32-bit units; see regex.h.
 *
 * Matching is continuation-passing: each node gets "what must match after me" as a linked
 * list on the C stack, which gives ECMAScript's ordered alternation and greedy backtracking
 * exactly. Repeats of a one-unit pattern (a class, or lookaheads ANDed with a class) skip the
 * recursion: they count the run and back off from the longest, so long words cost no stack. */
#include "tokenizer/regex.h"

#include <stdlib.h>
#include <string.h>

enum { N_CLASS, N_SEQ, N_ALT, N_REP, N_LOOK, N_BOL, N_EOL, N_WORDB, N_NWORDB };
enum { ESC_s = 1, ESC_S = 2, ESC_d = 4, ESC_D = 8, ESC_w = 16, ESC_W = 32 };

typedef struct {
    int type;
    int neg;          /* class: negated; lookahead: (?! ) */
    int greedy;
    int pred;         /* matches exactly one unit, decidable from that unit alone */
    int min, max;     /* repeat bounds, max -1: unbounded */
    int kid;          /* repeat / lookahead body */
    int nk, *kids;    /* sequence / alternation */
    int nr;           /* class ranges: r[2*i], r[2*i+1] inclusive */
    uint32_t *r;
    unsigned esc;     /* class escapes ESC_* */
} node;

struct eq_re {
    node *nodes;
    int nn, cap;
    int root;
};

/* ---- parsing ---- */

typedef struct {
    eq_re *re;
    const uint32_t *p;
    size_t n, i;
    int err;
} parser;

static int new_node(parser *ps, int type) {
    eq_re *re = ps->re;
    if (re->nn == re->cap) {
        int cap = re->cap ? re->cap * 2 : 32;
        node *nn = realloc(re->nodes, (size_t)cap * sizeof *nn);
        if (!nn) { ps->err = 1; return -1; }
        re->nodes = nn;
        re->cap = cap;
    }
    node *n = &re->nodes[re->nn];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->greedy = 1;
    return re->nn++;
}

static int add_kid(parser *ps, int ni, int kid) {
    node *n = &ps->re->nodes[ni];
    int *k = realloc(n->kids, (size_t)(n->nk + 1) * sizeof *k);
    if (!k) { ps->err = 1; return -1; }
    n->kids = k;
    n->kids[n->nk++] = kid;
    return 0;
}

static int add_range(parser *ps, int ni, uint32_t lo, uint32_t hi) {
    node *n = &ps->re->nodes[ni];
    uint32_t *r = realloc(n->r, (size_t)(n->nr + 1) * 2 * sizeof *r);
    if (!r) { ps->err = 1; return -1; }
    n->r = r;
    r[2 * n->nr] = lo;
    r[2 * n->nr + 1] = hi;
    n->nr++;
    return 0;
}

static int hexval(uint32_t c) {
    if (c >= '0' && c <= '9') return (int)(c - '0');
    if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return (int)(c - 'A' + 10);
    return -1;
}

/* After a backslash: a class escape (returns its ESC_ bit, *lit untouched) or a literal. */
static unsigned parse_escape(parser *ps, uint32_t *lit) {
    if (ps->i >= ps->n) { ps->err = 1; return 0; }
    uint32_t c = ps->p[ps->i++];
    switch (c) {
    case 's': return ESC_s;
    case 'S': return ESC_S;
    case 'd': return ESC_d;
    case 'D': return ESC_D;
    case 'w': return ESC_w;
    case 'W': return ESC_W;
    case 'r': *lit = '\r'; return 0;
    case 'n': *lit = '\n'; return 0;
    case 't': *lit = '\t'; return 0;
    case 'v': *lit = '\v'; return 0;
    case 'f': *lit = '\f'; return 0;
    case '0': *lit = 0; return 0;
    case 'x': case 'u': {
        int nd = c == 'x' ? 2 : 4;
        uint32_t v = 0;
        for (int k = 0; k < nd; k++) {
            int h = ps->i < ps->n ? hexval(ps->p[ps->i]) : -1;
            if (h < 0) { ps->err = 1; return 0; }
            v = v * 16 + (uint32_t)h;
            ps->i++;
        }
        *lit = v;
        return 0;
    }
    case 'p': case 'P': case 'b': case 'B':
        ps->err = 1;   /* \p{..} must have been rewritten; \b is handled by the caller */
        return 0;
    default:
        *lit = c;
        return 0;
    }
}

static int parse_class(parser *ps) {
    int ni = new_node(ps, N_CLASS);
    if (ni < 0) return -1;
    if (ps->i < ps->n && ps->p[ps->i] == '^') { ps->re->nodes[ni].neg = 1; ps->i++; }
    int first = 1;
    for (;;) {
        if (ps->i >= ps->n) { ps->err = 1; return -1; }
        uint32_t c = ps->p[ps->i];
        if (c == ']' && !first) { ps->i++; break; }
        first = 0;
        ps->i++;
        uint32_t lo = c;
        if (c == '\\') {
            unsigned e = parse_escape(ps, &lo);
            if (ps->err) return -1;
            if (e) { ps->re->nodes[ni].esc |= e; continue; }
        }
        uint32_t hi = lo;
        /* a range unless '-' is last in the class */
        if (ps->i + 1 < ps->n && ps->p[ps->i] == '-' && ps->p[ps->i + 1] != ']') {
            ps->i++;
            uint32_t c2 = ps->p[ps->i++];
            hi = c2;
            if (c2 == '\\') {
                unsigned e = parse_escape(ps, &hi);
                if (ps->err || e) { ps->err = 1; return -1; }
            }
            if (hi < lo) { ps->err = 1; return -1; }
        }
        if (add_range(ps, ni, lo, hi)) return -1;
    }
    return ni;
}

static int parse_alt(parser *ps);

static int parse_atom(parser *ps) {
    uint32_t c = ps->p[ps->i++];
    if (c == '(') {
        int ni;
        if (ps->i + 1 < ps->n && ps->p[ps->i] == '?') {
            uint32_t k = ps->p[ps->i + 1];
            ps->i += 2;
            if (k == ':') {
                ni = parse_alt(ps);
            } else if (k == '=' || k == '!') {
                ni = new_node(ps, N_LOOK);
                if (ni < 0) return -1;
                int body = parse_alt(ps);
                if (body < 0) return -1;
                ps->re->nodes[ni].kid = body;
                ps->re->nodes[ni].neg = k == '!';
            } else {
                ps->err = 1;   /* lookbehind, named groups, inline flags: not used by any pre-tokenizer */
                return -1;
            }
        } else {
            ni = parse_alt(ps);   /* capturing group: captures are never read (std::regex::nosubs) */
        }
        if (ni < 0 || ps->i >= ps->n || ps->p[ps->i] != ')') { ps->err = 1; return -1; }
        ps->i++;
        return ni;
    }
    if (c == '[') return parse_class(ps);
    if (c == '^') return new_node(ps, N_BOL);
    if (c == '$') return new_node(ps, N_EOL);
    int ni = new_node(ps, N_CLASS);
    if (ni < 0) return -1;
    if (c == '.') {   /* any but line terminators */
        node *n = &ps->re->nodes[ni];
        n->neg = 1;
        if (add_range(ps, ni, '\n', '\n') || add_range(ps, ni, '\r', '\r') ||
            add_range(ps, ni, 0x2028, 0x2029)) return -1;
        return ni;
    }
    if (c == '\\') {
        if (ps->i < ps->n && (ps->p[ps->i] == 'b' || ps->p[ps->i] == 'B')) {
            ps->re->nodes[ni].type = ps->p[ps->i] == 'b' ? N_WORDB : N_NWORDB;
            ps->i++;
            return ni;
        }
        uint32_t lit = 0;
        unsigned e = parse_escape(ps, &lit);
        if (ps->err) return -1;
        if (e) { ps->re->nodes[ni].esc = e; return ni; }
        c = lit;
    } else if (c == ')' || c == '|' || c == '*' || c == '+' || c == '?') {
        ps->err = 1;
        return -1;
    }
    if (add_range(ps, ni, c, c)) return -1;
    return ni;
}

static int parse_uint(parser *ps, int *out) {
    int v = 0, any = 0;
    while (ps->i < ps->n && ps->p[ps->i] >= '0' && ps->p[ps->i] <= '9') {
        if (v > 100000) return 0;
        v = v * 10 + (int)(ps->p[ps->i++] - '0');
        any = 1;
    }
    *out = v;
    return any;
}

static int parse_seq(parser *ps) {
    int seq = new_node(ps, N_SEQ);
    if (seq < 0) return -1;
    while (ps->i < ps->n && ps->p[ps->i] != '|' && ps->p[ps->i] != ')') {
        int a = parse_atom(ps);
        if (a < 0 || ps->err) return -1;
        while (ps->i < ps->n) {
            uint32_t q = ps->p[ps->i];
            int mn, mx;
            if (q == '*') { mn = 0; mx = -1; ps->i++; }
            else if (q == '+') { mn = 1; mx = -1; ps->i++; }
            else if (q == '?') { mn = 0; mx = 1; ps->i++; }
            else if (q == '{') {
                size_t save = ps->i++;
                if (!parse_uint(ps, &mn)) { ps->i = save; break; }
                mx = mn;
                if (ps->i < ps->n && ps->p[ps->i] == ',') {
                    ps->i++;
                    if (!parse_uint(ps, &mx)) mx = -1;
                }
                if (ps->i >= ps->n || ps->p[ps->i] != '}' || (mx >= 0 && mx < mn)) { ps->err = 1; return -1; }
                ps->i++;
            } else break;
            int r = new_node(ps, N_REP);
            if (r < 0) return -1;
            node *rn = &ps->re->nodes[r];
            rn->kid = a; rn->min = mn; rn->max = mx;
            if (ps->i < ps->n && ps->p[ps->i] == '?') { rn->greedy = 0; ps->i++; }
            a = r;
        }
        if (ps->i < ps->n && ps->p[ps->i] == '{') { ps->err = 1; return -1; }
        if (add_kid(ps, seq, a)) return -1;
    }
    return seq;
}

static int parse_alt(parser *ps) {
    int first = parse_seq(ps);
    if (first < 0) return -1;
    if (ps->i >= ps->n || ps->p[ps->i] != '|') return first;
    int alt = new_node(ps, N_ALT);
    if (alt < 0 || add_kid(ps, alt, first)) return -1;
    while (ps->i < ps->n && ps->p[ps->i] == '|') {
        ps->i++;
        int s = parse_seq(ps);
        if (s < 0 || add_kid(ps, alt, s)) return -1;
    }
    return alt;
}

/* one-unit patterns: a class; alternatives of them; positive lookaheads of them followed by one */
static int mark_pred(eq_re *re, int ni) {
    node *n = &re->nodes[ni];
    int p = 0;
    switch (n->type) {
    case N_CLASS: p = 1; break;
    case N_ALT:
        p = 1;
        for (int i = 0; i < n->nk; i++) p &= mark_pred(re, n->kids[i]);
        break;
    case N_SEQ:
        p = n->nk > 0;
        for (int i = 0; i < n->nk; i++) {
            const node *k = &re->nodes[n->kids[i]];
            int kp = mark_pred(re, n->kids[i]);
            if (i + 1 < n->nk) p &= k->type == N_LOOK && !k->neg && re->nodes[k->kid].pred;
            else p &= kp;
        }
        break;
    case N_REP: mark_pred(re, n->kid); break;
    case N_LOOK: mark_pred(re, n->kid); break;
    default: break;
    }
    re->nodes[ni].pred = p;
    return p;
}

void eq_re_free(eq_re *re) {
    if (!re) return;
    for (int i = 0; i < re->nn; i++) { free(re->nodes[i].kids); free(re->nodes[i].r); }
    free(re->nodes);
    free(re);
}

eq_re *eq_re_compile(const uint32_t *pat, size_t n) {
    eq_re *re = calloc(1, sizeof *re);
    if (!re) return NULL;
    parser ps = { re, pat, n, 0, 0 };
    re->root = parse_alt(&ps);
    if (ps.err || re->root < 0 || ps.i != n) { eq_re_free(re); return NULL; }
    mark_pred(re, re->root);
    return re;
}

/* ---- matching ---- */

enum { FAIL = -1, ABORT = -2 };
enum { K_SEQ, K_REP };
#define MAX_DEPTH 3000          /* frames of recursion; keeps small thread stacks safe */
#define MAX_STEPS 2000000L      /* per start position */

typedef struct {
    const eq_re *re;
    const uint32_t *t;
    size_t n;
    long steps;
    int depth;
} mctx;

typedef struct cont {
    int kind, node, i, count;
    size_t start;
    const struct cont *next;
} cont;

static int is_space(uint32_t c) { return c == ' ' || (c >= 0x09 && c <= 0x0D); }
static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static int is_word(uint32_t c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int class_has(const node *n, uint32_t c) {
    int in = 0;
    for (int i = 0; i < n->nr && !in; i++) in = c >= n->r[2 * i] && c <= n->r[2 * i + 1];
    if (!in && n->esc) {
        unsigned e = n->esc;
        in = ((e & ESC_s) && is_space(c)) || ((e & ESC_S) && !is_space(c)) ||
             ((e & ESC_d) && is_digit(c)) || ((e & ESC_D) && !is_digit(c)) ||
             ((e & ESC_w) && is_word(c)) || ((e & ESC_W) && !is_word(c));
    }
    return in != n->neg;
}

static int pred_ok(const eq_re *re, int ni, uint32_t c) {
    const node *n = &re->nodes[ni];
    switch (n->type) {
    case N_CLASS: return class_has(n, c);
    case N_ALT:
        for (int i = 0; i < n->nk; i++) if (pred_ok(re, n->kids[i], c)) return 1;
        return 0;
    case N_SEQ:
        for (int i = 0; i + 1 < n->nk; i++)
            if (!pred_ok(re, re->nodes[n->kids[i]].kid, c)) return 0;
        return pred_ok(re, n->kids[n->nk - 1], c);
    default: return 0;
    }
}

static long m(mctx *c, int ni, size_t pos, const cont *k);
static long rep(mctx *c, int ni, int count, size_t pos, const cont *k);

static long run_k(mctx *c, size_t pos, const cont *k) {
    if (!k) return (long)pos;
    const node *n = &c->re->nodes[k->node];
    if (k->kind == K_SEQ) {
        if (k->i + 1 >= n->nk) return m(c, n->kids[k->i], pos, k->next);
        cont k2 = { K_SEQ, k->node, k->i + 1, 0, 0, k->next };
        return m(c, n->kids[k->i], pos, &k2);
    }
    /* an iteration of a repeat ended: ECMAScript fails an empty one once min is reached */
    if (pos == k->start && k->count >= n->min) return FAIL;
    return rep(c, k->node, k->count + 1, pos, k->next);
}

static long rep(mctx *c, int ni, int count, size_t pos, const cont *k) {
    const node *n = &c->re->nodes[ni];
    long r;
    if (c->re->nodes[n->kid].pred) {
        size_t limit = n->max < 0 ? (size_t)-1 : (size_t)(n->max - count), j = 0;
        while (j < limit && pos + j < c->n && pred_ok(c->re, n->kid, c->t[pos + j])) j++;
        size_t need = n->min > count ? (size_t)(n->min - count) : 0;
        if (j < need) return FAIL;
        if (n->greedy) {
            for (size_t jj = j;; jj--) {
                if ((r = run_k(c, pos + jj, k)) != FAIL) return r;
                if (jj == need) break;
            }
        } else {
            for (size_t jj = need; jj <= j; jj++)
                if ((r = run_k(c, pos + jj, k)) != FAIL) return r;
        }
        return FAIL;
    }
    int can_more = n->max < 0 || count < n->max;
    cont kr = { K_REP, ni, 0, count, pos, k };
    if (n->greedy) {
        if (can_more && (r = m(c, n->kid, pos, &kr)) != FAIL) return r;
        return count >= n->min ? run_k(c, pos, k) : FAIL;
    }
    if (count >= n->min && (r = run_k(c, pos, k)) != FAIL) return r;
    return can_more ? m(c, n->kid, pos, &kr) : FAIL;
}

static long m_inner(mctx *c, int ni, size_t pos, const cont *k) {
    const node *n = &c->re->nodes[ni];
    long r;
    switch (n->type) {
    case N_CLASS:
        if (pos < c->n && class_has(n, c->t[pos])) return run_k(c, pos + 1, k);
        return FAIL;
    case N_SEQ: {
        if (n->nk == 0) return run_k(c, pos, k);
        if (n->nk == 1) return m(c, n->kids[0], pos, k);
        cont k2 = { K_SEQ, ni, 1, 0, 0, k };
        return m(c, n->kids[0], pos, &k2);
    }
    case N_ALT:
        for (int i = 0; i < n->nk; i++)
            if ((r = m(c, n->kids[i], pos, k)) != FAIL) return r;
        return FAIL;
    case N_REP:
        return rep(c, ni, 0, pos, k);
    case N_LOOK:
        r = m(c, n->kid, pos, NULL);   /* lookaheads are atomic: no backtracking into them */
        if (r == ABORT) return ABORT;
        return ((r >= 0) != n->neg) ? run_k(c, pos, k) : FAIL;
    case N_BOL: return pos == 0 ? run_k(c, pos, k) : FAIL;
    case N_EOL: return pos == c->n ? run_k(c, pos, k) : FAIL;
    case N_WORDB: case N_NWORDB: {
        int a = pos > 0 && is_word(c->t[pos - 1]), b = pos < c->n && is_word(c->t[pos]);
        return ((a != b) == (n->type == N_WORDB)) ? run_k(c, pos, k) : FAIL;
    }
    }
    return FAIL;
}

static long m(mctx *c, int ni, size_t pos, const cont *k) {
    if (--c->steps < 0 || c->depth >= MAX_DEPTH) return ABORT;
    c->depth++;
    long r = m_inner(c, ni, pos, k);
    c->depth--;
    return r;
}

int eq_re_search(const eq_re *re, const uint32_t *text, size_t n, size_t from, size_t *ms, size_t *me) {
    mctx c = { re, text, n, 0, 0 };
    int aborted = 0;
    for (size_t s = from; s < n; s++) {
        c.steps = MAX_STEPS;
        c.depth = 0;
        long r = m(&c, re->root, s, NULL);
        if (r == ABORT) { aborted = 1; continue; }
        if (r > (long)s) { *ms = s; *me = (size_t)r; return 1; }
        /* empty matches are skipped: no supported pattern relies on them */
    }
    return aborted ? -1 : 0;
}
