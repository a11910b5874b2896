/* Edge-function mode: an OpenAI chat-completions request answered through a sink (edge.h). */
#define _POSIX_C_SOURCE 200809L
#include "edge.h"
#include "edge_json.h"
#include "cJSON.h"
#include "chat.h"              /* eq_chat_tokenize_marked: contents whose NULs travel marked */
#include "runtime/entropy.h"
#include "tokenizer/detok.h"   /* strict UTF-8 checks for what we send */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_STOP 4            /* OpenAI's limit */
#define MAX_STOP_LEN 1024
#define MAX_MESSAGES 4096
/* A NUL in a message's content travels through the chat template (C strings) as this byte,
 * which valid UTF-8 never holds (contents are made valid first), and is put back before the
 * prompt is tokenized: "Hi\u0000 there" reaches the model whole. */
#define NUL_MARK '\xff'

struct eq_edge_req {
    cJSON *root;              /* owns every string below that is not in `owned` or `nuls` */
    eq_jstrings *nuls;        /* the whole text of strings holding NUL characters */
    eq_chat_msg *msgs;
    int n_msgs;
    char **owned;             /* strings made here: repaired UTF-8, joined text parts */
    int n_owned, cap_owned;
    int has_mark;             /* some content holds NUL_MARK bytes */
    int max_tokens;           /* -2: not given */
    eq_sampler_params sp;
    int has_temp, has_top_k, has_top_p, has_min_p, has_repeat, has_repeat_n, has_seed;
    float freq_pen, pres_pen;
    const char *stop[MAX_STOP];
    size_t stop_len[MAX_STOP];
    int n_stop;
    int stream, include_usage;
    int special_in_content;   /* parse_special_in_content: contents may hold control tokens */
    const char *model;        /* the request's "model", or NULL */
};

eq_edge_opts eq_edge_default_opts(void) {
    eq_edge_opts o;
    memset(&o, 0, sizeof o);
    o.max_tokens = -1;
    o.sp = eq_sampler_default_params();
    o.model_name = "edgeq";
    o.max_body = 1u << 20;
    return o;
}

void eq_edge_set_error(eq_edge_error *e, int status, const char *type, const char *code,
                       const char *param, const char *fmt, ...) {
    va_list ap;
    e->status = status;
    e->type = type;
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_start(ap, fmt);
    int w = vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    /* the message goes into JSON: valid UTF-8, and a long one is cut between characters */
    size_t n = strlen(e->message);
    if (w >= (int)sizeof e->message) {
        size_t k = n;
        while (k > 0 && ((unsigned char)e->message[k - 1] & 0xC0) == 0x80) k--;
        unsigned char lead = k ? (unsigned char)e->message[k - 1] : 0;
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (k && k - 1 + need > n) e->message[n = k - 1] = 0;
    }
    if (eq_utf8_valid_prefix(e->message, n) < n) {   /* callers quote input with eq_edge_excerpt; a net */
        char tmp[3 * sizeof e->message];
        size_t m = eq_utf8_repair(e->message, n, tmp);
        if (m >= sizeof e->message) {
            m = sizeof e->message - 1;
            while (m > 0 && ((unsigned char)tmp[m] & 0xC0) == 0x80) m--;
        }
        memcpy(e->message, tmp, m);
        e->message[m] = 0;
    }
}

double eq_edge_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int eq_edge_deadline_passed(const eq_edge_opts *o) {
    return o && o->deadline > 0 && eq_edge_now() >= o->deadline;
}

/* 503 rather than 504: this server is the origin, and 504 is a gateway's word for an upstream
 * that did not answer (RFC 9110 15.6.5); a budget this server could not meet is "unable to
 * handle the request at the moment" (15.6.4), which clients retry like a 504. */
void eq_edge_timeout_error(eq_edge_error *err, const eq_edge_opts *o, const char *where) {
    eq_edge_set_error(err, 503, "server_error", "timeout", NULL,
                      "The request ran out of time: its deadline of %d ms passed while %s, before any token was generated.",
                      o ? o->deadline_ms : 0, where);
}

eq_status eq_edge_check_memory(const eq_model *m, const eq_ctx_params *cp, uint64_t max_bytes, eq_edge_error *err) {
    if (!max_bytes) return EQ_OK;
    eq_ctx_mem mem;
    char msg[256];
    eq_status st = eq_ctx_estimate(m, cp, &mem, msg, sizeof msg);
    if (st) {
        eq_edge_set_error(err, st == EQ_ERR_NOMEM ? 503 : 500, "server_error", st == EQ_ERR_NOMEM ? "out_of_memory" : NULL,
                          NULL, "Cannot size the context: %s.", msg);
        return st;
    }
    const uint64_t weights = eq_model_size_bytes(m), need = weights + mem.total_bytes;
    if (need <= max_bytes) return EQ_OK;
    const double MiB = 1024.0 * 1024.0;
    eq_edge_set_error(err, 503, "server_error", "memory_limit_exceeded", NULL,
                      "Not enough memory: the model's weights (%.1f MiB) and a context of %d tokens (KV cache %.1f MiB, "
                      "scratch %.1f MiB) need %.1f MiB, over the server's memory cap of %.0f MiB.",
                      weights / MiB, mem.n_ctx, mem.kv_bytes / MiB, mem.scratch_bytes / MiB, need / MiB, max_bytes / MiB);
    return EQ_ERR_NOMEM;
}

