/* Built-in synthetic report data covering every section and plot type, for
 * `modx report --demo-data` and the report's screenshot test. The numbers are
 * made up (shaped like a continual CLIP run: fine-tuning forgets the first
 * domain and rotates far, Mod-X keeps more and rotates less); they describe no
 * real experiment, and the summary says so. */
#ifndef MODX_REPORT_DEMO_H
#define MODX_REPORT_DEMO_H

#include "report/report.h"

#define REPORT_DEMO_STRATEGIES 6
#define REPORT_DEMO_PHASES 6
#define REPORT_DEMO_SETS 4
#define REPORT_DEMO_METRICS 7
#define REPORT_DEMO_BINS 30
#define REPORT_DEMO_MODALITIES 2

typedef struct {
    Report report; /* points into the arrays below */
    ReportKV summary[10];
    const char *strategies[REPORT_DEMO_STRATEGIES];
    ReportTestSet sets[REPORT_DEMO_SETS];
    ReportResult results[REPORT_DEMO_STRATEGIES * REPORT_DEMO_PHASES * REPORT_DEMO_SETS * REPORT_DEMO_METRICS];
    double edges[REPORT_DEMO_BINS + 1];
    double counts[REPORT_DEMO_STRATEGIES * REPORT_DEMO_MODALITIES][REPORT_DEMO_BINS];
    ReportRotationHist hists[REPORT_DEMO_STRATEGIES * REPORT_DEMO_MODALITIES];
    ReportTopology topology[REPORT_DEMO_STRATEGIES * REPORT_DEMO_MODALITIES * (REPORT_DEMO_PHASES - 1)];
    ReportInterModal intermodal[REPORT_DEMO_STRATEGIES * (REPORT_DEMO_PHASES - 1)];
    ReportCl cl[REPORT_DEMO_STRATEGIES];
    double cl_r1[REPORT_DEMO_STRATEGIES][REPORT_DEMO_PHASES * 2]; /* R[i][j] on the two domain sets */
    double cl_sd[REPORT_DEMO_STRATEGIES][REPORT_CL_NFIG];
    const char *cl_cols[2];
} ReportDemo;

/* Fills `d` deterministically (no allocation; `d` may be on the heap or static). */
void report_demo_fill(ReportDemo *d);

#endif
