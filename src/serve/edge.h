/* Edge-function mode: one OpenAI chat-completions request in, one response out, the shape
 * CGI/WAGI hosts (Spin, wasmtime-based edge platforms) run a module in: the request body on
 * stdin, headers and body on stdout. Also usable natively (a plain CGI, a test harness).
 *
 * Like the rest of the library this never prints: every byte goes through an eq_edge_sink,
 * whose head() is called exactly once, before the first body byte, with the HTTP status and
 * content type, so a CGI host can emit headers and a pipe can ignore them.
 *
 * The flow: eq_edge_parse (validates everything that can be checked without the model, so a
 * bad request costs no model load), load the model and a context, eq_edge_respond. Errors
 * anywhere are OpenAI-style JSON: {"error":{"message","type","param","code"}}.
 *
 * Request fields: messages (system/developer/user/assistant; content a string or an array of
 * {"type":"text","text":...} parts), max_completion_tokens / max_tokens, temperature [0,2],
 * top_p [0,1], top_k (>= 0, 0 = off), min_p [0,1], seed, stop (a string or up to 4),
 * stream, stream_options.include_usage, repeat_penalty (> 0, llama.cpp's multiplicative
 * penalty over the last repeat_last_n tokens, prompt included), frequency_penalty and
 * presence_penalty in [-2,2] (OpenAI's additive penalties over the completion so far:
 * logit -= count * frequency_penalty + (count > 0) * presence_penalty), model (echoed back),
 * n (must be 1), parse_special_in_content (boolean, default false: special-token text such as
 * "<|im_end|>" inside a message is plain text; true makes it control tokens, as the template's
 * own text always is). tools / functions / logprobs / non-text response formats are refused; other
 * unknown fields are ignored, as most OpenAI-compatible servers do.
 *
 * Strings keep their length (edge_json.h): invalid UTF-8 reads as U+FFFD; NUL characters are
 * kept in contents (tokenized as their byte) and stop strings, refused in roles, the model name
 * and keys. Responses are valid UTF-8 JSON, and no token's text is cut or dropped. */
#ifndef EQ_EDGE_H
#define EQ_EDGE_H

#include <stddef.h>
#include <stdint.h>
#include "edgeq.h"

typedef struct {
    int max_tokens;           /* when the request sets none; < 0: until EOS or a full context */
    eq_sampler_params sp;     /* defaults for sampling fields the request leaves out */
    int seed_given;           /* sp.seed is deliberate; otherwise a request without a seed
                                 gets a fresh one (OpenAI's default is non-deterministic) */
    const char *model_name;   /* "model" in responses when the request names none */
    size_t max_body;          /* largest request body accepted (bytes) */
    /* Per-request limits (0: none). max_tokens_cap clamps whatever the request asks (as
     * llama-server clamps n_predict to its -n), and is the default when it asks nothing.
     * deadline is an instant on eq_edge_now()'s clock (the caller starts it when the request
     * arrives); deadline_ms is the budget it was made from, for messages. */
    int max_tokens_cap;
    double deadline;
    int deadline_ms;
} eq_edge_opts;

/* Seconds on the monotonic clock (CLOCK_MONOTONIC, WASI's too): what deadlines are set on. */
double eq_edge_now(void);

eq_edge_opts eq_edge_default_opts(void);

typedef struct {
    int status;               /* HTTP status: 400, 405, 413, 500, 503 (also a passed deadline) */
    const char *type;         /* "invalid_request_error", "server_error" */
    char param[96];           /* offending field ("messages[2].role"), or "" for null */
    const char *code;         /* "invalid_json", "context_length_exceeded", ... or NULL */
    char message[384];
} eq_edge_error;

/* Fill *e (status, type, code may be NULL, param may be NULL) with a printf-style message,
 * kept valid UTF-8 (a message too long for the buffer is cut between characters). */
void eq_edge_set_error(eq_edge_error *e, int status, const char *type, const char *code,
                       const char *param, const char *fmt, ...);
/* Untrusted text (n bytes at s) made fit to quote in a message, into buf: at most max_chars
 * characters, cut between characters (then "..."), invalid UTF-8 as U+FFFD, NUL as "\u0000".
 * Returns buf. */
const char *eq_edge_excerpt(char *buf, size_t cap, const char *s, size_t n, int max_chars);

typedef struct {
    /* status: 200 or the error's; content_type: "application/json" or "text/event-stream" */
    void (*head)(void *user, int status, const char *content_type);
    /* body bytes; a streamed response calls it once per event (flush there) */
    void (*write)(void *user, const char *data, size_t n);
    void *user;
} eq_edge_sink;

typedef struct eq_edge_req eq_edge_req;

/* Parse and validate a request body (len bytes, need not be NUL-terminated). */
eq_status eq_edge_parse(const char *body, size_t len, const eq_edge_opts *o, eq_edge_req **out,
                        eq_edge_error *err);
void eq_edge_req_free(eq_edge_req *r);
int  eq_edge_req_stream(const eq_edge_req *r);

/* Answer the request with model m and context c (its cache is cleared first): formats the
 * messages with the model's chat template, generates, and writes a chat.completion or, for
 * "stream": true, chat.completion.chunk events ending in "data: [DONE]". Errors before the
 * first byte become an error response; a failure mid-stream becomes an error event.
 * Returns EQ_OK when a completion was sent, otherwise the failure (already reported). */
eq_status eq_edge_respond(const eq_edge_req *r, eq_model *m, eq_ctx *c, const eq_edge_opts *o,
                          const eq_edge_sink *sink);

/* The error a passed deadline answers before any token was sent: 503, code "timeout"; where
 * names the stage ("loading the model"). */
void eq_edge_timeout_error(eq_edge_error *err, const eq_edge_opts *o, const char *where);
/* 1 when o has a deadline and it has passed. */
int  eq_edge_deadline_passed(const eq_edge_opts *o);

/* Before creating a context with parameters cp for model m: does the model's weights plus the
 * context (KV cache and scratch, eq_ctx_estimate) fit max_bytes? EQ_OK, or err set to a 503
 * (code "memory_limit_exceeded") naming both numbers, and EQ_ERR_NOMEM. max_bytes 0: no cap. */
eq_status eq_edge_check_memory(const eq_model *m, const eq_ctx_params *cp, uint64_t max_bytes, eq_edge_error *err);

/* Send an error response (head + JSON body). */
void eq_edge_send_error(const eq_edge_sink *sink, const eq_edge_error *e);

/* The reason phrase for an HTTP status ("Bad Request"), for CGI's Status header. */
const char *eq_edge_status_text(int status);

#endif
