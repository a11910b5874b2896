/* The model card front matter reader (format/model_card.c): YAML values as PyYAML's
 * safe_load gives them (types by YAML 1.1 rules, folding, escapes, block scalars), the card's
 * own line rules (first line "---", CRLF, Python's line breaks, the "- no" and tab fixes), and
 * hostile input: every case returns a code and a message, never crashes or reads out of
 * bounds (the sanitize preset runs this under ASan/UBSan). Expected values were checked
 * against PyYAML 6. */
#include "eqtest.h"
#include "format/model_card.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- a compact rendering */

typedef struct {
    char *b;
    size_t n, cap;
} buf;

static void put(buf *o, const char *s, size_t n) {
    if (o->n + n + 1 > o->cap) {
        o->cap = (o->n + n + 1) * 2;
        o->b = realloc(o->b, o->cap);
        if (!o->b) abort();
    }
    memcpy(o->b + o->n, s, n);
    o->n += n;
    o->b[o->n] = 0;
}
static void puts_(buf *o, const char *s) { put(o, s, strlen(s)); }

/* ~ null, "text" (\n \t escaped), true/false, i0 / i1 (int zero / not), f0 / f1, ? other,
 * [a,b], {k:v} */
static void render(buf *o, const eq_mc_node *v) {
    switch (v->kind) {
    case EQ_MC_NULL: puts_(o, "~"); break;
    case EQ_MC_STR:
        puts_(o, "\"");
        for (size_t i = 0; i < v->len; i++) {
            if (v->text[i] == '\n') puts_(o, "\\n");
            else if (v->text[i] == '\t') puts_(o, "\\t");
            else put(o, v->text + i, 1);
        }
        puts_(o, "\"");
        break;
    case EQ_MC_BOOL: puts_(o, v->falsy ? "false" : "true"); break;
    case EQ_MC_INT: puts_(o, v->falsy ? "i0" : "i1"); break;
    case EQ_MC_FLOAT: puts_(o, v->falsy ? "f0" : "f1"); break;
    case EQ_MC_OTHER: puts_(o, "?"); break;
    case EQ_MC_SEQ:
    case EQ_MC_MAP:
        puts_(o, v->kind == EQ_MC_SEQ ? "[" : "{");
        for (const eq_mc_node *c = v->child; c; c = c->next) {
            if (c != v->child) puts_(o, ",");
            if (v->kind == EQ_MC_MAP) { render(o, c->key); puts_(o, ":"); }
            render(o, c);
        }
        puts_(o, v->kind == EQ_MC_SEQ ? "]" : "}");
        break;
    }
}

/* parse (card or bare YAML) and render; returns the code */
static int run(const char *text, size_t len, int card, buf *o, char *msg, size_t msglen) {
    eq_mc *doc = NULL;
    int r = card ? eq_mc_parse_card(text, len, &doc, msg, msglen) : eq_mc_parse_yaml(text, len, &doc, msg, msglen);
    o->n = 0;
    puts_(o, "");
    if (r == EQ_MC_OK) render(o, eq_mc_root(doc));
    eq_mc_free(doc);
    return r;
}

static void yaml_ok(const char *yaml, const char *want) {
    buf o = {0};
    char msg[256] = "";
    int r = run(yaml, strlen(yaml), 0, &o, msg, sizeof msg);
    CHECKF(r == EQ_MC_OK && !strcmp(o.b, want), "%s\n  -> %d %s (%s)\n  want %s", yaml, r, o.b, msg, want);
    free(o.b);
}

static void card_ok(const char *card, size_t len, const char *want) {
    buf o = {0};
    char msg[256] = "";
    int r = run(card, len, 1, &o, msg, sizeof msg);
    CHECKF(r == EQ_MC_OK && !strcmp(o.b, want), "%.60s\n  -> %d %s (%s)\n  want %s", card, r, o.b, msg, want);
    free(o.b);
}

