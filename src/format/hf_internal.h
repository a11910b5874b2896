/* Internals of the Hugging Face converter, shared by hf_convert.c, hf_vocab.c, hf_meta.c and
 * hf_card.c. */
#ifndef EQ_HF_INTERNAL_H
#define EQ_HF_INTERNAL_H

#include "edgeq_quantize.h"
#include "runtime/outfile.h"
#include "cJSON.h"
#include "gguf/writer.h"

/* ---- internals shared by hf_convert.c, hf_vocab.c, hf_meta.c and hf_card.c ---- */

enum { EQ_HF_LLAMA = 1, EQ_HF_PHI3, EQ_HF_QWEN2 };

typedef struct {
    const char *dir;
    int arch;
    const char *arch_name;        /* "llama", "phi3", "qwen2" */
    cJSON *config;                /* config.json (required) */
    cJSON *tok_json;              /* tokenizer.json, tokenizer_config.json, */
    cJSON *tok_config;            /* generation_config.json: NULL when absent */
    cJSON *gen_config;
    eq_gguf_writer *w;
    char *err;
    size_t errlen;
    void (*warn)(void *user, const char *msg);   /* NULL: warnings are dropped */
    void *warn_user;
} eq_hf;

/* ---- reporting (hf_report.c) ---- */
/* Report an error (formats into h->err) and return st. */
eq_status eq_hf_fail(eq_hf *h, eq_status st, const char *fmt, ...);
/* The writer failed: copy its message. */
eq_status eq_hf_wfail(eq_hf *h, eq_status st);
/* Hand one formatted line to the warning callback, if any. */
void eq_hf_warn(eq_hf *h, const char *fmt, ...);

/* tokenizer.* keys (hf_vocab.c) */
eq_status eq_hf_set_vocab(eq_hf *h);
/* general.* keys from README.md, config.json, generation_config.json and the folder name
 * (hf_meta.c) */
eq_status eq_hf_set_meta_model(eq_hf *h, uint64_t total_params);

/* One general.base_model.N.* or general.dataset.N.* entry, fields in the order they are
 * written; NULL: absent. */
enum { EQ_HF_SRC_NAME, EQ_HF_SRC_AUTHOR, EQ_HF_SRC_VERSION, EQ_HF_SRC_ORGANIZATION, EQ_HF_SRC_DESCRIPTION,
       EQ_HF_SRC_URL, EQ_HF_SRC_DOI, EQ_HF_SRC_UUID, EQ_HF_SRC_REPO_URL, EQ_HF_SRC_FIELDS };
typedef struct {
    char *f[EQ_HF_SRC_FIELDS];
} eq_hf_source;

/* gguf-py's Metadata, the part a conversion fills. NULL is Python's None (the heuristics may
 * still fill it); "" is a value that was set but is not written (gguf-py skips empty
 * strings). */
typedef struct {
    char *name, *author, *version, *organization, *finetune, *basename, *description, *size_label;
    char *license, *license_name, *license_link;
    char *source_url, *source_doi, *source_uuid, *source_repo_url;
    int has_base_models, has_datasets;           /* the count key is written, even as 0 */
    eq_hf_source *base_models, *datasets;
    size_t n_base_models, n_datasets;
    char **tags, **languages;
    size_t n_tags, n_languages;
    int tags_bad, languages_bad;                 /* an item is not text: not written */
} eq_hf_meta;

void eq_hf_meta_free(eq_hf_meta *m);
/* The model-card part of Metadata.apply_metadata_heuristic: HF_DIR/README.md's front matter
 * into m. A card that cannot be read, or a value gguf-py could not store, is a warning and
 * is skipped; only running out of memory is an error. (hf_card.c) */
eq_status eq_hf_read_card(eq_hf *h, int64_t total_params, eq_hf_meta *m);

/* Metadata.get_model_id_components: NULL fields are None (hf_meta.c). */
typedef struct {
    char *name, *org, *basename, *finetune, *version, *size_label;
} eq_hf_id_parts;
/* 0, or -1 when out of memory */
int  eq_hf_model_id_components(const char *model_id, int64_t total_params, eq_hf_id_parts *out);
void eq_hf_id_parts_free(eq_hf_id_parts *p);
/* Metadata.id_to_title, malloc'd (NULL when out of memory) */
char *eq_hf_id_to_title(const char *s);


#endif /* EQ_HF_INTERNAL_H */
