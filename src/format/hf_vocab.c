/* tokenizer.* metadata as convert_hf_to_gguf.py writes it:
 *   - byte-level BPE from tokenizer.json ("gpt2"; _set_vocab_gpt2 / get_vocab_base), with the
 *     pre-tokenizer named by hashing the token ids of a fixed text (get_vocab_base_pre): we
 *     tokenize it with each pre-tokenizer we implement and take the name the script's table
 *     gives the resulting hash;
 *   - SentencePiece from tokenizer.model ("llama"; _create_vocab_sentencepiece and Phi-3's own
 *     variant), read by a minimal protobuf parser;
 *   - gguf-py's SpecialVocab: merges, special token ids, add_bos/add_eos, chat template.
 * A byte-fallback BPE tokenizer.json without tokenizer.model (LlamaHfVocab) is not supported. */
#include "format/hf_internal.h"
#include "format/json.h"
#include "gguf/gguf.h"
#include "runtime/readfile.h"
#include "runtime/sha256.h"
#include "tokenizer/vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/hf_pre_hashes.inc"

enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER_DEFINED = 4, TT_UNUSED = 5, TT_BYTE = 6 };

typedef struct {
    int n;
    char **s;
    uint64_t *len;
    int32_t *type;
    float *score;     /* SentencePiece only */
} toklist;

static void toklist_free(toklist *t) {
    if (t->s) for (int i = 0; i < t->n; i++) free(t->s[i]);
    free(t->s); free(t->len); free(t->type); free(t->score);
    memset(t, 0, sizeof *t);
}

static int toklist_init(toklist *t, int n, int scores) {
    memset(t, 0, sizeof *t);
    t->s = calloc((size_t)n + 1, sizeof *t->s);
    t->len = calloc((size_t)n + 1, sizeof *t->len);
    t->type = calloc((size_t)n + 1, sizeof *t->type);
    if (scores) t->score = calloc((size_t)n + 1, sizeof *t->score);
    t->n = n;
    if (!t->s || !t->len || !t->type || (scores && !t->score)) { toklist_free(t); return -1; }
    return 0;
}

static int tok_set(toklist *t, int i, const char *s, size_t len) {
    char *c = malloc(len + 1);
    if (!c) return -1;
    memcpy(c, s, len);
    c[len] = 0;
    free(t->s[i]);
    t->s[i] = c;
    t->len[i] = len;
    return 0;
}

static int tok_set_pad(toklist *t, int i) {
    char b[32];
    int n = snprintf(b, sizeof b, "[PAD%d]", i);
    return tok_set(t, i, b, (size_t)n);
}

/* TextModel.does_token_look_special */
static int looks_special(const char *s) {
    size_t n = strlen(s);
    if (!strcmp(s, "<pad>") || !strcmp(s, "<mask>") || !strcmp(s, "<2mass>") || !strcmp(s, "[@BOS@]")) return 1;
    if (n >= 4 && !strncmp(s, "<|", 2) && !strcmp(s + n - 2, "|>")) return 1;
    /* "<｜" ... "｜>" (U+FF5C) */
    if (n >= 8 && !strncmp(s, "<\xef\xbd\x9c", 4) && !strcmp(s + n - 4, "\xef\xbd\x9c>")) return 1;
    if (n >= 8 && !strncmp(s, "<unused", 7) && s[n - 1] == '>') return 1;
    return 0;
}

/* replace U+2581 by ' ' (user-defined tokens are stored pre-normalized) */
static char *unescape_spaces(const char *s, size_t *len) {
    size_t n = strlen(s), o = 0;
    char *r = malloc(n + 1);
    if (!r) return NULL;
    for (size_t i = 0; i < n;) {
        if (i + 3 <= n && !memcmp(s + i, "\xe2\x96\x81", 3)) { r[o++] = ' '; i += 3; }
        else r[o++] = s[i++];
    }
    r[o] = 0;
    *len = o;
    return r;
}

static int py_truthy(const cJSON *v) {
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v)) return 0;
    if (cJSON_IsString(v)) return v->valuestring && v->valuestring[0];
    if (cJSON_IsNumber(v)) return v->valuedouble != 0;
    if (cJSON_IsArray(v) || cJSON_IsObject(v)) return v->child != NULL;
    return 1;
}

/* Python `a == b` where a is a str and b any JSON value */
static int str_eq(const char *a, const cJSON *b) {
    return a && cJSON_IsString(b) && b->valuestring && !strcmp(a, b->valuestring);
}

/* ---------------------------------------------------------------- SpecialVocab */

enum { S_BOS, S_EOS, S_UNK, S_SEP, S_PAD, S_CLS, S_MASK, S_EOT, S_EOM, S_N };
static const char *const k_styp[S_N] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask", "eot", "eom"};

typedef struct {
    int ntypes;                 /* special_token_types: the first 7, then eot/eom in the order added */
    int types[S_N];
    int64_t id[S_N];
    int has_id[S_N], id_order[S_N], n_id;
    int add[S_N], has_add[S_N], add_order[S_N], n_add;
    const cJSON *tc_over[S_N];  /* values the script writes back into tokenizer_config */
    int has_over[S_N];
    int lower, strip;           /* normalizer flags, -1 unset */
    int64_t n_vocab;            /* -1: no range check */
} special;

static void sv_set_add(special *sv, int t, int v) {
    if (!sv->has_add[t]) { sv->has_add[t] = 1; sv->add_order[sv->n_add++] = t; }
    sv->add[t] = v;
}

static const cJSON *tc_get(const eq_hf *h, const special *sv, int t) {
    if (sv->has_over[t]) return sv->tc_over[t];
    char key[32];
    snprintf(key, sizeof key, "%s_token", k_styp[t]);
    return eq_json_get(h->tok_config, key);
}

static void tc_set(special *sv, int t, const cJSON *v) { sv->tc_over[t] = v; sv->has_over[t] = 1; }

static int sv_has_type(const special *sv, int t) {
    for (int i = 0; i < sv->ntypes; i++) if (sv->types[i] == t) return 1;
    return 0;
}

