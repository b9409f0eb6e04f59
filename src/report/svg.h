/* A small SVG plotting library: line and scatter plots, histograms, legends
 * and axes with "nice" ticks, written as text into a StrBuf.
 *
 * Every plot is one self-contained <svg class="plot" data-plot="ID"> element
 * (inline in HTML or a file of its own), fixed size in pixels, no scripts and
 * no external references. All text is escaped. Non-finite data values are
 * skipped (a line breaks there); the output never contains "nan" or "inf".
 * Legends sit in a column right of the data area, so they never cover data.
 *
 *   SvgSeries s = {.name = "Mod-X", .y = r1, .n = 6, .color = 0, .marker = 0, .line = 1};
 *   SvgPlot p = {.id = "r1-coco", .title = "COCO", .x_label = "phase", .y_label = "R@1 (%)"};
 *   SvgBox area;
 *   if (svg_xy_plot(&sb, &p, &s, 1, &area) != MODX_OK) ... modx_last_error() ...
 */
#ifndef MODX_REPORT_SVG_H
#define MODX_REPORT_SVG_H

#include <stddef.h>

#include "core/error.h"
#include "report/strbuf.h"

/* Colour palette: the Okabe-Ito colours without black and yellow (hard to see
 * on white), then four more dark, distinct hues; all are chromatic, so a plot's
 * data can be told from its grey axes and grid. Indices wrap around. */
#define SVG_PALETTE_SIZE 10
const char *svg_color(int index);

/* Marker shapes, chosen by index (wrapping): circle, square, triangle up,
 * diamond, triangle down, cross-hatched square. -1 = no marker. */
#define SVG_MARKER_COUNT 6

typedef enum { SVG_LINE_SOLID = 0, SVG_LINE_DASHED = 1, SVG_LINE_DOTTED = 2 } SvgLineStyle;

typedef struct {
    const char *name;          /* legend text; NULL = not in the legend */
    const double *x;           /* n x values; NULL = 0, 1, ..., n-1 */
    const double *y;           /* n y values (required when n > 0) */
    const char *const *labels; /* n labels drawn beside the points; NULL = none; NULL entries skipped */
    size_t n;
    int color;                 /* palette index */
    int marker;                /* marker shape index; -1 = none */
    SvgLineStyle style;        /* stroke style of the connecting line */
    int line;                  /* 1 = connect consecutive finite points */
    double line_width;         /* pixels; 0 = 2.2 */
    double marker_size;        /* marker radius in pixels; 0 = 4.5 */
    const double *x_err;       /* n half-widths (e.g. 1 sd) drawn as capped bars x ± x_err; NULL = none */
    const double *y_err;       /* the same vertically; non-finite or negative entries draw no bar */
} SvgSeries;

/* An explicit legend entry (for keys that are not one-to-one with series, such
 * as "colour = strategy, dash = direction"). */
typedef struct {
    const char *name;
    const char *color_css; /* NULL = svg_color(color) */
    int color;
    int marker;            /* -1 = none */
    SvgLineStyle style;
    int line;              /* draw a line sample */
    int swatch;            /* draw a filled box (histograms) instead of line/marker */
} SvgLegendItem;

typedef struct {
    const char *id;        /* data-plot value; letters, digits, '-', '_' (others become '_') */
    const char *title;
    const char *x_label;   /* axis titles, with units: "rotation angle (degrees)" */
    const char *y_label;
    int width, height;     /* pixels; 0 = 640 x 400 */
    int fix_x, fix_y;      /* 1 = use [x_min, x_max] / [y_min, y_max] instead of the data range */
    double x_min, x_max, y_min, y_max;
    int x_integer;         /* x ticks only at integers (phases) */
    const char *const *x_names; /* with x_integer: tick i reads "i name" for i < nx_names (NULL entries: "i") */
    size_t nx_names;
    const char *note;      /* one line under the title (e.g. which curves coincide); NULL = none */
    int y_include_zero;    /* automatic y range includes 0 */
    const SvgLegendItem *legend; /* NULL = one entry per named series */
    size_t nlegend;
} SvgPlot;

/* The data area (inside the axes frame) in the plot's own pixel coordinates. */
typedef struct {
    double x, y, w, h;
} SvgBox;

/* Line and/or scatter plot of `ns` series. `area` (may be NULL) receives the
 * data-area box. Fails with MODX_ERR_INVALID on a NULL array with n > 0 or a
 * size below 200 x 150; writes nothing to `sb` then. */
ModxStatus svg_xy_plot(StrBuf *sb, const SvgPlot *plot, const SvgSeries *series, size_t ns, SvgBox *area);

typedef struct {
    const char *name;      /* legend text; NULL = not in the legend */
    const double *counts;  /* nbins values (bar heights); non-finite bins are skipped */
    int color;             /* palette index */
} SvgHistSeries;

typedef enum {
    SVG_HIST_OVERLAID = 0, /* each series a translucent filled step outline over the same bins */
    SVG_HIST_GROUPED = 1,  /* each bin split into side-by-side bars, one per series */
} SvgHistStyle;

/* Histogram over bins [edges[i], edges[i+1]) for i < nbins (nbins + 1 edges,
 * finite and strictly increasing, else MODX_ERR_INVALID). */
ModxStatus svg_histogram(StrBuf *sb, const SvgPlot *plot, const double *edges, size_t nbins,
                         const SvgHistSeries *series, size_t ns, SvgHistStyle style, SvgBox *area);

/* A heat map: rows x cols cells coloured by value on a perceptual scale
 * (dark blue-purple = low, yellow = high; every colour is chromatic), each
 * labelled with its value; non-finite cells are light grey with a dash. Row
 * labels sit left of the grid (top row first), column labels below it. */
typedef struct {
    size_t rows, cols;
    const double *values;            /* rows x cols, row-major */
    const char *const *row_labels;   /* rows labels; NULL = the row index */
    const char *const *col_labels;   /* cols labels; NULL = the column index */
    double vmin, vmax;               /* colour range; vmin >= vmax (or non-finite) = the data range */
    int decimals;                    /* digits of the cell labels */
} SvgHeatmap;

/* Fails with MODX_ERR_INVALID on no cells, more than 256 rows or columns, or a
 * NULL value array; writes nothing to `sb` then. */
ModxStatus svg_heatmap(StrBuf *sb, const SvgPlot *plot, const SvgHeatmap *hm, SvgBox *area);

/* "Nice" axis ticks (1, 2, 5 x 10^k steps) covering [lo, hi] with about
 * `target` ticks (>= 2). Writes at most `cap` ticks, returns how many; the axis
 * range [*axis_lo, *axis_hi] spans the first to last tick. lo == hi gets a
 * non-zero range around the value; non-finite input gives [0, 1]. `integer`
 * makes every tick an integer (step >= 1). `step` (may be NULL) gets the step. */
size_t svg_nice_ticks(double lo, double hi, int target, int integer, double *ticks, size_t cap,
                      double *axis_lo, double *axis_hi, double *step);

/* Digits after the decimal point needed to print multiples of `step` exactly (0..10). */
int svg_tick_decimals(double step);

#endif
