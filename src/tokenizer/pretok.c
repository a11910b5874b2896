/* Pre-tokenizer table and word splitting; see pretok.h.
 *
 * Each pre-tokenizer is a list of regexes applied in turn, each one splitting every piece the
 * previous left (matches and the gaps between them both become pieces). The common ones have
 * hand-written splitters (as llama.cpp does); the rest run through regex.c, over code points or
 * over llama.cpp's "collapsed" text where every non-ASCII code point is replaced by one byte
 * standing for its category, so \p{L} and friends behave exactly as they do there. */
#include "tokenizer/pretok.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

#include <stdlib.h>
#include <string.h>

/* the regexes (from the models' tokenizer.json, as adapted by llama.cpp) */
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RE_LLAMA3 "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2 "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN35 "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_NEWLINES "[^\\n]+|[\\n]+"
#define RE_CONTRACT "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define RE_GPT4O_TAIL "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_DS3 "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"

typedef struct {
    const char *names;      /* '|'-separated tokenizer.ggml.pre values */
    const char *re[6];
    int ignore_merges, add_bos, escape_ws, raw_utf8, no_bos;
} pre_def;

static const pre_def k_pre[] = {
    { "default",
      { "[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]" }, 0, -1, 0, 0, 0 },
    { "llama3|llama-v3|llama-bpe|falcon3|falcon-h1|pixtral|midm-2.0|lfm2|jina-v5-nano",
      { RE_LLAMA3 }, 1, 1, 0, 0, 0 },
    { "dbrx|smaug-bpe", { RE_LLAMA3 }, 0, -1, 0, 0, 0 },
    { "glm4|chatglm-bpe", { RE_LLAMA3 }, 0, -1, 0, 0, 1 },
    { "jais-2",
      { RE_CONTRACT "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}" },
      0, -1, 0, 0, 0 },
    { "deepseek-llm",
      { "[\r\n]",
        "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
        "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
        "\\s+$",
        "[一-龥ࠀ-一가-퟿]+",
        "\\p{N}+" }, 0, -1, 0, 0, 0 },
    { "deepseek-coder",
      { "[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}" }, 0, -1, 0, 0, 0 },
    { "deepseek-v3|hunyuan-dense|joyai-llm|hy_v4",
      { "\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
        RE_DS3 "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+" }, 0, -1, 0, 0, 0 },
    { "spark2_5",
      { "\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
        RE_DS3 "| ?[\\p{P}\\p{S}]+|[\r\n]|\\s+(?!\\S)|\\s+", "\\p{N}" }, 0, -1, 0, 0, 0 },
    { "falcon",
      { "[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]" }, 0, -1, 0, 0, 0 },
    { "starcoder|refact|command-r|smollm|codeshell|exaone|minerva-7b|mellum2",
      { "\\p{N}", RE_GPT2 }, 0, -1, 0, 0, 0 },
    { "gpt-2|phi-2|jina-es|jina-de|gigachat|jina-v2-es|jina-v2-de|a.x-4.0|mellum|modern-bert|"
      "exaone4|mpt|olmo|jais|trillion|granite-docling",
      { RE_GPT2 }, 0, -1, 0, 0, 0 },
    { "qwen2|deepseek-r1-qwen|kormo|f2llmv2|megrez|stablelm2|hunyuan|solar-open|grok-2",
      { RE_QWEN2 }, 0, -1, 0, 0, 0 },
    { "qwen35", { RE_QWEN35 }, 0, -1, 0, 0, 0 },
    { "poro-chat|bloom|gpt3-finnish", { " ?[^(\\s|.,!?…。，、।۔،)]+" }, 0, -1, 0, 0, 0 },
    { "viking", { " ?[^(\\s|.,!?…。，、।۔،)]+", "\\p{N}" }, 0, -1, 0, 0, 0 },
    { "tekken",
      { "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
      1, 1, 0, 0, 0 },
    { "chameleon",
      { "<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
        "[\\p{P}!-/:-@\\[-`{-~]", RE_GPT2 }, 0, 1, 0, 0, 0 },
    { "gpt-4o|llama4|kanana2|talkie|minimax-m2",
      { "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+" RE_CONTRACT "?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*" RE_CONTRACT "?" RE_GPT4O_TAIL },
      0, -1, 0, 0, 0 },
    { "granite-embed-multi-97m",
      { "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))*((?=[\\p{L}\\p{M}])([^A-Z]))+" RE_CONTRACT "?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))+((?=[\\p{L}\\p{M}])([^A-Z]))*" RE_CONTRACT "?" RE_GPT4O_TAIL },
      1, -1, 0, 0, 0 },
    { "bailingmoe|bailingmoe2|llada-moe",
      { "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+" },
      0, -1, 0, 0, 0 },
    { "seed-coder",
      { RE_CONTRACT "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
      0, -1, 0, 0, 0 },
    { "ufakzeka",
      { "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
      0, -1, 0, 0, 0 },
    { "laguna", { RE_NEWLINES, RE_QWEN2 }, 0, -1, 0, 0, 0 },
    { "exaone-moe",
      { RE_CONTRACT "|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+" },
      0, -1, 0, 0, 0 },
    { "minicpm5",
      { "\\p{N}{1,3}", RE_CONTRACT "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
      1, -1, 0, 0, 0 },
    { "gemma4|granite-embed-multi-311m|sarvam-moe", { RE_NEWLINES }, 0, -1, 1, 1, 0 },
};

enum { SPLIT_REGEX, SPLIT_GPT2, SPLIT_LLAMA3, SPLIT_QWEN2, SPLIT_QWEN35, SPLIT_NEWLINES };

typedef struct {
    int kind;
    int collapsed;   /* regex over collapsed categories rather than code points */
    eq_re *re;
} splitter;

struct eq_pretok {
    splitter sp[6];
    int n;
    int need_collapse;
    int byte_encode;
};

static int name_in(const char *names, const char *name) {
    size_t len = strlen(name);
    for (const char *p = names;;) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == len && !memcmp(p, name, len)) return 1;
        if (!bar) return 0;
        p = bar + 1;
    }
}

/* the \p{..} llama.cpp knows, and the byte + ASCII members it rewrites them to */
static const struct { const char *name; uint8_t byte; const char *ascii; } k_ucat[] = {
    { "\\p{N}", 0xD1, "0-9" },
    { "\\p{L}", 0xD2, "A-Za-z" },
    { "\\p{P}", 0xD3, "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}" },
    { "\\p{M}", 0xD4, "" },
    { "\\p{S}", 0xD5, "\\$\\+<->^`\\|\\~" },
    { "\\p{Lu}", 0xD2, "A-Za-z" }, { "\\p{Ll}", 0xD2, "A-Za-z" }, { "\\p{Lt}", 0xD2, "A-Za-z" },
    { "\\p{Lm}", 0xD2, "A-Za-z" }, { "\\p{Lo}", 0xD2, "A-Za-z" },
};

static int uses_category(const char *re) {
    for (size_t i = 0; i < sizeof k_ucat / sizeof k_ucat[0]; i++)
        if (strstr(re, k_ucat[i].name)) return 1;
    return 0;
}

static uint32_t collapse_cp(uint32_t cp) {
    if (cp < 128) return cp;
    unsigned f = eq_ucp_flags(cp);
    if (f & EQ_U_SPACE) return 0x0B;   /* std::regex's \s knows no non-ASCII space */
    switch (f & EQ_U_CATEGORIES) {
    case EQ_U_NUMBER: return 0xD1;
    case EQ_U_LETTER: return 0xD2;
    case EQ_U_PUNCT:  return 0xD3;
    case EQ_U_MARK:   return 0xD4;
    case EQ_U_SYMBOL: return 0xD5;
    default:          return 0xD0;
    }
}

/* Compile one regex: the pattern as units, rewritten to the collapsed form when it uses
 * categories (the same textual rewrite llama.cpp does, so quirks carry over). */
static eq_re *compile(const char *re, int collapsed) {
    size_t len = strlen(re);
    uint32_t *u = malloc((len * 16 + 16) * sizeof *u);
    if (!u) return NULL;
    size_t n = 0;
    if (!collapsed) {
        for (size_t off = 0; off < len;) u[n++] = eq_utf8_next((const uint8_t *)re, len, &off);
    } else {
        int inside = 0;
        for (size_t i = 0; i < len; i++) {
            if ((uint8_t)re[i] >= 0x80) { free(u); return NULL; }
            if (re[i] == '[' && (i == 0 || re[i - 1] != '\\')) { u[n++] = '['; inside = 1; continue; }
            if (inside && re[i] == ']' && re[i - 1] != '\\') { u[n++] = ']'; inside = 0; continue; }
            if (re[i] == '\\' && i + 3 < len && re[i + 1] == 'p' && re[i + 2] == '{') {
                const char *close = strchr(re + i + 3, '}');
                if (close && (size_t)(close - re) <= i + 10) {
                    size_t plen = (size_t)(close - re) - i + 1, k;
                    for (k = 0; k < sizeof k_ucat / sizeof k_ucat[0]; k++)
                        if (strlen(k_ucat[k].name) == plen && !memcmp(k_ucat[k].name, re + i, plen)) break;
                    if (k < sizeof k_ucat / sizeof k_ucat[0]) {
                        if (!inside) u[n++] = '[';
                        u[n++] = k_ucat[k].byte;
                        for (const char *a = k_ucat[k].ascii; *a; a++) u[n++] = (uint8_t)*a;
                        if (!inside) u[n++] = ']';
                        i = (size_t)(close - re);
                        continue;
                    }
                }
            }
            u[n++] = (uint8_t)re[i];
        }
    }
    eq_re *r = eq_re_compile(u, n);
    free(u);
    return r;
}

void eq_pretok_free(eq_pretok *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) eq_re_free(p->sp[i].re);
    free(p);
}

eq_status eq_pretok_new(const char *name, eq_pretok **out, eq_pretok_info *info) {
    *out = NULL;
    if (!name || !*name) name = "default";
    const pre_def *d = NULL;
    for (size_t i = 0; i < sizeof k_pre / sizeof k_pre[0] && !d; i++)
        if (name_in(k_pre[i].names, name)) d = &k_pre[i];
    if (!d) return EQ_ERR_UNSUPPORTED;
    eq_pretok *p = calloc(1, sizeof *p);
    if (!p) return EQ_ERR_NOMEM;
    p->byte_encode = !d->raw_utf8;
    for (int i = 0; i < 6 && d->re[i]; i++) {
        splitter *s = &p->sp[p->n++];
        const char *re = d->re[i];
        if (!strcmp(re, RE_GPT2)) s->kind = SPLIT_GPT2;
        else if (!strcmp(re, RE_LLAMA3)) s->kind = SPLIT_LLAMA3;
        else if (!strcmp(re, RE_QWEN2)) s->kind = SPLIT_QWEN2;
        else if (!strcmp(re, RE_QWEN35)) s->kind = SPLIT_QWEN35;
        else if (!strcmp(re, RE_NEWLINES)) s->kind = SPLIT_NEWLINES;
        else {
            s->kind = SPLIT_REGEX;
            s->collapsed = uses_category(re);
            s->re = compile(re, s->collapsed);
            if (!s->re) { eq_pretok_free(p); return EQ_ERR_UNSUPPORTED; }
        }
        if (uses_category(re)) p->need_collapse = 1;
    }
    if (info) {
        info->ignore_merges = d->ignore_merges;
        info->add_bos = d->add_bos;
        info->escape_whitespace = d->escape_ws;
        info->byte_encode = !d->raw_utf8;
        info->no_bos = d->no_bos;
    }
    *out = p;
    return EQ_OK;
}

/* ---- splitting ---- */

typedef struct { size_t *v; size_t n, cap; } lens;

static int lens_push(lens *l, size_t x) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        size_t *v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = x;
    return 0;
}

