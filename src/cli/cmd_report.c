/* modx report: the run report (one self-contained HTML file).
 *
 *   modx report RUN_DIR [--out FILE] [--regions FILE]
 *       Writes RUN_DIR/report.html from RUN_DIR/run.json, RUN_DIR/metrics.jsonl
 *       and RUN_DIR/analysis.json (see src/report/run_report.h and
 *       docs/run-directory.md), and RUN_DIR/summary.json + summary.md (the
 *       continual-learning figures, docs/metrics.md).
 *   modx report --demo-data OUT.html [--regions FILE]
 *       (development) a report from built-in synthetic data covering every plot.
 *   modx report --check-png PNG --regions FILE [--min-pixels N]
 *       (development) checks that every plot's data area in a screenshot of
 *       the report has at least N coloured pixels; exit 1 when one is blank. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/error.h"
#include "io/file.h"
#include "report/demo.h"
#include "report/report.h"
#include "report/run_report.h"

static const char *const report_inputs[] = {"run.json        strategies, phases, test sets, status",
                                            "metrics.jsonl   \"eval\" lines: the results",
                                            "analysis.json   rotation, topology, relative rotation (modx analyze RUN_DIR)",
                                            "experiment.json (optional) settings shown in the summary"};

static void report_usage(FILE *f) {
    fprintf(f,
            "usage: modx report RUN_DIR [--out FILE] [--regions FILE]\n"
            "       modx report --demo-data OUT.html [--regions FILE]\n"
            "       modx report --check-png PNG --regions FILE [--min-pixels N]\n\n"
            "Writes RUN_DIR/report.html (or FILE): one self-contained HTML file with inline SVG plots\n"
            "(experiment summary, results and trade-off tables, R@1 per phase, rotation histograms,\n"
            "topology change vs rotation, inter-modal relative rotation). No scripts, no external files.\n"
            "Also writes RUN_DIR/summary.json and RUN_DIR/summary.md: the accuracy matrix and the continual-learning\n"
            "figures of every strategy (docs/metrics.md).\n\n"
            "Inputs read from RUN_DIR (docs/run-directory.md):\n");
    for (size_t i = 0; i < sizeof report_inputs / sizeof report_inputs[0]; i++)
        fprintf(f, "  RUN_DIR/%s\n", report_inputs[i]);
    fprintf(f,
            "\noptions:\n"
            "  --out FILE         write the report here instead of RUN_DIR/report.html\n"
            "  --demo-data FILE   (development) write a report from built-in synthetic data\n"
            "  --regions FILE     with RUN_DIR or --demo-data: also write each plot's data-area box (page pixels);\n"
            "                     with --check-png: the boxes to check\n"
            "  --check-png PNG    (development) check a screenshot of the report: every plot box must\n"
            "                     hold at least N coloured pixels (--min-pixels) and sit on\n"
            "                     the plot's frame (the page layout held)\n"
            "  --min-pixels N     with --check-png: coloured pixels each plot box needs (default 400)\n");
}

static int report_check_png_cmd(const char *png, const char *regions, long min_pixels) {
    ReportLayout layout;
    if (report_regions_read(regions, &layout) != MODX_OK) return cli_report_error("report");
    ReportImage img;
    if (report_png_load(png, &img) != MODX_OK) {
        report_layout_free(&layout);
        return cli_report_error("report");
    }
    int bad = 0;
    if ((int)img.w < layout.page_w || (int)img.h < layout.page_h) {
        fprintf(stderr, "modx report: %s is %ux%u, smaller than the page area %dx%d in %s\n", png, img.w, img.h,
                layout.page_w, layout.page_h, regions);
        bad = 1;
    }
    if (layout.nregions == 0) {
        fprintf(stderr, "modx report: %s lists no plots\n", regions);
        bad = 1;
    }
    int size_bad = bad;
    for (size_t i = 0; i < layout.nregions && !size_bad; i++) {
        const ReportRegion *g = &layout.regions[i];
        ReportRegionStats st;
        if (report_image_region_stats(&img, g->x, g->y, g->w, g->h, &st) != MODX_OK) {
            fprintf(stderr, "modx report: plot %s: %s\n", g->id, modx_last_error());
            bad = 1;
            continue;
        }
        int sides = report_image_frame_sides(&img, g->x, g->y, g->w, g->h);
        int ok = st.chromatic >= (size_t)min_pixels && st.distinct >= 3;
        printf("%-5s %-12s box %4d,%-5d %3dx%-3d  non-white %6zu  coloured %6zu  colours %4zu  frame sides %d\n",
               !ok ? "BLANK" : sides < 4 ? "SHIFT" : "ok", g->id, g->x, g->y, g->w, g->h, st.nonbackground,
               st.chromatic, st.distinct, sides);
        if (ok && sides < 4) {
            fprintf(stderr, "modx report: plot %s: the box is not on the plot frame in %s (%d of 4 sides found): the "
                            "page layout differs from the one in %s\n", g->id, png, sides, regions);
            bad = 1;
        }
        if (!ok) {
            fprintf(stderr, "modx report: plot %s looks blank in %s: %zu coloured pixels (need %ld), %zu colours\n",
                    g->id, png, st.chromatic, min_pixels, st.distinct);
            bad = 1;
        }
    }
    if (!bad) printf("%zu plots rendered\n", layout.nregions);
    report_image_free(&img);
    report_layout_free(&layout);
    return bad ? 1 : 0;
}

static int report_run_dir(const char *dir, const char *out, const char *regions) {
    if (!io_dir_exists(dir)) {
        fprintf(stderr, "modx report: %s: not a directory (expected a run directory)\n", dir);
        return 1;
    }
    char path[4096];
    if (!out) {
        if (snprintf(path, sizeof path, "%s/report.html", dir) >= (int)sizeof path) {
            fprintf(stderr, "modx report: %s: path too long\n", dir);
            return 1;
        }
        out = path;
    }
    if (report_run_write(dir, out, regions) != MODX_OK) return cli_report_error("report");
    printf("wrote %s\n", out);
    return 0;
}

MODX_COMMAND(report, "report", "write a run's report as one self-contained HTML file") {
    if (cli_wants_help(argc, argv)) {
        report_usage(stdout);
        return 0;
    }
    CliOpt opts[] = {{"--out", 1, NULL}, {"--demo-data", 1, NULL}, {"--regions", 1, NULL}, {"--check-png", 1, NULL},
                     {"--min-pixels", 1, NULL}};
    const char *pos[2];
    int npos = 0;
    if (cli_parse(argc, argv, opts, 5, pos, 1, &npos)) return 2;
    const char *out = opts[0].value, *demo = opts[1].value, *regions = opts[2].value, *png = opts[3].value;
    long min_pixels = 400;
    if (opts[4].value && cli_int("report", "--min-pixels", opts[4].value, 1, 100000000, &min_pixels)) return 2;
    int modes = (npos > 0) + (demo != NULL) + (png != NULL);
    if (modes != 1) {
        fprintf(stderr, "modx report: give exactly one of RUN_DIR, --demo-data FILE or --check-png PNG\n");
        report_usage(stderr);
        return 2;
    }
    if (png) {
        if (!regions) {
            fprintf(stderr, "modx report: --check-png needs --regions FILE\n");
            return 2;
        }
        return report_check_png_cmd(png, regions, min_pixels);
    }
    if (demo) {
        if (out) {
            fprintf(stderr, "modx report: --out goes with RUN_DIR; --demo-data takes the output file itself\n");
            return 2;
        }
        ReportDemo *d = malloc(sizeof *d);
        if (!d) {
            fprintf(stderr, "modx report: out of memory\n");
            return 1;
        }
        report_demo_fill(d);
        ModxStatus st = report_write(&d->report, demo, regions);
        free(d);
        if (st != MODX_OK) return cli_report_error("report");
        printf("wrote %s%s%s\n", demo, regions ? " and " : "", regions ? regions : "");
        return 0;
    }
    return report_run_dir(pos[0], out, regions);
}