#define BAD(code, param, ...) eq_edge_set_error(err, 400, "invalid_request_error", code, param, __VA_ARGS__)

const char *eq_edge_status_text(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    }
    return "Error";
}

/* ---- request parsing ---------------------------------------------------------------------- */

static const char *json_type(const cJSON *v) {
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    if (cJSON_IsNull(v)) return "null";
    return "an invalid value";
}

static void bad_type(eq_edge_error *err, const char *param, const char *want, const cJSON *v) {
    BAD("invalid_type", param, "Invalid type for '%s': expected %s, but got %s instead.", param, want, json_type(v));
}

/* A member that is absent or null counts as not given (OpenAI accepts null for optional fields). */
static const cJSON *member(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

/* 1 given, 0 absent, -1 error (reported) */
static int get_num(const cJSON *o, const char *key, double lo, double hi, double *out, eq_edge_error *err) {
    const cJSON *v = member(o, key);
    if (!v) return 0;
    if (!cJSON_IsNumber(v)) { bad_type(err, key, "a number", v); return -1; }
    double d = v->valuedouble;
    if (!isfinite(d) || d < lo || d > hi) {
        BAD("invalid_value", key, "Invalid '%s': expected a number in [%g, %g], but got %g.", key, lo, hi, d);
        return -1;
    }
    *out = d;
    return 1;
}

static int get_int(const cJSON *o, const char *key, double lo, double hi, int64_t *out, eq_edge_error *err) {
    const cJSON *v = member(o, key);
    if (!v) return 0;
    if (!cJSON_IsNumber(v)) { bad_type(err, key, "an integer", v); return -1; }
    double d = v->valuedouble;
    /* doubles hold integers exactly only up to 2^53 */
    if (!isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0) { bad_type(err, key, "an integer", v); return -1; }
    if (d < lo || d > hi) {
        BAD("invalid_value", key, "Invalid '%s': expected an integer in [%.0f, %.0f], but got %.0f.", key, lo, hi, d);
        return -1;
    }
    *out = (int64_t)d;
    return 1;
}

static int get_bool(const cJSON *o, const char *key, int *out, eq_edge_error *err) {
    const cJSON *v = member(o, key);
    if (!v) return 0;
    if (!cJSON_IsBool(v)) { bad_type(err, key, "a boolean", v); return -1; }
    *out = cJSON_IsTrue(v);
    return 1;
}

static int own(eq_edge_req *r, char *p, eq_edge_error *err) {
    if (r->n_owned == r->cap_owned) {
        int nc = r->cap_owned ? r->cap_owned * 2 : 16;
        char **no = realloc(r->owned, (size_t)nc * sizeof *no);
        if (!no) {
            free(p);
            eq_edge_set_error(err, 503, "server_error", "out_of_memory", NULL, "Out of memory.");
            return -1;
        }
        r->owned = no;
        r->cap_owned = nc;
    }
    r->owned[r->n_owned++] = p;
    return 0;
}

enum { NUL_REFUSE, NUL_KEEP, NUL_MARKED };

/* The text of string item v with its length, as valid UTF-8: invalid bytes read as U+FFFD, as
 * a lossy UTF-8 decoder reads them. NUL characters: NUL_REFUSE answers 400 naming param,
 * NUL_KEEP keeps them (the length tells), NUL_MARKED turns them into NUL_MARK (contents, which
 * pass through the chat template). NULL on error (reported). */
static const char *text_of(eq_edge_req *r, const cJSON *v, const char *param, int nul, size_t *len,
                           eq_edge_error *err) {
    size_t n;
    const char *s = eq_jstr(r->nuls, v, &n);
    int has_nul = memchr(s, 0, n) != NULL;
    if (has_nul && nul == NUL_REFUSE) {
        BAD("invalid_value", param, "Invalid '%s': it contains a NUL character (\\u0000), which is not allowed there.", param);
        return NULL;
    }
    size_t valid = eq_utf8_valid_prefix(s, n);
    if (valid == n && !(has_nul && nul == NUL_MARKED)) { *len = n; return s; }
    size_t m = valid == n ? n : eq_utf8_repair(s, n, NULL);
    char *t = malloc(m + 1);
    if (!t) { eq_edge_set_error(err, 503, "server_error", "out_of_memory", NULL, "Out of memory."); return NULL; }
    if (own(r, t, err)) return NULL;
    if (valid == n) memcpy(t, s, n);
    else eq_utf8_repair(s, n, t);
    t[m] = 0;
    if (has_nul && nul == NUL_MARKED) {
        for (size_t i = 0; i < m; i++) if (!t[i]) t[i] = NUL_MARK;
        r->has_mark = 1;
    }
    *len = m;
    return t;
}

static eq_status parse_messages(eq_edge_req *r, const cJSON *msgs, eq_edge_error *err) {
    if (!msgs) { BAD("missing_required_parameter", "messages", "Missing required parameter: 'messages'."); return EQ_ERR_ARG; }
    if (!cJSON_IsArray(msgs)) { bad_type(err, "messages", "an array", msgs); return EQ_ERR_ARG; }
    int n = cJSON_GetArraySize(msgs);
    if (n == 0) { BAD("empty_array", "messages", "Invalid 'messages': empty array. Expected an array with minimum length 1."); return EQ_ERR_ARG; }
    if (n > MAX_MESSAGES) { BAD("array_above_max_length", "messages", "Invalid 'messages': more than %d messages.", MAX_MESSAGES); return EQ_ERR_ARG; }
    r->msgs = calloc((size_t)n, sizeof *r->msgs);
    if (!r->msgs) { eq_edge_set_error(err, 503, "server_error", "out_of_memory", NULL, "Out of memory."); return EQ_ERR_NOMEM; }
    char p[96];
    int i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        if (!cJSON_IsObject(m)) { snprintf(p, sizeof p, "messages[%d]", i); bad_type(err, p, "an object", m); return EQ_ERR_ARG; }
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        snprintf(p, sizeof p, "messages[%d].role", i);
        if (!role) { BAD("missing_required_parameter", p, "Missing required parameter: '%s'.", p); return EQ_ERR_ARG; }
        if (!cJSON_IsString(role)) { bad_type(err, p, "a string", role); return EQ_ERR_ARG; }
        size_t rl;
        const char *rs = text_of(r, role, p, NUL_REFUSE, &rl, err);   /* "user\u0000evil" is not "user" */
        if (!rs) return EQ_ERR_ARG;
        /* "developer" is the newer name of "system" (OpenAI's o1 and later) */
        if (!strcmp(rs, "developer")) rs = "system";
        if (strcmp(rs, "system") && strcmp(rs, "user") && strcmp(rs, "assistant")) {
            char q[200];
            if (!strcmp(rs, "tool") || !strcmp(rs, "function"))
                BAD("unsupported_value", p, "Invalid value for '%s': '%s' messages are not supported (no tool calling).", p, rs);
            else
                BAD("invalid_value", p, "Invalid value for '%s': '%s'. Supported values are: 'system', 'developer', 'user' and 'assistant'.",
                    p, eq_edge_excerpt(q, sizeof q, rs, rl, 40));
            return EQ_ERR_ARG;
        }
        if (member(m, "tool_calls") || member(m, "function_call")) {
            snprintf(p, sizeof p, "messages[%d].tool_calls", i);
            BAD("unsupported_parameter", p, "Tool calls are not supported.");
            return EQ_ERR_ARG;
        }
        const cJSON *content = member(m, "content");
        snprintf(p, sizeof p, "messages[%d].content", i);
        const char *text = NULL;
        if (!content) {
            if (strcmp(rs, "assistant")) { BAD("missing_required_parameter", p, "Missing required parameter: '%s'.", p); return EQ_ERR_ARG; }
            text = "";
        } else if (cJSON_IsString(content)) {
            size_t tl;
            if (!(text = text_of(r, content, p, NUL_MARKED, &tl, err))) return EQ_ERR_ARG;
        } else if (cJSON_IsArray(content)) {
            /* content parts: text parts joined by newlines; images and audio are not for us */
            int n_parts = cJSON_GetArraySize(content), k = 0;
            struct part_text { const char *s; size_t n; } *parts = malloc((size_t)(n_parts ? n_parts : 1) * sizeof *parts);
            if (!parts) { eq_edge_set_error(err, 503, "server_error", "out_of_memory", NULL, "Out of memory."); return EQ_ERR_NOMEM; }
            if (own(r, (char *)parts, err)) return EQ_ERR_NOMEM;
            size_t total = 1;
            const cJSON *part;
            cJSON_ArrayForEach(part, content) {
                char pp[96];
                snprintf(pp, sizeof pp, "messages[%d].content[%d]", i, k);
                const cJSON *ty = cJSON_IsObject(part) ? cJSON_GetObjectItemCaseSensitive(part, "type") : NULL;
                const cJSON *tx = cJSON_IsObject(part) ? cJSON_GetObjectItemCaseSensitive(part, "text") : NULL;
                if (!cJSON_IsObject(part)) { bad_type(err, pp, "an object", part); return EQ_ERR_ARG; }
                if (!cJSON_IsString(ty) || !eq_jstr_is(r->nuls, ty, "text")) {
                    BAD("unsupported_value", pp, "Invalid content part '%s': only {\"type\": \"text\"} parts are supported.", pp);
                    return EQ_ERR_ARG;
                }
                snprintf(pp + strlen(pp), sizeof pp - strlen(pp), ".text");
                if (!cJSON_IsString(tx)) { bad_type(err, pp, "a string", tx); return EQ_ERR_ARG; }
                if (!(parts[k].s = text_of(r, tx, pp, NUL_MARKED, &parts[k].n, err))) return EQ_ERR_ARG;
                total += parts[k].n + 1;
                k++;
            }
            char *joined = malloc(total);
            if (!joined) { eq_edge_set_error(err, 503, "server_error", "out_of_memory", NULL, "Out of memory."); return EQ_ERR_NOMEM; }
            if (own(r, joined, err)) return EQ_ERR_NOMEM;
            size_t at = 0;
            for (int j = 0; j < k; j++) {
                if (j) joined[at++] = '\n';
                memcpy(joined + at, parts[j].s, parts[j].n);
                at += parts[j].n;
            }
            joined[at] = 0;
            text = joined;
        } else {
            bad_type(err, p, "a string or an array of content parts", content);
            return EQ_ERR_ARG;
        }
        r->msgs[i].role = rs;   /* a string literal or the request's own */
        r->msgs[i].content = text;
        i++;
    }
    r->n_msgs = n;
    return EQ_OK;
}

