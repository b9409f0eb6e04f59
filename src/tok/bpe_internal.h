/* Internals of the BPE tokenizer shared by bpe.c, bpe_train.c and the tests. */
#ifndef MODX_TOK_BPE_INTERNAL_H
#define MODX_TOK_BPE_INTERNAL_H

#include "tok/bpe.h"
#include "tok/unicode.h"

#define TOK_MAX_MERGES (49152 - 256 - 2) /* SimpleTokenizer reads merges[1 : 48895] */

/* bytes_to_unicode(): the code point that stands for byte b. */
uint32_t tok_byte_char(uint8_t b);
/* The vocabulary id of byte b (its position among the 256 byte symbols). */
int tok_byte_id(uint8_t b);

/* One pre-token of the CLIP pattern: cps[start..end). */
typedef struct {
    size_t start, end;
} TokSpan;

/* Splits cleaned text with the CLIP pattern (findall). *spans is malloc'd. */
ModxStatus tok_pretokenize(const TokCps *text, TokSpan **spans, size_t *n_spans);

/* BPE of one pre-token given as bytes: appends its ids to out (heap version
 * and the direct transcription of OpenAI's bpe() loop, kept to test it). */
typedef struct {
    int32_t *v;
    size_t n, cap;
} TokIds;
ModxStatus tok_ids_push(TokIds *ids, int32_t id);
ModxStatus tok_bpe_word(const Bpe *bpe, const uint8_t *bytes, size_t n, TokIds *out);
ModxStatus tok_bpe_word_naive(const Bpe *bpe, const uint8_t *bytes, size_t n, TokIds *out);

/* The vocabulary string of id (byte symbols as UTF-8, "</w>" kept), or NULL. */
const char *bpe_token_text(const Bpe *bpe, int32_t id);

#endif
