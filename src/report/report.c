#include "report/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/size.h"
#include "io/file.h"
#include "report/svg.h"

/* ---- fixed page layout (CSS pixels) ---------------------------------------- */

#define PAGE_W 1400
#define PAGE_PAD 20             /* left/right padding of the content */
#define PLOT_W 660
#define PLOT_H 400
#define PLOT_GAP 20             /* between the two plot columns */
#define CONTENT_W (2 * PLOT_W + PLOT_GAP) /* 1340: with the padding 1380 px, no horizontal scroll at 1400 */
#define PLOT_ROW_H (PLOT_H + 16)
#define H1_H 56
#define H2_H 40
#define NOTE_H 48
#define ROW_H 28                /* one table row, border included */
#define GAP_H 12

/* ---- input checking and lookup -------------------------------------------- */

typedef struct {
    const Report *r;
    size_t nphases;             /* max phase + 1 over every input */
    const char **metrics;       /* distinct metric names in order of appearance */
    size_t nmetrics;
    double *values;             /* [strategy][phase][set][metric], NaN = missing */
    uint8_t *present;
    int m_i2t, m_t2i;           /* metric indices of the R@1 metrics, -1 if absent */
    int m_zs1, m_zs5;           /* metric indices of the zero-shot accuracies, -1 if absent */
} ReportIndex;

static int report_strategy_index(const Report *r, const char *name) {
    if (!name) return -1;
    for (size_t i = 0; i < r->nstrategies; i++)
        if (r->strategies[i] && !strcmp(r->strategies[i], name)) return (int)i;
    return -1;
}

static int report_set_index(const Report *r, const char *name) {
    if (!name) return -1;
    for (size_t i = 0; i < r->ntest_sets; i++)
        if (r->test_sets[i].name && !strcmp(r->test_sets[i].name, name)) return (int)i;
    return -1;
}

static size_t report_cell(const ReportIndex *ix, size_t s, size_t p, size_t t, size_t m) {
    return ((s * ix->nphases + p) * ix->r->ntest_sets + t) * ix->nmetrics + m;
}

static double report_value(const ReportIndex *ix, size_t s, size_t p, size_t t, int m) {
    if (m < 0 || p >= ix->nphases) return NAN;
    return ix->values[report_cell(ix, s, p, t, (size_t)m)];
}

static void report_index_free(ReportIndex *ix) {
    free(ix->metrics);
    free(ix->values);
    free(ix->present);
    memset(ix, 0, sizeof *ix);
}

#define REPORT_MAX_PHASE 100000
#define REPORT_MAX_STRATEGIES 64

static ModxStatus report_check_phase(const char *what, size_t i, int phase) {
    if (phase < 0 || phase > REPORT_MAX_PHASE)
        return modx_fail(MODX_ERR_INVALID, "report: %s %zu: phase %d, expected 0..%d", what, i, phase, REPORT_MAX_PHASE);
    return MODX_OK;
}

static ModxStatus report_check_strategy(const Report *r, const char *what, size_t i, const char *name) {
    if (report_strategy_index(r, name) < 0)
        return modx_fail(MODX_ERR_INVALID, "report: %s %zu: strategy '%s' is not in the strategy list (%zu strategies)",
                         what, i, name ? name : "(null)", r->nstrategies);
    return MODX_OK;
}

static ModxStatus report_check_cl(const Report *r) {
    if (r->ncl && !r->cl) return modx_fail(MODX_ERR_INVALID, "report: the figures array is NULL but its count is not zero");
    for (size_t i = 0; i < r->ncl; i++) {
        const ReportCl *c = &r->cl[i];
        MODX_TRY(report_check_strategy(r, "figures entry", i, c->strategy));
        if (c->r1 && (!c->cols || c->nrows == 0 || c->ncols == 0 || c->nrows > 256 || c->ncols > 256))
            return modx_fail(MODX_ERR_INVALID, "report: figures entry %zu (%s): a %zu x %zu matrix, expected 1..256 "
                             "rows and columns with column names", i, c->strategy, c->nrows, c->ncols);
    }
    return MODX_OK;
}

/* The input arrays, the strategy names and the test sets. */
static ModxStatus report_check_lists(const Report *r) {
    if ((r->nsummary && !r->summary) || (r->nstrategies && !r->strategies) || (r->ntest_sets && !r->test_sets) ||
        (r->nresults && !r->results) || (r->nhists && !r->hists) || (r->ntopology && !r->topology) ||
        (r->nintermodal && !r->intermodal))
        return modx_fail(MODX_ERR_INVALID, "report: an input array is NULL but its count is not zero");
    if (r->nstrategies > REPORT_MAX_STRATEGIES)
        return modx_fail(MODX_ERR_INVALID, "report: %zu strategies, at most %d (colours and table rows)",
                         r->nstrategies, REPORT_MAX_STRATEGIES);
    for (size_t i = 0; i < r->nstrategies; i++) {
        if (!r->strategies[i] || !r->strategies[i][0])
            return modx_fail(MODX_ERR_INVALID, "report: strategy %zu has no name", i);
        if (report_strategy_index(r, r->strategies[i]) != (int)i)
            return modx_fail(MODX_ERR_INVALID, "report: strategy '%s' is listed twice", r->strategies[i]);
    }
    for (size_t i = 0; i < r->ntest_sets; i++) {
        const ReportTestSet *t = &r->test_sets[i];
        if (!t->name || !t->name[0]) return modx_fail(MODX_ERR_INVALID, "report: test set %zu has no name", i);
        if (report_set_index(r, t->name) != (int)i)
            return modx_fail(MODX_ERR_INVALID, "report: test set '%s' is listed twice", t->name);
        if (t->role != REPORT_SET_DOMAIN && t->role != REPORT_SET_HELDOUT && t->role != REPORT_SET_TRAIN_SAMPLE &&
            t->role != REPORT_SET_ZEROSHOT)
            return modx_fail(MODX_ERR_INVALID, "report: test set '%s': role %d, expected 0 (domain), 1 (held-out), "
                             "2 (train sample) or 3 (zero-shot)", t->name, (int)t->role);
        if (t->role == REPORT_SET_DOMAIN) MODX_TRY(report_check_phase("test set", i, t->domain_phase));
    }
    return MODX_OK;
}

/* The results (collecting the metric names in ix->metrics), topology,
 * inter-modal and histogram entries; *maxp: the last phase seen. */
static ModxStatus report_check_entries(const Report *r, ReportIndex *ix, int *maxp) {
    ix->metrics = modx_calloc(r->nresults ? r->nresults : 1, sizeof *ix->metrics, "report metric names");
    if (!ix->metrics) return MODX_ERR_NOMEM;
    for (size_t i = 0; i < r->nresults; i++) {
        const ReportResult *e = &r->results[i];
        MODX_TRY(report_check_strategy(r, "result", i, e->strategy));
        if (report_set_index(r, e->test_set) < 0)
            return modx_fail(MODX_ERR_INVALID, "report: result %zu: test set '%s' is not in the test-set list", i,
                             e->test_set ? e->test_set : "(null)");
        if (!e->metric || !e->metric[0]) return modx_fail(MODX_ERR_INVALID, "report: result %zu has no metric name", i);
        MODX_TRY(report_check_phase("result", i, e->phase));
        if (e->phase > *maxp) *maxp = e->phase;
        size_t m = 0;
        while (m < ix->nmetrics && strcmp(ix->metrics[m], e->metric)) m++;
        if (m == ix->nmetrics) ix->metrics[ix->nmetrics++] = e->metric;
    }
    for (size_t i = 0; i < r->ntopology; i++) {
        MODX_TRY(report_check_strategy(r, "topology entry", i, r->topology[i].strategy));
        MODX_TRY(report_check_phase("topology entry", i, r->topology[i].phase));
        if (!r->topology[i].modality) return modx_fail(MODX_ERR_INVALID, "report: topology entry %zu has no modality", i);
        if (r->topology[i].phase > *maxp) *maxp = r->topology[i].phase;
    }
    for (size_t i = 0; i < r->nintermodal; i++) {
        MODX_TRY(report_check_strategy(r, "inter-modal entry", i, r->intermodal[i].strategy));
        MODX_TRY(report_check_phase("inter-modal entry", i, r->intermodal[i].phase));
        if (r->intermodal[i].phase > *maxp) *maxp = r->intermodal[i].phase;
    }
    for (size_t i = 0; i < r->nhists; i++) {
        const ReportRotationHist *h = &r->hists[i];
        MODX_TRY(report_check_strategy(r, "histogram", i, h->strategy));
        if (!h->modality || !h->comparison)
            return modx_fail(MODX_ERR_INVALID, "report: histogram %zu (%s) needs a modality and a comparison", i,
                             h->strategy);
        if (h->nbins == 0 || !h->edges_deg || !h->counts)
            return modx_fail(MODX_ERR_INVALID, "report: histogram %zu (%s, %s): needs nbins >= 1, edges and counts", i,
                             h->strategy, h->modality);
    }
    return MODX_OK;
}

/* The result table: one cell per strategy, phase, test set and metric
 * (NAN where absent); a result given twice is an error. */