static eq_status parse_stop(eq_edge_req *r, const cJSON *stop, eq_edge_error *err) {
    if (!stop) return EQ_OK;
    const cJSON *one = stop, *it;
    if (cJSON_IsArray(stop)) {
        if (cJSON_GetArraySize(stop) > MAX_STOP) {
            BAD("array_above_max_length", "stop", "Invalid 'stop': at most %d stop sequences are allowed.", MAX_STOP);
            return EQ_ERR_ARG;
        }
        int k = 0;
        cJSON_ArrayForEach(it, stop) {
            char p[32];
            snprintf(p, sizeof p, "stop[%d]", k++);
            if (!cJSON_IsString(it)) { bad_type(err, p, "a string", it); return EQ_ERR_ARG; }
            size_t l;
            const char *t = text_of(r, it, p, NUL_KEEP, &l, err);   /* matched by length: "a\u0000b" is 3 bytes */
            if (!t) return EQ_ERR_ARG;
            if (l == 0 || l > MAX_STOP_LEN) { BAD("invalid_value", p, "Invalid '%s': a stop sequence must be 1 to %d bytes long.", p, MAX_STOP_LEN); return EQ_ERR_ARG; }
            r->stop[r->n_stop] = t;
            r->stop_len[r->n_stop++] = l;
        }
        return EQ_OK;
    }
    if (!cJSON_IsString(one)) { bad_type(err, "stop", "a string or an array of strings", one); return EQ_ERR_ARG; }
    size_t l;
    const char *t = text_of(r, one, "stop", NUL_KEEP, &l, err);
    if (!t) return EQ_ERR_ARG;
    if (l == 0 || l > MAX_STOP_LEN) { BAD("invalid_value", "stop", "Invalid 'stop': a stop sequence must be 1 to %d bytes long.", MAX_STOP_LEN); return EQ_ERR_ARG; }
    r->stop[0] = t;
    r->stop_len[0] = l;
    r->n_stop = 1;
    return EQ_OK;
}

