/* The retrieval gallery of a run: for GALLERY_CAPTIONS fixed captions of the
 * first domain's test set (the first caption of the images at positions
 * k * n / GALLERY_CAPTIONS of the test set), the GALLERY_TOP images that each
 * of a few checkpoints retrieves for them (text -> image, ties to the lower
 * index, SPEC §5): the phase-0 model, then finetune, modx and the strategy
 * with the best Last (summary.json) after the last phase, when the run has
 * them. Thumbnails are PNG data URIs of the cache's own pixels.
 *
 * Reads RUN_DIR/experiment.json (the test set's dataset, split and domains;
 * the dataset's "cache", or RUN_DIR/data/NAME.cache when the run prepared it),
 * the cache and the checkpoints. Fills a ReportGallery whose strings it owns. */
#ifndef MODX_REPORT_GALLERY_H
#define MODX_REPORT_GALLERY_H

#include <stdint.h>

#include "analysis/run_summary.h"
#include "run/rundir.h"
#include "core/error.h"
#include "report/report.h"

#define GALLERY_CAPTIONS 6
#define GALLERY_TOP REPORT_GALLERY_TOP
#define GALLERY_MAX_MODELS 4

typedef struct {
    ReportGallery view;                       /* points into the arrays below */
    char *captions[GALLERY_CAPTIONS];
    char *models[GALLERY_MAX_MODELS];
    char *thumbs[GALLERY_CAPTIONS * GALLERY_MAX_MODELS * GALLERY_TOP];
    uint8_t hit[GALLERY_CAPTIONS * GALLERY_MAX_MODELS * GALLERY_TOP];
    char title[256];
} RunGallery;

/* MODX_OK with the gallery filled, or an error saying why there is none (no
 * domain test set for phase 0, experiment.json or the cache missing, a
 * checkpoint that does not load). Free with run_gallery_free either way. */
ModxStatus run_gallery_build(RunGallery *g, const char *dir, const RunInfo *run, const RunSummary *sum);
void run_gallery_free(RunGallery *g);

/* A PNG data URI ("data:image/png;base64,...") of an S x S RGB image, malloc'd. */
ModxStatus gallery_png_uri(const uint8_t *rgb, int S, char **uri);

#endif
