/* The public model API: information and tokenizer entry points (the chat-template ones are in
 * src/chat_apply.c, above the models). */
#include "models/model.h"
#include "quant/quant.h"
#include "tokenizer/detok.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

const eq_vocab *eq_model_vocab(const eq_model *m) { return m->vocab; }

const char *eq_model_arch(const eq_model *m) { return m->arch_name; }
int eq_model_n_vocab(const eq_model *m) { return eq_vocab_n_tokens(m->vocab); }
int eq_model_n_ctx_train(const eq_model *m) { return m->hp.n_ctx_train; }
int eq_model_n_embd(const eq_model *m) { return m->hp.n_embd; }
int eq_model_n_layer(const eq_model *m) { return m->hp.n_layer; }
uint64_t eq_model_n_params(const eq_model *m) { return m->n_params; }
uint64_t eq_model_size_bytes(const eq_model *m) { return m->n_bytes; }
int eq_model_host_weights(const eq_model *m) { return m->host_weights; }

int eq_model_meta_count(const eq_model *m) { return (int)m->parts[0]->n_kv; }
const char *eq_model_meta_key(const eq_model *m, int i) {
    return i >= 0 && (uint64_t)i < m->parts[0]->n_kv ? m->parts[0]->kv[i].key : NULL;
}

/* snprintf's contract: the text's full length, at most cap bytes written (NUL included). */
static size_t put(char *b, size_t cap, size_t n, const char *fmt, ...) {
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);   /* numbers only: short */
    va_end(ap);
    if (k < 0) return n;
    if (n < cap) memcpy(b + n, tmp, (size_t)k + 1 <= cap - n ? (size_t)k + 1 : cap - n);
    return n + (size_t)k;
}

static size_t put_bytes(char *b, size_t cap, size_t n, const char *s, size_t len) {
    if (n < cap) memcpy(b + n, s, len < cap - n ? len : cap - n);
    return n + len;
}

int eq_model_meta_str(const eq_model *m, const char *key, char *b, size_t cap) {
    const eq_gguf_kv *kv = m && key ? eq_gguf_get(m->parts[0], key) : NULL;
    if (!kv) { if (b && cap) b[0] = 0; return -1; }
    if (!b) cap = 0;
    size_t n = 0;
    switch (kv->type) {
    case EQ_GGUF_STRING: n = put_bytes(b, cap, 0, kv->str, (size_t)kv->str_len); break;
    case EQ_GGUF_F32: case EQ_GGUF_F64: n = put(b, cap, 0, "%g", kv->v.f); break;
    case EQ_GGUF_BOOL: n = put(b, cap, 0, "%s", kv->v.u ? "true" : "false"); break;
    case EQ_GGUF_I8: case EQ_GGUF_I16: case EQ_GGUF_I32: case EQ_GGUF_I64: n = put(b, cap, 0, "%lld", (long long)kv->v.i); break;
    case EQ_GGUF_ARRAY:   /* a summary: type, count, the first four entries (strings cut at a character) */
        n = put(b, cap, 0, "[%s x %llu]", eq_gguf_type_name(kv->arr_type), (unsigned long long)kv->n);
        for (uint64_t i = 0; i < kv->n && i < 4; i++) {
            if (kv->arr_str) {
                size_t l = kv->arr_str_len ? kv->arr_str_len[i] : strlen(kv->arr_str[i]);
                int cut = l > 40;
                if (cut) { l = 40; while (l > 0 && ((uint8_t)kv->arr_str[i][l] & 0xC0) == 0x80) l--; }
                n = put_bytes(b, cap, n, " \"", 2);
                n = put_bytes(b, cap, n, kv->arr_str[i], l);
                n = put_bytes(b, cap, n, cut ? "...\"" : "\"", cut ? 4 : 1);
            } else { double d = 0; eq_gguf_arr_f64(kv, i, &d); n = put(b, cap, n, " %g", d); }
        }
        if (kv->n > 4) n = put_bytes(b, cap, n, " ...", 4);
        break;
    default: n = put(b, cap, 0, "%llu", (unsigned long long)kv->v.u); break;
    }
    if (cap) b[n < cap ? n : cap - 1] = 0;
    return n > (size_t)INT32_MAX ? INT32_MAX : (int)n;
}

int eq_model_tensor_count(const eq_model *m) {
    uint64_t n = 0;
    for (int p = 0; p < m->n_parts; p++) n += m->parts[p]->n_tensors;
    return (int)n;
}

eq_status eq_model_tensor_info(const eq_model *m, int i, const char **name, const char **type, int64_t ne[4], int *n_dims) {
    for (int p = 0; p < m->n_parts && i >= 0; p++) {
        if ((uint64_t)i < m->parts[p]->n_tensors) {
            const eq_gguf_tensor *t = &m->parts[p]->tensors[i];
            if (name) *name = t->name;
            if (type) *type = eq_type_name(t->type);
            if (ne) memcpy(ne, t->ne, sizeof t->ne);
            if (n_dims) *n_dims = t->n_dims;
            return EQ_OK;
        }
        i -= (int)m->parts[p]->n_tensors;
    }
    return EQ_ERR_ARG;
}

eq_token eq_token_bos(const eq_model *m) { return eq_vocab_bos(m->vocab); }
eq_token eq_token_eos(const eq_model *m) { return eq_vocab_eos(m->vocab); }
eq_token eq_token_eot(const eq_model *m) { return eq_vocab_eot(m->vocab); }
int eq_token_is_eog(const eq_model *m, eq_token t) { return eq_vocab_is_eog(m->vocab, t); }
int eq_add_bos(const eq_model *m) { return eq_vocab_add_bos(m->vocab); }

eq_status eq_tokenize(const eq_model *m, const char *text, size_t len, int add_special, int parse_special,
                      eq_token *out, int cap, int *n_out) {
    return eq_vocab_tokenize(m->vocab, text, len, add_special, parse_special, out, cap, n_out);
}

/* The vocabulary's helpers count in int: a capacity past INT_MAX is as good as INT_MAX
 * (no piece is that long). */
static int int_cap(size_t cap) { return cap > INT_MAX ? INT_MAX : (int)cap; }

int eq_token_to_piece(const eq_model *m, eq_token t, int special, char *buf, size_t cap) {
    return eq_vocab_token_to_piece(m->vocab, t, special, buf, int_cap(cap));
}

int eq_detok_push(eq_detok *d, const eq_model *m, eq_token t, char *buf, size_t cap) {
    if (!m) return -1;
    return eq_detok_push_vocab(d, m->vocab, t, buf, int_cap(cap));
}
