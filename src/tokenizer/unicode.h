/* Unicode helpers for the tokenizers: code point flags (general category + White_Space), UTF-8
 * decoding that mirrors llama.cpp's (so invalid input turns into the same U+FFFD runs), and the
 * GPT-2 byte <-> code point mapping of byte-level BPE. */
#ifndef EQ_TOK_UNICODE_H
#define EQ_TOK_UNICODE_H

#include <stddef.h>
#include <stdint.h>

enum {
    EQ_U_UNDEF = 0x01, EQ_U_NUMBER = 0x02, EQ_U_LETTER = 0x04, EQ_U_SEP = 0x08,
    EQ_U_MARK = 0x10, EQ_U_PUNCT = 0x20, EQ_U_SYMBOL = 0x40, EQ_U_CONTROL = 0x80,
    EQ_U_CATEGORIES = 0xFF,
    EQ_U_SPACE = 0x100   /* White_Space property */
};

extern const uint32_t eq_ucd_ranges[];  /* generated: (start << 8) | category flags */
extern const int eq_ucd_n_ranges;

/* Flags of a code point; code points past U+10FFFF are EQ_U_UNDEF. */
unsigned eq_ucp_flags(uint32_t cp);

/* Bytes in the sequence a lead byte announces (1 for stray continuation bytes). */
size_t eq_utf8_len(uint8_t lead);
/* Decode one code point at s[*off] (< n), advancing *off. Invalid or truncated sequences give
 * U+FFFD and advance one byte. Like llama.cpp it does not reject overlong forms or surrogates. */
uint32_t eq_utf8_next(const uint8_t *s, size_t n, size_t *off);
/* Encode; returns the byte count (1..4). Code points past U+10FFFF encode as U+FFFD. */
int eq_utf8_put(uint32_t cp, uint8_t out[4]);

/* GPT-2 byte-level BPE: every byte is shown as a printable code point. */
uint32_t eq_byte_to_ucp(uint8_t b);
/* The byte a code point stands for, or -1 when it is not one of the 256. */
int eq_ucp_to_byte(uint32_t cp);

#endif
