/* The run report: one self-contained HTML file (inline CSS and SVG, no
 * JavaScript, no external URLs) built from structured data. This layer knows
 * nothing about run directories; the caller fills a Report and calls
 * report_write().
 *
 * Contents, in order: the experiment summary (key/value pairs); the trade-off
 * table at each strategy's final phase (R@1 on the earliest domain, on the
 * latest trained domain, the mean over domains, and the held-out and
 * train-sample sets when present — both retrieval directions); R@1 against
 * phase per test set (colour = strategy, solid = image->text, dashed =
 * text->image); zero-shot top-1 (solid) and top-5 (dashed) accuracy against
 * phase per zero-shot set; rotation-angle histograms per comparison and modality (one
 * outline per strategy); topology change against rotation per modality (one
 * point per strategy and phase); the inter-modal relative rotation per phase;
 * then every result in one table. With continual-learning figures (ReportCl),
 * after the trade-off table: the figures table, a keep-vs-learn scatter (x =
 * learned %, y = kept %, one point per strategy, ± sd bars when given) and
 * the accuracy matrix of each strategy as a heat map. A strategy keeps its colour and marker in
 * every plot (its index in `strategies`).
 *
 * The page has a fixed layout in CSS pixels (1400 wide), so each plot's data
 * area on screen is known in advance: report_render() returns it in a
 * ReportLayout, report_write() can save it as a regions file, and the
 * screenshot test checks those boxes in a headless-browser screenshot. */
#ifndef MODX_REPORT_REPORT_H
#define MODX_REPORT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "report/strbuf.h"

typedef struct {
    const char *key;
    const char *value;
} ReportKV;

typedef enum {
    REPORT_SET_DOMAIN = 0,       /* the held-out test split of one training domain */
    REPORT_SET_HELDOUT = 1,      /* held-out items (e.g. unseen concepts): generalisation */
    REPORT_SET_TRAIN_SAMPLE = 2, /* a fixed sample of training items: fit */
    REPORT_SET_ZEROSHOT = 3,     /* labelled images classified zero-shot: retention */
} ReportSetRole;

typedef struct {
    const char *name;   /* as used in ReportResult.test_set */
    ReportSetRole role;
    int domain_phase;   /* REPORT_SET_DOMAIN: the first phase that trains on this domain */
} ReportTestSet;

/* Metric names the report reads for its R@1 columns and curves (values in %).
 * Any other metric names (R@5, rsum, median rank, ...) go to the full table. */
#define REPORT_METRIC_I2T_R1 "i2t_R@1"
#define REPORT_METRIC_T2I_R1 "t2i_R@1"
/* Zero-shot top-1 / top-5 accuracy (%): one curve plot per set that has them. */
#define REPORT_METRIC_ZS_TOP1 "zs_top1"
#define REPORT_METRIC_ZS_TOP5 "zs_top5"

typedef struct {
    const char *strategy; /* one of Report.strategies */
    int phase;            /* >= 0: evaluated after training this phase */
    const char *test_set; /* one of Report.test_sets */
    const char *metric;
    double value;         /* NaN = missing (shown as a dash, skipped in plots) */
} ReportResult;

typedef struct {
    const char *strategy;
    const char *modality;   /* "vision", "text", ... (one plot per comparison and modality) */
    const char *comparison; /* which two checkpoints, e.g. "phase 0 → phase 5" */
    const double *edges_deg; /* nbins + 1 increasing bin edges, degrees; equal for one plot */
    const double *counts;   /* nbins sample counts (plotted as % of the histogram's total) */
    size_t nbins;
} ReportRotationHist;

typedef struct {
    const char *strategy;
    const char *modality;
    int phase;              /* the comparison phase-1 -> phase */
    double rotation_deg;    /* mean rotation angle of the probe samples */
    double topology_deg;    /* mean |S_a - S_b| over pairs i < j */
} ReportTopology;

typedef struct {
    const char *strategy;
    int phase;              /* the comparison phase-1 -> phase */
    double angle_deg;       /* relative rotation between the modalities */
} ReportInterModal;

/* One logged training step (metrics.jsonl "step" lines), for the loss curves. */
#define REPORT_LOSS_PHASE0 "phase0" /* the strategy of the shared phase-0 training */
typedef struct {
    const char *strategy;   /* one of Report.strategies, or REPORT_LOSS_PHASE0 */
    int phase;              /* the phase being trained */
    double step;            /* the step within the phase */
    double loss, loss_con, loss_kl; /* total, contrastive and distillation (KL) terms; NaN = not logged */
} ReportLoss;

/* The continual-learning figures of one strategy (docs/metrics.md): the
 * accuracy matrix R[i][j] and its figures, in the order of REPORT_CL_*. */
enum {
    REPORT_CL_LAST = 0, REPORT_CL_AVG, REPORT_CL_BWT, REPORT_CL_FWT, REPORT_CL_FORGETTING, REPORT_CL_KEPT,
    REPORT_CL_LEARNED, REPORT_CL_NFIG
};