/* Fields we cannot honour are refused rather than silently ignored: a client that asked for
 * tool calls or JSON mode must not get plain text and believe it got what it asked for. */
static eq_status refuse_unsupported(const eq_edge_req *r, const cJSON *root, eq_edge_error *err) {
    const cJSON *v;
    int64_t n;
    int b = 0;
    if (get_int(root, "n", 1, 128, &n, err) < 0) return EQ_ERR_ARG;
    if (member(root, "n") && n != 1) { BAD("unsupported_value", "n", "Invalid 'n': only one choice (n = 1) is supported."); return EQ_ERR_ARG; }
    if ((v = member(root, "tools")) && !(cJSON_IsArray(v) && cJSON_GetArraySize(v) == 0)) {
        BAD("unsupported_parameter", "tools", "Unsupported parameter: 'tools' (no tool calling)."); return EQ_ERR_ARG;
    }
    if ((v = member(root, "tool_choice")) && !(cJSON_IsString(v) && eq_jstr_is(r->nuls, v, "none"))) {
        BAD("unsupported_parameter", "tool_choice", "Unsupported parameter: 'tool_choice' (no tool calling)."); return EQ_ERR_ARG;
    }
    if (member(root, "functions") || member(root, "function_call")) {
        BAD("unsupported_parameter", member(root, "functions") ? "functions" : "function_call",
            "Unsupported parameter: function calling is not supported."); return EQ_ERR_ARG;
    }
    if (get_bool(root, "logprobs", &b, err) < 0) return EQ_ERR_ARG;
    if (b || member(root, "top_logprobs")) {
        BAD("unsupported_parameter", b ? "logprobs" : "top_logprobs", "Unsupported parameter: log probabilities are not returned."); return EQ_ERR_ARG;
    }
    if ((v = member(root, "response_format"))) {
        const cJSON *t = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "type") : NULL;
        if (!cJSON_IsObject(v)) { bad_type(err, "response_format", "an object", v); return EQ_ERR_ARG; }
        if (!cJSON_IsString(t) || !eq_jstr_is(r->nuls, t, "text")) {
            BAD("unsupported_value", "response_format.type", "Invalid 'response_format.type': only 'text' is supported."); return EQ_ERR_ARG;
        }
    }
    return EQ_OK;
}