static ModxStatus report_tabulate(const Report *r, ReportIndex *ix) {
    size_t cells = 1;
    if (!size_mul(r->nstrategies ? r->nstrategies : 1, ix->nphases ? ix->nphases : 1, &cells) ||
        !size_mul(cells, r->ntest_sets ? r->ntest_sets : 1, &cells) ||
        !size_mul(cells, ix->nmetrics ? ix->nmetrics : 1, &cells) || cells > ((size_t)1 << 28))
        return modx_fail(MODX_ERR_INVALID, "report: %zu strategies x %zu phases x %zu test sets x %zu metrics is too "
                         "many results to tabulate", r->nstrategies, ix->nphases, r->ntest_sets, ix->nmetrics);
    ix->values = modx_calloc(cells, sizeof *ix->values, "report result table");
    ix->present = modx_calloc(cells, 1, "report result table");
    if (!ix->values || !ix->present) return MODX_ERR_NOMEM;
    for (size_t c = 0; c < cells; c++) ix->values[c] = NAN;
    for (size_t i = 0; i < r->nresults; i++) {
        const ReportResult *e = &r->results[i];
        size_t m = 0;
        while (strcmp(ix->metrics[m], e->metric)) m++;
        size_t c = report_cell(ix, (size_t)report_strategy_index(r, e->strategy), (size_t)e->phase,
                               (size_t)report_set_index(r, e->test_set), m);
        if (ix->present[c])
            return modx_fail(MODX_ERR_INVALID, "report: result %zu: (%s, phase %d, %s, %s) appears twice", i,
                             e->strategy, e->phase, e->test_set, e->metric);
        ix->present[c] = 1;
        ix->values[c] = e->value;
    }
    return MODX_OK;
}

static ModxStatus report_index_build(const Report *r, ReportIndex *ix) {
    memset(ix, 0, sizeof *ix);
    ix->r = r;
    ix->m_i2t = ix->m_t2i = ix->m_zs1 = ix->m_zs5 = -1;
    MODX_TRY(report_check_lists(r));
    int maxp = -1;
    MODX_TRY(report_check_entries(r, ix, &maxp));
    MODX_TRY(report_check_cl(r));
    ix->nphases = (size_t)(maxp + 1);
    for (size_t m = 0; m < ix->nmetrics; m++) {
        if (!strcmp(ix->metrics[m], REPORT_METRIC_I2T_R1)) ix->m_i2t = (int)m;
        if (!strcmp(ix->metrics[m], REPORT_METRIC_T2I_R1)) ix->m_t2i = (int)m;
        if (!strcmp(ix->metrics[m], REPORT_METRIC_ZS_TOP1)) ix->m_zs1 = (int)m;
        if (!strcmp(ix->metrics[m], REPORT_METRIC_ZS_TOP5)) ix->m_zs5 = (int)m;
    }
    return report_tabulate(r, ix);
}

/* ---- HTML helpers ------------------------------------------------------------- */

static void html_text(StrBuf *sb, const char *tag, const char *attrs, const char *text) {
    strbuf_printf(sb, "<%s%s%s>", tag, attrs ? " " : "", attrs ? attrs : "");
    strbuf_escape(sb, text);
    strbuf_printf(sb, "</%s>", tag);
}

static void html_number_cell(StrBuf *sb, double v, int bold) {
    if (!isfinite(v)) {
        strbuf_puts(sb, "<td class=\"num missing\">\xE2\x80\x93</td>");
        return;
    }
    strbuf_puts(sb, bold ? "<td class=\"num best\">" : "<td class=\"num\">");
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.2f", v);
    strbuf_puts(sb, tmp);
    strbuf_puts(sb, "</td>");
}

/* Opens a block of fixed height; every block before the last plot has one so
 * that plot positions are known without a browser. */
static void html_block(StrBuf *sb, int *y, int h, const char *cls) {
    strbuf_printf(sb, "<div class=\"blk %s\" style=\"height:%dpx\">", cls, h);
    *y += h;
}

static const char *report_css =
    "html,body{margin:0;padding:0;background:#ffffff;color:#1d1d1d}\n"
    "body{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;font-size:14px}\n"
    ".page{width:1340px;padding:0 20px}\n"
    ".blk{box-sizing:border-box;margin:0;overflow:hidden}\n"
    "h1{margin:0;padding:10px 0;font-size:24px;line-height:36px;font-weight:bold;overflow-wrap:anywhere}\n"
    "h2{margin:0;padding-top:6px;font-size:18px;line-height:32px;font-weight:bold;border-bottom:2px solid #d0d0d0}\n"
    "p.note{margin:0;padding-top:4px;font-size:13px;line-height:18px;color:#444444}\n"
    "table{border-collapse:collapse;font-size:13px}\n"
    "th,td{box-sizing:border-box;height:28px;padding:0 8px;white-space:nowrap;border-bottom:1px solid #dddddd;"
    "text-align:left;line-height:27px}\n"
    "th{background:#f2f2f2;font-weight:bold}\n"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "td.best{font-weight:bold}\n"
    "td.missing{color:#999999}\n"
    "table.kv{table-layout:fixed;font-family:'DejaVu Sans Mono','Liberation Mono',monospace;font-size:13px}\n"
    "table.kv td{white-space:normal;overflow-wrap:anywhere;line-height:18px;padding:4px 8px;"
    "vertical-align:top}\n"
    "table.kv td.k{color:#555555}\n"
    "table.kv td.v{font-weight:bold}\n"
    ".swatch{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:-1px;border-radius:2px}\n"
    ".plots{display:flex;gap:20px;align-items:flex-start}\n"
    ".cell{width:660px;height:400px;flex:none;border:0}\n"
    ".cell svg{display:block}\n"
    ".full{margin-top:16px;margin-bottom:40px}\n"
    "footer{color:#777777;font-size:12px;margin:24px 0}\n"
    "table.all th,table.all td{padding:0 5px;font-size:12px}\n"
    ".gallery{border:1px solid #888888;padding:3px}\n"
    ".gallery td{height:58px;vertical-align:middle;border-bottom:1px solid #eeeeee}\n"
    ".gallery td.q{white-space:normal;width:250px;max-width:250px;font-size:12px;line-height:15px}\n"
    ".gallery img{width:44px;height:44px;margin:0 1px;border:2px solid #ffffff;image-rendering:pixelated;"
    "vertical-align:middle}\n"
    ".gallery img.hit{border-color:#009e73}\n";

/* ---- the plot sections ----------------------------------------------------------- */

typedef struct {
    StrBuf *sb;
    int y;                 /* page y of the next block */
    int col;               /* 0 or 1: next free plot column in the open row */
    int row_open;
    ReportRegion *regions; /* grows */
    size_t nregions, cap;
} ReportPage;

static ModxStatus report_page_add_region(ReportPage *pg, const char *id, const SvgBox *a, int cell_x, int cell_y) {
    if (pg->nregions == pg->cap) {
        size_t cap = pg->cap ? pg->cap * 2 : 16;
        ReportRegion *p = realloc(pg->regions, cap * sizeof *p);
        if (!p) return modx_fail(MODX_ERR_NOMEM, "report: out of memory for %zu plot regions", cap);
        pg->regions = p;
        pg->cap = cap;
    }
    ReportRegion *g = &pg->regions[pg->nregions++];
    memset(g, 0, sizeof *g);
    snprintf(g->id, sizeof g->id, "%s", id);
    /* Inset by 2 px so the frame line is not part of the box. */
    g->x = cell_x + (int)ceil(a->x) + 2;
    g->y = cell_y + (int)ceil(a->y) + 2;
    g->w = (int)floor(a->w) - 4;
    g->h = (int)floor(a->h) - 4;
    return MODX_OK;
}

static void report_page_close_row(ReportPage *pg) {
    if (!pg->row_open) return;
    strbuf_puts(pg->sb, "</div>\n");
    pg->row_open = 0;
    pg->col = 0;
}

static void report_section(ReportPage *pg, const char *title, const char *note) {
    report_page_close_row(pg);
    html_block(pg->sb, &pg->y, H2_H, "h2");
    html_text(pg->sb, "h2", NULL, title);
    strbuf_puts(pg->sb, "</div>\n");
    if (note) {
        html_block(pg->sb, &pg->y, NOTE_H, "note");
        html_text(pg->sb, "p", "class=\"note\"", note);
        strbuf_puts(pg->sb, "</div>\n");
    }
}

/* Places a rendered plot (svg text) in the next grid cell. */
static ModxStatus report_place_plot(ReportPage *pg, const char *id, StrBuf *svg, const SvgBox *area) {
    if (!pg->row_open) {
        html_block(pg->sb, &pg->y, PLOT_ROW_H, "plots");
        pg->row_open = 1;
        pg->col = 0;
    }
    int cell_x = PAGE_PAD + pg->col * (PLOT_W + PLOT_GAP);
    int cell_y = pg->y - PLOT_ROW_H;
    strbuf_puts(pg->sb, "<div class=\"cell\">");
    strbuf_absorb(pg->sb, svg);
    strbuf_puts(pg->sb, "</div>");
    MODX_TRY(report_page_add_region(pg, id, area, cell_x, cell_y));
    if (++pg->col == 2) report_page_close_row(pg);
    return strbuf_status(pg->sb);
}

/* Renders an x–y plot and places it in the next grid cell. */
static ModxStatus report_place_xy(ReportPage *pg, const char *id, const SvgPlot *plot, const SvgSeries *series,
                                  size_t ns) {
    StrBuf svg;
    SvgBox area;
    strbuf_init(&svg);
    ModxStatus st = svg_xy_plot(&svg, plot, series, ns, &area);
    if (st != MODX_OK) {
        strbuf_free(&svg);
        return st;
    }
    return report_place_plot(pg, id, &svg, &area);
}

static const char *report_role_text(const ReportTestSet *t, char *buf, size_t cap) {
    switch (t->role) {
    case REPORT_SET_HELDOUT: return "held-out, generalisation";
    case REPORT_SET_TRAIN_SAMPLE: return "training items, fit";
    case REPORT_SET_ZEROSHOT: return "zero-shot classification";
    default: snprintf(buf, cap, "domain trained from phase %d", t->domain_phase); return buf;
    }
}

