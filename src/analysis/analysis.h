/* The spatial-disorder analysis of two checkpoints a and b on one probe set
 * (SPEC §6), computed from raw feature arrays and serialised to JSON:
 *
 *   AnalysisResult r;
 *   analysis_compute(&r, va, ta, vb, tb, N, E, NULL);   // image/text features (N, E) of a and b
 *   cJSON *j; analysis_to_json(&r, &j); ... cJSON_Delete(j);
 *   analysis_print_summary(stdout, &r);
 *   analysis_free(&r);
 *
 * The callers (feature files, a checkpoint + dataset, a run directory) only
 * differ in how they obtain the four arrays. */
#ifndef MODX_ANALYSIS_ANALYSIS_H
#define MODX_ANALYSIS_ANALYSIS_H

#include <stdint.h>
#include <stdio.h>

#include "analysis/deviation.h"
#include "analysis/rotation.h"
#include "analysis/topology.h"
#include "core/error.h"

typedef struct cJSON cJSON;

typedef struct {
    int64_t topology_max_pairs; /* pair cap for the topology figures (TOPOLOGY_DEFAULT_MAX_PAIRS) */
    uint64_t topology_seed;     /* seed of the pair sample when capped */
} AnalysisOptions;

AnalysisOptions analysis_default_options(void);

typedef struct {
    int n, e;                            /* probe pairs, embedding width */
    AngleStats rotation_v, rotation_t;   /* per-sample rotation theta, degrees */
    TopologyChange topology_v, topology_t;
    PairDeviation pair;                  /* image-text pair angle at a, at b, change */
    RelativeRotation relative;           /* Procrustes R_V, R_T and the spectrum of R_V^T R_T */
} AnalysisResult;

/* va, ta: image and text features (N, E) of checkpoint a; vb, tb: of b; row i
 * is the same probe pair in all four. opt NULL = defaults. Free with analysis_free. */
ModxStatus analysis_compute(AnalysisResult *out, const float *va, const float *ta, const float *vb, const float *tb,
                            int N, int E, const AnalysisOptions *opt);
void analysis_free(AnalysisResult *r);

/* The full result as a JSON object (histograms and the relative-rotation
 * spectrum included; NaN figures are written as null). Caller owns *out
 * (cJSON_Delete). */
ModxStatus analysis_to_json(const AnalysisResult *r, cJSON **out);

/* A readable multi-line summary. */
void analysis_print_summary(FILE *f, const AnalysisResult *r);

#endif
