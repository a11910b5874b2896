/* Vocabulary loading from GGUF metadata, special-token handling and token -> text, matching
 * llama.cpp's llama_vocab (defaults, auto-detected end-of-generation tokens, attributes).
 * Tokenizing is in tokenize.c, above this file and the tokenizers it dispatches to. */
#include "tokenizer/vocab_impl.h"
#include "tokenizer/unicode.h"
#include "runtime/status.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---- */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 0x100000001b3ull; }
    return h;
}
#define FNV0 0xcbf29ce484222325ull

void eq_tokbuf_push(eq_tokbuf *b, eq_token t) {
    if (b->oom) return;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        eq_token *v = realloc(b->v, cap * sizeof *v);
        if (!v) { b->oom = 1; return; }
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = t;
}


static size_t pow2_at_least(size_t n) {
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

eq_token eq_vocab_find(const eq_vocab *v, const char *s, size_t n) {
    size_t i = (size_t)fnv(FNV0, s, n) & v->map_mask;
    for (;; i = (i + 1) & v->map_mask) {
        uint32_t e = v->map[i];
        if (!e) return -1;
        eq_token t = (eq_token)(e - 1);
        if (v->len[t] == n && !memcmp(v->text + v->off[t], s, n)) return t;
    }
}

static uint64_t merge_hash(const char *a, size_t na, const char *b, size_t nb) {
    uint64_t h = fnv(FNV0, a, na);
    h = fnv(h, "\xff", 1);   /* never inside UTF-8 text, so (a, b) splits cannot collide */
    return fnv(h, b, nb);
}

int eq_vocab_merge_rank(const eq_vocab *v, const char *a, size_t na, const char *b, size_t nb) {
    if (!v->mmap) return -1;
    size_t i = (size_t)merge_hash(a, na, b, nb) & v->mmap_mask;
    for (;; i = (i + 1) & v->mmap_mask) {
        uint32_t e = v->mmap[i];
        if (!e) return -1;
        int m = (int)(e - 1);
        const char *s = v->mtext + v->moff[m];
        if (v->mleft[m] == na && v->mright[m] == nb && !memcmp(s, a, na) &&
            !memcmp(s + v->mleft[m] + (v->mleft[m] || v->mright[m] ? 1 : 0), b, nb))
            return m;
    }
}

eq_token eq_vocab_byte_token(const eq_vocab *v, uint8_t c) {
    char buf[7];
    snprintf(buf, sizeof buf, "<0x%02X>", c);
    eq_token t = eq_vocab_find(v, buf, 6);
    if (t >= 0 || v->type == EQ_VOCAB_BPE) return t;
    return eq_vocab_find(v, (const char *)&c, 1);
}

static eq_token find_str(const eq_vocab *v, const char *s) { return eq_vocab_find(v, s, strlen(s)); }

/* ---- loading ---- */

void eq_vocab_free(eq_vocab *v) {
    if (!v) return;
    free(v->text); free(v->off); free(v->len); free(v->score); free(v->attr); free(v->map);
    free(v->mtext); free(v->moff); free(v->mleft); free(v->mright); free(v->mmap);
    free(v->special); free(v->eog);
    eq_pretok_free(v->pre);
    free(v);
}

static int get_bool(const eq_gguf *g, const char *key, int *out) {
    int b;
    if (!eq_gguf_get_bool(g, key, &b)) return 0;
    *out = b;
    return 1;
}

static eq_status load_merges(eq_vocab *v, const eq_gguf_kv *kv, char *eb, size_t el) {
    const char *key = "tokenizer.ggml.merges";
    if (kv->type != EQ_GGUF_ARRAY || kv->arr_type != EQ_GGUF_STRING || !kv->arr_str)
        return eq_errf(eb, el, EQ_ERR_FORMAT, "%s: expected an array of strings", key);
    if (kv->n > (uint64_t)INT32_MAX - 1) return eq_errf(eb, el, EQ_ERR_FORMAT, "%s: too many merges", key);
    int n = (int)kv->n;
    size_t total = 0;
    for (int i = 0; i < n; i++) total += (size_t)kv->arr_str_len[i] + 1;
    v->mtext = malloc(total ? total : 1);
    v->moff = malloc((size_t)(n ? n : 1) * sizeof *v->moff);
    v->mleft = malloc((size_t)(n ? n : 1) * sizeof *v->mleft);
    v->mright = malloc((size_t)(n ? n : 1) * sizeof *v->mright);
    v->mmap_mask = pow2_at_least((size_t)n * 2) - 1;
    v->mmap = calloc(v->mmap_mask + 1, sizeof *v->mmap);
    if (!v->mtext || !v->moff || !v->mleft || !v->mright || !v->mmap)
        return eq_errf(eb, el, EQ_ERR_NOMEM, "%s: out of memory", key);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        const char *s = kv->arr_str[i];
        size_t len = kv->arr_str_len[i];
        memcpy(v->mtext + at, s, len);
        v->mtext[at + len] = 0;
        v->moff[i] = at;
        /* "left right", split at the first space after the first byte; without one llama.cpp
         * files the merge under ("", "") */
        const char *sp = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
        if (sp) { v->mleft[i] = (uint32_t)(sp - s); v->mright[i] = (uint32_t)(len - (size_t)(sp - s) - 1); }
        else { v->mleft[i] = 0; v->mright[i] = 0; }
        at += len + 1;
        v->n_merges = i + 1;
        const char *a = v->mtext + v->moff[i];
        const char *b = a + v->mleft[i] + (sp ? 1 : 0);
        if (eq_vocab_merge_rank(v, a, v->mleft[i], b, v->mright[i]) >= 0) continue;  /* first rank wins */
        size_t h = (size_t)merge_hash(a, v->mleft[i], b, v->mright[i]) & v->mmap_mask;
        while (v->mmap[h]) h = (h + 1) & v->mmap_mask;
        v->mmap[h] = (uint32_t)i + 1;
    }
    return EQ_OK;
}