#define OOR 0xFFFFFFFFu   /* outside the piece */

static inline uint32_t cpt_at(const uint32_t *cp, size_t ini, size_t end, size_t p) {
    return p >= ini && p < end ? cp[p] : OOR;
}

static inline unsigned fl_at(const uint16_t *fl, size_t ini, size_t end, size_t p) {
    return p >= ini && p < end ? fl[p] : 0u;
}

/* Hand-written forms of the GPT-2, Llama-3, Qwen2 and Qwen3.5 regexes (see RE_*), splitting
 * the piece [ini, end) of cps; they replace regex matching for speed and mirror llama.cpp's
 * own splitters, quirks included. */
static int split_custom(int kind, const uint32_t *cp, const uint16_t *fl, size_t ini, size_t end, lens *out) {
#define CPT(p) cpt_at(cp, ini, end, (p))
#define FL(p) fl_at(fl, ini, end, (p))
#define ADD(e) do { size_t e_ = (e); if (e_ > prev && lens_push(out, e_ - prev)) return -1; prev = e_; } while (0)
    size_t prev = ini, pos = ini;
    if (kind == SPLIT_NEWLINES) {
        while (pos < end) {
            int nl = cp[pos] == '\n';
            while (pos < end && (cp[pos] == '\n') == nl) pos++;
            ADD(pos);
        }
        return 0;
    }
    const int fold = kind != SPLIT_GPT2;   /* (?i:...) contractions */
    const unsigned word = kind == SPLIT_QWEN35 ? (EQ_U_LETTER | EQ_U_MARK) : EQ_U_LETTER;
    while (pos < end) {
        const uint32_t c = CPT(pos);
        const unsigned f = FL(pos);
        if (c == '\'' && pos + 1 < end) {
            uint32_t n1 = CPT(pos + 1);
            if (fold && n1 >= 'A' && n1 <= 'Z') n1 += 32;
            if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') { pos += 2; ADD(pos); continue; }
            if (pos + 2 < end) {
                uint32_t n2 = CPT(pos + 2);
                if (fold && n2 >= 'A' && n2 <= 'Z') n2 += 32;
                if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) {
                    pos += 3; ADD(pos); continue;
                }
            }
        }
        if (kind == SPLIT_GPT2) {
            unsigned f2 = c == ' ' ? FL(pos + 1) : f;
            if (f2 & EQ_U_LETTER) {           /*  ?\p{L}+ */
                pos += c == ' ';
                while (f2 & EQ_U_LETTER) f2 = FL(++pos);
                ADD(pos); continue;
            }
            if (f2 & EQ_U_NUMBER) {           /*  ?\p{N}+ */
                pos += c == ' ';
                while (f2 & EQ_U_NUMBER) f2 = FL(++pos);
                ADD(pos); continue;
            }
            if (!(f2 & (EQ_U_SPACE | EQ_U_LETTER | EQ_U_NUMBER)) && f2) {   /*  ?[^\s\p{L}\p{N}]+ */
                pos += c == ' ';
                while (!(f2 & (EQ_U_SPACE | EQ_U_LETTER | EQ_U_NUMBER)) && f2) f2 = FL(++pos);
                ADD(pos); continue;
            }
            size_t nws = 0;
            while (FL(pos + nws) & EQ_U_SPACE) nws++;
            if (nws > 1 && CPT(pos + nws) != OOR) { pos += nws - 1; ADD(pos); continue; }  /* \s+(?!\S) */
            if (nws > 0) { pos += nws; ADD(pos); continue; }
            ADD(++pos);
            continue;
        }
        /* [^\r\n\p{L}\p{N}]?\p{L}+  (Qwen3.5: [\p{L}\p{M}]+) */
        if (!(c == '\r' || c == '\n' || (f & EQ_U_NUMBER))) {
            if ((f & word) || (FL(pos + 1) & word)) {
                pos++;
                while (FL(pos) & word) pos++;
                ADD(pos); continue;
            }
        }
        if (f & EQ_U_NUMBER) {
            if (kind == SPLIT_LLAMA3) {       /* \p{N}{1,3} */
                size_t n0 = pos;
                while (FL(pos) & EQ_U_NUMBER) {
                    if (++pos - n0 >= 3) { ADD(pos); n0 = pos; }
                }
                ADD(pos);
            } else {                          /* \p{N} */
                ADD(++pos);
            }
            continue;
        }
        /*  ?[^\s\p{L}\p{N}]+[\r\n]*  (Qwen3.5 also excludes \p{M}); the first test reads the
         * flags of the current code point, which are never empty inside the piece */
        const unsigned stop = EQ_U_SPACE | EQ_U_LETTER | EQ_U_NUMBER | (kind == SPLIT_QWEN35 ? EQ_U_MARK : 0);
        unsigned f2 = c == ' ' ? FL(pos + 1) : f;
        if (!(f2 & stop) && f) {
            pos += c == ' ';
            while (!(f2 & stop) && f2) f2 = FL(++pos);
            uint32_t c2 = CPT(pos);
            while (c2 == '\r' || c2 == '\n') c2 = CPT(++pos);
            ADD(pos); continue;
        }
        size_t nws = 0, last_rn = 0;
        while (FL(pos + nws) & EQ_U_SPACE) {
            uint32_t c2 = CPT(pos + nws);
            if (c2 == '\r' || c2 == '\n') last_rn = pos + nws + 1;
            nws++;
        }
        if (last_rn > 0) { pos = last_rn; ADD(pos); continue; }                        /* \s*[\r\n]+ */
        if (nws > 1 && CPT(pos + nws) != OOR) { pos += nws - 1; ADD(pos); continue; }  /* \s+(?!\S) */
        if (nws > 0) { pos += nws; ADD(pos); continue; }                               /* \s+ */
        ADD(++pos);
    }
    return 0;