/* expect code `want` and, when given, `sub` in the message */
static void code(const char *text, size_t len, int card, int want, const char *sub) {
    buf o = {0};
    char msg[256] = "";
    int r = run(text, len, card, &o, msg, sizeof msg);
    CHECKF(r == want, "%.60s -> %d (%s), want %d", text, r, msg, want);
    if (sub) CHECKF(strstr(msg, sub) != NULL, "%.60s: message '%s' lacks '%s'", text, msg, sub);
    if (r != EQ_MC_OK && r != EQ_MC_NONE) CHECKF(msg[0] != 0, "%.60s: no message", text);
    free(o.b);
}
#define CARD(s) s, sizeof(s) - 1

/* ---------------------------------------------------------------- YAML */

static void test_scalars(void) {
    yaml_ok("license: apache-2.0\n", "{\"license\":\"apache-2.0\"}");
    yaml_ok("a: mit   \nb:   x y  z  # note\nc: x#y\nd: http://x.y/z:8\n",
            "{\"a\":\"mit\",\"b\":\"x y  z\",\"c\":\"x#y\",\"d\":\"http://x.y/z:8\"}");
    /* YAML 1.1 types, as PyYAML resolves plain scalars */
    yaml_ok("a: [~, null, Null, NULL, yes, No, on, OFF, y, n, nO]\nb:\n",
            "{\"a\":[~,~,~,~,true,false,true,false,\"y\",\"n\",\"nO\"],\"b\":~}");
    yaml_ok("a: [0, 1, -0, 0x0, 0x1F, 017, 08, 0b10, 1_000, 1:30, +5, 0o7]\n",
            "{\"a\":[i0,i1,i0,i0,i1,i1,\"08\",i1,i1,i1,i1,\"0o7\"]}");
    yaml_ok("a: [1.0, 0.0, .5, -.5, 1e5, 1.0e+5, 1.0e5, 3., .inf, -.Inf, .nan, -.nan, 1:30.5, 1.2.3, 0.0e+3]\n",
            "{\"a\":[f1,f0,f1,\"-.5\",\"1e5\",f1,\"1.0e5\",f1,f1,f1,f1,\"-.nan\",f1,\"1.2.3\",f0]}");
    yaml_ok("a: [2024-01-01, 2024-1-1, 2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43 Z, 2024-01-01x, =, <<]\n",
            "{\"a\":[?,\"2024-1-1\",?,?,\"2024-01-01x\",?,?]}");
    /* quoted text is never typed */
    yaml_ok("a: ['1', \"no\", '', \"\", '~']\n", "{\"a\":[\"1\",\"no\",\"\",\"\",\"~\"]}");
    yaml_ok("a: 'it''s \\n \"q\"'\n", "{\"a\":\"it's \\n \"q\"\"}");
    yaml_ok("a: \"\\x41\\u00e9\\U0001F600 \\t \\\\ \\\" \\/ \\N\\_\\L\\P\"\n",
            "{\"a\":\"A\xc3\xa9\xf0\x9f\x98\x80 \\t \\ \" / \xc2\x85\xc2\xa0\xe2\x80\xa8\xe2\x80\xa9\"}");
    yaml_ok("a: \"nul\\0 \\x00\"\nb: \"\\ud800\"\n", "{\"a\":?,\"b\":?}");
    /* folding: a line break is a space, an empty line a newline */
    yaml_ok("a: one\n  two\n\n  three\n\n\n   four\nb: x\n", "{\"a\":\"one two\\nthree\\n\\nfour\",\"b\":\"x\"}");
    yaml_ok("a: 'one\n  two  \n\n  three'\n", "{\"a\":\"one two\\nthree\"}");
    /* an escaped line break joins without a space; the space before it stays */
    yaml_ok("a: \"one \\\n   two\\\n three\"\n", "{\"a\":\"one twothree\"}");
    yaml_ok("a: x\n  # a comment ends it\nb: y\n", "{\"a\":\"x\",\"b\":\"y\"}");
    /* block scalars */
    yaml_ok("a: |\n  l1\n\n   l2\n  l3\n\n\nb: x\n", "{\"a\":\"l1\\n\\n l2\\nl3\\n\",\"b\":\"x\"}");
    yaml_ok("a: >\n  l1\n  l2\n\n  l3\n   more\n  l4\n\nb: x\n", "{\"a\":\"l1 l2\\nl3\\n more\\nl4\\n\",\"b\":\"x\"}");
    yaml_ok("a: |-\n  x\n\n\nb: |+\n  y\n\n\nc: >-\n  p\n  q\n", "{\"a\":\"x\",\"b\":\"y\\n\\n\\n\",\"c\":\"p q\"}");
    yaml_ok("a: |2\n    two\n   one\n", "{\"a\":\"  two\\n one\\n\"}");
    yaml_ok("a: |\nb: x\n", "{\"a\":\"\",\"b\":\"x\"}");
    yaml_ok("a: | # comment\n  x\n", "{\"a\":\"x\\n\"}");
}