static eq_status sv_set_id(eq_hf *h, special *sv, int t, const cJSON *v) {
    int64_t id;
    if (!v || !cJSON_IsNumber(v) || !eq_json_as_int(v, INT64_MIN / 2, INT64_MAX / 2, &id)) return EQ_OK;
    if (id < 0) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s: invalid value for special token type %s: %lld", h->dir, k_styp[t], (long long)id);
    if (sv->n_vocab >= 0 && id >= sv->n_vocab) return EQ_OK;   /* out of range: skipped, as the script does */
    if (id > UINT32_MAX) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s: special token %s id %lld does not fit", h->dir, k_styp[t], (long long)id);
    if (sv->has_id[t]) return EQ_OK;
    sv->has_id[t] = 1;
    sv->id[t] = id;
    sv->id_order[sv->n_id++] = t;
    return EQ_OK;
}

static const cJSON *special_token_id(const cJSON *item) {
    const cJSON *st = eq_json_get(item, "SpecialToken");
    return eq_json_get(st, "id");
}

static const char *sequence_id(const cJSON *item) {
    return eq_json_str(eq_json_get(item, "Sequence"), "id");
}

/* Python `x in (a, b)` for x a JSON value and a, b JSON values */
static int json_eq(const cJSON *a, const cJSON *b) {
    if (!a || !b) return !a && !b;
    return cJSON_Compare(a, b, 1);
}

static eq_status parse_normalizer(special *sv, const cJSON *n, int depth) {
    if (depth > 32) return EQ_OK;
    const char *t = eq_json_str(n, "type");
    if (!t) return EQ_OK;
    if (!strcmp(t, "Lowercase")) sv->lower = 1;
    else if (!strcmp(t, "StripAccents")) sv->strip = 1;
    else if (!strcmp(t, "BertNormalizer")) {
        int b;
        if (eq_json_bool(n, "lowercase", &b) == 1) sv->lower = b;
        if (eq_json_bool(n, "strip_accents", &b) == 1) sv->strip = b;
    } else if (!strcmp(t, "Sequence")) {
        const cJSON *ns = eq_json_get(n, "normalizers");
        if (cJSON_IsArray(ns))
            for (const cJSON *e = ns->child; e; e = e->next) parse_normalizer(sv, e, depth + 1);
    }
    return EQ_OK;
}

/* merges from tokenizer.json: "a b" strings, or [a, b] pairs (spaces inside become U+0120) */
static eq_status load_merges(eq_hf *h, char ***out, uint64_t *n_out) {
    *out = NULL;
    *n_out = 0;
    const cJSON *m = eq_json_get(eq_json_get(h->tok_json, "model"), "merges");
    if (!cJSON_IsArray(m) || !m->child) return EQ_OK;
    int pairs = cJSON_IsArray(m->child);
    if (!pairs && !cJSON_IsString(m->child))
        return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/tokenizer.json: model.merges: unknown format", h->dir);
    uint64_t n = (uint64_t)cJSON_GetArraySize(m);
    char **r = calloc(n + 1, sizeof *r);
    if (!r) return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
    uint64_t i = 0;
    for (const cJSON *e = m->child; e; e = e->next, i++) {
        if (!pairs) {
            if (!cJSON_IsString(e)) goto bad;
            r[i] = malloc(strlen(e->valuestring) + 1);
            if (!r[i]) goto oom;
            strcpy(r[i], e->valuestring);
        } else {
            if (cJSON_GetArraySize(e) != 2 || !cJSON_IsString(e->child) || !cJSON_IsString(e->child->next)) goto bad;
            const char *a = e->child->valuestring, *b = e->child->next->valuestring;
            size_t la = strlen(a), lb = strlen(b);
            r[i] = malloc(2 * (la + lb) + 2);
            if (!r[i]) goto oom;
            size_t o = 0;
            for (int k = 0; k < 2; k++) {
                const char *s = k ? b : a;
                if (k) r[i][o++] = ' ';
                for (; *s; s++) {
                    if (*s == ' ') { r[i][o++] = (char)0xc4; r[i][o++] = (char)0xa0; }
                    else r[i][o++] = *s;
                }
            }
            r[i][o] = 0;
        }
    }
    *out = r;
    *n_out = n;
    return EQ_OK;
bad:
    for (uint64_t k = 0; k < n; k++) free(r[k]);
    free(r);
    return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/tokenizer.json: model.merges[%llu] is not a merge", h->dir, (unsigned long long)i);
oom:
    for (uint64_t k = 0; k < n; k++) free(r[k]);
    free(r);
    return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
}

