/* general.* from the model card (README.md front matter), as gguf-py's
 * Metadata.apply_metadata_heuristic reads a card: llama.cpp's own keys (name, author, ...,
 * and their model_* spellings), license / license_name / license_link, base_model(s) and
 * datasets (Hugging Face ids, URLs or mappings), tags + pipeline_tag, languages + language.
 *
 * Where the script would stop with a Python error (a number or a date where it needs text,
 * a list mixing text with other types), we skip that value with a warning instead; where
 * it silently writes nothing (a false, 0 or empty value), so do we. */
#include "format/hf_internal.h"
#include "format/json.h"
#include "format/model_card.h"
#include "runtime/readfile.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* README.md files are kilobytes; anything this big is not a model card we want to parse. */
#define CARD_MAX_FILE (16u << 20)

static char *dup_s(const char *s) {
    size_t n = strlen(s);
    char *r = malloc(n + 1);
    if (r) memcpy(r, s, n + 1);
    return r;
}

static void source_free(eq_hf_source *s) {
    for (int i = 0; i < EQ_HF_SRC_FIELDS; i++) free(s->f[i]);
}

static void strv_free(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

void eq_hf_meta_free(eq_hf_meta *m) {
    char **s[] = {&m->name, &m->author, &m->version, &m->organization, &m->finetune, &m->basename,
                  &m->description, &m->size_label, &m->license, &m->license_name, &m->license_link,
                  &m->source_url, &m->source_doi, &m->source_uuid, &m->source_repo_url};
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) free(*s[i]);
    for (size_t i = 0; i < m->n_base_models; i++) source_free(&m->base_models[i]);
    for (size_t i = 0; i < m->n_datasets; i++) source_free(&m->datasets[i]);
    free(m->base_models);
    free(m->datasets);
    strv_free(m->tags, m->n_tags);
    strv_free(m->languages, m->n_languages);
    memset(m, 0, sizeof *m);
}

static const char *kind_name(const eq_mc_node *v) {
    switch (v->kind) {
    case EQ_MC_BOOL: return "a boolean";
    case EQ_MC_INT: return "an integer";
    case EQ_MC_FLOAT: return "a number";
    case EQ_MC_SEQ: return "a list";
    case EQ_MC_MAP: return "a mapping";
    default: return "a date, an alias or a tagged value";
    }
}

typedef struct {
    eq_hf *h;
    const char *path;      /* for messages */
    int64_t total;
    int oom;
} card_ctx;

/* A text value as gguf-py's add_string sees it: *out = a copy (NULL: nothing to set).
 * Returns 0, or -1 when out of memory. falsy values set "" (set, but never written). */
static int text_of(card_ctx *c, const eq_mc_node *v, const char *what, char **out) {
    *out = NULL;
    if (!v || v->kind == EQ_MC_NULL) return 0;
    if (v->kind == EQ_MC_STR) *out = dup_s(v->text);
    else if (v->falsy) *out = dup_s("");
    else {
        eq_hf_warn(c->h, "%s: model card: %s is %s, not text: skipped", c->path, what, kind_name(v));
        return 0;
    }
    if (!*out) { c->oom = 1; return -1; }
    return 0;
}

/* use_model_card_metadata: the first key that is present and not null wins */
static void use(card_ctx *c, const eq_mc_node *card, char **dst, const char *key) {
    if (*dst || c->oom) return;
    const eq_mc_node *v = eq_mc_get(card, key);
    char what[96];
    snprintf(what, sizeof what, "\"%s\"", key);
    text_of(c, v, what, dst);
}

/* license may be a list: gguf-py joins it with ',' */
static void use_license(card_ctx *c, const eq_mc_node *card, char **dst) {
    const eq_mc_node *v = eq_mc_get(card, "license");
    if (!v || v->kind != EQ_MC_SEQ) { use(c, card, dst, "license"); return; }
    size_t len = 1;
    for (const eq_mc_node *i = v->child; i; i = i->next) {
        if (i->kind != EQ_MC_STR) {
            eq_hf_warn(c->h, "%s: model card: \"license\" lists %s, not text: skipped", c->path, kind_name(i));
            return;
        }
        len += i->len + 1;
    }
    char *r = malloc(len);
    if (!r) { c->oom = 1; return; }
    size_t o = 0;
    for (const eq_mc_node *i = v->child; i; i = i->next) {
        if (i != v->child) r[o++] = ',';
        memcpy(r + o, i->text, i->len);
        o += i->len;
    }
    r[o] = 0;
    *dst = r;
}

/* use_array_model_card_metadata: text is appended, a list's items are appended, anything
 * else is ignored. Items that are not text make the whole key unwritable. */
