/* A byte range [off, off + len) of a text: how the chat renderer tells the tokenizer which bytes
 * of a prompt came from message contents (the only type both layers share). */
#ifndef EQ_TEXT_SPAN_H
#define EQ_TEXT_SPAN_H

#include <stddef.h>

typedef struct { size_t off, len; } eq_text_span;

#endif
