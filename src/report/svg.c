#include "report/svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const svg_palette[SVG_PALETTE_SIZE] = {
    "#0072B2", /* blue */
    "#E69F00", /* orange */
    "#009E73", /* bluish green */
    "#D55E00", /* vermillion */
    "#CC79A7", /* reddish purple */
    "#56B4E9", /* sky blue */
    "#882255", /* wine */
    "#8C6D00", /* dark ochre */
    "#332288", /* indigo */
    "#117733", /* dark green */
};

const char *svg_color(int index) {
    int i = index % SVG_PALETTE_SIZE;
    if (i < 0) i += SVG_PALETTE_SIZE;
    return svg_palette[i];
}

/* ---- ticks ---------------------------------------------------------------- */

#define SVG_LIMIT 1e300 /* data beyond this magnitude is clamped for layout */
#define SVG_MAX_TICKS 32

static double svg_nice_num(double x, int round_it) {
    double e = floor(log10(x));
    double base = pow(10.0, e);
    double f = x / base, nf;
    if (round_it) nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return nf * base;
}

static double svg_clamp(double v, double lim) { return v < -lim ? -lim : v > lim ? lim : v; }

size_t svg_nice_ticks(double lo, double hi, int target, int integer, double *ticks, size_t cap,
                      double *axis_lo, double *axis_hi, double *step_out) {
    if (!isfinite(lo) || !isfinite(hi)) {
        lo = 0;
        hi = 1;
    }
    if (lo > hi) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    lo = svg_clamp(lo, SVG_LIMIT);
    hi = svg_clamp(hi, SVG_LIMIT);
    if (hi - lo <= 1e-12 * fmax(fabs(lo), fabs(hi)) || hi - lo < 1e-300) {
        double c = 0.5 * (lo + hi);
        if (c == 0) {
            lo = 0;
            hi = 1;
        } else {
            double pad = fabs(c) * 0.1;
            lo = c - pad;
            hi = c + pad;
        }
    }
    if (target < 2) target = 2;
    double range = svg_nice_num(hi - lo, 0);
    double step = svg_nice_num(range / (target - 1), 1);
    if (integer && step < 1) step = 1;
    if (integer) step = ceil(step);
    double a = 0, b = 0;
    size_t n = 0;
    for (int tries = 0; tries < 64; tries++) {
        a = floor(lo / step) * step;
        b = ceil(hi / step) * step;
        double count = floor((b - a) / step + 0.5) + 1;
        if (count <= (double)(cap ? cap : 1) && count <= SVG_MAX_TICKS * 4) {
            n = (size_t)count;
            break;
        }
        step *= 2;
    }
    if (n == 0) { /* cap too small for any sensible step: just the ends */
        a = lo;
        b = hi;
        n = cap >= 2 ? 2 : cap;
        step = hi - lo;
    }
    size_t written = 0;
    for (size_t i = 0; i < n && written < cap; i++) {
        double t = (i + 1 == n && n > 1) ? b : a + (double)i * step;
        if (fabs(t) < step * 1e-9) t = 0;
        if (written > 0 && !(t > ticks[written - 1])) break; /* precision exhausted */
        ticks[written++] = t;
    }
    if (axis_lo) *axis_lo = a;
    if (axis_hi) *axis_hi = b;
    if (step_out) *step_out = step;
    return written;
}

int svg_tick_decimals(double step) {
    if (!isfinite(step) || step <= 0) return 0;
    double scale = 1;
    for (int d = 0; d <= 10; d++) {
        double v = step * scale;
        if (fabs(v - nearbyint(v)) < 1e-6 * fmax(1.0, fabs(v))) return d;
        scale *= 10;
    }
    return 10;
}

/* ---- layout ------------------------------------------------------------- */

typedef struct {
    double lo, hi;   /* axis range */
    double ticks[SVG_MAX_TICKS];
    size_t nt;
    int decimals;
} SvgAxis;

/* Sets up an axis from the data range [dlo, dhi] (have = any finite data) or a fixed range. */
static ModxStatus svg_axis_make(SvgAxis *ax, const char *id, const char *which, double dlo, double dhi, int have,
                                int fixed, double flo, double fhi, int integer, int include_zero, int exact) {
    double step = 1;
    if (fixed) {
        if (!isfinite(flo) || !isfinite(fhi) || !(flo < fhi))
            return modx_fail(MODX_ERR_INVALID, "plot '%s': fixed %s range [%g, %g] must be finite with min < max",
                             id, which, flo, fhi);
        double a, b;
        double tmp[SVG_MAX_TICKS];
        size_t n = svg_nice_ticks(flo, fhi, 6, integer, tmp, SVG_MAX_TICKS, &a, &b, &step);
        ax->lo = flo;
        ax->hi = fhi;
        ax->nt = 0;
        double eps = (fhi - flo) * 1e-9;
        for (size_t i = 0; i < n; i++)
            if (tmp[i] >= flo - eps && tmp[i] <= fhi + eps) ax->ticks[ax->nt++] = tmp[i];
    } else {
        if (!have) {
            dlo = 0;
            dhi = 1;
        }
        if (include_zero) {
            dlo = fmin(dlo, 0);
            dhi = fmax(dhi, 0);
        }
        double tmp[SVG_MAX_TICKS];
        double a, b;
        size_t n = svg_nice_ticks(dlo, dhi, 6, integer, tmp, SVG_MAX_TICKS, &a, &b, &step);
        if (exact && dlo < dhi) { /* keep the data range (histogram edges); ticks inside it */
            ax->lo = svg_clamp(dlo, SVG_LIMIT);
            ax->hi = svg_clamp(dhi, SVG_LIMIT);
            ax->nt = 0;
            double eps = (ax->hi - ax->lo) * 1e-9;
            for (size_t i = 0; i < n; i++)
                if (tmp[i] >= ax->lo - eps && tmp[i] <= ax->hi + eps) ax->ticks[ax->nt++] = tmp[i];
        } else {
            ax->lo = a;
            ax->hi = b;
            ax->nt = n;
            memcpy(ax->ticks, tmp, n * sizeof *tmp);
        }
    }
    ax->decimals = svg_tick_decimals(step);
    if (!(ax->hi > ax->lo)) { /* cannot happen for finite input; keep the maths safe anyway */
        ax->lo = 0;
        ax->hi = 1;
    }
    return MODX_OK;
}