/* SpecialVocab._load: tokenizer.json + tokenizer_config.json, then config.json */
static eq_status special_load(eq_hf *h, special *sv) {
    const cJSON *tok = h->tok_json, *tc = h->tok_config;
    const cJSON *added = cJSON_IsArray(eq_json_get(tok, "added_tokens")) ? eq_json_get(tok, "added_tokens") : NULL;
    if (tok) parse_normalizer(sv, eq_json_get(tok, "normalizer"), 0);
    int tc_truthy = py_truthy(tc);
    if (py_truthy(tok)) {
        const cJSON *s_bos = tc ? tc_get(h, sv, S_BOS) : NULL, *s_cls = tc ? tc_get(h, sv, S_CLS) : NULL;
        const cJSON *s_eos = tc ? tc_get(h, sv, S_EOS) : NULL, *s_sep = tc ? tc_get(h, sv, S_SEP) : NULL;
        if (!py_truthy(s_bos) && py_truthy(s_cls) && tc_truthy) { tc_set(sv, S_BOS, s_cls); s_bos = s_cls; }
        if (!py_truthy(s_eos) && py_truthy(s_sep) && tc_truthy) { tc_set(sv, S_EOS, s_sep); s_eos = s_sep; }
        const cJSON *post = eq_json_get(tok, "post_processor");
        if (py_truthy(post)) {
            const cJSON *procs = eq_json_get(post, "processors");
            int single_post = !procs;
            const cJSON *proc = single_post ? post : (cJSON_IsArray(procs) ? procs->child : NULL);
            for (; proc; proc = single_post ? NULL : proc->next) {
                const char *type = eq_json_str(proc, "type");
                if (type && !strcmp(type, "RobertaProcessing")) {
                    sv_set_add(sv, S_BOS, 1); sv_set_add(sv, S_EOS, 1); sv_set_add(sv, S_SEP, 1);
                    const cJSON *c = eq_json_get(proc, "cls"), *s = eq_json_get(proc, "sep");
                    if (!py_truthy(s_cls) && tc_truthy) { s_cls = c && c->child ? c->child : s_bos; tc_set(sv, S_CLS, s_cls); }
                    if (!py_truthy(s_sep) && tc_truthy) { s_sep = s && s->child ? s->child : s_eos; tc_set(sv, S_SEP, s_sep); }
                    continue;
                }
                if (!type || strcmp(type, "TemplateProcessing")) continue;
                const cJSON *single = eq_json_get(proc, "single"), *pair = eq_json_get(proc, "pair");
                const cJSON *first = NULL, *last = NULL;
                int ns = cJSON_IsArray(single) ? cJSON_GetArraySize(single) : 0;
                if (ns > 1) {
                    first = special_token_id(single->child);
                    if (py_truthy(first)) {
                        if (!tc_truthy) s_bos = first;
                        else if (!json_eq(first, s_bos) && !json_eq(first, s_cls)) {
                            if (!py_truthy(s_bos)) { s_bos = first; tc_set(sv, S_BOS, first); }
                            if (!py_truthy(s_cls)) { s_cls = first; tc_set(sv, S_CLS, first); }
                        }
                        sv_set_add(sv, S_BOS, json_eq(first, s_bos) || json_eq(first, s_cls));
                    } else first = NULL;
                    last = special_token_id(cJSON_GetArrayItem(single, ns - 1));
                    if (py_truthy(last)) {
                        if (!tc_truthy) s_eos = last;
                        else if (!json_eq(last, s_eos)) {
                            if (!sv_has_type(sv, S_EOT)) { sv->types[sv->ntypes++] = S_EOT; tc_set(sv, S_EOT, s_eos); }
                            else if (!sv_has_type(sv, S_EOM)) { sv->types[sv->ntypes++] = S_EOM; tc_set(sv, S_EOM, s_eos); }
                            s_eos = last;
                            tc_set(sv, S_EOS, last);
                        }
                        sv_set_add(sv, S_EOS, json_eq(last, s_eos));
                    } else last = NULL;
                }
                int np = cJSON_IsArray(pair) ? cJSON_GetArraySize(pair) : 0;
                if (np) {
                    int start = first && json_eq(special_token_id(pair->child), first) ? 1 : 0;
                    int stop = last && json_eq(special_token_id(cJSON_GetArrayItem(pair, np - 1)), last) ? np - 1 : np;
                    if (stop > start) {
                        const char *a = sequence_id(cJSON_GetArrayItem(pair, start));
                        const char *b = sequence_id(cJSON_GetArrayItem(pair, stop - 1));
                        int mid0 = start + 1, mid1 = stop - 1;   /* tmpl_pair[1:-1] */
                        if (a && b && !strcmp(a, "A") && !strcmp(b, "B") && mid1 > mid0) {
                            int add_sep = 0;
                            const cJSON *e = special_token_id(cJSON_GetArrayItem(pair, mid0));
                            if (py_truthy(e) && (json_eq(e, s_sep) || json_eq(e, s_eos)) && !last) add_sep = 1;
                            if (mid1 - mid0 == 2) {
                                e = special_token_id(cJSON_GetArrayItem(pair, mid0 + 1));
                                if (py_truthy(e) && (json_eq(e, s_sep) || json_eq(e, s_eos))) add_sep = 1;
                            }
                            sv_set_add(sv, S_SEP, add_sep);
                            if (add_sep && !py_truthy(s_sep) && tc_truthy) tc_set(sv, S_SEP, s_eos);
                        }
                    }
                }
            }
        }
    }
    if (tc_truthy) {
        for (int i = 0; i < sv->ntypes; i++) {
            int t = sv->types[i];
            char key[32];
            int b;
            snprintf(key, sizeof key, "add_%s_token", k_styp[t]);
            if (eq_json_bool(tc, key, &b) == 1) sv_set_add(sv, t, b);
            const cJSON *entry = tc_get(h, sv, t);
            const char *content = NULL;
            if (cJSON_IsString(entry)) content = entry->valuestring;
            else if (cJSON_IsObject(entry)) content = eq_json_str(entry, "content");
            if (!content) continue;
            const cJSON *id = NULL;
            for (const cJSON *a = added ? added->child : NULL; a; a = a->next)
                if (str_eq(content, eq_json_get(a, "content"))) { id = eq_json_get(a, "id"); break; }
            eq_status st = sv_set_id(h, sv, t, id);
            if (st) return st;
        }
    }
    for (int i = 0; i < sv->ntypes; i++) {
        int t = sv->types[i];
        char key[32];
        snprintf(key, sizeof key, "%s_token_id", k_styp[t]);
        const cJSON *v = eq_json_get(h->config, key);
        if ((!v || cJSON_IsNull(v)) && eq_json_get(h->config, "text_config"))
            v = eq_json_get(eq_json_get(h->config, "text_config"), key);
        eq_status st = sv_set_id(h, sv, t, v);
        if (st) return st;
    }
    return EQ_OK;
}

static void special_init(special *sv, int64_t n_vocab) {
    memset(sv, 0, sizeof *sv);
    for (int i = 0; i < S_EOT; i++) sv->types[sv->ntypes++] = i;
    sv->lower = sv->strip = -1;
    sv->n_vocab = n_vocab;
}

