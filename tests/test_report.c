/* Tests of src/report: string buffer and escaping, tick generation, SVG plots
 * (NaN handling, edge cases, every plot drawing data), the HTML report
 * (well-formed, self-contained, trade-off figures, input errors), the atomic
 * writer and regions file, and the PNG region statistics. */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <spng.h>

#include "core/error.h"
#include "harness.h"
#include "report/demo.h"
#include "report/gallery.h"
#include "report/report.h"
#include "report/strbuf.h"
#include "report/svg.h"

/* ---- helpers ---- */

static size_t count_str(const char *hay, const char *needle) {
    size_t n = 0, len = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle)) n++;
    return n;
}

/* Case-insensitive search for "nan" / "inf" as a number would print them
 * (a word boundary before). */
static const char *find_nonfinite(const char *s) {
    for (const char *p = s; *p; p++) {
        if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_')) continue;
        if (!strncasecmp(p, "nan", 3) && !isalpha((unsigned char)p[3])) return p;
        if (!strncasecmp(p, "inf", 3) && (!isalpha((unsigned char)p[3]) || !strncasecmp(p, "infinity", 8))) return p;
    }
    return NULL;
}

/* Checks that every tag opened is closed in order (void elements and "/>"
 * excepted). Returns NULL when balanced, else a static message. */
static const char *check_balanced(const char *doc) {
    static char msg[256];
    static const char *const voids[] = {"meta", "br", "hr", "img", "input", "link", "col", "wbr"};
    char stack[256][32];
    int depth = 0;
    const char *p = doc;
    while ((p = strchr(p, '<')) != NULL) {
        if (!strncmp(p, "<!--", 4)) {
            const char *e = strstr(p, "-->");
            if (!e) return "unterminated comment";
            p = e + 3;
            continue;
        }
        if (p[1] == '!') {
            p = strchr(p, '>');
            if (!p) return "unterminated declaration";
            continue;
        }
        const char *e = strchr(p, '>');
        if (!e) return "unterminated tag";
        int closing = p[1] == '/';
        const char *n = p + 1 + closing;
        size_t len = 0;
        while (isalnum((unsigned char)n[len]) || n[len] == '-') len++;
        if (len == 0 || len >= 32) {
            snprintf(msg, sizeof msg, "bad tag name at offset %ld", (long)(p - doc));
            return msg;
        }
        char name[32];
        memcpy(name, n, len);
        name[len] = '\0';
        if (closing) {
            if (depth == 0 || strcmp(stack[depth - 1], name)) {
                snprintf(msg, sizeof msg, "</%s> at offset %ld closes <%s>", name, (long)(p - doc),
                         depth ? stack[depth - 1] : "(nothing)");
                return msg;
            }
            depth--;
        } else if (e[-1] != '/') {
            int is_void = 0;
            for (size_t i = 0; i < sizeof voids / sizeof voids[0]; i++) is_void |= !strcmp(voids[i], name);
            if (!is_void) {
                if (depth == 256) return "nesting deeper than 256";
                strcpy(stack[depth++], name);
            }
        }
        p = e + 1;
    }
    if (depth) {
        snprintf(msg, sizeof msg, "%d tags left open, innermost <%s>", depth, stack[depth - 1]);
        return msg;
    }
    return NULL;
}

/* ---- string buffer ---- */

TEST(report_strbuf_growth_and_sticky_failure) {
    StrBuf sb;
    strbuf_init(&sb);
    EXPECT(!strcmp(strbuf_cstr(&sb), ""), "empty buffer is not \"\"");
    for (int i = 0; i < 20000; i++) strbuf_printf(&sb, "%05d", i);
    EXPECT(strbuf_status(&sb) == MODX_OK, "status %d", strbuf_status(&sb));
    EXPECT(sb.len == 100000, "len %zu, want 100000", sb.len);
    EXPECT(!strncmp(sb.data + 5 * 12345, "12345", 5), "content wrong at 12345");
    EXPECT(sb.data[sb.len] == '\0', "not NUL-terminated");
    /* A long printf result (beyond the small stack buffer). */
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    strbuf_printf(&sb, "[%s]", big);
    EXPECT(sb.len == 100000 + 1001, "len after long printf %zu", sb.len);
    /* Growth that would overflow fails cleanly and sticks. */
    EXPECT(strbuf_reserve(&sb, SIZE_MAX - 4) == MODX_ERR_NOMEM, "overflowing reserve did not fail");
    EXPECT(strstr(modx_last_error(), "overflow") != NULL, "message: %s", modx_last_error());
    size_t len = sb.len;
    strbuf_puts(&sb, "more");
    EXPECT(sb.len == len && strbuf_status(&sb) == MODX_ERR_NOMEM, "append after failure changed the buffer");
    StrBuf dst;
    strbuf_init(&dst);
    strbuf_absorb(&dst, &sb);
    EXPECT(strbuf_status(&dst) == MODX_ERR_NOMEM, "absorb did not carry the failure");
    EXPECT(sb.data == NULL && sb.len == 0, "absorb did not free the source");
    strbuf_free(&dst);
}

