/* Linear probe on frozen features: multinomial logistic regression,
 *   loss(W, b) = (1/N) sum_i -log softmax(W x_i + b)[y_i] + (l2/2) ||W||^2
 * (the bias is not penalised), minimised by deterministic full-batch L-BFGS
 * (memory 10, Armijo backtracking) in double precision. Accuracy is measured
 * on a held-out split. sklearn's LogisticRegression(C) corresponds to
 * l2 = 1 / (C * N). */
#ifndef MODX_EVAL_LINPROBE_H
#define MODX_EVAL_LINPROBE_H

#include <stdint.h>

#include "core/error.h"

typedef struct {
    double l2;       /* L2 weight on W; >= 0 */
    int max_iter;    /* L-BFGS iterations; > 0 */
    double tol;      /* stop when max |gradient| < tol */
} LinProbeOptions;

/* l2 1e-4, 500 iterations, tol 1e-6. */
LinProbeOptions linprobe_default_options(void);

typedef struct {
    int K, E;
    double *W;          /* (K, E) */
    double *b;          /* (K) */
    int iters;          /* iterations run */
    double loss;        /* final training loss (with the penalty) */
    double grad_max;    /* final max |gradient| */
} LinProbe;

/* Mean loss and (when grad != NULL) its gradient at theta = [W (K*E), b (K)];
 * x (N, E) double, y (N) in [0, K) (not checked: validated by the caller).
 * grad has K*(E+1) entries; scratch holds N*K doubles. For tests and the optimiser. */
double linprobe_loss(const double *theta, const double *x, const int32_t *y, int N, int E, int K, double l2,
                     double *grad, double *scratch);

/* Fits a probe on x (N, E) with labels y in [0, K). Errors: sizes not positive,
 * a label out of range, a non-finite feature, a non-finite loss (with the
 * iteration). The result owns W and b: free with linprobe_free. */
ModxStatus linprobe_train(LinProbe *out, const float *x, int N, int E, const int32_t *y, int K,
                          const LinProbeOptions *opt);

/* Top-1 accuracy (percent) of the probe on x (N, p->E) with labels y;
 * pred (N) optional. Ties go to the lower class index. */
ModxStatus linprobe_accuracy(double *acc, const LinProbe *p, const float *x, int N, const int32_t *y, int32_t *pred);

void linprobe_free(LinProbe *p);

#endif
