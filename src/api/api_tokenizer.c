/* modx_tokenizer_* and modx_tokenize (include/modx.h): the CLIP BPE of
 * tok/bpe.h, as `modx tokenize` and `modx data prepare` use it. */
#include "core/error.h"
#include "modx.h"
#include "tok/bpe.h"

/* A modx_tokenizer handle is the Bpe itself, converted (the struct is never
 * defined). */
static Bpe *bpe_of(const modx_tokenizer *t) { return (Bpe *)(const void *)t; }

modx_status modx_tokenizer_load(modx_tokenizer **out, const char *path) {
    if (!out) return modx_fail(MODX_ERR_INVALID, "modx_tokenizer_load: out is NULL");
    *out = NULL;
    if (!path) return modx_fail(MODX_ERR_INVALID, "modx_tokenizer_load: path is NULL");
    Bpe *bpe = NULL;
    MODX_TRY(bpe_load(&bpe, path));
    *out = (modx_tokenizer *)(void *)bpe;
    return MODX_OK;
}

void modx_tokenizer_free(modx_tokenizer *tokenizer) { bpe_free(bpe_of(tokenizer)); }

int modx_tokenizer_vocab_size(const modx_tokenizer *tokenizer) { return bpe_vocab_size(bpe_of(tokenizer)); }

modx_status modx_tokenize(const modx_tokenizer *tokenizer, const char *text, int32_t *ids, int context, int *n_used) {
    if (!tokenizer || !text || !ids)
        return modx_fail(MODX_ERR_INVALID, "modx_tokenize: tokenizer, text or ids is NULL");
    int n = 0;
    MODX_TRY(bpe_encode(bpe_of(tokenizer), text, ids, context, &n));
    if (n_used) *n_used = n;
    return MODX_OK;
}
