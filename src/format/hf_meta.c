/* general.* metadata as gguf-py's Metadata heuristics derive it (the model card, read by
 * hf_card.c, then config.json's _name_or_path, then the folder name), and the sampling defaults
 * from generation_config.json. */
#include "format/hf_internal.h"
#include "format/json.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef eq_hf_id_parts id_parts;

static char *dup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    char *r = malloc(n + 1);
    if (r) memcpy(r, s, n + 1);
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