static SvgLegendItem *report_strategy_legend(const Report *r, size_t extra, int with_line) {
    SvgLegendItem *items = calloc(r->nstrategies + extra + 1, sizeof *items);
    if (!items) return NULL;
    for (size_t s = 0; s < r->nstrategies; s++)
        items[s] = (SvgLegendItem){.name = r->strategies[s], .color = (int)s, .marker = (int)(s % SVG_MARKER_COUNT),
                                   .line = with_line};
    return items;
}

/* One plot per test set with values of metric ma (solid) or mb (dashed)
 * against phase; plot ids "<prefix>-<set index>". */
typedef struct {
    int ma, mb;
    const char *prefix, *y_label, *name_a, *name_b;
} ReportCurves;

/* The tick name of each phase: the domain first trained in it (a domain stream); NULL (the number alone)
 * where none. Only up to 8 phases (more names would overlap on the axis). */
static void report_phase_names(const Report *r, size_t P, const char **names) {
    for (size_t p = 0; p < P; p++) names[p] = NULL;
    if (P > 8) return;
    for (size_t t = 0; t < r->ntest_sets; t++) {
        const ReportTestSet *ts = &r->test_sets[t];
        if (ts->role == REPORT_SET_DOMAIN && ts->domain_phase >= 0 && (size_t)ts->domain_phase < P &&
            !names[ts->domain_phase])
            names[ts->domain_phase] = ts->name;
    }
}

/* Same finite points within tol (0: exactly). */
static int report_same_curve(const double *a, const double *b, size_t n, double tol) {
    for (size_t i = 0; i < n; i++)
        if (isfinite(a[i]) != isfinite(b[i]) || (isfinite(a[i]) && fabs(a[i] - b[i]) > tol)) return 0;
    return 1;
}

/* Two pixels of a plot's y span (its data area is about PLOT_H - 100 px tall): curves closer than that
 * (a line is 2.2 px wide) are drawn over each other. */
static double report_overlap_tol(const SvgSeries *series, size_t ns) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < ns; i++)
        for (size_t k = 0; k < series[i].n; k++)
            if (isfinite(series[i].y[k])) lo = fmin(lo, series[i].y[k]), hi = fmax(hi, series[i].y[k]);
    return hi > lo ? 2.0 * (hi - lo) / (PLOT_H - 100) : 0;
}

/* "Drawn over each other: a = b (both); ..." for strategies whose curves of one or both metrics have the
 * same values at every phase, else "". */
static void report_coincide_note(const Report *r, const char *const *style_names, int merge, const SvgSeries *series,
                                 size_t ns, char *note, size_t cap) {
    size_t len = 0;
    double tol = report_overlap_tol(series, ns);
    note[0] = '\0';
    for (size_t i = 0; i < ns; i++)
        for (size_t j = i + 1; j < ns; j++) {
            if (series[i].style != series[j].style || series[i].color == series[j].color ||
                series[i].n != series[j].n || !report_same_curve(series[i].y, series[j].y, series[i].n, tol) ||
                (series[i].x != series[j].x && !report_same_curve(series[i].x, series[j].x, series[i].n, 0)))
                continue;
            int dashed = series[i].style == SVG_LINE_DASHED, both = 0;
            for (size_t a = 0; a < ns && merge; a++) /* the other metric's curves of the same two strategies */
                for (size_t b = 0; b < ns; b++)
                    if (series[a].color == series[i].color && series[b].color == series[j].color &&
                        series[a].style != series[i].style && series[b].style == series[a].style &&
                        series[a].n == series[b].n && report_same_curve(series[a].y, series[b].y, series[a].n, tol))
                        both = 1;
            if (both && dashed) continue; /* named once, with the solid pair */
            const char *si = (size_t)series[i].color < r->nstrategies ? r->strategies[series[i].color] : "phase 0",
                       *sj = (size_t)series[j].color < r->nstrategies ? r->strategies[series[j].color] : "phase 0";
            int k = snprintf(note + len, cap - len, "%s%s = %s (%s)", len ? "; " : "Drawn over each other: ", si, sj,
                             both ? "both" : style_names[series[i].style]);
            if (k < 0 || (size_t)k >= cap - len) return; /* cut: the note keeps what fitted */
            len += (size_t)k;
        }
}

static ModxStatus report_curve_plots(ReportPage *pg, const ReportIndex *ix, const ReportCurves *c) {
    const Report *r = ix->r;
    size_t P = ix->nphases, S = r->nstrategies;
    double *x = calloc(P ? P : 1, sizeof *x), *y = calloc((S ? S * 2 : 1) * (P ? P : 1), sizeof *y);
    SvgSeries *series = calloc(S * 2 + 1, sizeof *series);
    SvgLegendItem *legend = report_strategy_legend(r, 2, 1);
    const char **names = calloc(P ? P : 1, sizeof *names);
    ModxStatus st = MODX_OK;
    if (!x || !y || !series || !legend || !names) {
        st = modx_fail(MODX_ERR_NOMEM, "report: out of memory for the %s plots", c->y_label);
        goto fail;
    }
    legend[S] = (SvgLegendItem){.name = c->name_a, .color_css = "#555555", .marker = -1, .line = 1};
    legend[S + 1] = (SvgLegendItem){.name = c->name_b, .color_css = "#555555", .marker = -1, .line = 1,
                                    .style = SVG_LINE_DASHED};
    for (size_t p = 0; p < P; p++) x[p] = (double)p;
    report_phase_names(r, P, names);
    for (size_t t = 0; t < r->ntest_sets; t++) {
        size_t ns = 0;
        for (size_t s = 0; s < S; s++) {
            for (int dir = 0; dir < 2; dir++) {
                int m = dir == 0 ? c->ma : c->mb;
                double *ys = y + (s * 2 + (size_t)dir) * P;
                int has = 0;
                for (size_t p = 0; p < P; p++) {
                    ys[p] = report_value(ix, s, p, t, m);
                    has |= isfinite(ys[p]);
                }
                if (!has) continue;
                series[ns++] = (SvgSeries){.x = x, .y = ys, .n = P, .color = (int)s,
                                           .marker = (int)(s % SVG_MARKER_COUNT), .line = 1,
                                           .style = dir ? SVG_LINE_DASHED : SVG_LINE_SOLID};
            }
        }
        if (!ns) continue;
        char id[64], title[256], role[64], note[300];
        const char *styles[] = {c->name_a, c->name_b, ""};
        report_coincide_note(r, styles, 1, series, ns, note, sizeof note);
        snprintf(id, sizeof id, "%s-%zu", c->prefix, t);
        snprintf(title, sizeof title, "%s (%s)", r->test_sets[t].name,
                 report_role_text(&r->test_sets[t], role, sizeof role));
        SvgPlot plot = {.id = id, .title = title, .x_label = "phase (evaluated after training it)",
                        .y_label = c->y_label, .width = PLOT_W, .height = PLOT_H, .x_integer = 1,
                        .x_names = names, .nx_names = P, .note = note[0] ? note : NULL,
                        .y_include_zero = 1, .legend = legend, .nlegend = S + 2};
        st = report_place_xy(pg, id, &plot, series, ns);
        if (st != MODX_OK) goto fail;
    }
fail:
    free(x);
    free(y);
    free(series);
    free(legend);
    free(names);
    return st;
}

static ModxStatus report_r1_section(ReportPage *pg, const ReportIndex *ix) {
    if (ix->m_i2t < 0 && ix->m_t2i < 0) return MODX_OK;
    report_section(pg, "Retrieval R@1 after each phase",
                   "R@1 (%) on each test set after training each phase. Colour and marker = strategy; solid line = "
                   "image\xE2\x86\x92text, dashed = text\xE2\x86\x92image.");
    ReportCurves c = {ix->m_i2t, ix->m_t2i, "r1", "R@1 (%)", "image\xE2\x86\x92text", "text\xE2\x86\x92image"};
    return report_curve_plots(pg, ix, &c);
}

/* Zero-shot retention: top-1 and top-5 accuracy of each zero-shot set per phase. */
static ModxStatus report_zeroshot_section(ReportPage *pg, const ReportIndex *ix) {
    if (ix->m_zs1 < 0 && ix->m_zs5 < 0) {
        int have = 0;
        for (size_t t = 0; t < ix->r->ntest_sets; t++) have |= ix->r->test_sets[t].role == REPORT_SET_ZEROSHOT;
        report_section(pg, "Zero-shot accuracy after each phase",
                       have ? "Not shown: the zero-shot test set has no results in metrics.jsonl (no \"zeroshot\" "
                              "lines yet)."
                            : "Not shown: the experiment has no test set with \"role\": \"zeroshot\" (a test set "
                              "whose images are classified by their labels; docs/experiment.md).");
        return MODX_OK;
    }
    report_section(pg, "Zero-shot accuracy after each phase",
                   "Zero-shot classification accuracy (%) on each zero-shot test set after training each phase: what "
                   "the model keeps of what it could classify. Colour and marker = strategy; solid line = top-1, "
                   "dashed = top-5.");
    ReportCurves c = {ix->m_zs1, ix->m_zs5, "zs", "accuracy (%)", "top-1", "top-5"};
    return report_curve_plots(pg, ix, &c);
}

/* Loss curves: one plot per phase, x = step; per strategy the total loss (solid), the contrastive term
 * (dashed, where it differs from the total) and the distillation term (dotted, where any is non-zero). */
enum { LOSS_TERMS = 3 };

static int report_loss_strategy(const Report *r, const char *name) {
    int s = report_strategy_index(r, name);
    return s >= 0 ? s : (int)r->nstrategies; /* the shared phase-0 training: one colour after the strategies */
}