static eq_status parse_fields(eq_edge_req *r, const cJSON *root, eq_edge_error *err) {
    eq_status st;
    if ((st = refuse_unsupported(r, root, err))) return st;
    if ((st = parse_messages(r, cJSON_GetObjectItemCaseSensitive(root, "messages"), err))) return st;
    const cJSON *model = member(root, "model");
    if (model && !cJSON_IsString(model)) { bad_type(err, "model", "a string", model); return EQ_ERR_ARG; }
    size_t ml;
    r->model = NULL;   /* echoed in every response: valid UTF-8, and no NUL to lose */
    if (model && !(r->model = text_of(r, model, "model", NUL_REFUSE, &ml, err))) return EQ_ERR_ARG;

    int64_t iv;
    double d;
    int g;
    /* max_completion_tokens is the current name; max_tokens the deprecated one */
    if ((g = get_int(root, "max_completion_tokens", 1, 1 << 24, &iv, err)) < 0) return EQ_ERR_ARG;
    if (!g && (g = get_int(root, "max_tokens", 1, 1 << 24, &iv, err)) < 0) return EQ_ERR_ARG;
    r->max_tokens = g ? (int)iv : -2;
    if ((g = get_num(root, "temperature", 0, 2, &d, err)) < 0) return EQ_ERR_ARG;
    if (g) { r->sp.temp = (float)d; r->has_temp = 1; }
    if ((g = get_num(root, "top_p", 0, 1, &d, err)) < 0) return EQ_ERR_ARG;
    if (g) { r->sp.top_p = (float)d; r->has_top_p = 1; }
    if ((g = get_int(root, "top_k", 0, 1 << 30, &iv, err)) < 0) return EQ_ERR_ARG;
    if (g) { r->sp.top_k = (int)iv; r->has_top_k = 1; }
    if ((g = get_num(root, "min_p", 0, 1, &d, err)) < 0) return EQ_ERR_ARG;
    if (g) { r->sp.min_p = (float)d; r->has_min_p = 1; }
    if ((g = get_num(root, "repeat_penalty", 1e-3, 100, &d, err)) < 0) return EQ_ERR_ARG;
    if (g) { r->sp.repeat_penalty = (float)d; r->has_repeat = 1; }
    if ((g = get_int(root, "repeat_last_n", 0, 1 << 20, &iv, err)) < 0) return EQ_ERR_ARG;
    if (g) { r->sp.repeat_last_n = (int)iv; r->has_repeat_n = 1; }
    if ((g = get_num(root, "frequency_penalty", -2, 2, &d, err)) < 0) return EQ_ERR_ARG;
    if (g) r->freq_pen = (float)d;
    if ((g = get_num(root, "presence_penalty", -2, 2, &d, err)) < 0) return EQ_ERR_ARG;
    if (g) r->pres_pen = (float)d;
    /* OpenAI's seed is a signed 64-bit integer; any integral double within 2^53 is taken */
    if ((g = get_int(root, "seed", -9007199254740992.0, 9007199254740992.0, &iv, err)) < 0) return EQ_ERR_ARG;
    if (g && iv != -1) { r->sp.seed = (uint64_t)iv; r->has_seed = 1; }   /* -1: random, as llama-server */
    if ((st = parse_stop(r, member(root, "stop"), err))) return st;
    if (get_bool(root, "stream", &r->stream, err) < 0) return EQ_ERR_ARG;
    if (get_bool(root, "parse_special_in_content", &r->special_in_content, err) < 0) return EQ_ERR_ARG;
    const cJSON *so = member(root, "stream_options");
    if (so) {
        if (!cJSON_IsObject(so)) { bad_type(err, "stream_options", "an object", so); return EQ_ERR_ARG; }
        const cJSON *iu = member(so, "include_usage");
        if (iu && !cJSON_IsBool(iu)) { bad_type(err, "stream_options.include_usage", "a boolean", iu); return EQ_ERR_ARG; }
        r->include_usage = iu && cJSON_IsTrue(iu);
    }
    return EQ_OK;
}

eq_status eq_edge_parse(const char *body, size_t len, const eq_edge_opts *o, eq_edge_req **out,
                        eq_edge_error *err) {
    eq_edge_opts def = eq_edge_default_opts();
    if (!o) o = &def;
    *out = NULL;
    if (len > o->max_body) {
        eq_edge_set_error(err, 413, "invalid_request_error", "request_too_large", NULL,
                          "The request body is %zu bytes; at most %zu are accepted.", len, o->max_body);
        return EQ_ERR_ARG;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!root) {
        size_t at = end && end >= body && end <= body + len ? (size_t)(end - body) : 0;
        BAD("invalid_json", NULL, "We could not parse the JSON body of your request: malformed JSON near byte %zu%s.", at,
            len == 0 ? " (the body is empty)" : "");
        return EQ_ERR_FORMAT;
    }
    /* only whitespace may follow the value */
    for (const char *p = end; p && p < body + len; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') continue;
        BAD("invalid_json", NULL, "We could not parse the JSON body of your request: unexpected data after the JSON value at byte %zu.",
            (size_t)(p - body));
        cJSON_Delete(root);
        return EQ_ERR_FORMAT;
    }
    if (!cJSON_IsObject(root)) {
        BAD("invalid_json", NULL, "The request body must be a JSON object, not %s.", json_type(root));
        cJSON_Delete(root);
        return EQ_ERR_FORMAT;
    }
    eq_edge_req *r = calloc(1, sizeof *r);
    if (!r) {
        cJSON_Delete(root);
        eq_edge_set_error(err, 503, "server_error", "out_of_memory", NULL, "Out of memory.");
        return EQ_ERR_NOMEM;
    }
    r->root = root;
    r->sp = o->sp;
    eq_status st = eq_jstrings_scan(body, len, root, &r->nuls, err);
    if (!st) st = parse_fields(r, root, err);
    if (st) { eq_edge_req_free(r); return st; }
    *out = r;
    return EQ_OK;
}

void eq_edge_req_free(eq_edge_req *r) {
    if (!r) return;
    for (int i = 0; i < r->n_owned; i++) free(r->owned[i]);
    free(r->owned);
    free(r->msgs);
    eq_jstrings_free(r->nuls);
    cJSON_Delete(r->root);
    free(r);
}

int eq_edge_req_stream(const eq_edge_req *r) { return r ? r->stream : 0; }

/* ---- responses ---------------------------------------------------------------------------- */

static void write_event(const eq_edge_sink *s, const char *txt, size_t n, int sse) {
    if (sse) {
        /* one write per event, so a sink that flushes per write sends whole events */
        char *ev = malloc(n + 9);
        if (ev) {
            memcpy(ev, "data: ", 6);
            memcpy(ev + 6, txt, n);
            memcpy(ev + 6 + n, "\n\n", 3);
            s->write(s->user, ev, n + 8);
            free(ev);
        } else {
            s->write(s->user, "data: ", 6);
            s->write(s->user, txt, n);
            s->write(s->user, "\n\n", 2);
        }
    } else {
        s->write(s->user, txt, n);
        s->write(s->user, "\n", 1);
    }
}