static void test_collections(void) {
    /* a list at its key's indentation (what huggingface_hub writes), and indented */
    yaml_ok("tags:\n- a\n- b\nlanguage:\n  - en\n  -   fr  \nx: 1\n", "{\"tags\":[\"a\",\"b\"],\"language\":[\"en\",\"fr\"],\"x\":i1}");
    yaml_ok("a:\n-\n- - b\n  - c\n- k: v\n  k2: v2\n- \n  x\n", "{\"a\":[~,[\"b\",\"c\"],{\"k\":\"v\",\"k2\":\"v2\"},\"x\"]}");
    yaml_ok("a:\n- x\n  - y\n", "{\"a\":[\"x - y\"]}");   /* a continuation line, not an item */
    yaml_ok("a:\n  b:\n    c: d\n  e: f\ng: h\n", "{\"a\":{\"b\":{\"c\":\"d\"},\"e\":\"f\"},\"g\":\"h\"}");
    yaml_ok("a: [x, 'y', \"z\", [1, []], {k: v, j}, p: q,]\n",
            "{\"a\":[\"x\",\"y\",\"z\",[i1,[]],{\"k\":\"v\",\"j\":~},{\"p\":\"q\"}]}");
    yaml_ok("a: [one,\ntwo, # comment\n  three\n  four]\n", "{\"a\":[\"one\",\"two\",\"three four\"]}");
    yaml_ok("a: [\"k\":v, a:b, http://x]\n", "{\"a\":[{\"k\":\"v\"},\"a:b\",\"http://x\"]}");
    yaml_ok("a: {}\nb: []\nc:\nd: ''\n", "{\"a\":{},\"b\":[],\"c\":~,\"d\":\"\"}");
    /* keys: quoted, with spaces, typed; the last of a repeated key wins in lookups */
    yaml_ok("\"q k\": 1\n'it''s': 2\nmodel name : 3\nnull: 4\n1: 5\n", "{\"q k\":i1,\"it's\":i1,\"model name\":i1,~:i1,i1:i1}");
    /* anchors are stepped over; aliases and tags are not resolved (PyYAML gives "v" and "1") */
    yaml_ok("a: &x v\nb: *x\nc: !!str 1\nd: &y\n  - i\n", "{\"a\":\"v\",\"b\":?,\"c\":?,\"d\":[\"i\"]}");
    /* an explicit start, comments, a document end */
    yaml_ok("# c\n--- \n  # c\nk: v\n...\n# after\n", "{\"k\":\"v\"}");
    yaml_ok("  k: v\n  j: w\n", "{\"k\":\"v\",\"j\":\"w\"}");
    yaml_ok("{license: mit, tags: [a]}\n", "{\"license\":\"mit\",\"tags\":[\"a\"]}");
    yaml_ok("model-index:\n- name: m\n  results:\n  - task:\n      type: t\n    metrics:\n    - type: acc\n      value: 0.5\n",
            "{\"model-index\":[{\"name\":\"m\",\"results\":[{\"task\":{\"type\":\"t\"},\"metrics\":[{\"type\":\"acc\",\"value\":f1}]}]}]}");

    eq_mc *doc = NULL;
    const char *y = "a: 1\nb: x\na: last\n1: one\n\"1\": str\n";
    CHECK(eq_mc_parse_yaml(y, strlen(y), &doc, NULL, 0) == EQ_MC_OK);
    const eq_mc_node *root = eq_mc_root(doc);
    const eq_mc_node *a = eq_mc_get(root, "a"), *one = eq_mc_get(root, "1");
    CHECK(a && a->kind == EQ_MC_STR && !strcmp(a->text, "last"));
    CHECK(one && one->kind == EQ_MC_STR && !strcmp(one->text, "str"));   /* the int key 1 is not "1" */
    CHECK(!eq_mc_get(root, "zz") && !eq_mc_get(a, "a") && !eq_mc_get(NULL, "a") && !eq_mc_get(root, NULL));
    CHECK(root->n == 5);
    eq_mc_free(doc);
    eq_mc_free(NULL);
}