/* Fills the series of phase p into series/x/y (capacity: cap points per series); returns how many. */
static size_t report_loss_series(const Report *r, int p, double *x, double *y, size_t cap, SvgSeries *series) {
    size_t S = r->nstrategies + 1, ns = 0;
    for (size_t s = 0; s < S; s++) {
        double *xs = x + s * cap, *ys[LOSS_TERMS];
        size_t n = 0;
        for (int k = 0; k < LOSS_TERMS; k++) ys[k] = y + (s * LOSS_TERMS + (size_t)k) * cap;
        for (size_t i = 0; i < r->nlosses; i++) {
            const ReportLoss *l = &r->losses[i];
            if (l->phase != p || (size_t)report_loss_strategy(r, l->strategy) != s) continue;
            xs[n] = l->step, ys[0][n] = l->loss, ys[1][n] = l->loss_con, ys[2][n] = l->loss_kl;
            n++;
        }
        if (!n) continue;
        int show[LOSS_TERMS] = {1, 0, 0};
        for (size_t i = 0; i < n; i++) {
            show[1] |= isfinite(ys[1][i]) && ys[1][i] != ys[0][i];
            show[2] |= isfinite(ys[2][i]) && ys[2][i] != 0;
        }
        for (int k = 0; k < LOSS_TERMS; k++)
            if (show[k])
                series[ns++] = (SvgSeries){.x = xs, .y = ys[k], .n = n, .color = (int)s, .line = 1,
                                           .marker = n <= 30 ? (int)(s % SVG_MARKER_COUNT) : -1, .marker_size = 3,
                                           .style = k == 0 ? SVG_LINE_SOLID : k == 1 ? SVG_LINE_DASHED : SVG_LINE_DOTTED};
    }
    return ns;
}

static ModxStatus report_loss_section(ReportPage *pg, const ReportIndex *ix) {
    const Report *r = ix->r;
    char skipped[160] = "";
    if (r->nlosses_skipped)
        snprintf(skipped, sizeof skipped, " %zu step line%s without \"strategy\", \"phase\" or \"step\" left out.",
                 r->nlosses_skipped, r->nlosses_skipped == 1 ? "" : "s");
    char note[600];
    if (r->nlosses == 0) {
        snprintf(note, sizeof note, "Not shown: metrics.jsonl has no \"step\" lines with \"strategy\", \"phase\" and "
                 "\"step\" (modx run writes one every train.log_every steps).%s", skipped);
        report_section(pg, "Training loss per strategy and phase", note);
        return MODX_OK;
    }
    snprintf(note, sizeof note, "The logged training loss against the step of each phase (metrics.jsonl \"step\" "
             "lines). Colour = strategy; solid = total loss, dashed = its contrastive term, dotted = its distillation "
             "(KL) term (drawn where they differ from the total / from zero).%s", skipped);
    report_section(pg, "Training loss per strategy and phase", note);
    size_t S = r->nstrategies + 1, cap = r->nlosses, P = ix->nphases;
    double *x = calloc(S * cap, sizeof *x), *y = calloc(S * LOSS_TERMS * cap, sizeof *y);
    SvgSeries *series = calloc(S * LOSS_TERMS, sizeof *series);
    SvgLegendItem *legend = report_strategy_legend(r, 4, 1);
    const char **names = calloc(P ? P : 1, sizeof *names);
    ModxStatus st = MODX_OK;
    if (!x || !y || !series || !legend || !names) {
        st = modx_fail(MODX_ERR_NOMEM, "report: out of memory for the loss plots (%zu step lines)", r->nlosses);
        goto done;
    }
    size_t nl = r->nstrategies;
    int shared0 = 0;
    for (size_t i = 0; i < r->nlosses; i++) shared0 |= report_strategy_index(r, r->losses[i].strategy) < 0;
    if (shared0)
        legend[nl++] = (SvgLegendItem){.name = "phase 0 (shared)", .color = (int)r->nstrategies, .marker = -1,
                                       .line = 1};
    legend[nl++] = (SvgLegendItem){.name = "total", .color_css = "#555555", .marker = -1, .line = 1};
    legend[nl++] = (SvgLegendItem){.name = "contrastive", .color_css = "#555555", .marker = -1, .line = 1,
                                   .style = SVG_LINE_DASHED};
    legend[nl++] = (SvgLegendItem){.name = "distillation", .color_css = "#555555", .marker = -1, .line = 1,
                                   .style = SVG_LINE_DOTTED};
    report_phase_names(r, P, names);
    for (size_t p = 0; p < P && st == MODX_OK; p++) {
        size_t ns = report_loss_series(r, (int)p, x, y, cap, series);
        if (!ns) continue;
        char id[64], title[200], pnote[300];
        const char *styles[] = {"total", "contrastive", "distillation"};
        report_coincide_note(r, styles, 0, series, ns, pnote, sizeof pnote);
        snprintf(id, sizeof id, "loss-%zu", p);
        snprintf(title, sizeof title, "phase %zu%s%.120s", p, names[p] ? ": " : "", names[p] ? names[p] : "");
        SvgPlot plot = {.id = id, .title = title, .x_label = "step of the phase", .y_label = "loss", .width = PLOT_W,
                        .height = PLOT_H, .legend = legend, .nlegend = nl, .note = pnote[0] ? pnote : NULL};
        st = report_place_xy(pg, id, &plot, series, ns);
    }
done:
    free(x);
    free(y);
    free(series);
    free(legend);
    free(names);
    return st;
}

static ModxStatus report_hist_section(ReportPage *pg, const ReportIndex *ix) {
    const Report *r = ix->r;
    if (r->nhists == 0) return MODX_OK;
    report_section(pg, "Rotation-angle histograms",
                   "Per-sample rotation \xCE\xB8\xE1\xB5\xA2 = arccos\xE2\x9F\xA8" "f_a(x\xE1\xB5\xA2), "
                   "f_b(x\xE1\xB5\xA2)\xE2\x9F\xA9 of the probe set between two checkpoints, per modality, as % of "
                   "the probe samples; one outline per strategy.");
    ModxStatus st = MODX_OK;
    uint8_t *done = calloc(r->nhists, 1);
    SvgHistSeries *series = calloc(r->nhists, sizeof *series);
    double *pct = NULL;
    size_t total_bins = 0;
    for (size_t i = 0; i < r->nhists; i++)
        if (!size_add(total_bins, r->hists[i].nbins, &total_bins)) total_bins = SIZE_MAX;
    if (total_bins != SIZE_MAX) pct = calloc(total_bins, sizeof *pct);
    if (!done || !series || !pct) {
        st = modx_fail(MODX_ERR_NOMEM, "report: out of memory for %zu histograms", r->nhists);
        goto fail;
    }
    size_t group = 0;
    for (size_t i = 0; i < r->nhists; i++) {
        if (done[i]) continue;
        const ReportRotationHist *h0 = &r->hists[i];
        size_t ns = 0, off = 0;
        for (size_t j = 0; j < r->nhists; j++) {
            const ReportRotationHist *h = &r->hists[j];
            size_t this_off = off;
            off += h->nbins;
            if (done[j] || strcmp(h->modality, h0->modality) || strcmp(h->comparison, h0->comparison)) continue;
            done[j] = 1;
            if (h->nbins != h0->nbins || memcmp(h->edges_deg, h0->edges_deg, (h0->nbins + 1) * sizeof(double))) {
                st = modx_fail(MODX_ERR_INVALID, "report: histograms for %s, %s: strategy '%s' has other bin edges "
                               "than strategy '%s' (one plot needs the same bins)", h0->modality, h0->comparison,
                               h->strategy, h0->strategy);
                goto fail;
            }
            double total = 0;
            for (size_t b = 0; b < h->nbins; b++)
                if (isfinite(h->counts[b])) total += h->counts[b];
            double *dst = pct + this_off;
            for (size_t b = 0; b < h->nbins; b++)
                dst[b] = total > 0 && isfinite(h->counts[b]) ? 100.0 * h->counts[b] / total : NAN;
            series[ns++] = (SvgHistSeries){.name = h->strategy, .counts = dst,
                                           .color = report_strategy_index(r, h->strategy)};
        }
        char id[64], title[256];
        snprintf(id, sizeof id, "hist-%zu", group++);
        snprintf(title, sizeof title, "%s rotation, %s", h0->modality, h0->comparison);
        if (title[0] >= 'a' && title[0] <= 'z') title[0] = (char)(title[0] - 'a' + 'A');
        SvgPlot plot = {.id = id, .title = title, .x_label = "rotation angle \xCE\xB8 (degrees)",
                        .y_label = "probe samples (%)", .width = PLOT_W, .height = PLOT_H};
        StrBuf svg;
        strbuf_init(&svg);
        SvgBox area;
        st = svg_histogram(&svg, &plot, h0->edges_deg, h0->nbins, series, ns, SVG_HIST_OVERLAID, &area);
        if (st != MODX_OK) {
            strbuf_free(&svg);
            goto fail;
        }
        st = report_place_plot(pg, id, &svg, &area);
        if (st != MODX_OK) goto fail;
    }
fail:
    free(done);
    free(series);
    free(pct);
    return st;
}