typedef struct {
    const char *strategy;      /* one of Report.strategies */
    size_t nrows, ncols;       /* rows = phases 0..nrows-1, columns = test sets */
    const char *const *cols;   /* ncols test-set names */
    const double *r1;          /* nrows x ncols R@1 (%), NaN = not evaluated; NULL = no heat map */
    double fig[REPORT_CL_NFIG];/* NaN = does not apply */
    const double *sd;          /* NULL, or REPORT_CL_NFIG standard deviations over seeds (NaN = none) */
    double train_samples;      /* compute accounting; NaN = unknown */
    double train_s;
    int reference;             /* joint / finetune: the references of kept % and learned % */
} ReportCl;

/* A retrieval gallery: for each caption (query), the top REPORT_GALLERY_TOP
 * images each model retrieves, as image data URIs; the caption's own image
 * is outlined. */
#define REPORT_GALLERY_TOP 5
typedef struct {
    const char *title;            /* what the captions are, e.g. "test set apple" */
    size_t ncaptions, nmodels;    /* 1..6 captions, 1..4 models */
    const char *const *captions;  /* ncaptions */
    const char *const *models;    /* nmodels labels */
    const char *const *thumbs;    /* ncaptions x nmodels x REPORT_GALLERY_TOP "data:image/png;base64,..." */
    const uint8_t *hit;           /* the same shape: 1 = the caption's own image */
} ReportGallery;

typedef struct {
    const char *title;
    const ReportKV *summary;
    size_t nsummary;
    const char *const *strategies; /* order fixes colours and markers */
    size_t nstrategies;
    const ReportTestSet *test_sets;
    size_t ntest_sets;
    const ReportResult *results;
    size_t nresults;
    const ReportRotationHist *hists;
    size_t nhists;
    const ReportTopology *topology;
    size_t ntopology;
    const ReportInterModal *intermodal;
    size_t nintermodal;
    const char *intermodal_what; /* what angle_deg measures; NULL = a default sentence */
    const ReportCl *cl;          /* continual-learning figures per strategy; may be 0 */
    size_t ncl;
    const char *cl_what;         /* what the matrix columns are; NULL = a default sentence */
    const ReportGallery *gallery;/* NULL = none */
    const char *gallery_note;    /* shown instead when gallery is NULL (why there is none); may be NULL */
    const ReportLoss *losses;    /* in file order; 0 = the loss section says why it is empty */
    size_t nlosses;
    size_t nlosses_skipped;      /* step lines without "strategy", "phase" or "step": counted in the section's note */
} Report;

/* One plot's data area on the rendered page, CSS pixels from the top-left. */
typedef struct {
    char id[64];
    int x, y, w, h;
} ReportRegion;

typedef struct {
    int page_w, page_h;     /* the area a screenshot must cover to show every plot */
    ReportRegion *regions;  /* owned; free with report_layout_free */
    size_t nregions;
} ReportLayout;

/* Renders the whole HTML document into `html` (appended). `layout` (may be
 * NULL) receives the plot regions. Fails with MODX_ERR_INVALID naming the item
 * when a result names an unknown strategy or test set, a phase is negative, a
 * (strategy, phase, test set, metric) appears twice, or one plot's histograms
 * have different bin edges. */
ModxStatus report_render(const Report *r, StrBuf *html, ReportLayout *layout);
void report_layout_free(ReportLayout *layout);

/* Renders and writes `html_path` atomically (io_write_atomic); when
 * `regions_path` is not NULL, also writes the regions file:
 *   # comment lines
 *   page W H
 *   plot ID X Y W H          (one per plot, data area) */
ModxStatus report_write(const Report *r, const char *html_path, const char *regions_path);

/* Reads a regions file written by report_write. */
ModxStatus report_regions_read(const char *path, ReportLayout *layout);

/* ---- screenshot checks (pngcheck.c) ---- */

typedef struct {
    uint8_t *rgba;    /* w * h * 4 bytes, owned */
    uint32_t w, h;
} ReportImage;

/* Decodes a PNG file into 8-bit RGBA. */
ModxStatus report_png_load(const char *path, ReportImage *img);
void report_image_free(ReportImage *img);

typedef struct {
    size_t pixels;        /* pixels in the box */
    size_t nonbackground; /* differ from white by more than 24 in some channel */
    size_t chromatic;     /* max - min channel > 60: data colours, not grey axes/grid/text */
    size_t distinct;      /* distinct colours (quantised to 5 bits per channel) */
} ReportRegionStats;

/* Pixel statistics of the box (x, y, w, h) of `img`; the box must lie inside
 * the image (else MODX_ERR_INVALID saying by how much it does not). */
ModxStatus report_image_region_stats(const ReportImage *img, int x, int y, int w, int h, ReportRegionStats *out);

/* How many sides (0..4) of the box have a drawn line just outside it: a row
 * or column 1..4 pixels out whose pixels along the side are >= 90% non-white.
 * The report's boxes are inset 2 pixels inside each plot frame, so 4 means the
 * box sits on the frame, i.e. the fixed page layout held in the browser. */
int report_image_frame_sides(const ReportImage *img, int x, int y, int w, int h);

/* The same, loading the PNG at `path` first. */
ModxStatus report_png_region_stats(const char *path, int x, int y, int w, int h, ReportRegionStats *out);

#endif