#undef CPT
#undef FL
#undef ADD
}

/* std::regex_iterator over the piece: matches and the gaps between them become pieces */
static int split_regex(const eq_re *re, const uint32_t *units, size_t ini, size_t end, lens *out) {
    size_t at = 0, n = end - ini, ms, me;
    const uint32_t *t = units + ini;
    while (at < n) {
        int r = eq_re_search(re, t, n, at, &ms, &me);
        if (r <= 0) break;
        if (ms > at && lens_push(out, ms - at)) return -1;
        if (lens_push(out, me - ms)) return -1;
        at = me;
    }
    if (at < n && lens_push(out, n - at)) return -1;
    return 0;
}

static int words_put(eq_words *w, const uint8_t *b, size_t n) {
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n) cap *= 2;
        uint8_t *nb = realloc(w->buf, cap);
        if (!nb) return -1;
        w->buf = nb;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, b, n);
    w->len += n;
    return 0;
}

static int words_end(eq_words *w) {
    if (w->n == w->ncap) {
        size_t cap = w->ncap ? w->ncap * 2 : 64;
        size_t *e = realloc(w->end, cap * sizeof *e);
        if (!e) return -1;
        w->end = e;
        w->ncap = cap;
    }
    w->end[w->n++] = w->len;
    return 0;
}