static void test_yaml_errors(void) {
    /* what PyYAML rejects (the script stops) is EQ_MC_BAD here, with the line */
    code(CARD("a: b: c\n"), 0, EQ_MC_BAD, "line 1");
    code(CARD("a: [x, y\nb: z\n"), 0, EQ_MC_BAD, "line 2");
    code(CARD("a: {x: y\n"), 0, EQ_MC_BAD, "not closed");
    code(CARD("a: 'x\nb: y\n"), 0, EQ_MC_BAD, "not closed");
    code(CARD("a: \"x\\\"\n"), 0, EQ_MC_BAD, "not closed");
    code(CARD("a: \"\\q\"\n"), 0, EQ_MC_BAD, "escape");
    code(CARD("a: \"\\x4\"\n"), 0, EQ_MC_BAD, "hexadecimal");
    code(CARD("a: \"\\U00110000\"\n"), 0, EQ_MC_BAD, "U+10FFFF");
    code(CARD("a: x\n b: y\n"), 0, EQ_MC_BAD, "line 2");
    code(CARD("a: 1\nb\n"), 0, EQ_MC_BAD, "line 2");
    code(CARD("a:\n  - x\n - y\n"), 0, EQ_MC_BAD, "line 3");
    code(CARD("a: - x\n"), 0, EQ_MC_BAD, NULL);
    code(CARD("a: `x`\n"), 0, EQ_MC_BAD, NULL);
    code(CARD("a: |0\n  x\n"), 0, EQ_MC_BAD, NULL);
    code(CARD("a: |x\n"), 0, EQ_MC_BAD, NULL);
    code(CARD("a: *\n"), 0, EQ_MC_BAD, "alias");
    code(CARD("a: 1\n---\nb: 2\n"), 0, EQ_MC_BAD, "second YAML document");
    code(CARD("a: 1\n...\nb: 2\n"), 0, EQ_MC_BAD, "after the end");
    code(CARD("a: 'x\n--- y'\n"), 0, EQ_MC_BAD, "document marker");
    code(CARD("a:\tb\n"), 0, EQ_MC_BAD, "tabs");
    /* valid YAML that model cards do not use and we do not read: refused, not misread */
    code(CARD("%YAML 1.1\n---\na: 1\n"), 0, EQ_MC_BAD, "directives");
    code(CARD("? a\n: b\n"), 0, EQ_MC_BAD, NULL);
    code(CARD("<<: {a: 1}\n"), 0, EQ_MC_BAD, "merge");
    code(CARD("a: b\x01\n"), 0, EQ_MC_BAD, "U+0001");
    code(CARD("a: b\x7f\n"), 0, EQ_MC_BAD, "U+007F");
    code(CARD("a: b\xc2\x80\n"), 0, EQ_MC_BAD, "U+0080");
    code(CARD("a: \xef\xbf\xbf\n"), 0, EQ_MC_BAD, "U+FFFF");
    code("a: b\0c\n", 7, 0, EQ_MC_BAD, "U+0000");
    code(CARD("a: \xff\n"), 0, EQ_MC_BAD, "UTF-8");
    code(CARD("a: \xed\xa0\x80\n"), 0, EQ_MC_BAD, "UTF-8");    /* an encoded surrogate */
    code(CARD("a: \xc0\xaf\n"), 0, EQ_MC_BAD, "UTF-8");        /* overlong */
    code(CARD("a: \xe2\x82\n"), 0, EQ_MC_BAD, "UTF-8");        /* truncated */
    /* not a mapping: gguf-py ignores it */
    code(CARD(""), 0, EQ_MC_NOT_MAP, "empty");
    code(CARD("# only a comment\n\n"), 0, EQ_MC_NOT_MAP, "empty");
    code(CARD("- a\n- b\n"), 0, EQ_MC_NOT_MAP, "list");
    code(CARD("just some text\nover lines\n"), 0, EQ_MC_NOT_MAP, "single value");
    code(CARD("[a, b]\n"), 0, EQ_MC_NOT_MAP, "list");
    code(NULL, 5, 0, EQ_MC_NOT_MAP, NULL);
}