static void use_array(card_ctx *c, const eq_mc_node *card, const char *key, const char *gkey, char ***v, size_t *n,
                      int *bad) {
    const eq_mc_node *x = eq_mc_get(card, key);
    if (!x || c->oom) return;
    size_t add = x->kind == EQ_MC_STR ? 1 : x->kind == EQ_MC_SEQ ? x->n : 0;
    if (!add) return;
    char **nv = realloc(*v, (*n + add) * sizeof *nv);
    if (!nv) { c->oom = 1; return; }
    *v = nv;
    const eq_mc_node *it = x->kind == EQ_MC_STR ? x : x->child;
    for (size_t i = 0; i < add && it; i++, it = x->kind == EQ_MC_STR ? NULL : it->next) {
        if (it->kind != EQ_MC_STR) {
            if (!*bad) eq_hf_warn(c->h, "%s: model card: \"%s\" holds %s, not text: %s skipped", c->path, key,
                                  kind_name(it), gkey);
            *bad = 1;
            continue;
        }
        if (!(nv[*n] = dup_s(it->text))) { c->oom = 1; return; }
        (*n)++;
    }
}

/* re.match(r"https?://huggingface.co/([^/]+/[^/]+)$", s): the group, or NULL. The '.' in
 * the pattern matches any character but a newline, as in Python. */
static const char *hf_url_id(const char *s) {
    const char *p;
    if (!strncmp(s, "https://", 8)) p = s + 8;
    else if (!strncmp(s, "http://", 7)) p = s + 7;
    else return NULL;
    if (strncmp(p, "huggingface", 11)) return NULL;
    p += 11;
    if (!*p || *p == '\n') return NULL;
    p++;
    if (strncmp(p, "co/", 3)) return NULL;
    p += 3;
    const char *slash = strchr(p, '/');
    if (!slash || slash == p || !slash[1] || strchr(slash + 1, '/')) return NULL;
    return p;
}

static int set_field(card_ctx *c, eq_hf_source *e, int f, char *v) {
    if (!v) { c->oom = 1; return -1; }
    free(e->f[f]);
    e->f[f] = v;
    return 0;
}

/* name / organization / version from a Hugging Face id (and repo_url when asked) */
static int from_id(card_ctx *c, eq_hf_source *e, const char *id, int with_repo_url) {
    eq_hf_id_parts parts;
    if (eq_hf_model_id_components(id, c->total, &parts)) { c->oom = 1; return -1; }
    int r = 0;
    if (parts.name && set_field(c, e, EQ_HF_SRC_NAME, eq_hf_id_to_title(parts.name))) r = -1;
    if (!r && parts.org && set_field(c, e, EQ_HF_SRC_ORGANIZATION, eq_hf_id_to_title(parts.org))) r = -1;
    if (!r && parts.version && set_field(c, e, EQ_HF_SRC_VERSION, dup_s(parts.version))) r = -1;
    if (!r && with_repo_url && parts.org && parts.name) {
        size_t n = strlen(parts.org) + strlen(parts.name) + 32;
        char *u = malloc(n);
        if (u) snprintf(u, n, "https://huggingface.co/%s/%s", parts.org, parts.name);
        if (set_field(c, e, EQ_HF_SRC_REPO_URL, u)) r = -1;
    }
    eq_hf_id_parts_free(&parts);
    return r;
}

/* One base_model / datasets item: an id or URL string, or a mapping of the fields. */
static void source_of(card_ctx *c, const eq_mc_node *v, const char *key, size_t idx, eq_hf_source *e) {
    memset(e, 0, sizeof *e);
    if (v->kind == EQ_MC_STR) {
        const char *s = v->text;
        if (!strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) || !strncmp(s, "ssh://", 6)) {
            if (set_field(c, e, EQ_HF_SRC_REPO_URL, dup_s(s))) return;
            const char *id = strstr(s, "huggingface.co") ? hf_url_id(s) : NULL;
            if (id) from_id(c, e, id, 0);
        } else {
            from_id(c, e, s, 1);
        }
    } else if (v->kind == EQ_MC_MAP) {
        static const char *const names[EQ_HF_SRC_FIELDS] = {"name", "author", "version", "organization", "description",
                                                            "url", "doi", "uuid", "repo_url"};
        for (int f = 0; f < EQ_HF_SRC_FIELDS && !c->oom; f++) {
            char what[96];
            snprintf(what, sizeof what, "\"%s\" item %zu's \"%s\"", key, idx, names[f]);
            text_of(c, eq_mc_get(v, names[f]), what, &e->f[f]);
        }
    } else {
        /* gguf-py logs an error and still counts an empty entry */
        eq_hf_warn(c->h, "%s: model card: \"%s\" item %zu is %s, not an id or a mapping: written as an empty entry",
                   c->path, key, idx, kind_name(v));
    }
}

/* base_model / base_models / base_model_sources (and the dataset keys): the first key
 * present decides, even when its value is null. */