/* Sorts entries of one strategy by phase (small n: insertion sort on indices). */
static void report_sort_by_phase(size_t *idx, size_t n, const int *phase) {
    for (size_t i = 1; i < n; i++) {
        size_t v = idx[i];
        size_t j = i;
        while (j > 0 && phase[idx[j - 1]] > phase[v]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

static ModxStatus report_topology_section(ReportPage *pg, const ReportIndex *ix) {
    const Report *r = ix->r;
    size_t n = r->ntopology, S = r->nstrategies;
    if (n == 0) return MODX_OK;
    report_section(pg, "Topology change vs rotation",
                   "Each point: one strategy, phase p\xE2\x88\x92" "1 \xE2\x86\x92 p (first and last p labelled). x = mean rotation "
                   "angle of the probe samples; y = mean |S_a \xE2\x88\x92 S_b| of the pairwise angles. Far right "
                   "and low = the space rotated but kept its shape.");
    ModxStatus st = MODX_OK;
    uint8_t *done = calloc(n, 1);
    size_t *idx = calloc(n, sizeof *idx);
    int *phase = calloc(n, sizeof *phase);
    double *xs = calloc(n, sizeof *xs), *ys = calloc(n, sizeof *ys);
    char (*labels)[16] = calloc(n, sizeof *labels);
    const char **lab = calloc(n, sizeof *lab);
    SvgSeries *series = calloc(S + 1, sizeof *series);
    SvgLegendItem *legend = report_strategy_legend(r, 0, 1);
    SvgLegendItem *shown = calloc(S + 1, sizeof *shown); /* the strategies with points in this plot */
    if (!done || !idx || !phase || !xs || !ys || !labels || !lab || !series || !legend || !shown) {
        st = modx_fail(MODX_ERR_NOMEM, "report: out of memory for the topology plots");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) phase[i] = r->topology[i].phase;
    size_t group = 0;
    for (size_t i = 0; i < n; i++) {
        if (done[i]) continue;
        const char *mod = r->topology[i].modality;
        size_t ns = 0, used = 0;
        for (size_t s = 0; s < S; s++) {
            size_t k = 0;
            for (size_t j = 0; j < n; j++)
                if (!done[j] && !strcmp(r->topology[j].modality, mod) &&
                    report_strategy_index(r, r->topology[j].strategy) == (int)s)
                    idx[k++] = j;
            if (k == 0) continue;
            report_sort_by_phase(idx, k, phase);
            for (size_t q = 0; q < k; q++) {
                const ReportTopology *e = &r->topology[idx[q]];
                done[idx[q]] = 1;
                xs[used + q] = e->rotation_deg;
                ys[used + q] = e->topology_deg;
                snprintf(labels[used + q], sizeof labels[0], "%d", e->phase);
                /* Only the ends of each path are labelled; the dotted line gives the order. */
                lab[used + q] = q == 0 || q + 1 == k ? labels[used + q] : NULL;
            }
            shown[ns] = legend[s];
            shown[ns].style = SVG_LINE_DOTTED;
            series[ns++] = (SvgSeries){.x = xs + used, .y = ys + used, .labels = lab + used, .n = k, .color = (int)s,
                                       .marker = (int)(s % SVG_MARKER_COUNT), .line = 1, .line_width = 1.4,
                                       .style = SVG_LINE_DOTTED};
            used += k;
        }
        char id[64], title[256];
        snprintf(id, sizeof id, "topo-%zu", group++);
        snprintf(title, sizeof title, "%s: topology change vs rotation", mod);
        if (title[0] >= 'a' && title[0] <= 'z') title[0] = (char)(title[0] - 'a' + 'A');
        SvgPlot plot = {.id = id, .title = title, .x_label = "mean rotation angle (degrees)",
                        .y_label = "mean topology change |\xCE\x94S| (degrees)", .width = PLOT_W, .height = PLOT_H,
                        .y_include_zero = 1, .legend = shown, .nlegend = ns};
        st = report_place_xy(pg, id, &plot, series, ns);
        if (st != MODX_OK) goto fail;
    }
fail:
    free(shown);
    free(done);
    free(idx);
    free(phase);
    free(xs);
    free(ys);
    free(labels);
    free(lab);
    free(series);
    free(legend);
    return st;
}

static ModxStatus report_intermodal_section(ReportPage *pg, const ReportIndex *ix) {
    const Report *r = ix->r;
    size_t n = r->nintermodal, S = r->nstrategies, P = ix->nphases;
    if (n == 0) { /* a run whose analysis could not determine it: the section says why */
        if (r->intermodal_what) report_section(pg, "Inter-modal relative rotation", r->intermodal_what);
        return MODX_OK;
    }
    report_section(pg, "Inter-modal relative rotation",
                   r->intermodal_what ? r->intermodal_what
                                      : "Angle between the rotation of the vision space and that of the text space "
                                        "(orthogonal Procrustes maps R_V, R_T; angle spectrum of R_V\xE1\xB5\x80 R_T), "
                                        "phase p\xE2\x88\x92" "1 \xE2\x86\x92 p. 0 = the modalities rotate in step.");
    ModxStatus st = MODX_OK;
    double *x = calloc(P, sizeof *x), *y = calloc(S * P + 1, sizeof *y);
    SvgSeries *series = calloc(S + 1, sizeof *series);
    if (!x || !y || !series) {
        st = modx_fail(MODX_ERR_NOMEM, "report: out of memory for the inter-modal plot");
        goto fail;
    }
    for (size_t p = 0; p < P; p++) x[p] = (double)p;
    for (size_t c = 0; c < S * P; c++) y[c] = NAN;
    for (size_t i = 0; i < n; i++) {
        const ReportInterModal *e = &r->intermodal[i];
        size_t s = (size_t)report_strategy_index(r, e->strategy);
        if (!isnan(y[s * P + (size_t)e->phase])) {
            st = modx_fail(MODX_ERR_INVALID, "report: inter-modal entry %zu: (%s, phase %d) appears twice", i,
                           e->strategy, e->phase);
            goto fail;
        }
        y[s * P + (size_t)e->phase] = e->angle_deg;
    }
    size_t ns = 0;
    for (size_t s = 0; s < S; s++) {
        int has = 0;
        for (size_t p = 0; p < P; p++) has |= isfinite(y[s * P + p]);
        if (has)
            series[ns++] = (SvgSeries){.name = r->strategies[s], .x = x, .y = y + s * P, .n = P, .color = (int)s,
                                       .marker = (int)(s % SVG_MARKER_COUNT), .line = 1};
    }
    SvgPlot plot = {.id = "intermodal", .title = "Relative rotation between vision and text",
                    .x_label = "phase (comparison p\xE2\x88\x92" "1 \xE2\x86\x92 p)",
                    .y_label = "relative rotation (degrees)", .width = PLOT_W, .height = PLOT_H, .x_integer = 1,
                    .y_include_zero = 1};
    st = report_place_xy(pg, "intermodal", &plot, series, ns);
fail:
    free(x);
    free(y);
    free(series);
    return st;
}

/* ---- continual-learning figures -------------------------------------------------- */

static const char *const report_cl_heads[REPORT_CL_NFIG] = {"Last", "Avg inc.", "BWT", "FWT", "Forgetting",
                                                            "Kept %", "Learned %"};

/* A number, with " ± sd" when sd is finite; a dash when v is not finite. */
static void report_cl_cell(StrBuf *sb, double v, double sd, int decimals) {
    if (!isfinite(v)) {
        strbuf_puts(sb, "<td class=\"num missing\">\xE2\x80\x93</td>");
        return;
    }
    strbuf_printf(sb, "<td class=\"num\">%.*f", decimals, v);
    if (isfinite(sd)) strbuf_printf(sb, " \xC2\xB1 %.*f", decimals, sd);
    strbuf_puts(sb, "</td>");
}

static void report_cl_table(ReportPage *pg, const Report *r) {
    if (r->ncl == 0) return;
    report_section(pg, "Continual-learning figures",
                   "From the accuracy matrix R[i][j] (mean of both directions' R@1, %) \xE2\x80\x94 definitions and index ranges "
                   "in docs/metrics.md. Last and Avg inc. in R@1 points; BWT, FWT, forgetting in points (BWT < 0 and "
                   "forgetting > 0 = forgotten); kept % / learned % relative to joint / finetune. "
                   "\xE2\x80\x93 = does not apply.");
    html_block(pg->sb, &pg->y, (int)(r->ncl + 1) * ROW_H + GAP_H, "cl-figures");
    StrBuf *sb = pg->sb;
    strbuf_puts(sb, "<table class=\"results\">\n<tr><th>Strategy</th>");
    for (int k = 0; k < REPORT_CL_NFIG; k++) html_text(sb, "th", "class=\"num\"", report_cl_heads[k]);
    strbuf_puts(sb, "<th class=\"num\">Training samples</th><th class=\"num\">Training time (s)</th></tr>\n");
    for (size_t i = 0; i < r->ncl; i++) {
        const ReportCl *c = &r->cl[i];
        strbuf_printf(sb, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>",
                      svg_color(report_strategy_index(r, c->strategy)));
        strbuf_escape(sb, c->strategy);
        strbuf_puts(sb, c->reference ? " (reference)</td>" : "</td>");
        for (int k = 0; k < REPORT_CL_NFIG; k++) report_cl_cell(sb, c->fig[k], c->sd ? c->sd[k] : NAN, 2);
        report_cl_cell(sb, c->train_samples, NAN, 0);
        report_cl_cell(sb, c->train_s, NAN, 1);
        strbuf_puts(sb, "</tr>\n");
    }
    strbuf_puts(sb, "</table></div>\n");
}

/* x = learned %, y = kept %: one point per strategy with both figures, ± sd bars when given. */
static ModxStatus report_cl_scatter(ReportPage *pg, const Report *r) {
    size_t n = r->ncl;
    double *v = calloc(4 * n + 1, sizeof *v);
    SvgSeries *series = calloc(n + 1, sizeof *series);
    const char **labels = calloc(n + 1, sizeof *labels);
    ModxStatus st = v && series && labels ? MODX_OK : modx_fail(MODX_ERR_NOMEM, "report: out of memory");
    size_t ns = 0;
    for (size_t i = 0; i < n && !st; i++) {
        const ReportCl *c = &r->cl[i];
        if (!isfinite(c->fig[REPORT_CL_KEPT]) || !isfinite(c->fig[REPORT_CL_LEARNED])) continue;
        double *p = v + 4 * ns;
        p[0] = c->fig[REPORT_CL_LEARNED], p[1] = c->fig[REPORT_CL_KEPT];
        p[2] = c->sd ? c->sd[REPORT_CL_LEARNED] : NAN, p[3] = c->sd ? c->sd[REPORT_CL_KEPT] : NAN;
        labels[ns] = c->strategy;
        int s = report_strategy_index(r, c->strategy);
        series[ns] = (SvgSeries){.name = c->strategy, .x = p, .y = p + 1, .n = 1, .labels = labels + ns,
                                   .color = s, .marker = c->reference ? 5 : s % SVG_MARKER_COUNT, .marker_size = 9,
                                   .x_err = c->sd ? p + 2 : NULL, .y_err = c->sd ? p + 3 : NULL};
        ns++;
    }
    char note[300] = "";
    size_t len = 0;
    for (size_t i = 0; i < ns && !st; i++) /* points drawn over each other are named */
        for (size_t j = i + 1; j < ns; j++) {
            if (series[i].x[0] != series[j].x[0] || series[i].y[0] != series[j].y[0]) continue;
            int k = snprintf(note + len, sizeof note - len, "%s%s = %s", len ? "; " : "Drawn over each other: ",
                             labels[i], labels[j]);
            if (k > 0 && (size_t)k < sizeof note - len) len += (size_t)k;
        }
    if (!st && ns > 0) {
        SvgPlot plot = {.id = "keep-learn", .title = "Keeping vs learning",
                        .x_label = "learned % (new domains, vs fine-tuning)", .note = len ? note : NULL,
                        .y_label = "kept % (first domain, vs joint training)", .width = PLOT_W, .height = PLOT_H};
        st = report_place_xy(pg, "keep-learn", &plot, series, ns);
    }
    free(v);
    free(series);
    free(labels);
    return st;
}

static ModxStatus report_cl_heatmaps(ReportPage *pg, const Report *r) {
    double hi = 0;
    for (size_t i = 0; i < r->ncl; i++)
        for (size_t c = 0; r->cl[i].r1 && c < r->cl[i].nrows * r->cl[i].ncols; c++)
            if (isfinite(r->cl[i].r1[c])) hi = fmax(hi, r->cl[i].r1[c]);
    for (size_t i = 0; i < r->ncl; i++) {
        const ReportCl *c = &r->cl[i];
        if (!c->r1) continue;
        char id[64], title[256];
        snprintf(id, sizeof id, "matrix-%zu", i);
        snprintf(title, sizeof title, "%s: R@1 (%%) on test set j after phase i", c->strategy);
        SvgPlot plot = {.id = id, .title = title, .x_label = "test set j", .y_label = "after phase i",
                        .width = PLOT_W, .height = PLOT_H};
        SvgHeatmap hm = {.rows = c->nrows, .cols = c->ncols, .values = c->r1, .row_labels = NULL,
                         .col_labels = c->cols, .vmin = 0, .vmax = hi > 0 ? hi : 1, .decimals = 1};
        StrBuf svg;
        SvgBox area;
        strbuf_init(&svg);
        ModxStatus st = svg_heatmap(&svg, &plot, &hm, &area);
        if (st != MODX_OK) {
            strbuf_free(&svg);
            return st;
        }
        MODX_TRY(report_place_plot(pg, id, &svg, &area));
    }
    return MODX_OK;
}

#define GALLERY_ROW_H 58

/* The retrieval gallery: one row per caption, five thumbnails per model; the block's border is its frame and the
 * inside is registered as region "gallery" (the screenshot test checks the thumbnails are drawn). */
static ModxStatus report_gallery_section(ReportPage *pg, const Report *r) {
    const ReportGallery *g = r->gallery;
    if (!g && !r->gallery_note) return MODX_OK;
    report_page_close_row(pg);
    if (!g) {
        report_section(pg, "Retrieval gallery", r->gallery_note);
        return MODX_OK;
    }
    if (g->ncaptions < 1 || g->ncaptions > 6 || g->nmodels < 1 || g->nmodels > 4 || !g->captions || !g->models ||
        !g->thumbs || !g->hit)
        return modx_fail(MODX_ERR_INVALID, "report: a gallery of %zu captions x %zu models, expected 1..6 x 1..4 with "
                         "every array", g->ncaptions, g->nmodels);
    char note[512];
    snprintf(note, sizeof note, "Text \xE2\x86\x92 image: the top %d images of the test set %s for each caption, by "
             "checkpoint (best first). Outlined in green: the caption's own image.", REPORT_GALLERY_TOP,
             g->title ? g->title : "");
    report_section(pg, "Retrieval gallery: what was kept, what was forgotten", note);
    int h = ROW_H + (int)g->ncaptions * GALLERY_ROW_H + 8, y0 = pg->y;
    html_block(pg->sb, &pg->y, h, "gallery");
    StrBuf *sb = pg->sb;
    strbuf_puts(sb, "<table><tr><th>caption</th>");
    for (size_t m = 0; m < g->nmodels; m++) {
        strbuf_printf(sb, "<th colspan=\"1\">");
        strbuf_escape(sb, g->models[m]);
        strbuf_puts(sb, "</th>");
    }
    strbuf_puts(sb, "</tr>\n");
    for (size_t q = 0; q < g->ncaptions; q++) {
        strbuf_puts(sb, "<tr><td class=\"q\">");
        strbuf_escape(sb, g->captions[q]);
        strbuf_puts(sb, "</td>");
        for (size_t m = 0; m < g->nmodels; m++) {
            strbuf_puts(sb, "<td>");
            for (size_t k = 0; k < REPORT_GALLERY_TOP; k++) {
                size_t cell = (q * g->nmodels + m) * REPORT_GALLERY_TOP + k;
                if (!g->thumbs[cell] || strncmp(g->thumbs[cell], "data:image/png;base64,", 22)) continue;
                strbuf_printf(sb, "<img%s alt=\"\" src=\"", g->hit[cell] ? " class=\"hit\"" : "");
                strbuf_escape(sb, g->thumbs[cell]);
                strbuf_puts(sb, "\">");
            }
            strbuf_puts(sb, "</td>");
        }
        strbuf_puts(sb, "</tr>\n");
    }
    strbuf_puts(sb, "</table></div>\n");
    SvgBox box = {0, 0, CONTENT_W + 2, h + 2}; /* the border box; the region helper insets it */
    return report_page_add_region(pg, "gallery", &box, PAGE_PAD - 1, y0 - 1);
}

static ModxStatus report_cl_section(ReportPage *pg, const Report *r) {
    if (r->ncl == 0) return MODX_OK;
    report_section(pg, "The trade: keeping vs learning, and the accuracy matrices",
                   r->cl_what ? r->cl_what
                              : "Scatter: one point per strategy; up and right is better; joint (keeps 100 %) and "
                                "finetune (learns 100 %) are the references; bars = \xC2\xB1 1 sd over seeds. Heat "
                                "maps: R[i][j], one per strategy, on one colour scale.");
    MODX_TRY(report_cl_scatter(pg, r));
    return report_cl_heatmaps(pg, r);
}

/* ---- tables ----------------------------------------------------------------------- */

/* The summary's cells wrap at spaces (and inside a word longer than a line) in
 * a monospace font, so their line counts, the row heights and the block's are
 * known without a browser, and every value is shown in full. */
#define KV_KEY_W 160
#define KV_VAL_W 510
#define KV_CHAR_W 8 /* >= the 13 px monospace advance (7.8 px) */
#define KV_LINE_H 18

/* Display columns of UTF-8 text, counting a non-ASCII character as two (an upper bound). */
static size_t kv_columns(const char *s) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        if ((*p & 0xC0) != 0x80) n += *p < 0x80 ? 1 : 2;
    return n;
}

/* Lines of greedy word wrap at per_line columns (breaking inside a word longer than a line), as the
 * browser wraps with overflow-wrap:anywhere; its lines are no wider than ours, so it needs no more. */
static size_t kv_lines(const char *s, size_t per_line) {
    size_t lines = 1, col = 0;
    const char *p = s ? s : "";
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        size_t len = strcspn(p, " ");
        char word[1024];
        snprintf(word, sizeof word, "%.*s", (int)(len < sizeof word ? len : sizeof word - 1), p);
        size_t w = kv_columns(word) + (len >= sizeof word ? len - (sizeof word - 1) : 0);
        p += len;
        if (col > 0 && col + 1 + w <= per_line) {
            col += 1 + w;
            continue;
        }
        if (col > 0) lines++;
        while (w > per_line) {
            lines++;
            w -= per_line;
        }
        col = w;
    }
    return lines;
}

static int kv_cell_h(const char *s, int cell_w) {
    size_t per_line = (size_t)(cell_w - 16) / KV_CHAR_W;
    int h = (int)kv_lines(s, per_line) * KV_LINE_H + 9; /* 4 px padding above and below, 1 px border */
    return h < ROW_H ? ROW_H : h;
}

static void report_summary(ReportPage *pg, const Report *r) {
    if (r->nsummary == 0) return;
    report_section(pg, "Experiment", NULL);
    size_t cols = 2, rows = (r->nsummary + cols - 1) / cols;
    int *row_h = calloc(rows, sizeof *row_h), total = 0;
    if (!row_h) return; /* strbuf has no status to set here; the block is left out */
    for (size_t i = 0; i < r->nsummary; i++) {
        size_t row = i % rows;
        int hk = kv_cell_h(r->summary[i].key, KV_KEY_W), hv = kv_cell_h(r->summary[i].value, KV_VAL_W);
        if (hk > row_h[row]) row_h[row] = hk;
        if (hv > row_h[row]) row_h[row] = hv;
    }
    for (size_t row = 0; row < rows; row++) total += row_h[row] ? row_h[row] : ROW_H;
    html_block(pg->sb, &pg->y, total + GAP_H, "summary");
    strbuf_printf(pg->sb, "<table class=\"kv\"><colgroup><col style=\"width:%dpx\"><col style=\"width:%dpx\">"
                          "<col style=\"width:%dpx\"><col style=\"width:%dpx\"></colgroup>\n",
                  KV_KEY_W, KV_VAL_W, KV_KEY_W, KV_VAL_W);
    for (size_t row = 0; row < rows; row++) {
        int h = row_h[row] ? row_h[row] : ROW_H;
        strbuf_puts(pg->sb, "<tr>");
        for (size_t c = 0; c < cols; c++) {
            size_t i = row + c * rows; /* fill column by column */
            const char *k = i < r->nsummary && r->summary[i].key ? r->summary[i].key : "";
            const char *v = i < r->nsummary && r->summary[i].value ? r->summary[i].value : "";
            strbuf_printf(pg->sb, "<td class=\"k\" style=\"height:%dpx\">", h);
            strbuf_escape(pg->sb, k);
            strbuf_printf(pg->sb, "</td><td class=\"v\" style=\"height:%dpx\">", h);
            strbuf_escape(pg->sb, v);
            strbuf_puts(pg->sb, "</td>");
        }
        strbuf_puts(pg->sb, "</tr>\n");
    }
    strbuf_puts(pg->sb, "</table></div>\n");
    free(row_h);
}

/* Mean over the test sets selected by `pick` of metric m at (s, p); NaN when none is finite. */
static double report_mean_sets(const ReportIndex *ix, size_t s, size_t p, int m, ReportSetRole role) {
    double sum = 0;
    int n = 0;
    for (size_t t = 0; t < ix->r->ntest_sets; t++) {
        if (ix->r->test_sets[t].role != role) continue;
        double v = report_value(ix, s, p, t, m);
        if (isfinite(v)) {
            sum += v;
            n++;
        }
    }
    return n ? sum / n : NAN;
}

enum { TRADE_GROUPS = 5 };

/* One strategy's row of the trade-off table: its final phase, the latest
 * domain trained by then and the ten figures (five groups, both directions). */
typedef struct {
    double vals[TRADE_GROUPS * 2];
    int final_phase, latest;
} TradeRow;

static void tradeoff_row(const ReportIndex *ix, size_t s, int earliest, TradeRow *row) {
    const Report *r = ix->r;
    row->final_phase = -1;
    for (size_t p = 0; p < ix->nphases; p++)
        for (size_t t = 0; t < r->ntest_sets; t++)
            if (isfinite(report_value(ix, s, p, t, ix->m_i2t)) || isfinite(report_value(ix, s, p, t, ix->m_t2i)))
                row->final_phase = (int)p;
    row->latest = -1;
    for (size_t t = 0; t < r->ntest_sets; t++) {
        const ReportTestSet *ts = &r->test_sets[t];
        if (ts->role == REPORT_SET_DOMAIN && ts->domain_phase <= row->final_phase &&
            (row->latest < 0 || ts->domain_phase >= r->test_sets[row->latest].domain_phase))
            row->latest = (int)t;
    }
    for (int dir = 0; dir < 2; dir++) {
        int m = dir ? ix->m_t2i : ix->m_i2t;
        size_t p = row->final_phase < 0 ? ix->nphases : (size_t)row->final_phase;
        row->vals[0 + dir] = earliest >= 0 ? report_value(ix, s, p, (size_t)earliest, m) : NAN;
        row->vals[2 + dir] = row->latest >= 0 ? report_value(ix, s, p, (size_t)row->latest, m) : NAN;
        row->vals[4 + dir] = report_mean_sets(ix, s, p, m, REPORT_SET_DOMAIN);
        row->vals[6 + dir] = report_mean_sets(ix, s, p, m, REPORT_SET_HELDOUT);
        row->vals[8 + dir] = report_mean_sets(ix, s, p, m, REPORT_SET_TRAIN_SAMPLE);
    }
}

/* The table: two header rows (the shown groups, then I→T and T→I under each)
 * and one row per strategy, bold for the best of each column. */
static void tradeoff_table(StrBuf *sb, const Report *r, const TradeRow *rows, size_t n, const int *show,
                           const char *const *groups) {
    strbuf_puts(sb, "<table class=\"results\">\n<tr><th rowspan=\"2\">Strategy</th><th rowspan=\"2\" class=\"num\">"
                    "Phase</th>");
    for (int g = 0; g < TRADE_GROUPS; g++)
        if (show[g]) {
            strbuf_puts(sb, "<th colspan=\"2\" style=\"text-align:center\">");
            strbuf_escape(sb, groups[g]);
            strbuf_puts(sb, "</th>");
        }
    strbuf_puts(sb, "</tr>\n<tr>");
    for (int g = 0; g < TRADE_GROUPS; g++)
        if (show[g]) strbuf_puts(sb, "<th class=\"num\">I\xE2\x86\x92T</th><th class=\"num\">T\xE2\x86\x92I</th>");
    strbuf_puts(sb, "</tr>\n");
    for (size_t s = 0; s < n; s++) {
        strbuf_printf(sb, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>", svg_color((int)s));
        strbuf_escape(sb, r->strategies[s]);
        strbuf_puts(sb, "</td>");
        if (rows[s].final_phase >= 0) strbuf_printf(sb, "<td class=\"num\">%d</td>", rows[s].final_phase);
        else strbuf_puts(sb, "<td class=\"num missing\">\xE2\x80\x93</td>");
        for (int g = 0; g < TRADE_GROUPS; g++) {
            if (!show[g]) continue;
            for (int dir = 0; dir < 2; dir++) {
                int c = g * 2 + dir, best = isfinite(rows[s].vals[c]);
                for (size_t o = 0; o < n && best; o++)
                    if (isfinite(rows[o].vals[c]) && rows[o].vals[c] > rows[s].vals[c]) best = 0;
                html_number_cell(sb, rows[s].vals[c], best && n > 1);
            }
        }
        strbuf_puts(sb, "</tr>\n");
    }
    strbuf_puts(sb, "</table></div>\n");
}

static void report_tradeoff(ReportPage *pg, const ReportIndex *ix) {
    const Report *r = ix->r;
    size_t S = r->nstrategies;
    if (S == 0 || (ix->m_i2t < 0 && ix->m_t2i < 0)) return;
    int earliest = -1, have_role[REPORT_SET_ZEROSHOT + 1] = {0};
    for (size_t t = 0; t < r->ntest_sets; t++) {
        const ReportTestSet *ts = &r->test_sets[t];
        have_role[ts->role] = 1;
        if (ts->role == REPORT_SET_DOMAIN && (earliest < 0 || ts->domain_phase < r->test_sets[earliest].domain_phase))
            earliest = (int)t;
    }
    TradeRow row[REPORT_MAX_STRATEGIES];
    size_t rows = S; /* <= REPORT_MAX_STRATEGIES, checked in report_index_build */
    for (size_t s = 0; s < rows; s++) tradeoff_row(ix, s, earliest, &row[s]);
    int show[TRADE_GROUPS] = {1, 1, 1, have_role[REPORT_SET_HELDOUT], have_role[REPORT_SET_TRAIN_SAMPLE]};
    int same_latest = 1;
    for (size_t s = 1; s < rows; s++) same_latest &= row[s].latest == row[0].latest;
    char g0[200], g1[200];
    snprintf(g0, sizeof g0, "Earliest domain%s%s", earliest >= 0 ? ": " : "",
             earliest >= 0 ? r->test_sets[earliest].name : "");
    snprintf(g1, sizeof g1, "Latest trained domain%s%s", same_latest && row[0].latest >= 0 ? ": " : "",
             same_latest && row[0].latest >= 0 ? r->test_sets[row[0].latest].name : "");
    const char *groups[TRADE_GROUPS] = {g0, g1, "Mean over domains", "Held-out (generalisation)",
                                        "Training sample (fit)"};

    report_section(pg, "Trade-off at each strategy's final phase",
                   "R@1 (%) in both directions; bold = best in its column. Earliest domain = what was kept; latest "
                   "trained domain = what was just learned. The mean is over the domain test sets only (as in "
                   "results.md); a held-out or training-sample (fit) set is shown apart and left out of it.");
    html_block(pg->sb, &pg->y, (int)(rows + 2) * ROW_H + GAP_H, "tradeoff");
    tradeoff_table(pg->sb, r, row, rows, show, groups);
}

/* Ranks (median rank) and counts are whole numbers: printed without decimals. */
static int report_integer_metric(const char *name) {
    size_t n = strlen(name);
    return (n >= 4 && !strcmp(name + n - 4, "medr")) || strstr(name, "count") != NULL;
}

/* Phase 0 is the shared starting model: its rows appear once when every strategy has the same phase-0 values. */
static int report_phase0_shared(const ReportIndex *ix) {
    const Report *r = ix->r;
    for (size_t s = 1; s < r->nstrategies; s++)
        for (size_t t = 0; t < r->ntest_sets; t++)
            for (size_t m = 0; m < ix->nmetrics; m++) {
                size_t a = report_cell(ix, 0, 0, t, m), b = report_cell(ix, s, 0, t, m);
                if (ix->present[a] != ix->present[b]) return 0;
                if (ix->present[a] && ix->values[a] != ix->values[b] && !(isnan(ix->values[a]) && isnan(ix->values[b])))
                    return 0;
            }
    return 1;
}

static void report_full_row(StrBuf *sb, const ReportIndex *ix, size_t s, size_t p, size_t t, int shared0) {
    const Report *r = ix->r;
    if (shared0) strbuf_puts(sb, "<tr><td>phase 0 (the shared start)");
    else {
        strbuf_printf(sb, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>", svg_color((int)s));
        strbuf_escape(sb, r->strategies[s]);
    }
    strbuf_printf(sb, "</td><td class=\"num\">%zu</td>", p);
    html_text(sb, "td", NULL, r->test_sets[t].name);
    for (size_t m = 0; m < ix->nmetrics; m++) {
        double v = ix->values[report_cell(ix, s, p, t, m)];
        if (report_integer_metric(ix->metrics[m]) && isfinite(v) && v == floor(v) && fabs(v) < 1e15)
            strbuf_printf(sb, "<td class=\"num\">%.0f</td>", v);
        else html_number_cell(sb, v, 0);
    }
    strbuf_puts(sb, "</tr>\n");
}

static void report_full_table(StrBuf *sb, const ReportIndex *ix) {
    const Report *r = ix->r;
    if (r->nresults == 0) return;
    int shared0 = r->nstrategies > 1 && report_phase0_shared(ix);
    strbuf_puts(sb, "<div class=\"full\"><h2>All results</h2>\n<p class=\"note\">Every metric per strategy, phase "
                    "and test set (R@K in %; ranks as whole numbers).</p>\n<table class=\"results all\">\n<tr><th>"
                    "Strategy</th><th class=\"num\">Phase</th><th>Test set</th>");
    for (size_t m = 0; m < ix->nmetrics; m++) html_text(sb, "th", "class=\"num\"", ix->metrics[m]);
    strbuf_puts(sb, "</tr>\n");
    for (size_t s = 0; s < r->nstrategies; s++)
        for (size_t p = 0; p < ix->nphases; p++) {
            if (p == 0 && shared0 && s > 0) continue;
            for (size_t t = 0; t < r->ntest_sets; t++) {
                int any = 0;
                for (size_t m = 0; m < ix->nmetrics; m++) any |= ix->present[report_cell(ix, s, p, t, m)];
                if (any) report_full_row(sb, ix, s, p, t, p == 0 && shared0);
            }
        }
    strbuf_puts(sb, "</table></div>\n");
}

/* ---- the document ------------------------------------------------------------------- */

ModxStatus report_render(const Report *r, StrBuf *html, ReportLayout *layout) {
    if (layout) memset(layout, 0, sizeof *layout);
    if (!r || !html) return modx_fail(MODX_ERR_INVALID, "report_render: NULL report or buffer");
    ReportIndex ix;
    ModxStatus st = report_index_build(r, &ix);
    if (st != MODX_OK) {
        report_index_free(&ix);
        return st;
    }
    StrBuf doc;
    strbuf_init(&doc);
    ReportPage pg = {.sb = &doc, .y = 0};
    const char *title = r->title ? r->title : "modx run report";
    strbuf_puts(&doc, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    strbuf_escape(&doc, title);
    strbuf_puts(&doc, "</title>\n<style>\n");
    strbuf_puts(&doc, report_css);
    strbuf_puts(&doc, "</style>\n</head>\n<body>\n<div class=\"page\">\n");
    /* a long title wraps: 18 px per column is at least the bold 24 px advance */
    html_block(&doc, &pg.y, H1_H - 36 + 36 * (int)kv_lines(title, CONTENT_W / 18), "title");
    html_text(&doc, "h1", NULL, title);
    strbuf_puts(&doc, "</div>\n");
    report_summary(&pg, r);
    report_tradeoff(&pg, &ix);
    report_cl_table(&pg, r);
    st = report_cl_section(&pg, r);
    if (st == MODX_OK) st = report_gallery_section(&pg, r);
    if (st == MODX_OK) st = report_r1_section(&pg, &ix);
    if (st == MODX_OK) st = report_zeroshot_section(&pg, &ix);
    if (st == MODX_OK) st = report_loss_section(&pg, &ix);
    if (st == MODX_OK) st = report_hist_section(&pg, &ix);
    if (st == MODX_OK) st = report_topology_section(&pg, &ix);
    if (st == MODX_OK) st = report_intermodal_section(&pg, &ix);
    if (st == MODX_OK) {
        report_page_close_row(&pg);
        int plots_bottom = pg.y;
        report_full_table(&doc, &ix);
        strbuf_puts(&doc, "<footer>Written by modx report. One self-contained file: inline CSS and SVG, no "
                          "scripts.</footer>\n</div>\n</body>\n</html>\n");
        st = strbuf_status(&doc);
        if (st == MODX_OK) {
            strbuf_absorb(html, &doc);
            st = strbuf_status(html);
        }
        if (st == MODX_OK && layout) {
            layout->page_w = PAGE_W;
            layout->page_h = plots_bottom + 20;
            layout->regions = pg.regions;
            layout->nregions = pg.nregions;
            pg.regions = NULL;
        }
    }
    free(pg.regions);
    strbuf_free(&doc);
    report_index_free(&ix);
    return st;
}

void report_layout_free(ReportLayout *layout) {
    if (!layout) return;
    free(layout->regions);
    memset(layout, 0, sizeof *layout);
}

/* ---- files -------------------------------------------------------------------------- */

ModxStatus report_write(const Report *r, const char *html_path, const char *regions_path) {
    StrBuf html;
    strbuf_init(&html);
    ReportLayout layout;
    ModxStatus st = report_render(r, &html, &layout);
    if (st == MODX_OK) st = io_write_atomic(html_path, strbuf_cstr(&html), html.len);
    if (st == MODX_OK && regions_path) {
        StrBuf reg;
        strbuf_init(&reg);
        strbuf_printf(&reg, "# modx report plot regions for %s\n# page WIDTH HEIGHT; plot ID X Y W H = data area in "
                            "CSS pixels from the top-left\npage %d %d\n", html_path, layout.page_w, layout.page_h);
        for (size_t i = 0; i < layout.nregions; i++) {
            const ReportRegion *g = &layout.regions[i];
            strbuf_printf(&reg, "plot %s %d %d %d %d\n", g->id, g->x, g->y, g->w, g->h);
        }
        st = strbuf_status(&reg);
        if (st == MODX_OK) st = io_write_atomic(regions_path, strbuf_cstr(&reg), reg.len);
        strbuf_free(&reg);
    }
    report_layout_free(&layout);
    strbuf_free(&html);
    return st;
}

ModxStatus report_regions_read(const char *path, ReportLayout *layout) {
    memset(layout, 0, sizeof *layout);
    FILE *f = fopen(path, "r");
    if (!f) return modx_fail(MODX_ERR_IO, "%s: cannot open the regions file: %s", path, strerror(errno));
    char line[512];
    size_t lineno = 0, cap = 0;
    int have_page = 0;
    ModxStatus st = MODX_OK;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            st = modx_fail(MODX_ERR_FORMAT, "%s:%zu: line longer than %zu bytes", path, lineno, sizeof line - 2);
            break;
        }
        if (line[0] == '#' || line[0] == '\n') continue;
        int a, b, c, d, used = 0;
        char id[64];
        if (sscanf(line, "page %d %d %n", &a, &b, &used) == 2 && line[used] == '\0') {
            if (a <= 0 || b <= 0 || a > 100000 || b > 100000) {
                st = modx_fail(MODX_ERR_FORMAT, "%s:%zu: page size %dx%d, expected 1..100000", path, lineno, a, b);
                break;
            }
            layout->page_w = a;
            layout->page_h = b;
            have_page = 1;
        } else if (sscanf(line, "plot %63s %d %d %d %d %n", id, &a, &b, &c, &d, &used) == 5 && line[used] == '\0') {
            if (a < 0 || b < 0 || c <= 0 || d <= 0 || a > 100000 || b > 100000 || c > 100000 || d > 100000) {
                st = modx_fail(MODX_ERR_FORMAT, "%s:%zu: plot '%s' box %d,%d %dx%d, expected x,y >= 0 and w,h >= 1",
                               path, lineno, id, a, b, c, d);
                break;
            }
            if (layout->nregions == cap) {
                cap = cap ? cap * 2 : 16;
                ReportRegion *p = realloc(layout->regions, cap * sizeof *p);
                if (!p) {
                    st = modx_fail(MODX_ERR_NOMEM, "%s: out of memory for %zu regions", path, cap);
                    break;
                }
                layout->regions = p;
            }
            ReportRegion *g = &layout->regions[layout->nregions++];
            memset(g, 0, sizeof *g);
            snprintf(g->id, sizeof g->id, "%s", id);
            g->x = a;
            g->y = b;
            g->w = c;
            g->h = d;
        } else {
            line[strcspn(line, "\n")] = '\0';
            st = modx_fail(MODX_ERR_FORMAT, "%s:%zu: expected 'page W H' or 'plot ID X Y W H', found '%.80s'", path,
                           lineno, line);
            break;
        }
    }
    fclose(f);
    if (st == MODX_OK && !have_page) st = modx_fail(MODX_ERR_FORMAT, "%s: no 'page W H' line", path);
    if (st != MODX_OK) report_layout_free(layout);
    return st;
}