static const char *const k_eot_names[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "[EOT]", "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>",
    "<end_of_utterance>", NULL };
static const char *const k_eom_names[] = { "<|eom_id|>", NULL };
static const char *const k_fim_pre[] = { "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
    "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>", "<PRE>", "\xe2\x96\x81<PRE>",
    "<|code_prefix|>", "<|prefix|>", NULL };
static const char *const k_fim_suf[] = { "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
    "<\xef\xbd\x9c" "fim\xe2\x96\x81" "hole\xef\xbd\x9c>", "<SUF>", "\xe2\x96\x81<SUF>",
    "<|code_suffix|>", "<|suffix|>", NULL };
static const char *const k_fim_mid[] = { "<|fim_middle|>", "<fim-middle>", "<fim_middle>",
    "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>", "<MID>", "\xe2\x96\x81<MID>",
    "<|code_middle|>", "<|middle|>", NULL };
static const char *const k_fim_pad[] = { "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL };
static const char *const k_fim_rep[] = { "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", NULL };
static const char *const k_fim_sep[] = { "<|file_sep|>", NULL };
static const char *const k_eog_names[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>", "[e~[", NULL };

/* When the id is not set by a key, take the first token named in the list (by list order:
 * llama.cpp's hash-map order is unspecified) and make it a control token. */
static void detect(eq_vocab *v, eq_token *id, const char *const *names) {
    if (*id >= 0) return;
    for (int i = 0; names[i]; i++) {
        eq_token t = find_str(v, names[i]);
        if (t >= 0) { *id = t; v->attr[t] |= EQ_ATTR_CONTROL; return; }
    }
}

static int eog_has(const eq_vocab *v, eq_token t) {
    for (int i = 0; i < v->n_eog; i++) if (v->eog[i] == t) return 1;
    return 0;
}

static void eog_add(eq_vocab *v, eq_token t) {
    if (t >= 0 && t < v->n && !eog_has(v, t)) v->eog[v->n_eog++] = t;
}

static void eog_del(eq_vocab *v, eq_token t) {
    for (int i = 0; i < v->n_eog; i++)
        if (v->eog[i] == t) { v->eog[i] = v->eog[--v->n_eog]; return; }
}

static int tok_is(const eq_vocab *v, eq_token t, const char *s) {
    return v->len[t] == strlen(s) && !memcmp(v->text + v->off[t], s, v->len[t]);
}

static int cmp_tok(const void *a, const void *b) {
    eq_token x = *(const eq_token *)a, y = *(const eq_token *)b;
    return (x > y) - (x < y);
}

/* sort specials longest first; ties by id so the order is deterministic */
typedef struct { uint32_t len; eq_token id; } spec_key;
static int cmp_spec(const void *a, const void *b) {
    const spec_key *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

/* ---- loading: one step per concern, each on the vocabulary being built ---- */

/* SentencePiece ("llama"): llama.cpp's defaults for its ids and flags */
static void init_spm(eq_vocab *v) {
    v->type = EQ_VOCAB_SPM;
    v->bos = 1; v->eos = 2; v->unk = 0;
    v->add_space_prefix = 1;
    v->add_bos = 1;
}

/* byte-level BPE ("gpt2", "gemma4"): the pre-tokenizer decides the splitting and some BOS
 * settings; *pre becomes "gemma4" for that model whatever the key said */
static eq_status init_bpe(eq_vocab *v, const char *model, const char **pre, char *eb, size_t el) {
    eq_pretok_info pi = { 0, -1, 0, 1, 0 };
    v->type = EQ_VOCAB_BPE;
    if (!strcmp(model, "gemma4")) { *pre = "gemma4"; v->bos = v->eos = -1; }
    else v->bos = v->eos = 11;
    eq_status st = eq_pretok_new(*pre, &v->pre, &pi);
    if (st) return eq_errf(eb, el, st, "tokenizer.ggml.pre: pre-tokenizer '%s' is not supported", *pre ? *pre : "");
    v->ignore_merges = pi.ignore_merges;
    v->escape_whitespace = pi.escape_whitespace;
    v->byte_encode = pi.byte_encode;
    if (pi.add_bos >= 0) v->add_bos = pi.add_bos;
    if (pi.no_bos) v->bos = -1;
    if (!strcmp(*pre ? *pre : "", "gemma4")) v->add_bos = 1;
    return EQ_OK;
}

/* token texts, scores and types, and the text -> id map */
static eq_status load_tokens(eq_vocab *v, const eq_gguf *g, char *eb, size_t el) {
    const eq_gguf_kv *tk = eq_gguf_get(g, "tokenizer.ggml.tokens");
    if (!tk) return eq_errf(eb, el, EQ_ERR_FORMAT, "tokenizer.ggml.tokens: missing");
    if (tk->type != EQ_GGUF_ARRAY || tk->arr_type != EQ_GGUF_STRING || !tk->arr_str)
        return eq_errf(eb, el, EQ_ERR_FORMAT, "tokenizer.ggml.tokens: expected an array of strings");
    if (tk->n == 0 || tk->n > (uint64_t)INT32_MAX / 2)
        return eq_errf(eb, el, EQ_ERR_FORMAT, "tokenizer.ggml.tokens: bad token count %llu", (unsigned long long)tk->n);
    int n = v->n = (int)tk->n;

    const eq_gguf_kv *sc = eq_gguf_get(g, "tokenizer.ggml.scores");
    if (sc && (sc->type != EQ_GGUF_ARRAY || (sc->arr_type != EQ_GGUF_F32 && sc->arr_type != EQ_GGUF_I32) || !sc->arr))
        return eq_errf(eb, el, EQ_ERR_FORMAT, "tokenizer.ggml.scores: expected an array of f32 or i32");
    if (sc && sc->n < tk->n)
        return eq_errf(eb, el, EQ_ERR_FORMAT, "tokenizer.ggml.scores: %llu scores for %d tokens", (unsigned long long)sc->n, n);
    const eq_gguf_kv *tt = eq_gguf_get(g, "tokenizer.ggml.token_type");
    if (tt && (tt->type != EQ_GGUF_ARRAY || tt->arr_type != EQ_GGUF_I32 || !tt->arr))
        return eq_errf(eb, el, EQ_ERR_FORMAT, "tokenizer.ggml.token_type: expected an array of i32");
    if (tt && tt->n < tk->n)
        return eq_errf(eb, el, EQ_ERR_FORMAT, "tokenizer.ggml.token_type: %llu types for %d tokens", (unsigned long long)tt->n, n);

    size_t total = 0;
    for (int i = 0; i < n; i++) total += (tk->arr_str_len[i] ? tk->arr_str_len[i] : 24) + 1;
    v->text = malloc(total);
    v->off = malloc((size_t)n * sizeof *v->off);
    v->len = malloc((size_t)n * sizeof *v->len);
    v->score = malloc((size_t)n * sizeof *v->score);
    v->attr = malloc((size_t)n * sizeof *v->attr);
    v->map_mask = pow2_at_least((size_t)n * 2) - 1;
    v->map = calloc(v->map_mask + 1, sizeof *v->map);
    v->eog = malloc(((size_t)n + 8) * sizeof *v->eog);
    if (!v->text || !v->off || !v->len || !v->score || !v->attr || !v->map || !v->eog)
        return eq_errf(eb, el, EQ_ERR_NOMEM, "tokenizer.ggml.tokens: out of memory");
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        size_t len = tk->arr_str_len[i];
        if (len == 0) len = (size_t)snprintf(v->text + at, 25, "[EMPTY_%d]", i);   /* as llama.cpp */
        else memcpy(v->text + at, tk->arr_str[i], len);
        v->text[at + len] = 0;
        v->off[i] = at;
        v->len[i] = (uint32_t)len;
        at += len + 1;
        if (!sc) v->score[i] = 0.0f;
        else if (sc->arr_type == EQ_GGUF_F32) memcpy(&v->score[i], (const char *)sc->arr + 4 * (size_t)i, 4);
        else { int32_t x; memcpy(&x, (const char *)sc->arr + 4 * (size_t)i, 4); v->score[i] = (float)x; }
        uint16_t a = EQ_ATTR_NORMAL;
        if (tt) {
            int32_t ty;
            memcpy(&ty, (const char *)tt->arr + 4 * (size_t)i, 4);
            switch (ty) {
            case 1: a = EQ_ATTR_NORMAL; break;
            case 2: a = EQ_ATTR_UNKNOWN; break;
            case 3: a = EQ_ATTR_CONTROL; break;
            case 4: a = EQ_ATTR_USER_DEFINED; break;
            case 5: a = EQ_ATTR_UNUSED; break;
            case 6: a = EQ_ATTR_BYTE; break;
            default: a = 0; break;   /* undefined */
            }
        }
        v->attr[i] = a;
        /* a repeated text maps to its last id, as llama.cpp's map assignment does */
        eq_token prev = eq_vocab_find(v, v->text + v->off[i], len);
        size_t h = (size_t)fnv(FNV0, v->text + v->off[i], len) & v->map_mask;
        if (prev >= 0) {
            while (v->map[h] != (uint32_t)prev + 1) h = (h + 1) & v->map_mask;
        } else {
            while (v->map[h]) h = (h + 1) & v->map_mask;
        }
        v->map[h] = (uint32_t)i + 1;
    }
    return EQ_OK;
}

/* the special token ids from their keys (fim: the six fill-in-the-middle ids) and the
 * add_bos/add_eos flags */
static void load_special_ids(eq_vocab *v, const eq_gguf *g, const char *pre, eq_token fim[6]) {
    const int n = v->n;
    /* special token ids: defaults out of range are dropped, keys in range override */
    static const struct { const char *key; int which; } ids[] = {
        { "tokenizer.ggml.bos_token_id", 0 }, { "tokenizer.ggml.eos_token_id", 1 },
        { "tokenizer.ggml.eot_token_id", 2 }, { "tokenizer.ggml.eom_token_id", 3 },
        { "tokenizer.ggml.unknown_token_id", 4 }, { "tokenizer.ggml.seperator_token_id", 5 },
        { "tokenizer.ggml.padding_token_id", 6 },
    };
    eq_token *slot[7] = { &v->bos, &v->eos, &v->eot, &v->eom, &v->unk, &v->sep, &v->pad };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        eq_token *id = slot[ids[i].which];
        if (*id >= n) *id = -1;
        uint64_t u;
        if (eq_gguf_get_u64(g, ids[i].key, &u) && u < (uint64_t)n) *id = (eq_token)u;
    }
    static const char *const fim_keys[6][2] = {
        { "tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id" },
        { "tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id" },
        { "tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id" },
        { "tokenizer.ggml.fim_pad_token_id", NULL },
        { "tokenizer.ggml.fim_rep_token_id", NULL },
        { "tokenizer.ggml.fim_sep_token_id", NULL },
    };
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 2; k++) {
            uint64_t u;
            if (fim_keys[i][k] && eq_gguf_get_u64(g, fim_keys[i][k], &u) && u < (uint64_t)n) fim[i] = (eq_token)u;
        }
    get_bool(g, "tokenizer.ggml.add_bos_token", &v->add_bos);
    get_bool(g, "tokenizer.ggml.add_eos_token", &v->add_eos);
    if (v->type == EQ_VOCAB_BPE && pre && !strcmp(pre, "gemma4")) v->add_bos = 1;
}

/* control tokens found by their text, and the end-of-generation set */
static void mark_eog(eq_vocab *v, eq_token fim[6]) {
    /* tokens recognised by their text become control tokens */
    detect(v, &v->eot, k_eot_names);
    detect(v, &v->eom, k_eom_names);
    detect(v, &fim[0], k_fim_pre);
    detect(v, &fim[1], k_fim_suf);
    detect(v, &fim[2], k_fim_mid);
    detect(v, &fim[3], k_fim_pad);
    detect(v, &fim[4], k_fim_rep);
    detect(v, &fim[5], k_fim_sep);

    eog_add(v, fim[3]);
    eog_add(v, fim[4]);
    eog_add(v, fim[5]);
    for (int i = 0; k_eog_names[i]; i++) {
        eq_token t = find_str(v, k_eog_names[i]);
        if (t >= 0) { eog_add(v, t); v->attr[t] |= EQ_ATTR_CONTROL; }
    }
    /* gpt-oss: these structure tokens are always rendered */
    static const char *const k_render[] = { "<|channel|>", "<|message|>", "<|start|>", "<|constrain|>", NULL };
    for (int i = 0; k_render[i]; i++) {
        eq_token t = find_str(v, k_render[i]);
        if (t >= 0) v->attr[t] = EQ_ATTR_USER_DEFINED;
    }
    eog_add(v, v->eos);
    eog_add(v, v->eot);
    eog_add(v, v->eom);
    {   /* o200k_harmony / solar-open: <|end|> ends a message, not the generation */
        int has_ret = 0, has_call = 0, has_flush = 0;
        eq_token end = -1;
        for (int i = 0; i < v->n_eog; i++) {
            eq_token t = v->eog[i];
            if (tok_is(v, t, "<|return|>")) has_ret = 1;
            else if (tok_is(v, t, "<|call|>") || tok_is(v, t, "<|calls|>")) has_call = 1;
            else if (tok_is(v, t, "<|flush|>")) has_flush = 1;
            else if (tok_is(v, t, "<|end|>")) end = t;
        }
        if (end >= 0 && ((has_ret && has_call) || (has_call && has_flush))) {
            eog_del(v, end);
            v->attr[end] = EQ_ATTR_USER_DEFINED;
        }
    }
    {   /* gemma4: </s> is not an end of generation there */
        int has_tr = 0;
        eq_token s = -1;
        for (int i = 0; i < v->n_eog; i++) {
            if (tok_is(v, v->eog[i], "<|tool_response>")) has_tr = 1;
            else if (tok_is(v, v->eog[i], "</s>")) s = v->eog[i];
        }
        if (has_tr && s >= 0) { eog_del(v, s); v->attr[s] = EQ_ATTR_NORMAL; }
    }
    qsort(v->eog, (size_t)v->n_eog, sizeof *v->eog, cmp_tok);
}

/* the special tokens that partition text, longest first */
static eq_status index_specials(eq_vocab *v, char *eb, size_t el) {
    const int n = v->n;
    /* special tokens for partitioning text, longest first */
    int ns = 0;
    for (int i = 0; i < n; i++)
        if (v->attr[i] & (EQ_ATTR_CONTROL | EQ_ATTR_USER_DEFINED | EQ_ATTR_UNKNOWN)) ns++;
    spec_key *keys = malloc((size_t)(ns ? ns : 1) * sizeof *keys);
    v->special = malloc((size_t)(ns ? ns : 1) * sizeof *v->special);
    if (!keys || !v->special) {
        free(keys);
        return eq_errf(eb, el, EQ_ERR_NOMEM, "out of memory");
    }
    ns = 0;
    for (int i = 0; i < n; i++)
        if (v->attr[i] & (EQ_ATTR_CONTROL | EQ_ATTR_USER_DEFINED | EQ_ATTR_UNKNOWN)) {
            keys[ns].len = v->len[i];
            keys[ns].id = i;
            ns++;
        }
    qsort(keys, (size_t)ns, sizeof *keys, cmp_spec);
    for (int i = 0; i < ns; i++) v->special[i] = keys[i].id;
    v->n_special = ns;
    free(keys);
    return EQ_OK;
}

/* Phi-3: special tokens swallow the whitespace after them (llama.cpp keys this on the
 * model name) */
static void phi3_rstrip(eq_vocab *v, const eq_gguf *g) {
    const int ns = v->n_special;
    const char *name = eq_gguf_get_str(g, "general.name");
    if (name) {
        char low[256];
        size_t k = 0;
        for (; name[k] && k + 1 < sizeof low; k++) low[k] = (char)tolower((unsigned char)name[k]);
        low[k] = 0;
        if (strstr(low, "phi-3") || strstr(low, "phi3")) {
            for (int i = 0; i < ns; i++) v->attr[v->special[i]] |= EQ_ATTR_RSTRIP;
            eq_token t;
            if ((t = find_str(v, "</s>")) >= 0) v->attr[t] |= EQ_ATTR_RSTRIP;
            static const char *const keep[] = { "<unk>", "<s>", "<|endoftext|>" };
            for (int i = 0; i < 3; i++)
                if ((t = find_str(v, keep[i])) >= 0) v->attr[t] &= (uint16_t)~EQ_ATTR_RSTRIP;
        }
    }
}

eq_status eq_vocab_load(const eq_gguf *g, eq_vocab **out, char *eb, size_t el) {
    *out = NULL;
    if (eb && el) eb[0] = 0;
    const char *model = eq_gguf_get_str(g, "tokenizer.ggml.model");
    if (!model) {
        return eq_gguf_get(g, "tokenizer.ggml.model")
            ? eq_errf(eb, el, EQ_ERR_FORMAT, "tokenizer.ggml.model: expected a string")
            : eq_errf(eb, el, EQ_ERR_FORMAT, "tokenizer.ggml.model: missing");
    }
    const char *pre = eq_gguf_get_str(g, "tokenizer.ggml.pre");
    eq_vocab *v = calloc(1, sizeof *v);
    if (!v) return eq_errf(eb, el, EQ_ERR_NOMEM, "out of memory");
    v->bos = v->eos = v->eot = v->eom = v->unk = v->sep = v->pad = -1;
    eq_status st = EQ_OK;
    if (!strcmp(model, "llama")) init_spm(v);
    else if (!strcmp(model, "gpt2") || !strcmp(model, "gemma4")) st = init_bpe(v, model, &pre, eb, el);
    else st = eq_errf(eb, el, EQ_ERR_UNSUPPORTED, "tokenizer.ggml.model: tokenizer '%s' is not supported", model);
    if (!st) {
        get_bool(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix);
        st = load_tokens(v, g, eb, el);
    }
    if (!st && v->type == EQ_VOCAB_BPE) {
        const eq_gguf_kv *mk = eq_gguf_get(g, "tokenizer.ggml.merges");
        st = mk ? load_merges(v, mk, eb, el) : eq_errf(eb, el, EQ_ERR_FORMAT, "tokenizer.ggml.merges: missing");
    }
    if (!st) {
        eq_token fim[6] = { -1, -1, -1, -1, -1, -1 };
        load_special_ids(v, g, pre, fim);
        mark_eog(v, fim);
        st = index_specials(v, eb, el);
    }
    if (st) { eq_vocab_free(v); return st; }
    phi3_rstrip(v, g);
    *out = v;
    return EQ_OK;
}

/* ---- queries ---- */

int      eq_vocab_n_tokens(const eq_vocab *v) { return v->n; }
eq_token eq_vocab_bos(const eq_vocab *v) { return v->bos; }
eq_token eq_vocab_eos(const eq_vocab *v) { return v->eos; }
eq_token eq_vocab_eot(const eq_vocab *v) { return v->eot; }
int      eq_vocab_add_bos(const eq_vocab *v) { return v->add_bos; }

int eq_vocab_is_eog(const eq_vocab *v, eq_token t) {
    int lo = 0, hi = v->n_eog - 1;
    while (lo <= hi) {
        int m = (lo + hi) / 2;
        if (v->eog[m] == t) return 1;
        if (v->eog[m] < t) lo = m + 1; else hi = m - 1;
    }
    return 0;
}

/* ---- token -> text ---- */

static int put(char *buf, int cap, int at, const void *src, size_t n) {
    if (at < cap) {
        size_t room = (size_t)(cap - at);
        memcpy(buf + at, src, n < room ? n : room);
    }
    return at + (int)n;
}

static int hexnib(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "<0xNN>" -> NN (0 on anything malformed, as strtol would give) */
static int byte_of(const char *s, size_t n) {
    int v = 0;
    for (size_t i = 3; i < 5 && i < n; i++) {
        int h = hexnib(s[i]);
        if (h < 0) break;
        v = v * 16 + h;
    }
    return v;
}

/* Full length of the piece; writes up to cap bytes. */
int eq_vocab_piece(const eq_vocab *v, eq_token t, int special, char *buf, int cap) {
    if (!v || t < 0 || t >= v->n) return -1;
    uint16_t a = v->attr[t];
    const char *s = v->text + v->off[t];
    size_t n = v->len[t];
    if (!special && (a & (EQ_ATTR_UNKNOWN | EQ_ATTR_CONTROL))) return 0;
    if (a & (EQ_ATTR_UNKNOWN | EQ_ATTR_CONTROL | EQ_ATTR_USER_DEFINED)) return put(buf, cap, 0, s, n);
    if (a & EQ_ATTR_BYTE) {
        char c = (char)byte_of(s, n);
        return put(buf, cap, 0, &c, 1);
    }
    if (!(a & EQ_ATTR_NORMAL)) return 0;
    int at = 0;
    if (v->type == EQ_VOCAB_SPM || v->escape_whitespace) {   /* U+2581 -> ' ' */
        for (size_t i = 0; i < n;) {
            if (i + 3 <= n && !memcmp(s + i, "\xe2\x96\x81", 3)) { at = put(buf, cap, at, " ", 1); i += 3; }
            else { at = put(buf, cap, at, s + i, 1); i++; }
        }
        return at;
    }
    /* byte-level: each code point stands for one byte */
    for (size_t off = 0; off < n;) {
        uint32_t cp = eq_utf8_next((const uint8_t *)s, n, &off);
        int b = eq_ucp_to_byte(cp);
        if (b >= 0) {
            char c = (char)b;
            at = put(buf, cap, at, &c, 1);
        } else {   /* llama.cpp's marker for a code point outside the mapping */
            char tmp[32];
            uint8_t u[4];
            int m = eq_utf8_put(cp, u);
            at = put(buf, cap, at, "[UNK_BYTE_0x", 12);
            for (int j = 0; j < m; j++) {
                snprintf(tmp, sizeof tmp, "%02x", u[j]);
                at = put(buf, cap, at, tmp, 2);
            }
            at = put(buf, cap, at, s, n);
            at = put(buf, cap, at, "]", 1);
        }
    }
    return at;
}

int eq_vocab_token_to_piece(const eq_vocab *v, eq_token t, int special, char *buf, int cap) {
    if (!buf || cap < 0) cap = 0;
    /* the length first, so a piece that does not fit is not written at all rather than cut */
    int n = eq_vocab_piece(v, t, special, NULL, 0);
    if (n < 0) return -1;
    if (n > cap) return n;
    return eq_vocab_piece(v, t, special, buf, cap);
}

eq_status eq_vocab_set_pretok(eq_vocab *v, const char *name) {
    eq_pretok *p;
    eq_pretok_info pi;
    eq_status st = eq_pretok_new(name, &p, &pi);
    if (st) return st;
    eq_pretok_free(v->pre);
    v->pre = p;
    v->ignore_merges = pi.ignore_merges;
    v->escape_whitespace = pi.escape_whitespace;
    v->byte_encode = pi.byte_encode;
    return EQ_OK;
}
