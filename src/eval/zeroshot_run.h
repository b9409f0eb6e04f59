/* Zero-shot classification of cache images with a model and a tokenizer:
 * class prompts ("a photo of a {}." or given templates) are tokenized with the
 * CLIP BPE, encoded with the text tower and combined per class
 * (zeroshot_classifier); the images are encoded (eval_encode) and scored
 * (zeroshot_evaluate). */
#ifndef MODX_EVAL_ZEROSHOT_RUN_H
#define MODX_EVAL_ZEROSHOT_RUN_H

#include <stdint.h>

#include "clip/model.h"
#include "core/error.h"
#include "data/cache.h"
#include "eval/zeroshot.h"
#include "tok/bpe.h"

#define ZEROSHOT_DEFAULT_TEMPLATE "a photo of a {}."

/* images (n) cache image indices with labels (n) in [0, K) naming classes[K];
 * templates[P] each holding "{}". pred (n) may be NULL. The tokenizer's
 * vocabulary must fit the model's. Errors name the class or template. */
ModxStatus zeroshot_run(ZeroShotResult *out, const ClipModel *m, const Bpe *bpe, const Cache *c, const char *name,
                        const uint32_t *images, const int32_t *labels, int n, const char *const *classes, int K,
                        const char *const *templates, int P, int batch, int32_t *pred);

/* The classifier alone: (K, E) from the K x P prompts. */
ModxStatus zeroshot_text_classifier(float *classifier, const ClipModel *m, const Bpe *bpe,
                                    const char *const *classes, int K, const char *const *templates, int P, int batch);

#endif