/* ---------------------------------------------------------------- the card */

static void test_card(void) {
    card_ok(CARD("---\nlicense: mit\n---\n# Title\n\ntags: [ignored]\n"), "{\"license\":\"mit\"}");
    /* no front matter: the first line must be exactly "---" */
    code(CARD("# Title\n---\nlicense: mit\n---\n"), 1, EQ_MC_NONE, NULL);
    code(CARD("--- \nlicense: mit\n---\n"), 1, EQ_MC_NONE, NULL);
    code(CARD("\xef\xbb\xbf---\nlicense: mit\n---\n"), 1, EQ_MC_NONE, NULL);   /* Python keeps the BOM */
    code(CARD(""), 1, EQ_MC_NONE, NULL);
    code(CARD("\n"), 1, EQ_MC_NONE, NULL);
    code(NULL, 0, 1, EQ_MC_NONE, NULL);
    /* an empty or non-mapping front matter */
    code(CARD("---"), 1, EQ_MC_NOT_MAP, "empty");
    code(CARD("---\n---\nlicense: mit\n"), 1, EQ_MC_NOT_MAP, "empty");
    code(CARD("---\n- license: mit\n---\n"), 1, EQ_MC_NOT_MAP, "list");
    /* no closing line: the rest of the file is the front matter */
    card_ok(CARD("---\nlicense: mit\ntags:\n- x"), "{\"license\":\"mit\",\"tags\":[\"x\"]}");
    code(CARD("---\nlicense: mit\n# Title\nSome text\n"), 1, EQ_MC_BAD, "line 4");   /* message: the card's line */
    /* line breaks as Python reads and splits them */
    card_ok(CARD("---\r\nlicense: mit\r\ntags:\r\n- a\r\n---\r\n"), "{\"license\":\"mit\",\"tags\":[\"a\"]}");
    card_ok(CARD("---\rlicense: mit\r---\r"), "{\"license\":\"mit\"}");
    card_ok(CARD("---\nlicense: mit\x0btags: [a]\x0c---\n"), "{\"license\":\"mit\",\"tags\":[\"a\"]}");
    card_ok(CARD("---\nlicense: mit\x1ctags: [a]\x1d\x1e---\n"), "{\"license\":\"mit\",\"tags\":[\"a\"]}");
    card_ok(CARD("---\nlicense: mit\xc2\x85tags: [a]\xe2\x80\xa8\xe2\x80\xa9---\n"), "{\"license\":\"mit\",\"tags\":[\"a\"]}");
    card_ok(CARD("---\xe2\x80\xa9license: mit\n"), "{\"license\":\"mit\"}");
    code(CARD("---\nlicense: mit\x1f\n---\n"), 1, EQ_MC_BAD, "U+001F");
    /* the script's two text fixes: "- no" quoted (only that exact text), tabs made spaces */
    card_ok(CARD("---\nlanguage:\n- no\n- No\n-  no\n- no \n- \"no\"\n- nothing\n---\n"),
            "{\"language\":[\"no\",false,false,false,\"no\",\"nothing\"]}");
    card_ok(CARD("---\nlanguage: [en, no]\nx: no\n"), "{\"language\":[\"en\",false],\"x\":false}");
    card_ok(CARD("---\ntags:\n\t- a\n\t-\tb\nd: \"x\ty\"\n---\n"), "{\"tags\":[\"a\",\"b\"],\"d\":\"x  y\"}");
    /* a byte order mark inside the front matter is kept as text */
    card_ok(CARD("---\nlicense: \xef\xbb\xbfmit\n---\n"), "{\"license\":\"\xef\xbb\xbfmit\"}");
    /* the whole file must be UTF-8, body included (Python reads all of it) */
    code(CARD("---\nlicense: mit\n---\nbody \xff\n"), 1, EQ_MC_BAD, "UTF-8");
}

