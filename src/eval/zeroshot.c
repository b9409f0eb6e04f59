#include "eval/zeroshot.h"

#include "core/gemm.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/size.h"

#define ZEROSHOT_BLOCK_ROWS 4096

ModxStatus zeroshot_format_prompt(char *out, size_t cap, const char *tmpl, const char *label) {
    size_t n = 0, ll = strlen(label);
    int holes = 0;
    for (const char *p = tmpl; *p; p++) {
        const char *src = p;
        size_t len = 1;
        if (p[0] == '{' && p[1] == '}') {
            src = label;
            len = ll;
            holes++;
            p++;
        }
        if (n + len >= cap)
            return modx_fail(MODX_ERR_INVALID, "zero-shot prompt: template '%s' with label '%s' needs more than %zu bytes",
                             tmpl, label, cap);
        memcpy(out + n, src, len);
        n += len;
    }
    if (cap) out[n] = 0;
    if (!holes) return modx_fail(MODX_ERR_INVALID, "zero-shot prompt: template '%s' has no '{}' for the label", tmpl);
    return MODX_OK;
}

ModxStatus zeroshot_classifier(float *classifier, const float *prompt_features, int K, int P, int E) {
    if (K <= 0 || P <= 0 || E <= 0)
        return modx_fail(MODX_ERR_INVALID, "zero-shot classifier: expected positive sizes, got %d classes, %d prompts, width %d",
                         K, P, E);
    double *acc = modx_calloc((size_t)E, sizeof *acc, "zero-shot class feature");
    if (!acc) return MODX_ERR_NOMEM;
    ModxStatus st = MODX_OK;
    for (int k = 0; k < K; k++) {
        memset(acc, 0, sizeof *acc * (size_t)E);
        for (int p = 0; p < P; p++) {
            const float *f = prompt_features + ((size_t)k * P + p) * (size_t)E;
            double n2 = 0;
            for (int e = 0; e < E; e++) n2 += (double)f[e] * f[e];
            if (!isfinite(n2) || n2 == 0) {
                st = modx_fail(MODX_ERR_INVALID, "zero-shot classifier: class %d prompt %d feature has norm %g, expected finite and > 0",
                               k, p, sqrt(n2));
                goto done;
            }
            double inv = 1 / sqrt(n2);
            for (int e = 0; e < E; e++) acc[e] += f[e] * inv;
        }
        double n2 = 0;
        for (int e = 0; e < E; e++) n2 += acc[e] * acc[e];
        if (n2 == 0) {
            st = modx_fail(MODX_ERR_INVALID, "zero-shot classifier: class %d prompt features average to zero", k);
            goto done;
        }
        double inv = 1 / sqrt(n2);
        for (int e = 0; e < E; e++) classifier[(size_t)k * E + e] = (float)(acc[e] * inv);
    }
done:
    free(acc);
    return st;
}

ModxStatus zeroshot_evaluate(ZeroShotResult *out, const float *img, int N, const float *classifier, int K, int E,
                             const int32_t *labels, int32_t *pred) {
    if (N <= 0 || K <= 0 || E <= 0)
        return modx_fail(MODX_ERR_INVALID, "zero-shot: expected positive sizes, got %d images, %d classes, width %d", N, K, E);
    for (int i = 0; i < N; i++)
        if (labels[i] < 0 || labels[i] >= K)
            return modx_fail(MODX_ERR_INVALID, "zero-shot: image %d has label %d, expected a class in [0, %d)", i,
                             (int)labels[i], K);
    size_t ni, nk;
    if (!size_mul((size_t)N, (size_t)E, &ni) || !size_mul((size_t)K, (size_t)E, &nk))
        return modx_fail(MODX_ERR_INVALID, "zero-shot: feature sizes overflow");
    for (size_t k = 0; k < ni; k++)
        if (!isfinite(img[k])) return modx_fail(MODX_ERR_INVALID, "zero-shot: image feature value %zu is not finite", k);
    for (size_t k = 0; k < nk; k++)
        if (!isfinite(classifier[k]))
            return modx_fail(MODX_ERR_INVALID, "zero-shot: classifier value %zu is not finite", k);
    int rows = N < ZEROSHOT_BLOCK_ROWS ? N : ZEROSHOT_BLOCK_ROWS;
    float *S = modx_calloc((size_t)rows * (size_t)K, sizeof *S, "zero-shot scores");
    if (!S) return MODX_ERR_NOMEM;
    long c1 = 0, c5 = 0;
    for (int i0 = 0; i0 < N; i0 += rows) {
        int nb = N - i0 < rows ? N - i0 : rows;
        gemm_f32(0, 1, nb, K, E, 1.0f, img + (size_t)i0 * E, E, classifier, E,
                    0.0f, S, K);
#pragma omp parallel for schedule(static) reduction(+ : c1, c5)
        for (int r = 0; r < nb; r++) {
            const float *s = S + (size_t)r * K;
            int y = labels[i0 + r], best = 0, ahead = 0;
            for (int k = 0; k < K; k++) {
                if (s[k] > s[best]) best = k;
                ahead += k < y ? s[k] >= s[y] : s[k] > s[y];
            }
            if (pred) pred[i0 + r] = best;
            c1 += ahead < 1;
            c5 += ahead < 5;
        }
    }
    free(S);
    out->n = N;
    out->top1 = 100.0 * c1 / N;
    out->top5 = 100.0 * c5 / N;
    return MODX_OK;
}
