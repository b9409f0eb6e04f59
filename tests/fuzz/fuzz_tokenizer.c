/* Fuzz target: encode arbitrary bytes with OpenAI's vocabulary (loaded once).
 * Valid UTF-8 must encode to SOT ... EOT within the context and decode back to
 * valid UTF-8; anything else must be a clean MODX_ERR_FORMAT. The heap BPE is
 * checked against the transcribed loop on every word. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/bpe.h"
#include "tok/bpe_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static Bpe *bpe;
    if (!bpe && bpe_load(&bpe, "data/bpe_simple_vocab_16e6.txt.gz") != MODX_OK) {
        fprintf(stderr, "fuzz_tokenizer: %s (run from the repository root)\n", modx_last_error());
        abort();
    }
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0; /* an embedded NUL just ends the text */
    int32_t ids[77];
    int n = 0;
    ModxStatus st = bpe_encode(bpe, text, ids, 77, &n);
    if (st == MODX_OK) {
        if (n < 2 || n > 77 || ids[0] != bpe_sot(bpe) || ids[n - 1] != bpe_eot(bpe)) abort();
        for (int i = n; i < 77; i++)
            if (ids[i] != 0) abort();
        char *dec = NULL;
        if (bpe_decode(bpe, ids, 77, &dec) != MODX_OK) abort();
        if (!tok_utf8_check(dec, strlen(dec), NULL)) abort();
        free(dec);
    } else if (st != MODX_ERR_FORMAT) {
        abort();
    } else if (tok_utf8_check(text, strlen(text), NULL)) {
        abort(); /* valid text refused */
    }
    /* the raw bytes as one word: heap BPE == OpenAI's loop */
    size_t w = size > 300 ? 300 : size;
    TokIds a = {0}, b = {0};
    if (tok_bpe_word(bpe, data, w, &a) != MODX_OK || tok_bpe_word_naive(bpe, data, w, &b) != MODX_OK) abort();
    if (a.n != b.n || (a.n && memcmp(a.v, b.v, a.n * sizeof(int32_t)))) abort();
    free(a.v);
    free(b.v);
    free(text);
    return 0;
}
