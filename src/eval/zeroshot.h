/* Zero-shot classification from features, as OpenCLIP's zero-shot classifier:
 * each class's text features over P prompt templates ("a photo of a {}.", ...)
 * are L2-normalised, averaged and normalised again; an image is assigned the
 * class with the highest cosine. Top-k uses the retrieval tie rule: a class with
 * an equal score and a lower index ranks ahead. */
#ifndef MODX_EVAL_ZEROSHOT_H
#define MODX_EVAL_ZEROSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct {
    int n;        /* images evaluated */
    double top1;  /* percent */
    double top5;  /* percent (every image counts when there are <= 5 classes) */
} ZeroShotResult;

/* Writes "tmpl" with every "{}" replaced by label into out (capacity cap,
 * NUL-terminated). MODX_ERR_INVALID when it does not fit or tmpl has no "{}". */
ModxStatus zeroshot_format_prompt(char *out, size_t cap, const char *tmpl, const char *label);

/* classifier (K, E) from prompt_features (K, P, E) (class-major: the P prompt
 * features of class 0, then class 1, ...). Computed in double. Errors: sizes
 * not positive, a non-finite value, a prompt feature of zero norm, or a class
 * whose averaged feature is zero. */
ModxStatus zeroshot_classifier(float *classifier, const float *prompt_features, int K, int P, int E);

/* Accuracy of img (N, E) against classifier (K, E) with labels (N) in [0, K).
 * pred (N), when not NULL, receives the top-1 class. Scores by gemm_f32 in
 * blocks of images. Errors: sizes not positive, a label out of range, a
 * non-finite feature. */
ModxStatus zeroshot_evaluate(ZeroShotResult *out, const float *img, int N, const float *classifier, int K, int E,
                             const int32_t *labels, int32_t *pred);

#endif
