/* Topology change (SPEC §6): how much the angles between probe samples change
 * between checkpoints a and b. With S_x[i, j] = arccos<f_x(x_i), f_x(x_j)>,
 * reports mean |S_a - S_b| over pairs i < j, in degrees, and the Spearman rank
 * correlation of the two angle lists (average ranks for ties). Small topology
 * change with large per-sample rotation means the space rotated rigidly.
 *
 * Large N: when N (N - 1) / 2 exceeds max_pairs, max_pairs pairs are drawn
 * uniformly (with replacement) from a generator seeded with `seed`: i uniform in
 * [0, N), j uniform among the other N - 1 samples, ordered so i < j. The same
 * (N, max_pairs, seed) always gives the same pairs. */
#ifndef MODX_ANALYSIS_TOPOLOGY_H
#define MODX_ANALYSIS_TOPOLOGY_H

#include <stdint.h>

#include "core/error.h"

#define TOPOLOGY_DEFAULT_MAX_PAIRS 2000000 /* all pairs up to N = 2000 */
#define TOPOLOGY_DEFAULT_SEED 20230512u

typedef struct {
    int64_t pairs_total;        /* N (N - 1) / 2 */
    int64_t pairs_used;         /* pairs the figures are computed over */
    int subsampled;             /* 1 when pairs_used < pairs_total (sampled) */
    double mean_angle_a_deg;    /* mean S_a over the pairs used */
    double mean_angle_b_deg;
    double mean_abs_change_deg; /* mean |S_a - S_b| */
    double max_abs_change_deg;
    double spearman;            /* NaN when fewer than 2 pairs or a list is constant */
} TopologyChange;

/* fa, fb (N, E); N >= 2; max_pairs >= 1. Computed in double. */
ModxStatus topology_change(TopologyChange *out, const float *fa, const float *fb, int N, int E, int64_t max_pairs,
                           uint64_t seed);

/* Spearman rank correlation of x and y (n each) with average ranks for ties;
 * NaN when n < 2 or either list is constant. MODX_ERR_NOMEM on allocation failure. */
ModxStatus topology_spearman(double *rho, const double *x, const double *y, int64_t n);

#endif