/* the chat template: tokenizer_config's, else chat_template.jinja / chat_template.json */
static eq_status chat_template(eq_hf *h) {
    const cJSON *tc = h->tok_config;
    char *alt = NULL;
    cJSON *altj = NULL;
    const cJSON *tmpl = NULL;
    eq_status st = EQ_OK;
    char *pj = eq_path_join(h->dir, "chat_template.jinja"), *pjs = eq_path_join(h->dir, "chat_template.json");
    if (!pj || !pjs) { free(pj); free(pjs); return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory"); }
    if (eq_file_exists(pj)) {
        size_t n;
        st = eq_read_file(pj, EQ_JSON_MAX_FILE, &alt, &n, h->err, h->errlen);
    } else if (eq_file_exists(pjs)) {
        st = eq_json_load(pjs, &altj, h->err, h->errlen);
        if (!st) tmpl = eq_json_get(altj, "chat_template");
    }
    free(pj); free(pjs);
    if (st) return st;
    const cJSON *v = eq_json_get(tc, "chat_template");
    const char *s = NULL;
    if (v) { tmpl = v; }
    if (!tmpl && alt) s = alt;
    else if (cJSON_IsString(tmpl)) s = tmpl->valuestring;
    else if (cJSON_IsArray(tmpl)) {
        /* [{name, template}]: tokenizer.chat_template.NAME each, plus the default */
        const char *names[256];
        int nn = 0;
        char keybuf[300];
        for (const cJSON *c = tmpl->child; c && !st; c = c->next) {
            const char *name = eq_json_str(c, "name");
            const char *t = eq_json_str(c, "template");
            if (!name || !*name || !t) continue;
            char clean[128];
            size_t k = 0;
            for (; name[k] && k < sizeof clean - 1; k++) {
                char ch = name[k];
                clean[k] = ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) ? ch : '_';
            }
            clean[k] = 0;
            if (!strcmp(clean, "default")) { s = t; continue; }
            snprintf(keybuf, sizeof keybuf, "tokenizer.chat_template.%s", clean);
            if (eq_gguf_writer_set_str(h->w, keybuf, t)) st = eq_hf_wfail(h, EQ_ERR_NOMEM);
            if (nn < 256) names[nn++] = eq_json_str(c, "name");
        }
        if (!st && nn) {
            /* names as the script cleans them */
            char **cl = calloc((size_t)nn, sizeof *cl);
            if (!cl) st = eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
            for (int i = 0; i < nn && !st; i++) {
                cl[i] = malloc(strlen(names[i]) + 1);
                if (!cl[i]) { st = eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory"); break; }
                size_t k = 0;
                for (; names[i][k]; k++) {
                    char ch = names[i][k];
                    cl[i][k] = ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) ? ch : '_';
                }
                cl[i][k] = 0;
            }
            if (!st && eq_gguf_writer_set_arr_str(h->w, "tokenizer.chat_templates", (const char *const *)cl, NULL, (uint64_t)nn))
                st = eq_hf_wfail(h, EQ_ERR_NOMEM);
            for (int i = 0; cl && i < nn; i++) free(cl[i]);
            free(cl);
        }
    }
    if (!st && s && eq_gguf_writer_set_str(h->w, "tokenizer.chat_template", s)) st = eq_hf_wfail(h, EQ_ERR_NOMEM);
    free(alt);
    cJSON_Delete(altj);
    return st;
}

/* SpecialVocab.add_to_gguf */
static eq_status special_write(eq_hf *h, special *sv, char **merges, uint64_t n_merges) {
    eq_status st;
    if (n_merges && eq_gguf_writer_set_arr_str(h->w, "tokenizer.ggml.merges", (const char *const *)merges, NULL, n_merges))
        return eq_hf_wfail(h, EQ_ERR_NOMEM);
    for (int i = 0; i < sv->n_id; i++) {
        int t = sv->id_order[i];
        if (t == S_CLS) continue;   /* gguf-py has no writer for it */
        static const char *const idkey[S_N] = {"bos", "eos", "unknown", "seperator", "padding", "cls", "mask", "eot", "eom"};
        char key[48];
        snprintf(key, sizeof key, "tokenizer.ggml.%s_token_id", idkey[t]);
        if ((st = eq_gguf_writer_set_u32(h->w, key, (uint32_t)sv->id[t]))) return eq_hf_wfail(h, st);
    }
    for (int i = 0; i < sv->n_add; i++) {
        int t = sv->add_order[i];
        if (t != S_BOS && t != S_EOS && t != S_SEP) continue;
        char key[48];
        snprintf(key, sizeof key, "tokenizer.ggml.add_%s_token", k_styp[t]);
        if ((st = eq_gguf_writer_set_bool(h->w, key, sv->add[t]))) return eq_hf_wfail(h, st);
    }
    if (py_truthy(h->tok_config) && (st = chat_template(h))) return st;
    if (sv->lower >= 0 && (st = eq_gguf_writer_set_bool(h->w, "tokenizer.ggml.normalizer.lowercase", sv->lower)))
        return eq_hf_wfail(h, st);
    if (sv->strip >= 0 && (st = eq_gguf_writer_set_bool(h->w, "tokenizer.ggml.normalizer.strip_accents", sv->strip)))
        return eq_hf_wfail(h, st);
    return EQ_OK;
}

/* ---------------------------------------------------------------- pre-tokenizer detection */

static eq_gguf_kv mk_str(const char *key, const char *v) {
    eq_gguf_kv kv;
    memset(&kv, 0, sizeof kv);
    kv.key = (char *)key;
    kv.type = EQ_GGUF_STRING;
    kv.n = 1;
    kv.str = (char *)v;
    kv.str_len = strlen(v);
    return kv;
}