TEST(report_strbuf_escape) {
    StrBuf sb;
    strbuf_init(&sb);
    strbuf_escape(&sb, "<a href=\"x\">&'b'</a>");
    EXPECT(!strcmp(sb.data, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;b&#39;&lt;/a&gt;"), "got %s", sb.data);
    strbuf_free(&sb);
    /* Valid UTF-8 and tab/newline pass through. */
    strbuf_escape(&sb, "\xCE\xB8 \xE2\x86\x92 \xF0\x9F\x98\x80\t\n");
    EXPECT(!strcmp(sb.data, "\xCE\xB8 \xE2\x86\x92 \xF0\x9F\x98\x80\t\n"), "UTF-8 changed: %s", sb.data);
    strbuf_free(&sb);
    /* Invalid bytes, overlong forms, surrogates, controls, C1 and non-characters become U+FFFD. */
    const char *bad[] = {"\xFF", "\xC0\xAF", "\xED\xA0\x80", "\x01", "\x7F", "\xC2\x85", "\xEF\xBF\xBF", "\xE2\x86"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strbuf_escape(&sb, bad[i]);
        EXPECT(sb.len >= 3 && !strncmp(sb.data, "\xEF\xBF\xBD", 3), "case %zu not replaced: %s", i, sb.data);
        EXPECT(sb.len % 3 == 0 && count_str(sb.data, "\xEF\xBF\xBD") == sb.len / 3, "case %zu left bytes: len %zu", i,
               sb.len);
        strbuf_free(&sb);
    }
    /* Embedded NUL through the length-taking form. */
    strbuf_escape_n(&sb, "a\0<", 3);
    EXPECT(!strcmp(sb.data, "a\xEF\xBF\xBD&lt;"), "NUL case: %s", sb.data);
    strbuf_free(&sb);
}

TEST(report_strbuf_number) {
    char buf[64];
    struct {
        double v;
        int d;
        const char *want;
    } cases[] = {{12.5, 2, "12.5"}, {3, 2, "3"}, {-0.0001, 2, "0"}, {-2.25, 2, "-2.25"}, {0.1 + 0.2, 1, "0.3"},
                 {NAN, 2, "0"},     {INFINITY, 0, "0"}, {100, 0, "100"}, {1e300, 2, "1e+300"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        strbuf_format_number(buf, sizeof buf, cases[i].v, cases[i].d);
        EXPECT(!strcmp(buf, cases[i].want), "case %zu (%g, %d): got '%s', want '%s'", i, cases[i].v, cases[i].d, buf,
               cases[i].want);
    }
}

/* ---- ticks ---- */

TEST(report_svg_nice_ticks) {
    double t[40], lo, hi, step;
    size_t n = svg_nice_ticks(0, 97, 6, 0, t, 40, &lo, &hi, &step);
    EXPECT(n == 6 && step == 20 && lo == 0 && hi == 100, "0..97: n %zu step %g [%g, %g]", n, step, lo, hi);
    for (size_t i = 0; i < n; i++) EXPECT(t[i] == 20.0 * (double)i, "tick %zu = %g", i, t[i]);

    n = svg_nice_ticks(0.1, 0.9, 6, 0, t, 40, &lo, &hi, &step);
    EXPECT(fabs(step - 0.2) < 1e-12 && n == 6 && t[0] == 0 && fabs(t[5] - 1.0) < 1e-12,
           "0.1..0.9: n %zu step %g first %g last %g", n, step, t[0], t[n - 1]);
    EXPECT(svg_tick_decimals(step) == 1, "decimals for 0.2: %d", svg_tick_decimals(step));

    n = svg_nice_ticks(-3.7, 12.2, 6, 0, t, 40, &lo, &hi, &step);
    EXPECT(lo <= -3.7 && hi >= 12.2 && n >= 4 && n <= 10, "-3.7..12.2: n %zu [%g, %g]", n, lo, hi);
    int has_zero = 0;
    for (size_t i = 0; i < n; i++) has_zero |= t[i] == 0;
    EXPECT(has_zero, "ticks across zero miss 0");

    /* All-equal values get a non-zero range that contains the value. */
    n = svg_nice_ticks(3, 3, 6, 0, t, 40, &lo, &hi, &step);
    EXPECT(lo < 3 && hi > 3 && n >= 2, "3..3: [%g, %g] n %zu", lo, hi, n);
    n = svg_nice_ticks(0, 0, 6, 0, t, 40, &lo, &hi, &step);
    EXPECT(lo == 0 && hi == 1 && n >= 2, "0..0: [%g, %g]", lo, hi);
    n = svg_nice_ticks(-250, -250, 6, 0, t, 40, &lo, &hi, &step);
    EXPECT(lo < -250 && hi > -250, "-250..-250: [%g, %g]", lo, hi);

    /* Integer axes (phases). */
    n = svg_nice_ticks(0, 5, 6, 1, t, 40, &lo, &hi, &step);
    EXPECT(n == 6 && step == 1 && t[5] == 5, "phases 0..5: n %zu step %g", n, step);
    n = svg_nice_ticks(0, 0.3, 6, 1, t, 40, &lo, &hi, &step);
    for (size_t i = 0; i < n; i++) EXPECT(t[i] == floor(t[i]), "integer axis tick %g", t[i]);

    /* Non-finite input, huge and tiny ranges, a small cap. */
    n = svg_nice_ticks(NAN, 1, 6, 0, t, 40, &lo, &hi, &step);
    EXPECT(lo == 0 && hi == 1, "NaN input: [%g, %g]", lo, hi);
    n = svg_nice_ticks(-1e308, 1e308, 6, 0, t, 40, &lo, &hi, &step);
    EXPECT(n >= 2 && isfinite(lo) && isfinite(hi) && isfinite(step), "huge: n %zu [%g, %g]", n, lo, hi);
    n = svg_nice_ticks(1e15, 1e15 + 1, 6, 0, t, 40, &lo, &hi, &step);
    for (size_t i = 1; i < n; i++) EXPECT(t[i] > t[i - 1], "1e15 range: ticks not increasing at %zu", i);
    n = svg_nice_ticks(1e-9, 3e-9, 6, 0, t, 40, &lo, &hi, &step);
    EXPECT(n >= 3 && lo <= 1e-9 && hi >= 3e-9, "tiny: n %zu", n);
    n = svg_nice_ticks(0, 100, 6, 0, t, 3, &lo, &hi, &step);
    EXPECT(n <= 3 && n >= 2 && lo <= 0 && hi >= 100, "cap 3: n %zu [%g, %g]", n, lo, hi);

    EXPECT(svg_tick_decimals(20) == 0 && svg_tick_decimals(2.5) == 1 && svg_tick_decimals(0.05) == 2,
           "decimals %d %d %d", svg_tick_decimals(20), svg_tick_decimals(2.5), svg_tick_decimals(0.05));
}

/* ---- plots ---- */

TEST(report_svg_line_plot_nan_and_markers) {
    double x[6] = {0, 1, 2, 3, 4, 5};
    double y1[6] = {10, 12, NAN, 15, INFINITY, 18};
    double y2[6] = {5, 6, 7, 8, 9, 10};
    SvgSeries s[2] = {{.name = "a", .x = x, .y = y1, .n = 6, .color = 0, .marker = 0, .line = 1},
                      {.name = "b<&>", .x = x, .y = y2, .n = 6, .color = 1, .marker = 2, .line = 1,
                       .style = SVG_LINE_DASHED}};
    SvgPlot p = {.id = "t1", .title = "Title <script>", .x_label = "phase", .y_label = "R@1 (%)", .x_integer = 1};
    StrBuf sb;
    strbuf_init(&sb);
    SvgBox area;
    EXPECT(svg_xy_plot(&sb, &p, s, 2, &area) == MODX_OK, "plot failed: %s", modx_last_error());
    const char *d = sb.data;
    EXPECT(strstr(d, "class=\"plot\" data-plot=\"t1\"") != NULL, "root svg lacks class/data-plot");
    EXPECT(find_nonfinite(d) == NULL, "non-finite text near: %.40s", find_nonfinite(d));
    EXPECT(count_str(d, "class=\"series\"") == 2, "series paths: %zu", count_str(d, "class=\"series\""));
    /* Series a: points 0,1 then 3 then 5 -> three sub-paths in one path; b: one. */
    const char *pa = strstr(d, "class=\"series\" d=\"");
    EXPECT(pa != NULL, "no series path");
    const char *end = strchr(pa + 18, '"');
    size_t moves = 0;
    for (const char *q = pa + 18; q < end; q++) moves += *q == 'M';
    EXPECT(moves == 3, "series a has %zu sub-paths, want 3 (break at NaN and inf)", moves);
    /* Markers: 4 finite of a + 6 of b in the data, plus 2 in the legend. */
    size_t markers = count_str(d, "class=\"marker\"");
    EXPECT(markers == 4 + 6 + 2, "markers %zu, want 12", markers);
    EXPECT(strstr(d, "stroke-dasharray") != NULL, "dashed series not dashed");
    EXPECT(strstr(d, "b&lt;&amp;&gt;") != NULL && strstr(d, "b<&>") == NULL, "legend name not escaped");
    EXPECT(strstr(d, "<script") == NULL && strstr(d, "Title &lt;script&gt;") != NULL, "title not escaped");
    EXPECT(strstr(d, ">phase</text>") && strstr(d, ">R@1 (%)</text>"), "axis titles missing");
    EXPECT(check_balanced(d) == NULL, "unbalanced: %s", check_balanced(d));
    EXPECT(area.w > 100 && area.h > 100 && area.x + area.w <= 640 && area.y + area.h <= 400, "area %g,%g %gx%g",
           area.x, area.y, area.w, area.h);
    strbuf_free(&sb);
}

TEST(report_svg_edge_cases) {
    StrBuf sb;
    strbuf_init(&sb);
    SvgPlot p = {.id = "e", .title = "edge", .x_label = "x", .y_label = "y"};
    /* No series at all, and a series with no points: axes plus "no data". */
    EXPECT(svg_xy_plot(&sb, &p, NULL, 0, NULL) == MODX_OK, "empty plot failed: %s", modx_last_error());
    EXPECT(strstr(sb.data, "no data") && check_balanced(sb.data) == NULL, "empty plot output wrong");
    strbuf_free(&sb);
    double nan1[3] = {NAN, NAN, NAN};
    SvgSeries s = {.name = "n", .y = nan1, .n = 3, .marker = 0, .line = 1};
    EXPECT(svg_xy_plot(&sb, &p, &s, 1, NULL) == MODX_OK, "all-NaN plot failed");
    EXPECT(strstr(sb.data, "no data") && !find_nonfinite(sb.data) && !strstr(sb.data, "class=\"series\"") &&
               count_str(sb.data, "class=\"marker\"") == 1 /* legend only */,
           "all-NaN output wrong");
    strbuf_free(&sb);
    /* A single point: a marker, no line; all-equal values: distinct tick labels. */
    double one = 42;
    s = (SvgSeries){.name = "one", .y = &one, .n = 1, .marker = 1, .line = 1};
    EXPECT(svg_xy_plot(&sb, &p, &s, 1, NULL) == MODX_OK, "single point failed");
    EXPECT(count_str(sb.data, "class=\"marker\"") == 2 && !strstr(sb.data, "class=\"series\"") &&
               !strstr(sb.data, "no data"),
           "single point output wrong");
    strbuf_free(&sb);
    double flat[4] = {7, 7, 7, 7};
    s = (SvgSeries){.name = "flat", .y = flat, .n = 4, .marker = 0, .line = 1};
    EXPECT(svg_xy_plot(&sb, &p, &s, 1, NULL) == MODX_OK, "flat failed");
    EXPECT(strstr(sb.data, "class=\"series\"") && !find_nonfinite(sb.data), "flat series not drawn");
    strbuf_free(&sb);
    /* Fixed ranges: a bad one is an error and writes nothing. */
    SvgPlot bad = p;
    bad.fix_y = 1;
    bad.y_min = 5;
    bad.y_max = 5;
    EXPECT(svg_xy_plot(&sb, &bad, &s, 1, NULL) == MODX_ERR_INVALID && sb.len == 0, "bad fixed range accepted");
    EXPECT(strstr(modx_last_error(), "fixed y range") != NULL, "message: %s", modx_last_error());
    s.y = NULL;
    EXPECT(svg_xy_plot(&sb, &p, &s, 1, NULL) == MODX_ERR_INVALID && sb.len == 0, "NULL y accepted");
    SvgPlot tiny = p;
    tiny.width = 50;
    s.y = flat;
    EXPECT(svg_xy_plot(&sb, &tiny, &s, 1, NULL) == MODX_ERR_INVALID, "tiny plot accepted");
    strbuf_free(&sb);
}

TEST(report_svg_scatter_labels_and_histograms) {
    StrBuf sb;
    strbuf_init(&sb);
    double x[3] = {10, 20, 30}, y[3] = {1, 2, NAN};
    const char *lab[3] = {"p1", NULL, "p3"};
    SvgSeries s = {.name = "pts", .x = x, .y = y, .labels = lab, .n = 3, .marker = 3};
    SvgPlot p = {.id = "sc", .title = "scatter", .x_label = "rotation (degrees)", .y_label = "change (degrees)"};
    EXPECT(svg_xy_plot(&sb, &p, &s, 1, NULL) == MODX_OK, "scatter failed");
    EXPECT(strstr(sb.data, ">p1</text>") && !strstr(sb.data, ">p3</text>"), "labels: p1 drawn, p3 (NaN) skipped");
    EXPECT(count_str(sb.data, "class=\"marker\"") == 2 + 1, "scatter markers %zu", count_str(sb.data, "class=\"marker\""));
    strbuf_free(&sb);

    double edges[5] = {0, 10, 20, 30, 40};
    double c1[4] = {1, 5, NAN, 2}, c2[4] = {0, 3, 4, 1};
    SvgHistSeries hs[2] = {{.name = "a", .counts = c1, .color = 0}, {.name = "b", .counts = c2, .color = 1}};
    SvgPlot hp = {.id = "h", .title = "hist", .x_label = "angle (degrees)", .y_label = "samples (%)"};
    EXPECT(svg_histogram(&sb, &hp, edges, 4, hs, 2, SVG_HIST_GROUPED, NULL) == MODX_OK, "grouped failed");
    EXPECT(count_str(sb.data, "class=\"bar\"") == 7, "grouped bars %zu, want 7 (one NaN bin)",
           count_str(sb.data, "class=\"bar\""));
    EXPECT(!find_nonfinite(sb.data) && check_balanced(sb.data) == NULL, "grouped output bad");
    strbuf_free(&sb);
    EXPECT(svg_histogram(&sb, &hp, edges, 4, hs, 2, SVG_HIST_OVERLAID, NULL) == MODX_OK, "overlaid failed");
    /* a: bins 0-1 and 3 are two runs (NaN splits), b: one run. */
    EXPECT(count_str(sb.data, "class=\"series\"") == 3, "overlaid outlines %zu, want 3",
           count_str(sb.data, "class=\"series\""));
    EXPECT(strstr(sb.data, "fill-opacity") != NULL, "overlaid fill not translucent");
    strbuf_free(&sb);
    double bad_edges[5] = {0, 10, 10, 30, 40};
    EXPECT(svg_histogram(&sb, &hp, bad_edges, 4, hs, 2, SVG_HIST_OVERLAID, NULL) == MODX_ERR_INVALID && sb.len == 0,
           "equal edges accepted");
    EXPECT(strstr(modx_last_error(), "edge 2") != NULL, "message: %s", modx_last_error());
    EXPECT(svg_histogram(&sb, &hp, edges, 0, hs, 2, SVG_HIST_OVERLAID, NULL) == MODX_ERR_INVALID, "0 bins accepted");
    strbuf_free(&sb);
}

TEST(report_svg_palette) {
    for (int i = 0; i < SVG_PALETTE_SIZE; i++) {
        const char *c = svg_color(i);
        EXPECT(strlen(c) == 7 && c[0] == '#', "colour %d = %s", i, c);
        unsigned r, g, b;
        EXPECT(sscanf(c + 1, "%2x%2x%2x", &r, &g, &b) == 3, "colour %d unparsable", i);
        unsigned mx = r > g ? (r > b ? r : b) : (g > b ? g : b), mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
        /* Chromatic (so the screenshot check can tell data from grey axes) and not too light on white. */
        EXPECT(mx - mn > 60, "colour %d (%s) is too grey", i, c);
        EXPECT(0.299 * r + 0.587 * g + 0.114 * b < 200, "colour %d (%s) is too light on white", i, c);
        for (int j = 0; j < i; j++) EXPECT(strcmp(c, svg_color(j)), "colours %d and %d equal", i, j);
    }
    EXPECT(!strcmp(svg_color(-1), svg_color(SVG_PALETTE_SIZE - 1)) && !strcmp(svg_color(SVG_PALETTE_SIZE), svg_color(0)),
           "palette does not wrap");
}

/* ---- the report ---- */

TEST(report_demo_document_is_complete) {
    ReportDemo *d = malloc(sizeof *d);
    EXPECT(d != NULL, "oom");
    report_demo_fill(d);
    StrBuf sb;
    strbuf_init(&sb);
    ReportLayout lay;
    ModxStatus st = report_render(&d->report, &sb, &lay);
    free(d);
    EXPECT(st == MODX_OK, "render failed: %s", modx_last_error());
    const char *doc = sb.data;
    EXPECT(!strncmp(doc, "<!DOCTYPE html>", 15), "no doctype");
    EXPECT(check_balanced(doc) == NULL, "unbalanced: %s", check_balanced(doc));
    EXPECT(find_nonfinite(doc) == NULL, "non-finite text near: %.40s", find_nonfinite(doc));
    /* Self-contained: no scripts, no external references. */
    EXPECT(!strstr(doc, "<script") && !strstr(doc, "src=") && !strstr(doc, "href=") && !strstr(doc, "url(http") &&
               !strstr(doc, "@import"),
           "external reference or script found");
    EXPECT(count_str(doc, "http") == count_str(doc, "xmlns=\"http://www.w3.org/2000/svg\""),
           "a URL other than the SVG namespace");
    /* keep-vs-learn, 6 accuracy matrices, 4 R@1 plots, 2 histograms, 2 topology, 1 inter-modal: all laid out. */
    size_t plots = count_str(doc, "class=\"plot\"");
    EXPECT(plots == 16 && lay.nregions == 16, "plots %zu, regions %zu, want 16", plots, lay.nregions);
    for (size_t i = 0; i < lay.nregions; i++) {
        const ReportRegion *g = &lay.regions[i];
        char attr[96];
        snprintf(attr, sizeof attr, "data-plot=\"%s\"", g->id);
        EXPECT(count_str(doc, attr) == 1, "plot %s appears %zu times", g->id, count_str(doc, attr));
        EXPECT(g->x >= 0 && g->y >= 0 && g->w > 200 && g->h > 200 && g->x + g->w <= lay.page_w &&
                   g->y + g->h <= lay.page_h,
               "region %s %d,%d %dx%d outside the %dx%d page", g->id, g->x, g->y, g->w, g->h, lay.page_w, lay.page_h);
        for (size_t j = 0; j < i; j++) {
            const ReportRegion *o = &lay.regions[j];
            int overlap = g->x < o->x + o->w && o->x < g->x + g->w && g->y < o->y + o->h && o->y < g->y + g->h;
            EXPECT(!overlap, "regions %s and %s overlap", g->id, o->id);
        }
    }
    const char *ids[] = {"r1-0", "r1-3", "hist-0", "hist-1", "topo-0", "topo-1", "intermodal"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char attr[64];
        snprintf(attr, sizeof attr, "data-plot=\"%s\"", ids[i]);
        const char *svg = strstr(doc, attr);
        EXPECT(svg != NULL, "plot %s missing", ids[i]);
        const char *end = strstr(svg, "</svg>");
        size_t data_paths = 0;
        for (const char *q = strstr(svg, "class=\"series\""); q && q < end; q = strstr(q + 1, "class=\"series\""))
            data_paths++;
        EXPECT(data_paths >= 6, "plot %s has %zu data paths, want one per strategy or more", ids[i], data_paths);
        EXPECT(!strstr(svg, "no data") || strstr(svg, "no data") > end, "plot %s says no data", ids[i]);
    }
    /* Axis titles with units. */
    EXPECT(strstr(doc, ">R@1 (%)</text>") && strstr(doc, "rotation angle \xCE\xB8 (degrees)") &&
               strstr(doc, ">relative rotation (degrees)</text>") && strstr(doc, "phase (evaluated after training it)"),
           "axis titles with units missing");
    /* The same strategy has the same colour in every plot: Mod-X (index 4) in its legend entries. */
    size_t modx_entries = count_str(doc, "<title>Mod-X</title>");
    EXPECT(modx_entries == 10, "Mod-X legend entries %zu, want 10 (9 plots with legends + the keep-vs-learn plot)",
           modx_entries);
    const char *q = doc;
    for (size_t k = 0; k < modx_entries; k++) {
        q = strstr(q, "<title>Mod-X</title>") + 1;
        const char *close = strstr(q, "</g>");
        const char *col = strstr(q, svg_color(4));
        EXPECT(col && col < close, "Mod-X legend entry %zu not in colour %s", k, svg_color(4));
    }
    report_layout_free(&lay);
    strbuf_free(&sb);
}

/* Values of the <td> cells in the row that starts with `strategy` in the
 * trade-off table (dashes become NaN). Returns the number of cells read. */
static int tradeoff_row(const char *doc, const char *strategy, double *vals, int cap) {
    const char *t = strstr(doc, "Trade-off at each");
    if (!t) return -1;
    const char *tend = strstr(t, "</table>");
    char key[128];
    snprintf(key, sizeof key, "</span>%s</td>", strategy);
    const char *row = strstr(t, key);
    if (!row || row > tend) return -1;
    const char *rend = strstr(row, "</tr>");
    int n = 0;
    for (const char *c = strstr(row + strlen(key), "<td"); c && c < rend && n < cap; c = strstr(c + 1, "<td")) {
        const char *v = strchr(c, '>') + 1;
        vals[n++] = !strncmp(v, "\xE2\x80\x93", 3) ? NAN : strtod(v, NULL);
    }
    return n;
}

TEST(report_tradeoff_columns) {
    const char *strategies[2] = {"alpha", "beta"};
    ReportTestSet sets[3] = {{"A", REPORT_SET_DOMAIN, 0}, {"B", REPORT_SET_DOMAIN, 1}, {"H", REPORT_SET_HELDOUT, 0}};
    ReportResult res[64];
    size_t n = 0;
    /* alpha: phases 0..2; beta: phases 0..1 only. value = 10*set + phase + 0.5*dir + 100*strategy. */
    for (int s = 0; s < 2; s++)
        for (int p = 0; p <= (s == 0 ? 2 : 1); p++)
            for (int t = 0; t < 3; t++)
                for (int dir = 0; dir < 2; dir++)
                    res[n++] = (ReportResult){strategies[s], p, sets[t].name,
                                              dir ? REPORT_METRIC_T2I_R1 : REPORT_METRIC_I2T_R1,
                                              10.0 * t + p + 0.5 * dir + 100.0 * s};
    res[n++] = (ReportResult){"alpha", 2, "A", "rsum", 123.25};
    Report r = {.title = "t", .strategies = strategies, .nstrategies = 2, .test_sets = sets, .ntest_sets = 3,
                .results = res, .nresults = n};
    StrBuf sb;
    strbuf_init(&sb);
    EXPECT(report_render(&r, &sb, NULL) == MODX_OK, "render failed: %s", modx_last_error());
    double v[16];
    /* alpha at its final phase 2: phase, A (earliest), B (latest trained), mean(A,B), H; each I->T, T->I. */
    int k = tradeoff_row(sb.data, "alpha", v, 16);
    double want_a[9] = {2, 2, 2.5, 12, 12.5, 7, 7.5, 22, 22.5};
    EXPECT(k == 9, "alpha row has %d cells, want 9", k);
    for (int i = 0; i < 9; i++) EXPECT(fabs(v[i] - want_a[i]) < 1e-9, "alpha cell %d = %g, want %g", i, v[i], want_a[i]);
    k = tradeoff_row(sb.data, "beta", v, 16);
    double want_b[9] = {1, 101, 101.5, 111, 111.5, 106, 106.5, 121, 121.5};
    EXPECT(k == 9, "beta row has %d cells", k);
    for (int i = 0; i < 9; i++) EXPECT(fabs(v[i] - want_b[i]) < 1e-9, "beta cell %d = %g, want %g", i, v[i], want_b[i]);
    EXPECT(strstr(sb.data, "Earliest domain: A") && strstr(sb.data, "Latest trained domain: B"), "group headers");
    EXPECT(!strstr(sb.data, "Training sample (fit)"), "train-sample column shown without such a set");
    /* The full table carries the other metric; missing cells are dashes. */
    EXPECT(strstr(sb.data, "<th class=\"num\">rsum</th>") && strstr(sb.data, ">123.25<"), "full table lacks rsum");
    EXPECT(check_balanced(sb.data) == NULL, "unbalanced: %s", check_balanced(sb.data));
    strbuf_free(&sb);

    /* A strategy whose final phase is 0: its latest trained domain is A. */
    Report r0 = r;
    r0.nresults = 6; /* alpha, phase 0 only */
    EXPECT(report_render(&r0, &sb, NULL) == MODX_OK, "render failed");
    k = tradeoff_row(sb.data, "alpha", v, 16);
    EXPECT(k == 9 && v[0] == 0 && v[1] == 0 && v[3] == 0 && v[5] == 5, "phase-0 row: %g %g %g %g", v[0], v[1], v[3], v[5]);
    EXPECT(tradeoff_row(sb.data, "beta", v, 16) == 9 && isnan(v[0]) && isnan(v[1]), "beta without results not dashes");
    strbuf_free(&sb);
}

TEST(report_rejects_bad_input) {
    const char *strategies[2] = {"alpha", "beta"};
    ReportTestSet sets[1] = {{"A", REPORT_SET_DOMAIN, 0}};
    ReportResult res[2] = {{"alpha", 0, "A", REPORT_METRIC_I2T_R1, 1}, {"gamma", 0, "A", REPORT_METRIC_I2T_R1, 1}};
    Report r = {.strategies = strategies, .nstrategies = 2, .test_sets = sets, .ntest_sets = 1, .results = res,
                .nresults = 2};
    StrBuf sb;
    strbuf_init(&sb);
    EXPECT(report_render(&r, &sb, NULL) == MODX_ERR_INVALID && sb.len == 0, "unknown strategy accepted");
    EXPECT(strstr(modx_last_error(), "result 1") && strstr(modx_last_error(), "'gamma'"), "message: %s",
           modx_last_error());
    res[1] = res[0];
    EXPECT(report_render(&r, &sb, NULL) == MODX_ERR_INVALID && strstr(modx_last_error(), "appears twice"),
           "duplicate accepted: %s", modx_last_error());
    res[1] = (ReportResult){"beta", -1, "A", REPORT_METRIC_I2T_R1, 1};
    EXPECT(report_render(&r, &sb, NULL) == MODX_ERR_INVALID && strstr(modx_last_error(), "phase -1"),
           "negative phase accepted: %s", modx_last_error());
    res[1] = (ReportResult){"beta", 0, "Z", REPORT_METRIC_I2T_R1, 1};
    EXPECT(report_render(&r, &sb, NULL) == MODX_ERR_INVALID && strstr(modx_last_error(), "'Z'"),
           "unknown test set accepted: %s", modx_last_error());
    r.nresults = 1;
    double e1[3] = {0, 1, 2}, e2[3] = {0, 1, 3}, c[2] = {1, 1};
    ReportRotationHist h[2] = {{"alpha", "vision", "0-1", e1, c, 2}, {"beta", "vision", "0-1", e2, c, 2}};
    r.hists = h;
    r.nhists = 2;
    EXPECT(report_render(&r, &sb, NULL) == MODX_ERR_INVALID && strstr(modx_last_error(), "other bin edges"),
           "mismatched edges accepted: %s", modx_last_error());
    r.nhists = 0;
    const char *dup[2] = {"alpha", "alpha"};
    r.strategies = dup;
    EXPECT(report_render(&r, &sb, NULL) == MODX_ERR_INVALID && strstr(modx_last_error(), "listed twice"),
           "duplicate strategy accepted: %s", modx_last_error());
    /* An empty report is still a valid document. */
    Report empty = {0};
    EXPECT(report_render(&empty, &sb, NULL) == MODX_OK && check_balanced(sb.data) == NULL, "empty report failed");
    strbuf_free(&sb);
}

TEST(report_write_atomic_and_regions) {
    ReportDemo *d = malloc(sizeof *d);
    EXPECT(d != NULL, "oom");
    report_demo_fill(d);
    char html[512], reg[512];
    snprintf(html, sizeof html, "%s/report.html", harness_tmpdir());
    snprintf(reg, sizeof reg, "%s/report.regions", harness_tmpdir());
    ModxStatus st = report_write(&d->report, html, reg);
    StrBuf sb;
    strbuf_init(&sb);
    ReportLayout want, got;
    if (st == MODX_OK) st = report_render(&d->report, &sb, &want);
    free(d);
    EXPECT(st == MODX_OK, "write failed: %s", modx_last_error());
    FILE *f = fopen(html, "rb");
    EXPECT(f != NULL, "no %s", html);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    EXPECT(size == (long)sb.len, "file has %ld bytes, render gives %zu", size, sb.len);
    DIR *dir = opendir(harness_tmpdir());
    struct dirent *de;
    int leftovers = 0;
    while ((de = readdir(dir)) != NULL) leftovers += strstr(de->d_name, ".tmp") != NULL;
    closedir(dir);
    EXPECT(leftovers == 0, "%d temporary files left behind", leftovers);
    EXPECT(report_regions_read(reg, &got) == MODX_OK, "regions read failed: %s", modx_last_error());
    EXPECT(got.page_w == want.page_w && got.page_h == want.page_h && got.nregions == want.nregions,
           "page %dx%d n %zu vs %dx%d n %zu", got.page_w, got.page_h, got.nregions, want.page_w, want.page_h,
           want.nregions);
    for (size_t i = 0; i < got.nregions; i++)
        EXPECT(!memcmp(&got.regions[i], &want.regions[i], sizeof got.regions[i]), "region %zu differs", i);
    report_layout_free(&got);
    report_layout_free(&want);
    strbuf_free(&sb);
    /* Writing into a missing directory fails with the path in the message. */
    Report empty = {0};
    EXPECT(report_write(&empty, "/nonexistent-dir/x.html", NULL) == MODX_ERR_IO &&
               strstr(modx_last_error(), "/nonexistent-dir/x.html"),
           "message: %s", modx_last_error());
    /* Malformed regions files. */
    const char *bad[] = {"plot a 1 2 3 4\n", "page 10 10\nplot a 1 2 -3 4\n", "page 10 10\nbox 1 2 3 4\n",
                         "page 10 10\nplot a 1 2 3 4 5\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f = fopen(reg, "wb");
        fputs(bad[i], f);
        fclose(f);
        EXPECT(report_regions_read(reg, &got) == MODX_ERR_FORMAT, "bad regions case %zu accepted", i);
        EXPECT(got.regions == NULL, "case %zu leaked regions", i);
    }
}

/* Writes a w x h RGBA image to a PNG file with libspng. */
static int write_png(const char *path, const uint8_t *rgba, uint32_t w, uint32_t h) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {.width = w, .height = h, .bit_depth = 8, .color_type = SPNG_COLOR_TYPE_TRUECOLOR_ALPHA};
    int ok = ctx && !spng_set_png_file(ctx, f) && !spng_set_ihdr(ctx, &ihdr) &&
             !spng_encode_image(ctx, rgba, (size_t)w * h * 4, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    spng_ctx_free(ctx);
    fclose(f);
    return ok;
}

TEST(report_png_region_checks) {
    enum { W = 60, H = 40 };
    uint8_t *px = malloc(W * H * 4);
    EXPECT(px != NULL, "oom");
    memset(px, 255, W * H * 4);
    /* A grey frame around the box (10,10)-(49,29) at distance 2, a red 3x3 block and a grey pixel inside. */
    for (int x = 8; x <= 51; x++)
        for (int c = 0; c < 3; c++) px[(8 * W + x) * 4 + c] = px[(31 * W + x) * 4 + c] = 136;
    for (int y = 8; y <= 31; y++)
        for (int c = 0; c < 3; c++) px[(y * W + 8) * 4 + c] = px[(y * W + 51) * 4 + c] = 136;
    for (int y = 15; y < 18; y++)
        for (int x = 20; x < 23; x++) {
            px[(y * W + x) * 4 + 0] = 213;
            px[(y * W + x) * 4 + 1] = 94;
            px[(y * W + x) * 4 + 2] = 0;
        }
    for (int c = 0; c < 3; c++) px[(20 * W + 40) * 4 + c] = 100;
    char path[512];
    snprintf(path, sizeof path, "%s/t.png", harness_tmpdir());
    int wrote = write_png(path, px, W, H);
    free(px);
    EXPECT(wrote, "could not write the test PNG");
    ReportImage img;
    EXPECT(report_png_load(path, &img) == MODX_OK, "load failed: %s", modx_last_error());
    EXPECT(img.w == W && img.h == H, "size %ux%u", img.w, img.h);
    ReportRegionStats st;
    EXPECT(report_image_region_stats(&img, 10, 10, 40, 20, &st) == MODX_OK, "stats failed: %s", modx_last_error());
    EXPECT(st.pixels == 800 && st.chromatic == 9 && st.nonbackground == 10 && st.distinct == 3,
           "pixels %zu chromatic %zu non-white %zu distinct %zu", st.pixels, st.chromatic, st.nonbackground,
           st.distinct);
    EXPECT(report_image_frame_sides(&img, 10, 10, 40, 20) == 4, "frame sides %d, want 4",
           report_image_frame_sides(&img, 10, 10, 40, 20));
    EXPECT(report_image_frame_sides(&img, 14, 10, 40, 20) < 4, "shifted box still finds the whole frame");
    /* A white area: blank. */
    EXPECT(report_image_region_stats(&img, 53, 0, 7, 40, &st) == MODX_OK && st.nonbackground == 0 &&
               st.chromatic == 0 && st.distinct == 1,
           "blank area not blank");
    EXPECT(report_image_region_stats(&img, 50, 30, 20, 20, &st) == MODX_ERR_INVALID &&
               strstr(modx_last_error(), "60x40"),
           "box outside accepted: %s", modx_last_error());
    report_image_free(&img);
    /* Truncated and non-PNG files are format errors. */
    FILE *f = fopen(path, "r+b");
    EXPECT(f != NULL, "reopen");
    EXPECT(ftruncate(fileno(f), 60) == 0, "truncate");
    fclose(f);
    EXPECT(report_png_region_stats(path, 0, 0, 1, 1, &st) == MODX_ERR_FORMAT, "truncated PNG accepted");
    f = fopen(path, "wb");
    fputs("not a png at all", f);
    fclose(f);
    EXPECT(report_png_load(path, &img) == MODX_ERR_FORMAT && strstr(modx_last_error(), path), "text accepted: %s",
           modx_last_error());
}

/* The continual-learning part of the demo report: the figures table (with ± sd),
 * the keep-vs-learn scatter with one point and two capped bars per strategy, and
 * one heat map per strategy with a labelled cell per matrix entry. */
TEST(report_cl_figures_scatter_and_matrices) {
    ReportDemo *d = malloc(sizeof *d);
    EXPECT(d != NULL, "oom");
    report_demo_fill(d);
    StrBuf sb;
    strbuf_init(&sb);
    ModxStatus st = report_render(&d->report, &sb, NULL);
    const char *doc = sb.data;
    EXPECT(st == MODX_OK, "render failed: %s", modx_last_error());
    const char *t = strstr(doc, "Continual-learning figures");
    EXPECT(t && strstr(t, "</table>"), "no figures table");
    const char *row = strstr(t, "</span>Mod-X</td>");
    EXPECT(row && row < strstr(t, "</table>"), "no Mod-X row in the figures table");
    char want[64];
    snprintf(want, sizeof want, "%.2f \xC2\xB1 %.2f", d->cl[4].fig[REPORT_CL_KEPT], d->cl_sd[4][REPORT_CL_KEPT]);
    EXPECT(strstr(row, want) && strstr(row, want) < strstr(row, "</tr>"), "Mod-X kept %% '%s' not in its row", want);
    const char *sc = strstr(doc, "data-plot=\"keep-learn\"");
    EXPECT(sc != NULL, "no keep-vs-learn plot");
    const char *send = strstr(sc, "</svg>");
    size_t bars = 0, lines = 0;
    for (const char *q = strstr(sc, "class=\"error-bars\""); q && q < send; q = strstr(q + 1, "class=\"error-bars\"")) {
        bars++;
        const char *gend = strstr(q, "</g>");
        for (const char *l = strstr(q, "<line"); l && l < gend; l = strstr(l + 1, "<line")) lines++;
    }
    EXPECT(bars == REPORT_DEMO_STRATEGIES && lines == 6 * REPORT_DEMO_STRATEGIES,
           "error bars: %zu groups with %zu lines, want %d groups of 6 (two bars, four caps)", bars, lines,
           REPORT_DEMO_STRATEGIES);
    for (int s = 0; s < REPORT_DEMO_STRATEGIES; s++) {
        char id[64];
        snprintf(id, sizeof id, "data-plot=\"matrix-%d\"", s);
        const char *hm = strstr(doc, id);
        EXPECT(hm != NULL, "no heat map %s", id);
        const char *hend = strstr(hm, "</svg>");
        size_t cells = 0;
        for (const char *q = strstr(hm, "class=\"heat-cell\""); q && q < hend; q = strstr(q + 1, "class=\"heat-cell\""))
            cells++;
        EXPECT(cells == REPORT_DEMO_PHASES * 2, "%s: %zu cells, want %d", id, cells, REPORT_DEMO_PHASES * 2);
    }
    free(d);
    strbuf_free(&sb);
}

TEST(report_svg_heatmap_cells_colours_and_refusals) {
    const double v[6] = {0, 50, NAN, 100, 25, 75};
    const char *rows[2] = {"first", "second"}, *cols[3] = {"a", "b<c", "d"};
    SvgHeatmap hm = {.rows = 2, .cols = 3, .values = v, .row_labels = rows, .col_labels = cols, .vmin = 0,
                     .vmax = 100, .decimals = 1};
    SvgPlot p = {.id = "hm", .title = "matrix", .x_label = "test set", .y_label = "phase"};
    StrBuf sb;
    strbuf_init(&sb);
    SvgBox area;
    EXPECT(svg_heatmap(&sb, &p, &hm, &area) == MODX_OK, "%s", modx_last_error());
    const char *doc = strbuf_cstr(&sb);
    EXPECT(count_str(doc, "class=\"heat-cell\"") == 6, "cells: %zu", count_str(doc, "class=\"heat-cell\""));
    /* the scale ends: 0 -> the darkest colour, 100 -> yellow; the missing cell grey with a dash */
    EXPECT(strstr(doc, "fill=\"#440154\"") && strstr(doc, "fill=\"#fde725\"") && strstr(doc, "fill=\"#f4f4f4\""),
           "scale ends or the missing cell's grey not found");
    EXPECT(strstr(doc, ">\xE2\x80\x93</text>") && strstr(doc, ">75</text>") && strstr(doc, ">b&lt;c</text>"),
           "a cell label, the dash or an escaped column label is missing");
    EXPECT(check_balanced(doc) == NULL && find_nonfinite(doc) == NULL, "malformed heat map");
    EXPECT(area.w > 100 && area.h > 100, "area %gx%g", area.w, area.h);
    size_t len = sb.len;
    hm.rows = 0;
    EXPECT(svg_heatmap(&sb, &p, &hm, NULL) == MODX_ERR_INVALID, "0 rows accepted");
    hm.rows = 2;
    hm.values = NULL;
    EXPECT(svg_heatmap(&sb, &p, &hm, NULL) == MODX_ERR_INVALID, "NULL values accepted");
    EXPECT(sb.len == len, "a refused heat map wrote %zu bytes", sb.len - len);
    strbuf_free(&sb);
}

TEST(report_svg_error_bars_widen_the_range) {
    const double x[2] = {1, 2}, y[2] = {10, 20}, ey[2] = {30, NAN};
    SvgSeries s = {.name = "a", .x = x, .y = y, .n = 2, .marker = 0, .y_err = ey};
    SvgPlot p = {.id = "eb", .title = "bars"};
    StrBuf sb;
    strbuf_init(&sb);
    EXPECT(svg_xy_plot(&sb, &p, &s, 1, NULL) == MODX_OK, "%s", modx_last_error());
    const char *doc = strbuf_cstr(&sb);
    const char *g = strstr(doc, "class=\"error-bars\"");
    EXPECT(g != NULL, "no error bars");
    size_t lines = 0;
    for (const char *l = strstr(g, "<line"); l && l < strstr(g, "</g>"); l = strstr(l + 1, "<line")) lines++;
    EXPECT(lines == 3, "%zu lines, want one bar and two caps (the NaN half-width draws none)", lines);
    /* 10 - 30 = -20 must be on the axis: a tick label at or below -20 */
    EXPECT(strstr(doc, ">-20</text>") || strstr(doc, ">-25</text>") || strstr(doc, ">-30</text>"),
           "the y axis does not reach the bar's end at -20");
    strbuf_free(&sb);
}

static int b64_value(char ch) {
    const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = strchr(t, ch);
    return ch && p ? (int)(p - t) : -1;
}

/* A thumbnail data URI decodes (base64, then PNG) back to the same pixels. */
TEST(report_gallery_png_uri_round_trip) {
    uint8_t rgb[3 * 3 * 3];
    for (size_t i = 0; i < sizeof rgb; i++) rgb[i] = (uint8_t)(i * 37 + 11);
    char *uri = NULL;
    EXPECT(gallery_png_uri(rgb, 3, &uri) == MODX_OK, "%s", modx_last_error());
    EXPECT(!strncmp(uri, "data:image/png;base64,", 22), "prefix: %.30s", uri);
    const char *b = uri + 22;
    size_t n = strlen(b);
    EXPECT(n % 4 == 0, "base64 length %zu", n);
    uint8_t *png = malloc(n);
    size_t m = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) v[k] = b[i + k] == '=' ? 0 : b64_value(b[i + k]);
        EXPECT(v[0] >= 0 && v[1] >= 0 && v[2] >= 0 && v[3] >= 0, "bad base64 at %zu", i);
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        png[m++] = (uint8_t)(w >> 16);
        if (b[i + 2] != '=') png[m++] = (uint8_t)(w >> 8);
        if (b[i + 3] != '=') png[m++] = (uint8_t)w;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/thumb.png", harness_tmpdir());
    FILE *f = fopen(path, "wb");
    EXPECT(f && fwrite(png, 1, m, f) == m, "cannot write %s", path);
    fclose(f);
    free(png);
    free(uri);
    ReportImage img;
    EXPECT(report_png_load(path, &img) == MODX_OK, "%s", modx_last_error());
    int same = img.w == 3 && img.h == 3;
    for (size_t p = 0; same && p < 9; p++)
        same = !memcmp(img.rgba + 4 * p, rgb + 3 * p, 3) && img.rgba[4 * p + 3] == 255;
    report_image_free(&img);
    EXPECT(same, "decoded thumbnail differs from the pixels encoded");
}

/* A gallery renders as one framed block (region "gallery") with every thumbnail and the hits outlined. */
TEST(report_gallery_block_and_region) {
    ReportDemo *d = malloc(sizeof *d);
    EXPECT(d != NULL, "oom");
    report_demo_fill(d);
    uint8_t rgb[4 * 4 * 3];
    memset(rgb, 200, sizeof rgb);
    char *uri = NULL;
    EXPECT(gallery_png_uri(rgb, 4, &uri) == MODX_OK, "%s", modx_last_error());
    const char *caps[2] = {"a red <thing>", "a blue thing"}, *models[2] = {"phase 0", "finetune"};
    const char *thumbs[2 * 2 * REPORT_GALLERY_TOP];
    uint8_t hit[2 * 2 * REPORT_GALLERY_TOP] = {0};
    for (size_t i = 0; i < sizeof thumbs / sizeof thumbs[0]; i++) thumbs[i] = uri;
    thumbs[3] = NULL; /* a test set with fewer images: the cell stays empty */
    hit[0] = hit[7] = 1;
    ReportGallery g = {.title = "red", .ncaptions = 2, .nmodels = 2, .captions = caps, .models = models,
                       .thumbs = thumbs, .hit = hit};
    d->report.gallery = &g;
    StrBuf sb;
    strbuf_init(&sb);
    ReportLayout lay;
    ModxStatus st = report_render(&d->report, &sb, &lay);
    free(d);
    EXPECT(st == MODX_OK, "%s", modx_last_error());
    const char *doc = strbuf_cstr(&sb);
    EXPECT(count_str(doc, "src=\"data:image/png;base64,") == 19, "thumbnails: %zu, want 19",
           count_str(doc, "src=\"data:image/png;base64,"));
    EXPECT(count_str(doc, "<img class=\"hit\"") == 2, "hits: %zu", count_str(doc, "<img class=\"hit\""));
    EXPECT(strstr(doc, "a red &lt;thing&gt;") != NULL, "caption not escaped");
    int found = 0;
    for (size_t i = 0; i < lay.nregions; i++) found |= !strcmp(lay.regions[i].id, "gallery");
    EXPECT(found && lay.nregions == 17, "regions %zu, gallery %s", lay.nregions, found ? "found" : "missing");
    report_layout_free(&lay);
    strbuf_free(&sb);
    free(uri);
}