static void send_json(const eq_edge_sink *s, cJSON *o, int sse) {
    /* out of memory while printing: still a valid JSON error body */
    static const char oom[] = "{\"error\":{\"message\":\"Out of memory.\",\"type\":\"server_error\",\"param\":null,\"code\":\"out_of_memory\"}}";
    char *txt = o ? cJSON_PrintUnformatted(o) : NULL;
    if (!txt) { write_event(s, oom, sizeof oom - 1, sse); return; }
    size_t n = strlen(txt);
    if (eq_utf8_valid_prefix(txt, n) == n) {
        write_event(s, txt, n, sse);
    } else {
        /* strings are made valid where they enter (request fields, eq_json_quote); should one
         * slip through, the response is still valid UTF-8 JSON, with U+FFFD in that string */
        char *fixed = malloc(eq_utf8_repair(txt, n, NULL));
        if (fixed) write_event(s, fixed, eq_utf8_repair(txt, n, fixed), sse);
        else write_event(s, oom, sizeof oom - 1, sse);
        free(fixed);
    }
    cJSON_free(txt);
}

static cJSON *error_json(const eq_edge_error *e) {
    cJSON *root = cJSON_CreateObject();
    cJSON *o = cJSON_AddObjectToObject(root, "error");
    if (!o) { cJSON_Delete(root); return NULL; }
    cJSON_AddStringToObject(o, "message", e->message);
    cJSON_AddStringToObject(o, "type", e->type ? e->type : "server_error");
    if (e->param[0]) cJSON_AddStringToObject(o, "param", e->param);
    else cJSON_AddNullToObject(o, "param");
    if (e->code) cJSON_AddStringToObject(o, "code", e->code);
    else cJSON_AddNullToObject(o, "code");
    return root;
}

void eq_edge_send_error(const eq_edge_sink *sink, const eq_edge_error *e) {
    if (sink->head) sink->head(sink->user, e->status ? e->status : 500, "application/json");
    cJSON *o = error_json(e);
    send_json(sink, o, 0);
    cJSON_Delete(o);
}

typedef struct {
    const eq_edge_req *r;
    const eq_edge_sink *sink;
    char id[48];
    double created;
    const char *model;
    char *text;               /* a non-streamed completion (len bytes; may hold NUL) */
    size_t len, cap;
    int oom;
} gen;

static cJSON *response_base(const gen *g, const char *object) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "id", g->id);
    cJSON_AddStringToObject(o, "object", object);
    cJSON_AddNumberToObject(o, "created", g->created);
    cJSON_AddStringToObject(o, "model", g->model);
    cJSON_AddStringToObject(o, "system_fingerprint", "edgeq-" EQ_VERSION);
    return o;
}

/* A chat.completion.chunk: delta with the role (first), content text (n bytes) and/or the
 * finish reason (last). */
static void send_chunk(gen *g, int role, const char *content, size_t n, const char *finish) {
    cJSON *o = response_base(g, "chat.completion.chunk");
    cJSON *choices = o ? cJSON_AddArrayToObject(o, "choices") : NULL;
    cJSON *c = cJSON_CreateObject();
    if (!choices || !c) { cJSON_Delete(c); cJSON_Delete(o); g->oom = 1; return; }
    cJSON_AddItemToArray(choices, c);
    cJSON_AddNumberToObject(c, "index", 0);
    cJSON *delta = cJSON_AddObjectToObject(c, "delta");
    if (role) cJSON_AddStringToObject(delta, "role", "assistant");
    if (content) {
        /* by length: generated text may hold NUL (a byte token), which a C string would end at */
        char *lit = eq_json_quote(content, n);
        if (!lit || !cJSON_AddRawToObject(delta, "content", lit)) { free(lit); cJSON_Delete(o); g->oom = 1; return; }
        free(lit);
    }
    cJSON_AddNullToObject(c, "logprobs");
    if (finish) cJSON_AddStringToObject(c, "finish_reason", finish);
    else cJSON_AddNullToObject(c, "finish_reason");
    send_json(g->sink, o, 1);
    cJSON_Delete(o);
}

static int append(gen *g, const char *p, size_t n) {
    if (!n) return 0;
    if (g->len + n + 1 > g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 1024;
        while (cap < g->len + n + 1) cap *= 2;
        char *nb = realloc(g->text, cap);
        if (!nb) { g->oom = 1; return -1; }
        g->text = nb;
        g->cap = cap;
    }
    memcpy(g->text + g->len, p, n);
    g->len += n;
    g->text[g->len] = 0;
    return 0;
}

/* The prompt's tokens: the model's chat template over the messages, special tokens parsed only
 * in the template's own text (a message cannot forge "<|im_start|>system" turns) unless the
 * request opts in with parse_special_in_content. Returns the count, or -1 with err set. */
