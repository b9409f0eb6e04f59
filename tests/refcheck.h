/* Helpers for comparing against the PyTorch reference fixtures (safetensors
 * files written by tools/gen_nn_ref.py). */
#ifndef MODX_TESTS_REFCHECK_H
#define MODX_TESTS_REFCHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "io/safetensors.h"

/* Reads tensor `name` (any shape) as a malloc'd float array; NULL when missing. */
static inline float *ref_load(const SafeTensors *st, const char *name, size_t *numel) {
    const StTensorInfo *ti = safetensors_find(st, name);
    if (!ti) {
        printf("    fixture tensor '%s' missing\n", name);
        return NULL;
    }
    float *x = malloc((ti->numel ? ti->numel : 1) * sizeof(float));
    if (safetensors_read_f32(st, name, ti->ndim, ti->shape, x) != MODX_OK) {
        printf("    %s\n", modx_last_error());
        free(x);
        return NULL;
    }
    if (numel) *numel = (size_t)ti->numel;
    return x;
}

/* max |got − want| / max |want| (0 when want is all zero and got equals it). */
static inline double ref_rel_err(const float *got, const float *want, size_t n) {
    double md = 0, mw = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= md)) md = d; /* NaN propagates */
        if (fabs(want[i]) > mw) mw = fabs(want[i]);
    }
    return mw > 0 ? md / mw : md;
}

#endif
