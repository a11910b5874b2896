/* JSON files through cJSON, with the checks every untrusted file needs: a size cap, a parse
 * error that says where, and typed getters that never trust a value's type or range. */
#ifndef EQ_JSON_H
#define EQ_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "edgeq.h"
#include "cJSON.h"

/* Largest JSON file we read whole (tokenizer.json of a 256k vocabulary is ~20 MB). */
#define EQ_JSON_MAX_FILE (512u << 20)

/* Parse text (len bytes, need not be NUL-terminated); errors name `what` and the byte offset. */
eq_status eq_json_parse(const char *what, const char *text, size_t len, cJSON **out,
                        char *err, size_t errlen);
/* Read and parse a file; EQ_ERR_IO if it cannot be opened. */
eq_status eq_json_load(const char *path, cJSON **out, char *err, size_t errlen);

/* Member lookups (case-sensitive, first match); NULL when absent or `o` is not an object. */
const cJSON *eq_json_get(const cJSON *o, const char *key);
/* 1 and *out set when the member is a number that is an integer in [lo, hi]; 0 when absent;
 * -1 when present with another type or out of range. */
int eq_json_int(const cJSON *o, const char *key, int64_t lo, int64_t hi, int64_t *out);
/* Same for any finite number. */
int eq_json_num(const cJSON *o, const char *key, double *out);
/* 1 for true/false, 0 absent, -1 wrong type */
int eq_json_bool(const cJSON *o, const char *key, int *out);
/* The string member, or NULL (absent or not a string). */
const char *eq_json_str(const cJSON *o, const char *key);
/* An integral number in [lo, hi] (not a member lookup): 1 ok, 0 not. */
int eq_json_as_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out);

/* Does this path exist as a regular file? */
int eq_file_exists(const char *path);
/* dir + "/" + name, malloc'd (NULL on overflow/OOM). */
char *eq_path_join(const char *dir, const char *name);

#endif