typedef struct {
    char id[64];
    int w, h;
    SvgBox area;    /* frame of the data area */
    double pad_x, pad_y_lo, pad_y_hi;
    SvgAxis x, y;
    double legend_x; /* left edge of the legend column; 0 = no legend */
} SvgFrame;

#define SVG_LEGEND_W 186
#define SVG_FONT "DejaVu Sans, Verdana, Arial, sans-serif"

static void svg_sanitize_id(char *out, size_t cap, const char *id) {
    if (!id || !*id) id = "plot";
    size_t i = 0;
    for (; id[i] && i + 1 < cap; i++) {
        char c = id[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        out[i] = ok ? c : '_';
    }
    out[i] = '\0';
}

static ModxStatus svg_frame_init(SvgFrame *f, const SvgPlot *p, int has_legend) {
    memset(f, 0, sizeof *f);
    svg_sanitize_id(f->id, sizeof f->id, p->id);
    f->w = p->width ? p->width : 640;
    f->h = p->height ? p->height : 400;
    if (f->w < 200 || f->h < 150 || f->w > 20000 || f->h > 20000)
        return modx_fail(MODX_ERR_INVALID, "plot '%s': size %dx%d pixels, expected 200..20000 x 150..20000", f->id,
                         f->w, f->h);
    double top = (p->title ? 40 : 14) + (p->note ? 16 : 0);
    double left = 74, bottom = 54;
    double right = has_legend ? SVG_LEGEND_W + 14 : 18;
    if (f->w - left - right < 80) right = 18; /* too narrow for a legend column */
    f->area.x = left;
    f->area.y = top;
    f->area.w = f->w - left - right;
    f->area.h = f->h - top - bottom;
    f->legend_x = has_legend && right > 18 ? f->area.x + f->area.w + 16 : 0;
    return MODX_OK;
}

static double svg_px(const SvgFrame *f, double x) {
    double t = (x - f->x.lo) / (f->x.hi - f->x.lo);
    return svg_clamp(f->area.x + f->pad_x + t * (f->area.w - 2 * f->pad_x), 1e6);
}

static double svg_py(const SvgFrame *f, double y) {
    double t = (y - f->y.lo) / (f->y.hi - f->y.lo);
    return svg_clamp(f->area.y + f->area.h - f->pad_y_lo - t * (f->area.h - f->pad_y_lo - f->pad_y_hi), 1e6);
}

static void svg_num(StrBuf *sb, double v) { strbuf_number(sb, v, 2); }

/* x="…" y="…" width="…" height="…" of a box (the closing quote of height is left open). */
static void svg_box_attrs(StrBuf *sb, const SvgBox *b) {
    strbuf_puts(sb, "x=\"");
    svg_num(sb, b->x);
    strbuf_puts(sb, "\" y=\"");
    svg_num(sb, b->y);
    strbuf_puts(sb, "\" width=\"");
    svg_num(sb, b->w);
    strbuf_puts(sb, "\" height=\"");
    svg_num(sb, b->h);
}

static void svg_text(StrBuf *sb, double x, double y, const char *anchor, int size, const char *extra,
                     const char *text) {
    strbuf_puts(sb, "<text x=\"");
    svg_num(sb, x);
    strbuf_puts(sb, "\" y=\"");
    svg_num(sb, y);
    strbuf_printf(sb, "\" text-anchor=\"%s\" font-size=\"%d\"%s%s>", anchor, size, extra ? " " : "", extra ? extra : "");
    strbuf_escape(sb, text);
    strbuf_puts(sb, "</text>\n");
}

static void svg_begin(StrBuf *sb, const SvgFrame *f, const SvgPlot *p) {
    strbuf_printf(sb,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" data-plot=\"%s\" width=\"%d\" "
                  "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"%s\" role=\"img\" aria-label=\"",
                  f->id, f->w, f->h, f->w, f->h, SVG_FONT);
    strbuf_escape(sb, p->title ? p->title : f->id);
    strbuf_puts(sb, "\">\n<title>");
    strbuf_escape(sb, p->title ? p->title : f->id);
    strbuf_puts(sb, "</title>\n");
    strbuf_printf(sb, "<defs><clipPath id=\"clip-%s\"><rect ", f->id);
    svg_box_attrs(sb, &f->area);
    strbuf_puts(sb, "\"/></clipPath></defs>\n");
    strbuf_printf(sb, "<rect class=\"background\" x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", f->w,
                  f->h);
}

/* A <line> element up to its last attribute's value, which the caller
 * closes (with '"/>' or further attributes). */
static void svg_line_open(StrBuf *sb, double x1, double x2, double y1, double y2) {
    strbuf_puts(sb, "<line x1=\"");
    svg_num(sb, x1);
    strbuf_puts(sb, "\" x2=\"");
    svg_num(sb, x2);
    strbuf_puts(sb, "\" y1=\"");
    svg_num(sb, y1);
    strbuf_puts(sb, "\" y2=\"");
    svg_num(sb, y2);
}

/* Grid, ticks, tick labels, axis titles and the plot title. */
static void svg_axes(StrBuf *sb, const SvgFrame *f, const SvgPlot *p) {
    double x0 = f->area.x, y0 = f->area.y, x1 = f->area.x + f->area.w, y1 = f->area.y + f->area.h;
    strbuf_puts(sb, "<g class=\"grid\" stroke=\"#e2e2e2\" stroke-width=\"1\">\n");
    for (size_t i = 0; i < f->y.nt; i++) {
        double y = svg_py(f, f->y.ticks[i]);
        svg_line_open(sb, x0, x1, y, y);
        strbuf_puts(sb, "\"/>\n");
    }
    for (size_t i = 0; i < f->x.nt; i++) {
        double x = svg_px(f, f->x.ticks[i]);
        svg_line_open(sb, x, x, y0, y1);
        strbuf_puts(sb, "\"/>\n");
    }
    strbuf_puts(sb, "</g>\n<g class=\"ticks\" fill=\"#333333\">\n");
    for (size_t i = 0; i < f->y.nt; i++) {
        char lab[64];
        strbuf_format_number(lab, sizeof lab, f->y.ticks[i], f->y.decimals);
        svg_text(sb, x0 - 8, svg_py(f, f->y.ticks[i]) + 4, "end", 12, NULL, lab);
    }
    for (size_t i = 0; i < f->x.nt; i++) {
        char lab[64];
        strbuf_format_number(lab, sizeof lab, f->x.ticks[i], f->x.decimals);
        double t = f->x.ticks[i];
        if (p->x_integer && p->x_names && t >= 0 && t < (double)p->nx_names && t == floor(t) && p->x_names[(size_t)t]) {
            char named[200];
            snprintf(named, sizeof named, "%s %.120s", lab, p->x_names[(size_t)t]);
            svg_text(sb, svg_px(f, t), y1 + 18, "middle", 12, NULL, named);
            continue;
        }
        svg_text(sb, svg_px(f, t), y1 + 18, "middle", 12, NULL, lab);
    }
    strbuf_puts(sb, "</g>\n");
    if (p->x_label) svg_text(sb, x0 + f->area.w / 2, y1 + 42, "middle", 13, "class=\"axis-title\" fill=\"#222222\"", p->x_label);
    if (p->y_label) {
        strbuf_puts(sb, "<text class=\"axis-title\" fill=\"#222222\" font-size=\"13\" text-anchor=\"middle\" transform=\"translate(20,");
        svg_num(sb, y0 + f->area.h / 2);
        strbuf_puts(sb, ") rotate(-90)\">");
        strbuf_escape(sb, p->y_label);
        strbuf_puts(sb, "</text>\n");
    }
    if (p->title)
        svg_text(sb, x0 + f->area.w / 2, 26, "middle", 15, "class=\"plot-title\" font-weight=\"bold\" fill=\"#111111\"",
                 p->title);
    if (p->note)
        svg_text(sb, f->w / 2.0, (p->title ? 40 : 14) + 6, "middle", 12,
                 "class=\"plot-note\" font-style=\"italic\" fill=\"#444444\"", p->note);
}

static void svg_end(StrBuf *sb, const SvgFrame *f, int have_data) {
    if (!have_data)
        svg_text(sb, f->area.x + f->area.w / 2, f->area.y + f->area.h / 2, "middle", 14,
                 "class=\"no-data\" fill=\"#888888\"", "no data");
    strbuf_puts(sb, "<rect class=\"frame\" ");
    svg_box_attrs(sb, &f->area);
    strbuf_puts(sb, "\" fill=\"none\" stroke=\"#888888\" stroke-width=\"1\"/>\n</svg>\n");
}

static const char *svg_dash(SvgLineStyle s) {
    return s == SVG_LINE_DASHED ? " stroke-dasharray=\"7 4\"" : s == SVG_LINE_DOTTED ? " stroke-dasharray=\"2 3\"" : "";
}

static void svg_pt(StrBuf *sb, double x, double y) {
    svg_num(sb, x);
    strbuf_puts(sb, ",");
    svg_num(sb, y);
}

/* Path commands: each letter of `cmds` (M and L take a point, H and V one
 * coordinate) with its numbers taken in order from v. */
static void svg_path_cmds(StrBuf *sb, const char *cmds, const double *v) {
    for (; *cmds; cmds++) {
        char c[2] = {*cmds, 0};
        strbuf_puts(sb, c);
        if (*cmds == 'M' || *cmds == 'L') {
            svg_pt(sb, v[0], v[1]);
            v += 2;
        } else {
            svg_num(sb, *v++);
        }
    }
}

static void svg_marker(StrBuf *sb, int shape, double cx, double cy, double r, const char *color) {
    shape %= SVG_MARKER_COUNT;
    if (shape == 0) {
        strbuf_puts(sb, "<circle class=\"marker\" cx=\"");
        svg_num(sb, cx);
        strbuf_puts(sb, "\" cy=\"");
        svg_num(sb, cy);
        strbuf_puts(sb, "\" r=\"");
        svg_num(sb, r);
        strbuf_printf(sb, "\" fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n", color);
        return;
    }
    strbuf_puts(sb, "<path class=\"marker\" d=\"");
    double s = r * 0.9;
    switch (shape) {
    case 1: /* square */
        svg_path_cmds(sb, "MHVH", (const double[]){cx - s, cy - s, cx + s, cy + s, cx - s});
        break;
    case 2: /* triangle up */
        svg_path_cmds(sb, "MLL", (const double[]){cx, cy - r * 1.25, cx + r * 1.15, cy + r * 0.8, cx - r * 1.15,
                                                   cy + r * 0.8});
        break;
    case 3: /* diamond */
        svg_path_cmds(sb, "MLLL",
                      (const double[]){cx, cy - r * 1.3, cx + r * 1.1, cy, cx, cy + r * 1.3, cx - r * 1.1, cy});
        break;
    case 4: /* triangle down */
        svg_path_cmds(sb, "MLL", (const double[]){cx, cy + r * 1.25, cx + r * 1.15, cy - r * 0.8, cx - r * 1.15,
                                                   cy - r * 0.8});
        break;
    default: { /* plus */
        double a = r * 1.2, b = r * 0.42;
        svg_path_cmds(sb, "MHVHVHVHVHVH",
                      (const double[]){cx - b, cy - a, cx + b, cy - b, cx + a, cy + b, cx + b, cy + a, cx - b, cy + b,
                                       cx - a, cy - b, cx - b});
        break;
    }
    }
    strbuf_printf(sb, "Z\" fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n", color);
}

/* Appends at most `max_chars` code points of `s` (escaped), with "…" when cut. */
static void svg_escape_trunc(StrBuf *sb, const char *s, size_t max_chars) {
    size_t bytes = 0, chars = 0, len = strlen(s);
    while (bytes < len && chars < max_chars) {
        unsigned char c = (unsigned char)s[bytes];
        size_t step = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (bytes + step > len) step = len - bytes;
        bytes += step;
        chars++;
    }
    if (bytes >= len) {
        strbuf_escape(sb, s);
        return;
    }
    strbuf_escape_n(sb, s, bytes);
    strbuf_puts(sb, "\xE2\x80\xA6");
}

static void svg_legend(StrBuf *sb, const SvgFrame *f, const SvgLegendItem *items, size_t n) {
    if (!f->legend_x || n == 0) return;
    double x = f->legend_x, y = f->area.y + 10;
    size_t rows = (size_t)((f->area.h - 10) / 20);
    if (rows < 1) rows = 1;
    size_t max_chars = (size_t)((SVG_LEGEND_W - 40) / 6.6); /* ~6.6 px per character at 12 px */
    strbuf_puts(sb, "<g class=\"legend\">\n");
    for (size_t i = 0; i < n; i++, y += 20) {
        if (i + 1 == rows && n > rows) {
            char more[48];
            snprintf(more, sizeof more, "\xE2\x80\xA6 %zu more", n - i);
            svg_text(sb, x + 34, y + 4, "start", 12, "fill=\"#555555\"", more);
            break;
        }
        const SvgLegendItem *it = &items[i];
        const char *color = it->color_css ? it->color_css : svg_color(it->color);
        strbuf_puts(sb, "<g><title>");
        strbuf_escape(sb, it->name ? it->name : "");
        strbuf_puts(sb, "</title>");
        if (it->swatch) {
            strbuf_puts(sb, "<rect x=\"");
            svg_num(sb, x + 4);
            strbuf_puts(sb, "\" y=\"");
            svg_num(sb, y - 6);
            strbuf_printf(sb, "\" width=\"20\" height=\"12\" fill=\"%s\" fill-opacity=\"0.35\" stroke=\"%s\" stroke-width=\"2\"/>",
                          color, color);
        } else {
            if (it->line) {
                svg_line_open(sb, x, x + 28, y, y);
                strbuf_printf(sb, "\" stroke=\"%s\" stroke-width=\"2.2\"%s/>", color, svg_dash(it->style));
            }
            if (it->marker >= 0) svg_marker(sb, it->marker, x + 14, y, 4.5, color);
        }
        strbuf_puts(sb, "<text x=\"");
        svg_num(sb, x + 34);
        strbuf_puts(sb, "\" y=\"");
        svg_num(sb, y + 4);
        strbuf_puts(sb, "\" font-size=\"12\" fill=\"#222222\">");
        svg_escape_trunc(sb, it->name ? it->name : "", max_chars);
        strbuf_puts(sb, "</text></g>\n");
    }
    strbuf_puts(sb, "</g>\n");
}

static size_t svg_count_legend(const SvgPlot *p, const char *const *names, size_t ns) {
    if (p->legend) return p->nlegend;
    size_t n = 0;
    for (size_t i = 0; i < ns; i++) n += names[i] != NULL;
    return n;
}

/* Commits `tmp` to `sb` when both are healthy, else records the failure. */
static ModxStatus svg_commit(StrBuf *sb, StrBuf *tmp) {
    ModxStatus st = strbuf_status(tmp);
    if (st == MODX_OK) strbuf_absorb(sb, tmp);
    else strbuf_free(tmp);
    return st != MODX_OK ? st : strbuf_status(sb);
}

/* ---- line / scatter ------------------------------------------------------ */

/* err[i] when it is a usable half-width, else 0. */
static double svg_err(const double *err, size_t i) {
    return err && isfinite(err[i]) && err[i] > 0 ? svg_clamp(err[i], SVG_LIMIT) : 0;
}

static void svg_line(StrBuf *sb, double x1, double y1, double x2, double y2) {
    strbuf_puts(sb, "<line x1=\"");
    svg_num(sb, x1);
    strbuf_puts(sb, "\" y1=\"");
    svg_num(sb, y1);
    strbuf_puts(sb, "\" x2=\"");
    svg_num(sb, x2);
    strbuf_puts(sb, "\" y2=\"");
    svg_num(sb, y2);
    strbuf_puts(sb, "\"/>\n");
}

/* Capped bars x ± x_err and y ± y_err at every finite point of the series. */
static void svg_error_bars(StrBuf *sb, const SvgFrame *f, const SvgSeries *sr, const char *color) {
    const double cap = 5;
    strbuf_printf(sb, "<g class=\"error-bars\" stroke=\"%s\" stroke-width=\"1.6\">\n", color);
    for (size_t i = 0; i < sr->n; i++) {
        double x = sr->x ? sr->x[i] : (double)i, y = sr->y[i];
        if (!isfinite(x) || !isfinite(y)) continue;
        double ex = svg_err(sr->x_err, i), ey = svg_err(sr->y_err, i), px = svg_px(f, x), py = svg_py(f, y);
        if (ex > 0) {
            double a = svg_px(f, x - ex), b = svg_px(f, x + ex);
            svg_line(sb, a, py, b, py);
            svg_line(sb, a, py - cap, a, py + cap);
            svg_line(sb, b, py - cap, b, py + cap);
        }
        if (ey > 0) {
            double a = svg_py(f, y - ey), b = svg_py(f, y + ey);
            svg_line(sb, px, a, px, b);
            svg_line(sb, px - cap, a, px + cap, a);
            svg_line(sb, px - cap, b, px + cap, b);
        }
    }
    strbuf_puts(sb, "</g>\n");
}

/* The finite points' extent over every series (with their error bars), and
 * each series' name in names[]; *have tells whether any point is finite. */
static ModxStatus xy_extent(const SvgPlot *plot, const SvgSeries *series, size_t ns, const char **names, double lo[2],
                            double hi[2], int *have) {
    lo[0] = lo[1] = INFINITY;
    hi[0] = hi[1] = -INFINITY;
    *have = 0;
    for (size_t s = 0; s < ns; s++) {
        const SvgSeries *sr = &series[s];
        names[s] = sr->name;
        if (sr->n && !sr->y)
            return modx_fail(MODX_ERR_INVALID, "plot '%s': series %zu ('%s') has %zu points but no y values",
                             plot->id ? plot->id : "", s, sr->name ? sr->name : "", sr->n);
        for (size_t i = 0; i < sr->n; i++) {
            double x = sr->x ? sr->x[i] : (double)i, y = sr->y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            double ex = svg_err(sr->x_err, i), ey = svg_err(sr->y_err, i);
            x = svg_clamp(x, SVG_LIMIT);
            y = svg_clamp(y, SVG_LIMIT);
            lo[0] = fmin(lo[0], x - ex);
            hi[0] = fmax(hi[0], x + ex);
            lo[1] = fmin(lo[1], y - ey);
            hi[1] = fmax(hi[1], y + ey);
            *have = 1;
        }
    }
    return MODX_OK;
}

/* A series' line: one path through its finite points, broken at the others;
 * none for fewer than two points. */
static void xy_line(StrBuf *out, const SvgFrame *f, const SvgSeries *sr, const char *color) {
    int open = 0, pts = 0;
    StrBuf d;
    strbuf_init(&d);
    for (size_t i = 0; i < sr->n; i++) {
        double x = sr->x ? sr->x[i] : (double)i, y = sr->y[i];
        if (!isfinite(x) || !isfinite(y)) {
            open = 0;
            continue;
        }
        strbuf_puts(&d, open ? "L" : "M");
        svg_pt(&d, svg_px(f, x), svg_py(f, y));
        open = 1;
        pts++;
    }
    if (pts > 1) {
        strbuf_puts(out, "<path class=\"series\" d=\"");
        strbuf_absorb(out, &d);
        strbuf_printf(out, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"", color);
        svg_num(out, sr->line_width > 0 ? sr->line_width : 2.2);
        strbuf_printf(out, "\" stroke-linejoin=\"round\"%s/>\n", svg_dash(sr->style));
    } else {
        if (d.failed) strbuf_absorb(out, &d);
        strbuf_free(&d);
    }
}

/* A series drawn in the clipped layer: its line, error bars and markers. */
static void xy_series(StrBuf *out, const SvgFrame *f, const SvgSeries *sr) {
    const char *color = svg_color(sr->color);
    if (sr->line) xy_line(out, f, sr, color);
    if (sr->x_err || sr->y_err) svg_error_bars(out, f, sr, color);
    if (sr->marker >= 0 || !sr->line) {
        for (size_t i = 0; i < sr->n; i++) {
            double x = sr->x ? sr->x[i] : (double)i, y = sr->y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            svg_marker(out, sr->marker >= 0 ? sr->marker : 0, svg_px(f, x), svg_py(f, y),
                       sr->marker_size > 0 ? sr->marker_size : 4.5, color);
        }
    }
}

/* A series' point labels (unclipped; only points inside the data area). */
static void xy_labels(StrBuf *out, const SvgFrame *f, const SvgSeries *sr) {
    strbuf_printf(out, "<g class=\"labels\" fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"3\" "
                       "paint-order=\"stroke\" font-weight=\"bold\">\n", svg_color(sr->color));
    for (size_t i = 0; i < sr->n; i++) {
        double x = sr->x ? sr->x[i] : (double)i, y = sr->y[i];
        if (!isfinite(x) || !isfinite(y) || !sr->labels[i]) continue;
        double px = svg_px(f, x), py = svg_py(f, y);
        if (px < f->area.x || px > f->area.x + f->area.w || py < f->area.y || py > f->area.y + f->area.h) continue;
        svg_text(out, px + 7, py - 6, "start", 11, NULL, sr->labels[i]);
    }
    strbuf_puts(out, "</g>\n");
}

/* The plot's own legend, else one item per named series. */
static void xy_legend(StrBuf *out, const SvgFrame *f, const SvgPlot *plot, const SvgSeries *series, size_t ns,
                      size_t nleg) {
    if (plot->legend) {
        svg_legend(out, f, plot->legend, plot->nlegend);
    } else if (nleg) {
        SvgLegendItem items[256];
        size_t k = 0;
        for (size_t s = 0; s < ns; s++) {
            if (!series[s].name) continue;
            items[k] = (SvgLegendItem){.name = series[s].name, .color = series[s].color,
                                       .marker = series[s].marker >= 0 ? series[s].marker : (series[s].line ? -1 : 0),
                                       .style = series[s].style, .line = series[s].line};
            k++;
        }
        svg_legend(out, f, items, k);
    }
}

ModxStatus svg_xy_plot(StrBuf *sb, const SvgPlot *plot, const SvgSeries *series, size_t ns, SvgBox *area) {
    if (!plot || (ns && !series)) return modx_fail(MODX_ERR_INVALID, "svg_xy_plot: NULL plot or series array");
    const char *names[256];
    if (ns > 256) return modx_fail(MODX_ERR_INVALID, "plot '%s': %zu series, at most 256", plot->id ? plot->id : "", ns);
    double lo[2], hi[2];
    int have = 0;
    MODX_TRY(xy_extent(plot, series, ns, names, lo, hi, &have));
    size_t nleg = svg_count_legend(plot, names, ns);
    SvgFrame f;
    MODX_TRY(svg_frame_init(&f, plot, nleg > 0));
    MODX_TRY(svg_axis_make(&f.x, f.id, "x", lo[0], hi[0], have, plot->fix_x, plot->x_min, plot->x_max,
                           plot->x_integer, 0, 0));
    MODX_TRY(svg_axis_make(&f.y, f.id, "y", lo[1], hi[1], have, plot->fix_y, plot->y_min, plot->y_max, 0,
                           plot->y_include_zero, 0));
    f.pad_x = 12;
    f.pad_y_lo = f.pad_y_hi = 10;

    StrBuf out;
    strbuf_init(&out);
    svg_begin(&out, &f, plot);
    svg_axes(&out, &f, plot);
    /* The data layer: clipped lines and markers, then unclipped point labels
     * (readable at the edges). Everything drawn from data sits in class="data". */
    strbuf_printf(&out, "<g class=\"data\">\n<g clip-path=\"url(#clip-%s)\">\n", f.id);
    for (size_t s = 0; s < ns; s++) xy_series(&out, &f, &series[s]);
    strbuf_puts(&out, "</g>\n");
    for (size_t s = 0; s < ns; s++)
        if (series[s].labels) xy_labels(&out, &f, &series[s]);
    strbuf_puts(&out, "</g>\n");
    xy_legend(&out, &f, plot, series, ns, nleg);
    svg_end(&out, &f, have);
    if (area) *area = f.area;
    return svg_commit(sb, &out);
}

/* ---- histogram ------------------------------------------------------------ */

/* The bin edges (finite, increasing) and every series' counts; the finite
 * counts' range (clamped) in *ymin (at most 0) and *ymax (at least 0), each
 * series' name in names[]; *have tells whether any count is finite. */
static ModxStatus hist_check(const char *id, const double *edges, size_t nbins, const SvgHistSeries *series, size_t ns,
                             const char **names, double *ymin, double *ymax, int *have) {
    for (size_t i = 0; i <= nbins; i++) {
        if (!isfinite(edges[i]) || fabs(edges[i]) > SVG_LIMIT)
            return modx_fail(MODX_ERR_INVALID, "plot '%s': bin edge %zu is %g, expected a finite number", id, i, edges[i]);
        if (i && !(edges[i] > edges[i - 1]))
            return modx_fail(MODX_ERR_INVALID, "plot '%s': bin edges must increase; edge %zu = %g after %g", id, i,
                             edges[i], edges[i - 1]);
    }
    *ymax = 0;
    *have = 0;
    for (size_t s = 0; s < ns; s++) {
        names[s] = series[s].name;
        if (!series[s].counts)
            return modx_fail(MODX_ERR_INVALID, "plot '%s': series %zu ('%s') has no counts", id, s,
                             series[s].name ? series[s].name : "");
        for (size_t b = 0; b < nbins; b++) {
            double c = series[s].counts[b];
            if (!isfinite(c)) continue;
            *have = 1;
            *ymax = fmax(*ymax, svg_clamp(c, SVG_LIMIT));
        }
    }
    *ymin = 0;
    for (size_t s = 0; s < ns; s++)
        for (size_t b = 0; b < nbins; b++)
            if (isfinite(series[s].counts[b])) *ymin = fmin(*ymin, svg_clamp(series[s].counts[b], SVG_LIMIT));
    return MODX_OK;
}

/* Series s of ns as grouped bars: its share of each bin's width, from `base`. */
static void hist_bars(StrBuf *out, const SvgFrame *f, const double *edges, size_t nbins, const double *c, size_t s,
                      size_t ns, double base, const char *color) {
    for (size_t b = 0; b < nbins; b++) {
        if (!isfinite(c[b])) continue;
        double bx0 = svg_px(f, edges[b]), bx1 = svg_px(f, edges[b + 1]);
        double inner = (bx1 - bx0) * 0.86, gap = (bx1 - bx0) * 0.07;
        double w = inner / (double)ns;
        double x = bx0 + gap + w * (double)s;
        double y = svg_py(f, c[b]);
        double top = fmin(y, base), h = fabs(base - y);
        strbuf_puts(out, "<rect class=\"bar\" x=\"");
        svg_num(out, x);
        strbuf_puts(out, "\" y=\"");
        svg_num(out, top);
        strbuf_puts(out, "\" width=\"");
        svg_num(out, w);
        strbuf_puts(out, "\" height=\"");
        svg_num(out, h);
        strbuf_printf(out, "\" fill=\"%s\"/>\n", color);
    }
}

/* One closed step outline per run of finite bins: filled lightly, stroked in colour. */
static void hist_outline(StrBuf *out, const SvgFrame *f, const double *edges, size_t nbins, const double *c,
                         double base, const char *color) {
    size_t b = 0;
    while (b < nbins) {
        while (b < nbins && !isfinite(c[b])) b++;
        if (b == nbins) break;
        size_t e = b;
        while (e < nbins && isfinite(c[e])) e++;
        strbuf_puts(out, "<path class=\"series\" d=\"M");
        svg_pt(out, svg_px(f, edges[b]), base);
        for (size_t k = b; k < e; k++) {
            double y = svg_py(f, c[k]);
            strbuf_puts(out, "L");
            svg_pt(out, svg_px(f, edges[k]), y);
            strbuf_puts(out, "L");
            svg_pt(out, svg_px(f, edges[k + 1]), y);
        }
        strbuf_puts(out, "L");
        svg_pt(out, svg_px(f, edges[e]), base);
        strbuf_printf(out,
                      "Z\" fill=\"%s\" fill-opacity=\"0.16\" stroke=\"%s\" stroke-width=\"2\" "
                      "stroke-linejoin=\"round\"/>\n",
                      color, color);
        b = e;
    }
}

ModxStatus svg_histogram(StrBuf *sb, const SvgPlot *plot, const double *edges, size_t nbins,
                         const SvgHistSeries *series, size_t ns, SvgHistStyle style, SvgBox *area) {
    if (!plot || (ns && !series)) return modx_fail(MODX_ERR_INVALID, "svg_histogram: NULL plot or series array");
    const char *id = plot->id ? plot->id : "";
    if (nbins == 0 || !edges)
        return modx_fail(MODX_ERR_INVALID, "plot '%s': histogram needs at least one bin (nbins + 1 edges)", id);
    if (ns > 256) return modx_fail(MODX_ERR_INVALID, "plot '%s': %zu series, at most 256", id, ns);
    const char *names[256];
    double ymin = 0, ymax = 0;
    int have = 0;
    MODX_TRY(hist_check(id, edges, nbins, series, ns, names, &ymin, &ymax, &have));
    size_t nleg = svg_count_legend(plot, names, ns);
    SvgFrame f;
    MODX_TRY(svg_frame_init(&f, plot, nleg > 0));
    MODX_TRY(svg_axis_make(&f.x, f.id, "x", edges[0], edges[nbins], 1, plot->fix_x, plot->x_min, plot->x_max, 0, 0, 1));
    MODX_TRY(svg_axis_make(&f.y, f.id, "y", ymin, ymax, have, plot->fix_y, plot->y_min, plot->y_max, 0, 1, 0));
    f.pad_x = 0;
    f.pad_y_lo = 0;
    f.pad_y_hi = 6;

    StrBuf out;
    strbuf_init(&out);
    svg_begin(&out, &f, plot);
    svg_axes(&out, &f, plot);
    strbuf_printf(&out, "<g class=\"data\" clip-path=\"url(#clip-%s)\">\n", f.id);
    double base = svg_py(&f, fmax(f.y.lo, fmin(0.0, f.y.hi)));
    for (size_t s = 0; s < ns; s++) {
        const char *color = svg_color(series[s].color);
        if (style == SVG_HIST_GROUPED) hist_bars(&out, &f, edges, nbins, series[s].counts, s, ns, base, color);
        else hist_outline(&out, &f, edges, nbins, series[s].counts, base, color);
    }
    strbuf_puts(&out, "</g>\n");
    if (plot->legend) {
        svg_legend(&out, &f, plot->legend, plot->nlegend);
    } else if (nleg) {
        SvgLegendItem items[256];
        size_t k = 0;
        for (size_t s = 0; s < ns; s++)
            if (series[s].name)
                items[k++] = (SvgLegendItem){.name = series[s].name, .color = series[s].color, .marker = -1, .swatch = 1};
        svg_legend(&out, &f, items, k);
    }
    svg_end(&out, &f, have);
    if (area) *area = f.area;
    return svg_commit(sb, &out);
}

/* ---- heat map -------------------------------------------------------------- */

/* A perceptual ramp (viridis at five stops, linearly interpolated), t in [0, 1]. */
static void svg_ramp(double t, int rgb[3]) {
    static const int stops[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    t = isfinite(t) ? fmin(1, fmax(0, t)) : 0;
    double u = t * 4;
    int k = u >= 4 ? 3 : (int)u;
    double w = u - k;
    for (int c = 0; c < 3; c++) rgb[c] = (int)lround(stops[k][c] * (1 - w) + stops[k + 1][c] * w);
}

static void svg_heat_cells(StrBuf *sb, const SvgFrame *f, const SvgHeatmap *hm, double lo, double hi) {
    double cw = f->area.w / (double)hm->cols, ch = f->area.h / (double)hm->rows;
    int fs = ch < 22 || cw < 40 ? 10 : 13;
    strbuf_puts(sb, "<g class=\"data\">\n");
    for (size_t i = 0; i < hm->rows; i++)
        for (size_t j = 0; j < hm->cols; j++) {
            double v = hm->values[i * hm->cols + j];
            SvgBox b = {f->area.x + (double)j * cw, f->area.y + (double)i * ch, cw, ch};
            int rgb[3] = {244, 244, 244};
            double t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
            if (isfinite(v)) svg_ramp(t, rgb);
            strbuf_puts(sb, "<rect class=\"heat-cell\" ");
            svg_box_attrs(sb, &b);
            strbuf_printf(sb, "\" fill=\"#%02x%02x%02x\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n", rgb[0], rgb[1],
                          rgb[2]);
            char lab[64] = "\xE2\x80\x93";
            if (isfinite(v)) strbuf_format_number(lab, sizeof lab, v, hm->decimals);
            const char *fill = !isfinite(v) ? "fill=\"#888888\"" : t < 0.55 ? "fill=\"#ffffff\"" : "fill=\"#111111\"";
            svg_text(sb, b.x + cw / 2, b.y + ch / 2 + fs * 0.36, "middle", fs, fill, lab);
        }
    strbuf_puts(sb, "</g>\n");
}

static void svg_heat_labels(StrBuf *sb, const SvgFrame *f, const SvgHeatmap *hm) {
    double cw = f->area.w / (double)hm->cols, ch = f->area.h / (double)hm->rows;
    size_t maxc = cw < 30 ? 3 : (size_t)(cw / 7.5);
    strbuf_puts(sb, "<g class=\"ticks\" fill=\"#333333\">\n");
    for (size_t i = 0; i < hm->rows; i++) {
        char idx[32];
        snprintf(idx, sizeof idx, "%zu", i);
        const char *l = hm->row_labels && hm->row_labels[i] ? hm->row_labels[i] : idx;
        svg_text(sb, f->area.x - 8, f->area.y + ((double)i + 0.5) * ch + 4, "end", 12, NULL, l);
    }
    for (size_t j = 0; j < hm->cols; j++) {
        char idx[32];
        snprintf(idx, sizeof idx, "%zu", j);
        const char *l = hm->col_labels && hm->col_labels[j] ? hm->col_labels[j] : idx;
        strbuf_puts(sb, "<text x=\"");
        svg_num(sb, f->area.x + ((double)j + 0.5) * cw);
        strbuf_puts(sb, "\" y=\"");
        svg_num(sb, f->area.y + f->area.h + 18);
        strbuf_puts(sb, "\" text-anchor=\"middle\" font-size=\"12\">");
        svg_escape_trunc(sb, l, maxc);
        strbuf_puts(sb, "</text>\n");
    }
    strbuf_puts(sb, "</g>\n");
}

ModxStatus svg_heatmap(StrBuf *sb, const SvgPlot *plot, const SvgHeatmap *hm, SvgBox *area) {
    const char *id = plot && plot->id ? plot->id : "";
    if (!plot || !hm || !hm->values) return modx_fail(MODX_ERR_INVALID, "svg_heatmap: NULL plot, map or values");
    if (hm->rows == 0 || hm->cols == 0 || hm->rows > 256 || hm->cols > 256)
        return modx_fail(MODX_ERR_INVALID, "plot '%s': heat map of %zu x %zu cells, expected 1..256 each way", id,
                         hm->rows, hm->cols);
    double lo = hm->vmin, hi = hm->vmax;
    if (!isfinite(lo) || !isfinite(hi) || lo >= hi) {
        lo = INFINITY, hi = -INFINITY;
        for (size_t c = 0; c < hm->rows * hm->cols; c++)
            if (isfinite(hm->values[c])) lo = fmin(lo, hm->values[c]), hi = fmax(hi, hm->values[c]);
    }
    SvgFrame f;
    MODX_TRY(svg_frame_init(&f, plot, 0));
    StrBuf out;
    strbuf_init(&out);
    svg_begin(&out, &f, plot);
    svg_heat_cells(&out, &f, hm, lo, hi);
    svg_heat_labels(&out, &f, hm);
    if (plot->x_label)
        svg_text(&out, f.area.x + f.area.w / 2, f.area.y + f.area.h + 42, "middle", 13,
                 "class=\"axis-title\" fill=\"#222222\"", plot->x_label);
    if (plot->y_label) {
        strbuf_puts(&out, "<text class=\"axis-title\" fill=\"#222222\" font-size=\"13\" text-anchor=\"middle\" "
                          "transform=\"translate(20,");
        svg_num(&out, f.area.y + f.area.h / 2);
        strbuf_puts(&out, ") rotate(-90)\">");
        strbuf_escape(&out, plot->y_label);
        strbuf_puts(&out, "</text>\n");
    }
    if (plot->title)
        svg_text(&out, f.area.x + f.area.w / 2, 26, "middle", 15,
                 "class=\"plot-title\" font-weight=\"bold\" fill=\"#111111\"", plot->title);
    svg_end(&out, &f, 1);
    if (area) *area = f.area;
    return svg_commit(sb, &out);
}