static void use_sources(card_ctx *c, const eq_mc_node *card, const char *const keys[3], int *has,
                        eq_hf_source **out, size_t *n) {
    const eq_mc_node *v = NULL;
    const char *key = NULL;
    for (int i = 0; i < 3 && !v; i++) v = eq_mc_get(card, key = keys[i]);
    if (!v) return;
    *has = 1;
    size_t cnt = v->kind == EQ_MC_STR ? 1 : v->kind == EQ_MC_SEQ ? v->n : 0;
    if (!cnt) return;
    *out = calloc(cnt, sizeof **out);
    if (!*out) { c->oom = 1; return; }
    const eq_mc_node *it = v->kind == EQ_MC_STR ? v : v->child;
    for (size_t i = 0; i < cnt && it && !c->oom; i++, it = it->next) {
        source_of(c, it, key, i, &(*out)[i]);
        (*n)++;
    }
}

/* apply_metadata_heuristic's model-card part, in its order (each field keeps the first value
 * that is set, so the order decides between spellings). */
static void apply_card(card_ctx *c, const eq_mc_node *card, eq_hf_meta *m) {
    /* llama.cpp's own keys, then the model_* spellings, then what some creators use */
    static const struct { size_t field; const char *key; } scalars[] = {
#define F(x) offsetof(eq_hf_meta, x)
        {F(name), "name"}, {F(author), "author"}, {F(version), "version"}, {F(organization), "organization"},
        {F(description), "description"}, {F(finetune), "finetune"}, {F(basename), "basename"},
        {F(size_label), "size_label"}, {F(source_url), "url"}, {F(source_doi), "doi"}, {F(source_uuid), "uuid"},
        {F(source_repo_url), "repo_url"},
        {F(name), "model_name"}, {F(author), "model_author"}, {F(version), "model_version"},
        {F(organization), "model_organization"}, {F(description), "model_description"},
        {F(finetune), "model_finetune"}, {F(basename), "model_basename"}, {F(size_label), "model_size_label"},
        {F(source_url), "model_url"}, {F(source_doi), "model_doi"}, {F(source_uuid), "model_uuid"},
        {F(source_repo_url), "model_repo_url"},
        {F(author), "model_creator"}, {F(basename), "model_type"},
#undef F
    };
    for (size_t i = 0; i < sizeof scalars / sizeof *scalars; i++)
        use(c, card, (char **)((char *)m + scalars[i].field), scalars[i].key);

    static const char *const base_keys[3] = {"base_model", "base_models", "base_model_sources"};
    static const char *const data_keys[3] = {"datasets", "dataset", "dataset_sources"};
    if (!c->oom) use_sources(c, card, base_keys, &m->has_base_models, &m->base_models, &m->n_base_models);
    if (!c->oom) use_sources(c, card, data_keys, &m->has_datasets, &m->datasets, &m->n_datasets);

    if (!c->oom && !m->license) use_license(c, card, &m->license);
    use(c, card, &m->license_name, "license_name");
    use(c, card, &m->license_link, "license_link");

    use_array(c, card, "tags", "general.tags", &m->tags, &m->n_tags, &m->tags_bad);
    use_array(c, card, "pipeline_tag", "general.tags", &m->tags, &m->n_tags, &m->tags_bad);
    use_array(c, card, "languages", "general.languages", &m->languages, &m->n_languages, &m->languages_bad);
    use_array(c, card, "language", "general.languages", &m->languages, &m->n_languages, &m->languages_bad);
}

eq_status eq_hf_read_card(eq_hf *h, int64_t total_params, eq_hf_meta *m) {
    char *path = eq_path_join(h->dir, "README.md");
    if (!path) return eq_hf_fail(h, EQ_ERR_NOMEM, "out of memory");
    eq_status st = EQ_OK;
    char *buf = NULL, msg[512];
    size_t len = 0;
    eq_mc *doc = NULL;
    int r = EQ_MC_NONE;
    if (eq_file_exists(path)) {
        st = eq_read_file(path, CARD_MAX_FILE, &buf, &len, msg, sizeof msg);
        if (st && st != EQ_ERR_NOMEM) {
            eq_hf_warn(h, "%s: model card ignored", msg);   /* unreadable or too large */
            st = EQ_OK;
        } else if (!st) {
            r = eq_mc_parse_card(buf, len, &doc, msg, sizeof msg);
            if (r == EQ_MC_NOT_MAP || r == EQ_MC_BAD) eq_hf_warn(h, "%s: model card ignored: %s", path, msg);
            if (r == EQ_MC_NOMEM) st = EQ_ERR_NOMEM;
        }
    }
    if (r == EQ_MC_OK) {
        card_ctx c = {h, path, total_params, 0};
        apply_card(&c, eq_mc_root(doc), m);
        if (c.oom) st = EQ_ERR_NOMEM;
    }
    eq_mc_free(doc);
    free(buf);
    free(path);
    return st == EQ_ERR_NOMEM ? eq_hf_fail(h, st, "out of memory") : st;
}