/* HF's encode(text): tokens, wrapped by the post-processor's TemplateProcessing<single> */
static eq_status hash_ids(eq_hf *h, const eq_token *ids, int n, char hex[65]) {
    const cJSON *post = eq_json_get(h->tok_json, "post_processor");
    const cJSON *procs = eq_json_get(post, "processors");
    const cJSON *tp = NULL;
    if (procs && cJSON_IsArray(procs)) {
        for (const cJSON *p = procs->child; p; p = p->next)
            if (eq_json_str(p, "type") && !strcmp(eq_json_str(p, "type"), "TemplateProcessing")) tp = p;
    } else if (eq_json_str(post, "type") && !strcmp(eq_json_str(post, "type"), "TemplateProcessing")) tp = post;
    size_t cap = (size_t)n * 12 + 4096, o = 0;
    char *s = malloc(cap);
    if (!s) return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
    s[o++] = '[';
    int first = 1;
#define PUT(id) do { if (o + 16 < cap) o += (size_t)snprintf(s + o, cap - o, first ? "%d" : ", %d", (int)(id)); first = 0; } while (0)
    const cJSON *single = eq_json_get(tp, "single");
    if (cJSON_IsArray(single)) {
        for (const cJSON *it = single->child; it; it = it->next) {
            const cJSON *sp = special_token_id(it);
            if (cJSON_IsString(sp)) {
                const cJSON *ids_j = eq_json_get(eq_json_get(eq_json_get(tp, "special_tokens"), sp->valuestring), "ids");
                for (const cJSON *x = cJSON_IsArray(ids_j) ? ids_j->child : NULL; x; x = x->next) {
                    int64_t v;
                    if (eq_json_as_int(x, 0, INT32_MAX, &v)) PUT(v);
                }
            } else if (sequence_id(it)) {
                for (int i = 0; i < n; i++) PUT(ids[i]);
            }
        }
    } else {
        for (int i = 0; i < n; i++) PUT(ids[i]);
    }
#undef PUT
    s[o++] = ']';
    eq_sha256_hex(s, o, hex);
    free(s);
    return EQ_OK;
}