static int prompt_tokens(eq_model *m, const eq_edge_req *r, eq_token **out, eq_edge_error *err) {
    size_t tl = 0;
    for (int i = 0; i < r->n_msgs; i++) {
        tl += strlen(r->msgs[i].content) + strlen(r->msgs[i].role);
        if (tl > (size_t)1 << 28) { eq_edge_set_error(err, 400, "invalid_request_error", "context_length_exceeded", "messages", "The messages are too long."); return -1; }
    }
    int flags = r->special_in_content ? EQ_CHAT_SPECIAL_IN_CONTENT : 0;
    int mark = r->has_mark ? (unsigned char)NUL_MARK : -1;   /* contents' NULs travel as NUL_MARK */
    int cap = (int)tl + 256, n = 0;
    eq_token *ids = malloc((size_t)cap * sizeof *ids);
    eq_status st = ids ? eq_chat_tokenize_marked(m, NULL, r->msgs, r->n_msgs, 1, flags, mark, ids, cap, &n) : EQ_ERR_NOMEM;
    if (st == EQ_ERR_ARG && n > cap) {
        eq_token *nb = realloc(ids, (size_t)n * sizeof *ids);
        st = nb ? eq_chat_tokenize_marked(m, NULL, r->msgs, r->n_msgs, 1, flags, mark, nb, n, &n) : EQ_ERR_NOMEM;
        if (nb) ids = nb;
    }
    if (st) {
        free(ids);
        if (st == EQ_ERR_NOMEM) eq_edge_set_error(err, 503, "server_error", "out_of_memory", NULL, "Out of memory formatting the messages.");
        else eq_edge_set_error(err, 500, "server_error", NULL, NULL, "Cannot apply the model's chat template: %s.", eq_status_str(st));
        return -1;
    }
    *out = ids;
    return n;
}

static eq_status fail_status(eq_status st) { return st ? st : EQ_ERR_ARG; }

static int deadline_cb(void *user) { return eq_edge_deadline_passed(user); }

