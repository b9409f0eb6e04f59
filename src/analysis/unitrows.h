/* Feature rows as unit vectors in double precision, the common first step of
 * every analysis: the analysis works on the unit sphere (SPEC §6), so rows are
 * re-normalised in double even when the input is already normalised in float. */
#ifndef MODX_ANALYSIS_UNITROWS_H
#define MODX_ANALYSIS_UNITROWS_H

#include "core/error.h"

/* Allocates *out (N, E) doubles holding x's rows divided by their norms.
 * what names the array in messages ("image features of a"). Errors: sizes not
 * positive (MODX_ERR_INVALID), a non-finite value or a zero row (MODX_ERR_INVALID,
 * naming the row). Free with free(). */
ModxStatus analysis_unit_rows(double **out, const float *x, int N, int E, const char *what);

/* Angle in radians between two unit vectors: arccos of the dot clamped to [-1, 1]. */
double analysis_angle(const double *a, const double *b, int E);

#endif
