/* OpenAI CLIP byte-level BPE tokenizer (bpe_simple_vocab_16e6.txt format),
 * exact: text clean-up, the CLIP pre-tokenising pattern with Unicode classes,
 * byte->unicode map, </w> word ends, merge by rank, <start_of_text>/<end_of_text>.
 * A loaded Bpe is read-only, so one instance may be used from many threads. */
#ifndef MODX_TOK_BPE_H
#define MODX_TOK_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct Bpe Bpe;

/* Loads a merges file, plain or gzip (.gz), as OpenAI's SimpleTokenizer does
 * (first line is a version header; the vocabulary is the 256 byte symbols, the
 * same with </w>, one symbol per merge, then <start_of_text>, <end_of_text>). */
ModxStatus bpe_load(Bpe **out, const char *path);
void bpe_free(Bpe *bpe);
int bpe_vocab_size(const Bpe *bpe);
int32_t bpe_sot(const Bpe *bpe);
int32_t bpe_eot(const Bpe *bpe);

/* Encodes one caption: ids[0] = SOT, the text's tokens, EOT; cut to `context`
 * with EOT kept last; the rest of ids[0..context) is 0. *n_out = ids used.
 * Text that is not valid UTF-8 is MODX_ERR_FORMAT. */
ModxStatus bpe_encode(const Bpe *bpe, const char *text, int32_t *ids, int context, int *n_out);
/* Token ids of the cleaned text without SOT/EOT, no truncation; *ids_out is malloc'd. */
ModxStatus bpe_tokenize(const Bpe *bpe, const char *text, int32_t **ids_out, size_t *n_out);
/* Decodes ids back to text (SOT/EOT/0 padding skipped); malloc'd string in *text_out. */
ModxStatus bpe_decode(const Bpe *bpe, const int32_t *ids, size_t n, char **text_out);

/* Learns `vocab_size` total symbols (so vocab_size - 512 - 2 merges) from the
 * captions and writes them in the same merges format; deterministic. */
ModxStatus bpe_train(const char *const *texts, size_t n_texts, int vocab_size, const char *out_path);

#endif
