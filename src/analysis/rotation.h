/* Intra-modal rotation (SPEC §6): the angle each probe sample's feature moves
 * between checkpoints a and b, theta_i = arccos<f_a(x_i), f_b(x_i)>, and the
 * summary of an angle distribution used across the analysis. */
#ifndef MODX_ANALYSIS_ROTATION_H
#define MODX_ANALYSIS_ROTATION_H

#include <stdint.h>

#include "core/error.h"

/* 5-degree bins over [0, 180]: bin k = [5k, 5k + 5) (an angle within 5e-9 deg
 * below an edge counts as on it: radian round-off), 180 goes in the last. */
#define ANGLE_HIST_BINS 36
#define ANGLE_HIST_WIDTH_DEG 5.0

typedef struct {
    int n;
    double mean, median, p10, p90, min, max;  /* degrees */
    int64_t hist[ANGLE_HIST_BINS];
} AngleStats;

/* theta (N) in radians between matching rows of fa and fb (N, E), both
 * re-normalised in double; dots clamped to [-1, 1]. Errors as analysis_unit_rows. */
ModxStatus rotation_angles(double *theta, const float *fa, const float *fb, int N, int E);

/* Summary of n angles given in radians, reported in degrees. Percentiles
 * interpolate linearly between order statistics (position q * (n - 1), as
 * numpy's default); the median is p50. Angles outside [0, pi] or non-finite are
 * rejected (MODX_ERR_INVALID). */
ModxStatus angle_stats(AngleStats *out, const double *theta_rad, int n);

#endif