static eq_status detect_pre(eq_hf *h, const toklist *t, char **merges, uint64_t n_merges, const char **out) {
    *out = NULL;
    uint32_t *lens = malloc(((size_t)t->n + 1) * sizeof *lens);
    uint32_t *mlens = malloc(((size_t)n_merges + 1) * sizeof *mlens);
    if (!lens || !mlens) { free(lens); free(mlens); return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory"); }
    for (int i = 0; i < t->n; i++) lens[i] = (uint32_t)t->len[i];
    for (uint64_t i = 0; i < n_merges; i++) mlens[i] = (uint32_t)strlen(merges[i]);
    eq_gguf_kv kv[5];
    kv[0] = mk_str("tokenizer.ggml.model", "gpt2");
    kv[1] = mk_str("tokenizer.ggml.pre", "gpt-2");
    memset(&kv[2], 0, sizeof kv[2]);
    kv[2].key = "tokenizer.ggml.tokens"; kv[2].type = EQ_GGUF_ARRAY; kv[2].arr_type = EQ_GGUF_STRING;
    kv[2].n = (uint64_t)t->n; kv[2].arr_str = t->s; kv[2].arr_str_len = lens;
    memset(&kv[3], 0, sizeof kv[3]);
    kv[3].key = "tokenizer.ggml.token_type"; kv[3].type = EQ_GGUF_ARRAY; kv[3].arr_type = EQ_GGUF_I32;
    kv[3].n = (uint64_t)t->n; kv[3].arr = t->type;
    memset(&kv[4], 0, sizeof kv[4]);
    kv[4].key = "tokenizer.ggml.merges"; kv[4].type = EQ_GGUF_ARRAY; kv[4].arr_type = EQ_GGUF_STRING;
    kv[4].n = n_merges; kv[4].arr_str = merges; kv[4].arr_str_len = mlens;
    eq_gguf g;
    memset(&g, 0, sizeof g);
    g.kv = kv;
    g.n_kv = 5;
    eq_vocab *v = NULL;
    char verr[256];
    eq_status st = eq_vocab_load(&g, &v, verr, sizeof verr);
    free(lens);
    free(mlens);
    if (st) return eq_hf_fail(h, st, "%s/tokenizer.json: %s", h->dir, verr);
    int cap = 4096, n = 0;
    eq_token *ids = malloc((size_t)cap * sizeof *ids);
    if (!ids) { eq_vocab_free(v); return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory"); }
    const size_t nh = sizeof k_pre_hashes / sizeof *k_pre_hashes;
    /* each pre-tokenizer name the script can answer with, that we implement, once */
    for (size_t c = 0; c < nh && !*out; c++) {
        const char *cand = k_pre_hashes[c].pre;
        int seen = 0;
        for (size_t k = 0; k < c && !seen; k++) seen = !strcmp(k_pre_hashes[k].pre, cand);
        if (seen) continue;
        if (eq_vocab_set_pretok(v, cand)) continue;
        if (eq_vocab_tokenize(v, k_chktxt, sizeof k_chktxt - 1, 0, 0, ids, cap, &n)) continue;
        char hex[65];
        if ((st = hash_ids(h, ids, n, hex))) break;
        for (size_t k = 0; k < nh; k++)
            if (!strcmp(k_pre_hashes[k].hash, hex)) *out = k_pre_hashes[k].pre;   /* the last match, as the script's if-chain */
    }
    free(ids);
    eq_vocab_free(v);
    if (st) return st;
    if (!*out)
        return eq_hf_fail(h, EQ_ERR_UNSUPPORTED, "%s/tokenizer.json: BPE pre-tokenizer was not recognized (no known pre-tokenizer hash matches)", h->dir);
    return EQ_OK;
}

/* ---------------------------------------------------------------- gpt2 (byte-level BPE) */

static int64_t vocab_size_or(const eq_hf *h, int64_t dflt) {
    int64_t v;
    if (eq_json_int(h->config, "vocab_size", 1, INT32_MAX / 2, &v) == 1) return v;
    return dflt;
}

static eq_status set_vocab_gpt2(eq_hf *h) {
    const cJSON *tj = h->tok_json;
    if (!tj) return eq_hf_fail(h, EQ_ERR_IO, "%s/tokenizer.json: missing (needed for a BPE vocabulary)", h->dir);
    const cJSON *model = eq_json_get(tj, "model");
    const cJSON *vocab = eq_json_get(model, "vocab");
    if (!cJSON_IsObject(vocab)) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/tokenizer.json: model.vocab is not an object", h->dir);
    const char *mt = eq_json_str(model, "type");
    if (mt && strcmp(mt, "BPE"))
        return eq_hf_fail(h, EQ_ERR_UNSUPPORTED, "%s/tokenizer.json: model type %s is not supported (BPE)", h->dir, mt);
    const cJSON *added = eq_json_get(tj, "added_tokens");
    if (added && !cJSON_IsArray(added)) return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/tokenizer.json: added_tokens is not a list", h->dir);
    /* tokenizer.vocab = the model's vocab plus the added tokens */
    int64_t max_id = -1;
    for (const cJSON *e = vocab->child; e; e = e->next) {
        int64_t id;
        if (!eq_json_as_int(e, 0, INT32_MAX / 2, &id))
            return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/tokenizer.json: model.vocab['%.100s'] is not a token id", h->dir, e->string ? e->string : "");
        if (id > max_id) max_id = id;
    }
    for (const cJSON *a = added ? added->child : NULL; a; a = a->next) {
        int64_t id;
        if (eq_json_int(a, "id", 0, INT32_MAX / 2, &id) != 1 || !eq_json_str(a, "content"))
            return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/tokenizer.json: an added_tokens entry has no valid id/content", h->dir);
        if (id > max_id) max_id = id;
    }
    int64_t n = vocab_size_or(h, max_id + 1);
    if (max_id >= n)
        return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/tokenizer.json: token id %lld is not below config.json vocab_size %lld",
                          h->dir, (long long)max_id, (long long)n);
    toklist t;
    if (toklist_init(&t, (int)n, 0)) return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
    eq_status st = EQ_OK;
    /* added[id]: the added token with that id (the later one wins, as dict building does) */
    const cJSON **add_of = calloc((size_t)n + 1, sizeof *add_of);
    if (!add_of) { toklist_free(&t); return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory"); }
    for (const cJSON *e = vocab->child; e && !st; e = e->next) {
        int64_t id = (int64_t)e->valuedouble;
        if (tok_set(&t, (int)id, e->string, strlen(e->string))) st = EQ_ERR_NOMEM;
        t.type[id] = TT_NORMAL;
    }
    for (const cJSON *a = added ? added->child : NULL; a && !st; a = a->next) {
        int64_t id;
        eq_json_int(a, "id", 0, INT32_MAX / 2, &id);
        add_of[id] = a;
        const char *c = eq_json_str(a, "content");
        if (tok_set(&t, (int)id, c, strlen(c))) st = EQ_ERR_NOMEM;
    }
    for (int64_t i = 0; i < n && !st; i++) {
        if (!t.s[i]) { if (tok_set_pad(&t, (int)i)) st = EQ_ERR_NOMEM; t.type[i] = TT_UNUSED; continue; }
        /* "token in added_vocab": any added token with this text */
        const cJSON *a = add_of[i];
        if (!a) {
            for (const cJSON *x = added ? added->child : NULL; x; x = x->next)
                if (str_eq(t.s[i], eq_json_get(x, "content"))) { a = x; break; }
        }
        if (!a) { t.type[i] = TT_NORMAL; continue; }
        int special = 0;
        eq_json_bool(a, "special", &special);
        if (special || looks_special(t.s[i])) t.type[i] = TT_CONTROL;
        else {
            size_t l;
            char *u = unescape_spaces(t.s[i], &l);
            if (!u) { st = EQ_ERR_NOMEM; break; }
            free(t.s[i]);
            t.s[i] = u;
            t.len[i] = l;
            t.type[i] = TT_USER_DEFINED;
        }
    }
    free(add_of);
    if (st) { toklist_free(&t); return eq_hf_fail(h, st, "out of memory"); }
    char **merges = NULL;
    uint64_t n_merges = 0;
    st = load_merges(h, &merges, &n_merges);
    const char *pre = NULL;
    if (!st) st = detect_pre(h, &t, merges, n_merges, &pre);
    special sv;
    special_init(&sv, -1);
    if (!st) st = special_load(h, &sv);
    if (!st) {
        eq_status ws = EQ_OK;
        if (!ws) ws = eq_gguf_writer_set_str(h->w, "tokenizer.ggml.model", "gpt2");
        if (!ws) ws = eq_gguf_writer_set_str(h->w, "tokenizer.ggml.pre", pre);
        if (!ws) ws = eq_gguf_writer_set_arr_str(h->w, "tokenizer.ggml.tokens", (const char *const *)t.s, t.len, (uint64_t)t.n);
        if (!ws) ws = eq_gguf_writer_set_arr(h->w, "tokenizer.ggml.token_type", EQ_GGUF_I32, t.type, (uint64_t)t.n);
        if (ws) st = eq_hf_wfail(h, ws);
    }
    if (!st) st = special_write(h, &sv, merges, n_merges);
    for (uint64_t i = 0; i < n_merges; i++) free(merges[i]);
    free(merges);
    toklist_free(&t);
    return st;
}

/* ---------------------------------------------------------------- SentencePiece */

typedef struct { const uint8_t *p, *end; } pb;

static int pb_varint(pb *r, uint64_t *v) {
    *v = 0;
    for (int s = 0; s < 64; s += 7) {
        if (r->p >= r->end) return 0;
        uint8_t b = *r->p++;
        *v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) return 1;
    }
    return 0;
}

/* skip one field of wire type wt; 0 on malformed input */
static int pb_skip(pb *r, int wt) {
    uint64_t v;
    switch (wt) {
    case 0: return pb_varint(r, &v);
    case 1: if (r->end - r->p < 8) return 0; r->p += 8; return 1;
    case 2: if (!pb_varint(r, &v) || v > (uint64_t)(r->end - r->p)) return 0; r->p += v; return 1;
    case 5: if (r->end - r->p < 4) return 0; r->p += 4; return 1;
    default: return 0;
    }
}

typedef struct { const uint8_t *piece; size_t len; float score; int type; } sp_piece;

/* ModelProto.pieces (field 1): SentencePiece { piece = 1; score = 2; type = 3 } */
static eq_status sp_parse(eq_hf *h, const char *path, const uint8_t *buf, size_t n, sp_piece **out, int *n_out) {
    pb r = {buf, buf + n};
    int cap = 0, cnt = 0;
    sp_piece *ps = NULL;
    while (r.p < r.end) {
        uint64_t key;
        if (!pb_varint(&r, &key)) goto bad;
        int field = (int)(key >> 3), wt = (int)(key & 7);
        if (field != 1 || wt != 2) { if (!pb_skip(&r, wt)) goto bad; continue; }
        uint64_t len;
        if (!pb_varint(&r, &len) || len > (uint64_t)(r.end - r.p)) goto bad;
        pb m = {r.p, r.p + len};
        r.p += len;
        sp_piece sp = {(const uint8_t *)"", 0, 0.0f, 1};
        while (m.p < m.end) {
            uint64_t k2;
            if (!pb_varint(&m, &k2)) goto bad;
            int f = (int)(k2 >> 3), w = (int)(k2 & 7);
            if (f == 1 && w == 2) {
                uint64_t l;
                if (!pb_varint(&m, &l) || l > (uint64_t)(m.end - m.p)) goto bad;
                sp.piece = m.p; sp.len = (size_t)l; m.p += l;
            } else if (f == 2 && w == 5) {
                if (m.end - m.p < 4) goto bad;
                uint32_t u = (uint32_t)m.p[0] | (uint32_t)m.p[1] << 8 | (uint32_t)m.p[2] << 16 | (uint32_t)m.p[3] << 24;
                memcpy(&sp.score, &u, 4);
                m.p += 4;
            } else if (f == 3 && w == 0) {
                uint64_t v;
                if (!pb_varint(&m, &v)) goto bad;
                sp.type = (int)(v & 0xff);
            } else if (!pb_skip(&m, w)) goto bad;
        }
        if (cnt == cap) {
            if (cap > (1 << 24)) goto bad;
            cap = cap ? cap * 2 : 1024;
            sp_piece *np = realloc(ps, (size_t)cap * sizeof *np);
            if (!np) { free(ps); return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory"); }
            ps = np;
        }
        ps[cnt++] = sp;
    }
    if (!cnt) { free(ps); return eq_hf_fail(h, EQ_ERR_FORMAT, "%s: no SentencePiece pieces", path); }
    *out = ps;
    *n_out = cnt;
    return EQ_OK;
bad:
    free(ps);
    return eq_hf_fail(h, EQ_ERR_FORMAT, "%s: malformed SentencePiece model (protobuf)", path);
}

/* _create_vocab_sentencepiece (phi3 = 0) or Phi3MiniModel.set_vocab's variant (phi3 = 1) */
static eq_status set_vocab_spm(eq_hf *h, const char *path, int phi3) {
    char *buf;
    size_t len;
    eq_status st = eq_read_file(path, 1u << 30, &buf, &len, h->err, h->errlen);
    if (st) return st;
    sp_piece *ps = NULL;
    int np = 0;
    st = sp_parse(h, path, (const uint8_t *)buf, len, &ps, &np);
    if (st) { free(buf); return st; }
    int64_t n = vocab_size_or(h, np);
    if (phi3 && np > n) {
        free(ps); free(buf);
        return eq_hf_fail(h, EQ_ERR_FORMAT, "%s: %d pieces but config.json vocab_size is %lld", path, np, (long long)n);
    }
    toklist t;
    if (toklist_init(&t, (int)n, 1)) { free(ps); free(buf); return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory"); }
    for (int64_t i = 0; i < n && !st; i++) {
        if (tok_set_pad(&t, (int)i)) st = EQ_ERR_NOMEM;
        t.score[i] = -10000.0f;
        t.type[i] = TT_UNUSED;
    }
    for (int i = 0; i < np && i < n && !st; i++) {
        int ty = TT_NORMAL;
        switch (ps[i].type) {
        case 2: ty = TT_UNKNOWN; break;
        case 3: ty = TT_CONTROL; break;
        case 5: ty = TT_UNUSED; break;
        case 6: ty = TT_BYTE; break;
        default: break;
        }
        if (tok_set(&t, i, (const char *)ps[i].piece, ps[i].len)) st = EQ_ERR_NOMEM;
        t.score[i] = ps[i].score;
        t.type[i] = ty;
    }
    free(ps);
    free(buf);
    if (st) { toklist_free(&t); return eq_hf_fail(h, st, "out of memory"); }
    /* added_tokens.json: {content: id} */
    char *ap = eq_path_join(h->dir, "added_tokens.json");
    if (ap && eq_file_exists(ap)) {
        cJSON *aj;
        st = eq_json_load(ap, &aj, h->err, h->errlen);
        for (const cJSON *e = st ? NULL : (cJSON_IsObject(aj) ? aj->child : NULL); e && !st; e = e->next) {
            int64_t id;
            if (!eq_json_as_int(e, 0, INT32_MAX, &id)) { st = eq_hf_fail(h, EQ_ERR_FORMAT, "%s: '%.100s' has no token id", ap, e->string); break; }
            if (id >= n) continue;
            if (tok_set(&t, (int)id, e->string, strlen(e->string))) st = eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
            t.score[id] = -1000.0f;
            t.type[id] = TT_USER_DEFINED;
        }
        if (!st) cJSON_Delete(aj);
    }
    free(ap);
    /* tokenizer_config.json added_tokens_decoder, then (phi3) tokenizer.json added_tokens */
    for (int pass = 0; pass < (phi3 ? 2 : 1) && !st; pass++) {
        const cJSON *list = pass == 0 ? eq_json_get(h->tok_config, "added_tokens_decoder") : eq_json_get(h->tok_json, "added_tokens");
        const char *what = pass == 0 ? "tokenizer_config.json: added_tokens_decoder" : "tokenizer.json: added_tokens";
        for (const cJSON *e = list ? list->child : NULL; e && !st; e = e->next) {
            int64_t id;
            if (pass == 0) {
                char *end;
                id = e->string ? strtoll(e->string, &end, 10) : -1;
                if (!e->string || !*e->string || *end || id < 0)
                    { st = eq_hf_fail(h, EQ_ERR_FORMAT, "%s/%s: '%.50s' is not a token id", h->dir, what, e->string ? e->string : ""); break; }
            } else if (eq_json_int(e, "id", 0, INT32_MAX, &id) != 1) {
                st = eq_hf_fail(h, EQ_ERR_FORMAT, "%s/%s: an entry has no valid id", h->dir, what);
                break;
            }
            const char *content = eq_json_str(e, "content");
            if (!content) { st = eq_hf_fail(h, EQ_ERR_FORMAT, "%s/%s: token %lld has no content", h->dir, what, (long long)id); break; }
            if (id >= n) {
                if (!phi3) continue;   /* the base script skips it; Phi-3's would fail */
                st = eq_hf_fail(h, EQ_ERR_FORMAT, "%s/%s: token id %lld is not below vocab_size %lld", h->dir, what, (long long)id, (long long)n);
                break;
            }
            int special = 0;
            eq_json_bool(e, "special", &special);
            if (phi3) {
                if (tok_set(&t, (int)id, content, strlen(content))) { st = eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory"); break; }
                t.type[id] = special ? TT_CONTROL : TT_USER_DEFINED;
            } else if (special || looks_special(content)) {
                if (tok_set(&t, (int)id, content, strlen(content))) { st = eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory"); break; }
                t.type[id] = TT_CONTROL;
            } else {
                size_t l;
                char *u = unescape_spaces(content, &l);
                if (!u) { st = eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory"); break; }
                free(t.s[id]);
                t.s[id] = u;
                t.len[id] = l;
                t.type[id] = TT_USER_DEFINED;
            }
            t.score[id] = -1000.0f;
        }
    }
    special sv;
    special_init(&sv, n);
    if (!st) st = special_load(h, &sv);
    if (!st) {
        eq_status ws = EQ_OK;
        if (!ws) ws = eq_gguf_writer_set_str(h->w, "tokenizer.ggml.model", "llama");
        if (!ws) ws = eq_gguf_writer_set_str(h->w, "tokenizer.ggml.pre", "default");
        if (!ws) ws = eq_gguf_writer_set_arr_str(h->w, "tokenizer.ggml.tokens", (const char *const *)t.s, t.len, (uint64_t)t.n);
        if (!ws) ws = eq_gguf_writer_set_arr(h->w, "tokenizer.ggml.scores", EQ_GGUF_F32, t.score, (uint64_t)t.n);
        if (!ws) ws = eq_gguf_writer_set_arr(h->w, "tokenizer.ggml.token_type", EQ_GGUF_I32, t.type, (uint64_t)t.n);
        if (ws) st = eq_hf_wfail(h, ws);
    }
    if (!st) st = special_write(h, &sv, NULL, 0);
    toklist_free(&t);
    return st;
}

/* ---------------------------------------------------------------- per architecture */

eq_status eq_hf_set_vocab(eq_hf *h) {
    char *spm = eq_path_join(h->dir, "tokenizer.model");
    if (!spm) return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
    int has_spm = eq_file_exists(spm);
    eq_status st;
    if (h->arch == EQ_HF_PHI3) {
        const char *cls = NULL;
        if (h->tok_config) {
            cls = eq_json_str(h->tok_config, "tokenizer_class");
            if (!cls) { free(spm); return eq_hf_fail(h, EQ_ERR_FORMAT, "%s/tokenizer_config.json: missing \"tokenizer_class\"", h->dir); }
        }
        if (cls && !strcmp(cls, "GPT2Tokenizer")) st = set_vocab_gpt2(h);
        else if (!has_spm) st = eq_hf_fail(h, EQ_ERR_IO, "%s: missing (Phi-3 needs its SentencePiece model)", spm);
        else st = set_vocab_spm(h, spm, 1);
        free(spm);
        return st;
    }
    if (h->arch == EQ_HF_LLAMA) {
        int b;
        int r = eq_json_bool(h->tok_config, "add_prefix_space", &b);
        if (r == 1 && (st = eq_gguf_writer_set_bool(h->w, "tokenizer.ggml.add_space_prefix", b))) { free(spm); return eq_hf_wfail(h, st); }
    }
    if (has_spm) st = set_vocab_spm(h, spm, 0);
    else if (h->arch == EQ_HF_LLAMA && h->tok_json) {
        /* LlamaHfVocab takes a byte-fallback BPE tokenizer.json (SPM-style) that is not llama3's */
        const cJSON *m = eq_json_get(h->tok_json, "model");
        const char *mt = eq_json_str(m, "type");
        int ignore_merges = 0, byte_fallback = 1, has_bf;
        eq_json_bool(m, "ignore_merges", &ignore_merges);
        has_bf = eq_json_bool(m, "byte_fallback", &byte_fallback);
        int is_llama3 = mt && !strcmp(mt, "BPE") && ignore_merges && !byte_fallback;
        const char *dec = eq_json_str(eq_json_get(h->tok_json, "decoder"), "type");
        int llama_hf = !is_llama3 && mt && !strcmp(mt, "BPE") && has_bf == 1 && byte_fallback && dec && !strcmp(dec, "Sequence");
        if (llama_hf)
            st = eq_hf_fail(h, EQ_ERR_UNSUPPORTED, "%s/tokenizer.json: byte-fallback BPE without tokenizer.model is not supported yet", h->dir);
        else st = set_vocab_gpt2(h);
    } else st = set_vocab_gpt2(h);
    free(spm);
    if (st) return st;
    if (h->arch == EQ_HF_LLAMA && vocab_size_or(h, 32000) == 49152) {
        /* the script's "granite small models" rule, which SmolLM2's vocabulary also meets */
        if ((st = eq_gguf_writer_set_bool(h->w, "tokenizer.ggml.add_bos_token", 0))) return eq_hf_wfail(h, st);
    }
    return EQ_OK;
}