void eq_words_free(eq_words *w) {
    free(w->buf);
    free(w->end);
    memset(w, 0, sizeof *w);
}

eq_status eq_pretok_split(const eq_pretok *p, const char *text, size_t len, eq_words *w) {
    w->len = 0;
    w->n = 0;
    if (len == 0) return EQ_OK;
    eq_status st = EQ_ERR_NOMEM;
    uint32_t *cp = malloc(len * sizeof *cp), *wide = NULL, *coll = NULL;
    uint16_t *fl = malloc(len * sizeof *fl);
    lens a = { 0 }, b = { 0 };
    if (!cp || !fl) goto done;
    size_t n = 0;
    for (size_t off = 0; off < len;) cp[n++] = eq_utf8_next((const uint8_t *)text, len, &off);
    for (size_t i = 0; i < n; i++) fl[i] = (uint16_t)eq_ucp_flags(cp[i]);
    if (lens_push(&a, n)) goto done;
    for (int s = 0; s < p->n; s++) {
        const splitter *sp = &p->sp[s];
        const uint32_t *units = NULL;
        if (sp->kind == SPLIT_REGEX) {
            if (sp->collapsed) {
                if (!coll) {
                    if (!(coll = malloc(n * sizeof *coll))) goto done;
                    for (size_t i = 0; i < n; i++) coll[i] = collapse_cp(cp[i]);
                }
                units = coll;
            } else {
                if (!wide) {
                    if (!(wide = malloc(n * sizeof *wide))) goto done;
                    for (size_t i = 0; i < n; i++)
                        wide[i] = cp[i] > 0x7F && (fl[i] & EQ_U_SPACE) ? 0x0B : cp[i];
                }
                units = wide;
            }
        }
        b.n = 0;
        size_t start = 0;
        for (size_t i = 0; i < a.n; i++) {
            size_t end = start + a.v[i];
            int r = sp->kind == SPLIT_REGEX ? split_regex(sp->re, units, start, end, &b)
                                            : split_custom(sp->kind, cp, fl, start, end, &b);
            if (r) goto done;
            start = end;
        }
        lens t = a; a = b; b = t;
    }
    size_t start = 0;
    for (size_t i = 0; i < a.n; i++) {
        for (size_t k = start; k < start + a.v[i]; k++) {
            uint8_t u[4], e[8];
            int m = eq_utf8_put(cp[k], u);
            if (p->byte_encode) {
                int me = 0;
                for (int j = 0; j < m; j++) me += eq_utf8_put(eq_byte_to_ucp(u[j]), e + me);
                if (words_put(w, e, (size_t)me)) goto done;
            } else if (words_put(w, u, (size_t)m)) goto done;
        }
        if (words_end(w)) goto done;
        start += a.v[i];
    }
    st = EQ_OK;
done:
    free(cp); free(fl); free(wide); free(coll); free(a.v); free(b.v);
    return st;
}