eq_status eq_edge_respond(const eq_edge_req *r, eq_model *m, eq_ctx *c, const eq_edge_opts *o,
                          const eq_edge_sink *sink) {
    eq_edge_opts def = eq_edge_default_opts();
    if (!o) o = &def;
    eq_edge_error err;
    memset(&err, 0, sizeof err);
    gen g;
    memset(&g, 0, sizeof g);
    g.r = r;
    g.sink = sink;
    g.model = r->model ? r->model : (o->model_name ? o->model_name : "edgeq");
    g.created = (double)time(NULL);
    uint64_t ent = eq_entropy64();   /* the id, and the seed when none is given */
    snprintf(g.id, sizeof g.id, "chatcmpl-%016llx%08llx", (unsigned long long)eq_mix64(ent),
             (unsigned long long)(eq_mix64(ent + 1) >> 32));

    eq_token *ids = NULL;
    eq_gen *gn = NULL;
    eq_status st = EQ_OK;
    const int n_ctx = eq_ctx_n_ctx(c);

    if (eq_edge_deadline_passed(o)) {
        eq_edge_timeout_error(&err, o, "setting up");
        st = EQ_ERR_ABORTED;
        goto fail;
    }
    /* the decoder polls this between layers: a long prompt stops within one layer's work */
    if (o->deadline > 0) eq_ctx_set_abort(c, deadline_cb, (void *)o);
    int n_prompt = prompt_tokens(m, r, &ids, &err);
    if (n_prompt < 0) { st = EQ_ERR_FORMAT; goto fail; }
    if (n_prompt >= n_ctx) {
        eq_edge_set_error(&err, 400, "invalid_request_error", "context_length_exceeded", "messages",
                          "This model's maximum context length is %d tokens. However, your messages resulted in %d tokens.",
                          n_ctx, n_prompt);
        st = EQ_ERR_CONTEXT_FULL;
        goto fail;
    }
    eq_gen_params gp = eq_gen_default_params();
    gp.sp = r->sp;
    if (!r->has_seed && !o->seed_given) gp.sp.seed = ent;
    gp.max_tokens = r->max_tokens != -2 ? r->max_tokens : o->max_tokens;
    /* clamped, not refused: what llama-server does with its -n (OpenAI itself refuses only
     * numbers over the model's own limit); the completion then ends with "length" */
    if (o->max_tokens_cap > 0 && (gp.max_tokens < 0 || gp.max_tokens > o->max_tokens_cap)) gp.max_tokens = o->max_tokens_cap;
    gp.stop = r->stop;
    gp.stop_len = r->stop_len;
    gp.n_stop = r->n_stop;
    gp.frequency_penalty = r->freq_pen;
    gp.presence_penalty = r->pres_pen;
    char msg[256];
    if ((st = eq_gen_start(c, ids, n_prompt, &gp, &gn, msg, sizeof msg))) {   /* the cache is cleared */
        if (st == EQ_ERR_NOMEM) eq_edge_set_error(&err, 503, "server_error", "out_of_memory", NULL, "Out of memory.");
        else eq_edge_set_error(&err, 400, "invalid_request_error", "invalid_value", NULL, "Invalid request: %s.", msg);
        goto fail;
    }

    int streaming = 0, done = 0;
    eq_gen_stats gs;
    while (!done) {
        const char *text;
        size_t len;
        eq_gen_stats_get(gn, &gs);
        const int late = eq_edge_deadline_passed(o);
        st = late ? EQ_ERR_ABORTED : eq_gen_step(gn, &text, &len, &done);
        eq_gen_stats_get(gn, &gs);
        if (st == EQ_ERR_ABORTED && o->deadline > 0) {
            if (gs.n_evaluated < gs.n_prompt) {
                char where[96];
                snprintf(where, sizeof where, "evaluating the prompt (%d of %d tokens in)", gs.n_evaluated, gs.n_prompt);
                eq_edge_timeout_error(&err, o, where);
                goto fail;
            }
            /* tokens were generated: the completion ends here, as at max_tokens, with the
             * text held back so far (eq_gen_stop) */
            st = eq_gen_stop(gn, &text, &len);
            done = 1;
        }
        if (st && gs.n_evaluated < gs.n_prompt) {
            eq_edge_set_error(&err, st == EQ_ERR_NOMEM ? 503 : 500, "server_error", NULL, NULL, "Evaluating the prompt failed: %s",
                              eq_gen_errmsg(gn));
            goto fail;
        }
        /* from here on the response is committed: a stream starts once the prompt is in */
        if (r->stream && !streaming && gs.n_evaluated == gs.n_prompt) {
            streaming = 1;
            if (sink->head) sink->head(sink->user, 200, "text/event-stream");
            send_chunk(&g, 1, "", 0, NULL);
        }
        if (st) {
            if (st == EQ_ERR_NOMEM) eq_edge_set_error(&err, 503, "server_error", "out_of_memory", NULL, "Out of memory.");
            else eq_edge_set_error(&err, 500, "server_error", NULL, NULL, "Decoding failed: %s", eq_gen_errmsg(gn));
            break;
        }
        if (!len) continue;
        if (r->stream) send_chunk(&g, 0, text, len, NULL);
        else append(&g, text, len);
        if (g.oom) break;
    }
    if (g.oom && !st) { eq_edge_set_error(&err, 503, "server_error", "out_of_memory", NULL, "Out of memory."); st = EQ_ERR_NOMEM; }
    if (st) {
        if (!r->stream) goto fail;
        /* mid-stream: an error event, then the terminator clients wait for */
        cJSON *e = error_json(&err);
        send_json(sink, e, 1);
        cJSON_Delete(e);
        sink->write(sink->user, "data: [DONE]\n\n", 14);
        goto done;
    }
    const char *finish = eq_gen_finish_reason(gn) == EQ_FINISH_STOP ? "stop" : "length";
    const int n_gen = gs.n_gen;
    const double t_prompt = gs.t_prompt, t_gen = gs.t_gen;

    cJSON *usage = cJSON_CreateObject(), *timings = cJSON_CreateObject();
    cJSON_AddNumberToObject(usage, "prompt_tokens", n_prompt);
    cJSON_AddNumberToObject(usage, "completion_tokens", n_gen);
    cJSON_AddNumberToObject(usage, "total_tokens", n_prompt + n_gen);
    /* llama.cpp's server extension: where the time went */
    cJSON_AddNumberToObject(timings, "prompt_n", n_prompt);
    cJSON_AddNumberToObject(timings, "prompt_ms", t_prompt * 1e3);
    cJSON_AddNumberToObject(timings, "prompt_per_second", t_prompt > 0 ? n_prompt / t_prompt : 0);
    cJSON_AddNumberToObject(timings, "predicted_n", n_gen);
    cJSON_AddNumberToObject(timings, "predicted_ms", t_gen * 1e3);
    cJSON_AddNumberToObject(timings, "predicted_per_second", t_gen > 0 ? n_gen / t_gen : 0);
    if (r->stream) {
        send_chunk(&g, 0, NULL, 0, finish);
        if (r->include_usage) {
            cJSON *o2 = response_base(&g, "chat.completion.chunk");
            if (o2) {
                cJSON_AddArrayToObject(o2, "choices");
                cJSON_AddItemToObject(o2, "usage", usage);
                usage = NULL;
                cJSON_AddItemToObject(o2, "timings", timings);
                timings = NULL;
            }
            send_json(sink, o2, 1);
            cJSON_Delete(o2);
        }
        sink->write(sink->user, "data: [DONE]\n\n", 14);
    } else {
        cJSON *o2 = response_base(&g, "chat.completion");
        cJSON *choices = o2 ? cJSON_AddArrayToObject(o2, "choices") : NULL;
        cJSON *ch = cJSON_CreateObject();
        if (choices && ch) {
            cJSON_AddItemToArray(choices, ch);
            ch = NULL;
            cJSON *c0 = cJSON_GetArrayItem(choices, 0);
            cJSON_AddNumberToObject(c0, "index", 0);
            cJSON *msg = cJSON_AddObjectToObject(c0, "message");
            cJSON_AddStringToObject(msg, "role", "assistant");
            char *lit = eq_json_quote(g.text ? g.text : "", g.len);
            if (!lit || !cJSON_AddRawToObject(msg, "content", lit)) g.oom = 1;
            free(lit);
            cJSON_AddNullToObject(c0, "logprobs");
            cJSON_AddStringToObject(c0, "finish_reason", finish);
            cJSON_AddItemToObject(o2, "usage", usage);
            usage = NULL;
            cJSON_AddItemToObject(o2, "timings", timings);
            timings = NULL;
        }
        cJSON_Delete(ch);
        if (sink->head) sink->head(sink->user, 200, "application/json");
        send_json(sink, o2, 0);
        cJSON_Delete(o2);
    }
    cJSON_Delete(usage);
    cJSON_Delete(timings);
    st = EQ_OK;
    goto done;

fail:
    eq_edge_send_error(sink, &err);
    st = fail_status(st);
done:
    if (o->deadline > 0) eq_ctx_set_abort(c, NULL, NULL);   /* o is the caller's: not kept past this call */
    free(ids);
    free(g.text);
    eq_gen_free(gn);
    return st;
}