/* ---------------------------------------------------------------- hostile input */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* Parse (both entry points); only the code and a message are asked for: no crash, no leak,
 * no read past len (the buffer is copied into an exact-size allocation for ASan). */
static int survive(const char *s, size_t n, int card) {
    char *c = malloc(n ? n : 1);
    if (n) memcpy(c, s, n);
    eq_mc *doc = NULL;
    char msg[128];
    int r = card ? eq_mc_parse_card(c, n, &doc, msg, sizeof msg) : eq_mc_parse_yaml(c, n, &doc, msg, sizeof msg);
    if (r == EQ_MC_OK) {
        buf o = {0};
        render(&o, eq_mc_root(doc));   /* walk every node */
        free(o.b);
    }
    eq_mc_free(doc);
    free(c);
    return r;
}

static void test_hostile(void) {
    size_t big = 4u << 20;
    char *s = malloc(big + 64);
    /* huge indentation */
    memcpy(s, "---\n", 4);
    memset(s + 4, ' ', big);
    memcpy(s + 4 + big, "k: v\n", 5);
    CHECK(survive(s, big + 9, 1) == EQ_MC_OK);
    memcpy(s, "k:\n", 3);
    memset(s + 3, ' ', big);
    memcpy(s + 3 + big, "- x\n", 4);
    CHECK(survive(s, big + 7, 0) == EQ_MC_OK);
    /* a very long line: one key, a long plain / quoted value, a long key */
    memcpy(s, "k: ", 3);
    memset(s + 3, 'x', big);
    CHECK(survive(s, big + 3, 0) == EQ_MC_OK);
    s[3] = '"';
    CHECK(survive(s, big + 3, 0) == EQ_MC_BAD);   /* never closed */
    s[big + 2] = '"';
    CHECK(survive(s, big + 3, 0) == EQ_MC_OK);
    memset(s, 'k', big);
    memcpy(s + big, ": v\n", 4);
    CHECK(survive(s, big + 4, 0) == EQ_MC_OK);
    /* unterminated everything */
    const char *unterminated[] = {"a: 'x", "a: \"x\\", "a: [x,", "a: {x: ", "a: |\n", "a: >-", "a: &", "a: !", "a: \"\\u12",
                                  "---\na: 'x\n", "a: [\"x", "a: [{[{[", "- - - - -", "a:\n  - b:\n      - c: ["};
    for (size_t i = 0; i < sizeof unterminated / sizeof *unterminated; i++) {
        survive(unterminated[i], strlen(unterminated[i]), 0);
        survive(unterminated[i], strlen(unterminated[i]), 1);
    }
    CHECK(survive("a: 'x", 5, 0) == EQ_MC_BAD && survive("a: [x,", 6, 0) == EQ_MC_BAD);
    /* nesting past the limit: flow, block and compact lists */
    size_t n = 0;
    n += (size_t)sprintf(s, "a: ");
    for (int i = 0; i < 100000; i++) s[n++] = '[';
    CHECK(survive(s, n, 0) == EQ_MC_BAD);
    n = 0;
    for (int i = 0; i < 200; i++) {
        memset(s + n, ' ', (size_t)i);
        n += (size_t)i;
        n += (size_t)sprintf(s + n, "k:\n");
    }
    CHECK(survive(s, n, 0) == EQ_MC_BAD);
    n = 0;
    for (int i = 0; i < 100000; i++) { s[n++] = '-'; s[n++] = ' '; }
    CHECK(survive(s, n, 0) == EQ_MC_BAD);
    n = 0;
    for (int i = 0; i < EQ_MC_MAX_DEPTH - 1; i++) s[n++] = '[';
    for (int i = 0; i < EQ_MC_MAX_DEPTH - 1; i++) s[n++] = ']';
    CHECK(survive(s, n, 0) == EQ_MC_NOT_MAP);   /* just inside the limit */
    /* too many values */
    n = (size_t)sprintf(s, "a: [");
    for (unsigned i = 0; i < EQ_MC_MAX_NODES + 10; i++) { s[n++] = '1'; s[n++] = ','; }
    s[n++] = ']';
    CHECK(survive(s, n, 0) == EQ_MC_BAD);
    /* binary garbage, and garbage after a valid start */
    for (int t = 0; t < 300; t++) {
        size_t len = rnd() % 2000;
        size_t off = t % 2 ? 0 : (size_t)sprintf(s, "---\n");
        for (size_t i = 0; i < len; i++) s[off + i] = (char)rnd();
        survive(s, off + len, 1);
        survive(s, off + len, 0);
    }
    /* mutations of a realistic card: bytes replaced, dropped and repeated */
    static const char seed[] =
        "---\nlicense: apache-2.0\nlanguage:\n- en\n- no\ntags: [chat, 'x', \"y\\u00e9\"]\nbase_model:\n  - org/name-7B-v0.1\n"
        "  - name: n\n    version: '1'\ndescription: >-\n  folded\n  text\n\n  more\nextra: |\n   lit\n  \nwidget:\n- text: \"a \\\n  b\"\n"
        "model-index:\n- name: m\n  results: [{task: {type: t}}, &a x, *a, !!str y]\nx: 'it''s'  # c\n---\nbody\n";
    for (int t = 0; t < 20000; t++) {
        size_t len = sizeof seed - 1;
        memcpy(s, seed, len);
        int edits = 1 + (int)(rnd() % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = rnd() % len;
            static const char pick[] = " \n:-#'\"[]{},|>&*!?\\\t\r\x85\xc2\xe2";
            switch (rnd() % 4) {
            case 0: s[at] = pick[rnd() % (sizeof pick - 1)]; break;
            case 1: memmove(s + at, s + at + 1, len - at - 1); len--; break;
            case 2: if (len < 4000) { memmove(s + at + 1, s + at, len - at); s[at] = pick[rnd() % (sizeof pick - 1)]; len++; } break;
            default: {
                size_t k = rnd() % 16;
                if (at >= k && len + k < 4000) { memmove(s + at + k, s + at, len - at); memcpy(s + at, s + at - k, k); len += k; }
            }
            }
        }
        survive(s, len, (int)(t & 1));
    }
    CHECK(1);   /* reaching here is the check */
    free(s);
}

int main(void) {
    test_scalars();
    test_collections();
    test_yaml_errors();
    test_card();
    test_hostile();
    return eqt_done();
}
