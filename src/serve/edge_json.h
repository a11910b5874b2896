/* JSON text for the edge mode (edge.c), where cJSON's C strings fall short: request strings
 * keep their length when they hold NUL characters ("a\u0000b" is 3 bytes, not "a"), and
 * response strings are written from (bytes, length) as valid UTF-8 JSON. */
#ifndef EQ_EDGE_JSON_H
#define EQ_EDGE_JSON_H

#include <stddef.h>
#include "cJSON.h"
#include "edge.h"

/* The strings of one parsed body that hold a NUL character, with their whole text. */
typedef struct eq_jstrings eq_jstrings;

/* Scan body (len bytes, already parsed by cJSON into root) for string literals that decode to
 * a NUL (the \u0000 escape or a raw 0 byte) and pair them with root's items. Refuses, with a
 * 400 in *err: a \u escape whose digits are not hex (cJSON reads those as U+0000) and an
 * object key holding a NUL (keys are looked up as C strings). *out is NULL when no string
 * holds a NUL (the usual case, one pass over the bytes). */
eq_status eq_jstrings_scan(const char *body, size_t len, const cJSON *root, eq_jstrings **out,
                           eq_edge_error *err);
void eq_jstrings_free(eq_jstrings *t);

/* The bytes and length of string item v (its NUL characters included). t may be NULL. */
const char *eq_jstr(const eq_jstrings *t, const cJSON *v, size_t *n);
/* v's text equals the C string lit, length included ("none\u0000x" is not "none"). */
int eq_jstr_is(const eq_jstrings *t, const cJSON *v, const char *lit);

/* A JSON string literal ("..." with escapes, NUL-terminated, malloc'd) for the n bytes at s:
 * NUL and other control characters escaped, invalid UTF-8 replaced by U+FFFD, so the result
 * is valid UTF-8 JSON whatever s holds. NULL when out of memory. */
char *eq_json_quote(const char *s, size_t n);

#endif
