/* JSON helpers over cJSON (see json.h). */
#define _POSIX_C_SOURCE 200809L
#include "format/json.h"
#include "runtime/readfile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

eq_status eq_json_parse(const char *what, const char *text, size_t len, cJSON **out,
                        char *err, size_t errlen) {
    *out = NULL;
    const char *end = NULL;
    /* require_null_terminated = 0: trailing garbage is caught below instead */
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        /* cJSON cannot tell a failed allocation from a syntax error; both read as malformed */
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        snprintf(err, errlen, "%s: malformed JSON near byte %zu (or nested deeper than %d)",
                 what, at, CJSON_NESTING_LIMIT);
        return EQ_ERR_FORMAT;
    }
    /* only whitespace (or the NUL a file buffer ends with) may follow the value */
    for (const char *p = end; p && p < text + len; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == 0) continue;
        snprintf(err, errlen, "%s: unexpected data after the JSON value at byte %zu", what,
                 (size_t)(p - text));
        cJSON_Delete(root);
        return EQ_ERR_FORMAT;
    }
    *out = root;
    return EQ_OK;
}

eq_status eq_json_load(const char *path, cJSON **out, char *err, size_t errlen) {
    char *buf;
    size_t len;
    *out = NULL;
    eq_status st = eq_read_file(path, EQ_JSON_MAX_FILE, &buf, &len, err, errlen);
    if (st) return st;
    st = eq_json_parse(path, buf, len, out, err, errlen);
    free(buf);
    return st;
}

const cJSON *eq_json_get(const cJSON *o, const char *key) {
    if (!cJSON_IsObject(o)) return NULL;
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

int eq_json_as_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    /* doubles are exact integers only up to 2^53; larger values may have been rounded */
    if (!isfinite(d) || d != floor(d) || d < -9007199254740992.0 || d > 9007199254740992.0) return 0;
    int64_t i = (int64_t)d;
    if (i < lo || i > hi) return 0;
    *out = i;
    return 1;
}

int eq_json_int(const cJSON *o, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    const cJSON *v = eq_json_get(o, key);
    if (!v || cJSON_IsNull(v)) return 0;
    return eq_json_as_int(v, lo, hi, out) ? 1 : -1;
}

int eq_json_num(const cJSON *o, const char *key, double *out) {
    const cJSON *v = eq_json_get(o, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return -1;
    *out = v->valuedouble;
    return 1;
}

int eq_json_bool(const cJSON *o, const char *key, int *out) {
    const cJSON *v = eq_json_get(o, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsBool(v)) return -1;
    *out = cJSON_IsTrue(v);
    return 1;
}

const char *eq_json_str(const cJSON *o, const char *key) {
    const cJSON *v = eq_json_get(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int eq_file_exists(const char *path) {
    struct stat sb;
    return path && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

char *eq_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    if (a > 1u << 20 || b > 1u << 20) return NULL;
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    size_t n = a;
    if (n && p[n - 1] != '/') p[n++] = '/';
    memcpy(p + n, name, b + 1);
    return p;
}
