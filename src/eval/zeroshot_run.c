#include "eval/zeroshot_run.h"

#include <stdlib.h>
#include <string.h>

#include "eval/encode.h"

ModxStatus zeroshot_text_classifier(float *classifier, const ClipModel *m, const Bpe *bpe,
                                    const char *const *classes, int K, const char *const *templates, int P, int batch) {
    const ClipConfig *cfg = &m->cfg;
    int T = cfg->text.context_length, E = cfg->embed_dim;
    if (K < 1 || P < 1 || batch < 1)
        return modx_fail(MODX_ERR_INVALID, "zero-shot: need classes, templates and a batch, got %d, %d, %d", K, P, batch);
    if (bpe_vocab_size(bpe) > cfg->text.vocab_size)
        return modx_fail(MODX_ERR_INVALID, "zero-shot: the tokenizer has %d ids but the model's vocabulary holds %d",
                         bpe_vocab_size(bpe), cfg->text.vocab_size);
    size_t total = (size_t)K * (size_t)P;
    float *pf = modx_calloc(total * (size_t)E, sizeof(float), "prompt features");
    int32_t *tok = modx_calloc((size_t)batch * (size_t)T, sizeof(int32_t), "prompt tokens");
    ClipActs *acts = NULL;
    ModxStatus st = pf && tok ? clip_acts_new(&acts, cfg, batch, 0) : MODX_ERR_NOMEM;
    char prompt[1024];
    for (size_t j0 = 0; st == MODX_OK && j0 < total; j0 += (size_t)batch) {
        int B = (int)(total - j0 < (size_t)batch ? total - j0 : (size_t)batch);
        for (int b = 0; b < B && st == MODX_OK; b++) {
            size_t j = j0 + (size_t)b; /* class-major: class j / P, template j % P */
            const char *cls = classes[j / (size_t)P], *tmpl = templates[j % (size_t)P];
            int used;
            st = zeroshot_format_prompt(prompt, sizeof prompt, tmpl, cls);
            if (st == MODX_OK) st = bpe_encode(bpe, prompt, tok + (size_t)b * T, T, &used);
            if (st != MODX_OK) modx_error_prefix("class '%s', template '%s': ", cls, tmpl);
        }
        if (st == MODX_OK) st = clip_encode_text(m, acts, tok, B, pf + j0 * (size_t)E);
    }
    if (st == MODX_OK) st = zeroshot_classifier(classifier, pf, K, P, E);
    clip_acts_free(acts);
    free(pf), free(tok);
    return st;
}

ModxStatus zeroshot_run(ZeroShotResult *out, const ClipModel *m, const Bpe *bpe, const Cache *c, const char *name,
                        const uint32_t *images, const int32_t *labels, int n, const char *const *classes, int K,
                        const char *const *templates, int P, int batch, int32_t *pred) {
    memset(out, 0, sizeof *out);
    int E = m->cfg.embed_dim;
    float *cls = modx_calloc((size_t)K * (size_t)(E > 0 ? E : 1), sizeof(float), "zero-shot classifier");
    if (!cls) return MODX_ERR_NOMEM;
    ModxStatus st = zeroshot_text_classifier(cls, m, bpe, classes, K, templates, P, batch);
    EncodedSet s;
    memset(&s, 0, sizeof s);
    if (st == MODX_OK && n < 1) st = modx_fail(MODX_ERR_INVALID, "%s: no images to classify", name);
    if (st == MODX_OK) st = eval_encode(&s, m, c, name, images, (size_t)n, batch);
    if (st == MODX_OK) st = zeroshot_evaluate(out, s.image_features, n, cls, K, E, labels, pred);
    encoded_set_free(&s);
    free(cls);
    return st;
}
