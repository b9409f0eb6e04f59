#include "analysis/run_summary.h"

#include <cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/rundir.h"
#include "io/file.h"
#include "report/strbuf.h"
#include "run/continual.h"
#include "run/experiment.h"
#include "train/runlog.h"

#define FINETUNE_NAME "finetune" /* the reference of learned_pct */

static const RunCompute compute_unknown = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};

void run_summary_free(RunSummary *s) {
    if (!s) return;
    for (int i = 0; i < s->ncols && s->cols; i++) free(s->cols[i]);
    for (int i = 0; i < s->nzs && s->zs_cols; i++) free(s->zs_cols[i]);
    for (int i = 0; i < s->ns && s->s; i++)
        free(s->s[i].name), free(s->s[i].r1), free(s->s[i].intransigence), free(s->s[i].zs_top1), free(s->s[i].zs_top5);
    free(s->run), free(s->cols), free(s->zs_cols), free(s->s);
    memset(s, 0, sizeof *s);
}

/* The columns: phase j's domain for j = 0..T when every phase has exactly one, else the listed sets. */
static ModxStatus columns_choose(RunSummary *s, const RunInfo *r) {
    int T = r->phases, *dom = malloc(sizeof(int) * (size_t)(T + 1));
    if (!dom) return modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
    int domain = 1;
    for (int j = 0; j <= T; j++) {
        dom[j] = -1;
        for (int t = 0; t < r->ntest_sets; t++)
            if (r->test_sets[t].role == RUN_SET_DOMAIN && r->test_sets[t].first_phase == j) {
                if (dom[j] >= 0) domain = 0; /* two test sets of one phase: no single column j */
                dom[j] = t;
            }
        if (dom[j] < 0) domain = 0;
    }
    int n = 0, *pick = dom;
    if (domain) {
        n = T + 1;
    } else {
        free(dom);
        if (!(pick = malloc(sizeof(int) * (size_t)(r->ntest_sets + 1))))
            return modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
        for (int t = 0; t < r->ntest_sets; t++)
            if (r->test_sets[t].role != RUN_SET_TRAIN_SAMPLE && r->test_sets[t].role != RUN_SET_ZEROSHOT) pick[n++] = t;
        if (n == 0)
            for (int t = 0; t < r->ntest_sets; t++)
                if (r->test_sets[t].role != RUN_SET_ZEROSHOT) pick[n++] = t;
    }
    s->kind = domain ? CL_STREAM_DOMAIN : CL_STREAM_SETS;
    ModxStatus st = MODX_OK;
    if (!(s->cols = calloc((size_t)n + 1, sizeof *s->cols))) st = modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
    for (int j = 0; j < n && !st; j++, s->ncols++)
        if (!(s->cols[j] = strdup(r->test_sets[pick[j]].name))) st = modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
    free(pick);
    return st;
}

static double r1_of(const EvalRecord *e) { return e ? 0.5 * (e->m.i2t_r1 + e->m.t2i_r1) : NAN; }

/* Every strategy's matrix from the eval records, then its figures. */
static ModxStatus matrices_fill(RunSummary *s, const RunInfo *r, const RunLog *log) {
    size_t cells = (size_t)(s->T + 1) * (size_t)s->ncols;
    int joint = -1, ft = -1;
    for (int k = 0; k < s->ns; k++) {
        RunSummaryStrategy *x = &s->s[k];
        x->compute = compute_unknown;
        x->fig = (ClFigures){NAN, NAN, NAN, NAN, NAN, NAN, NAN};
        if (!(x->name = strdup(r->strategies[k])) || !(x->r1 = malloc((cells + 1) * sizeof(double))) ||
            !(x->intransigence = malloc(sizeof(double) * (size_t)(s->T + 1))))
            return modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
        for (int j = 0; j <= s->T; j++) x->intransigence[j] = NAN;
        for (int i = 0; i <= s->T; i++)
            for (int j = 0; j < s->ncols; j++) {
                const EvalRecord *e = runlog_find_eval(log, x->name, i, s->cols[j]);
                if (!e && i == 0) e = runlog_find_eval(log, RUN_PHASE0, 0, s->cols[j]);
                x->r1[(size_t)i * (size_t)s->ncols + (size_t)j] = r1_of(e);
            }
        if (!strcmp(x->name, RUN_JOINT)) joint = k;
        if (!strcmp(x->name, FINETUNE_NAME)) ft = k;
    }
    ClMatrix mj = {s->T, s->ncols, joint >= 0 ? s->s[joint].r1 : NULL},
             mf = {s->T, s->ncols, ft >= 0 ? s->s[ft].r1 : NULL};
    for (int k = 0; k < s->ns && s->ncols > 0; k++) { /* a run without test sets has no figures */
        ClMatrix m = {s->T, s->ncols, s->s[k].r1};
        MODX_TRY(cl_figures(&m, s->kind, joint >= 0 ? &mj : NULL, ft >= 0 ? &mf : NULL, &s->s[k].fig,
                            s->s[k].intransigence));
    }
    return MODX_OK;
}

/* The zero-shot sets' columns and every strategy's Z matrices (row 0 from "phase0" when it has none). */
static ModxStatus zeroshot_fill(RunSummary *s, const RunInfo *r, const RunLog *log) {
    if (!(s->zs_cols = calloc((size_t)r->ntest_sets + 1, sizeof *s->zs_cols)))
        return modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
    for (int t = 0; t < r->ntest_sets; t++)
        if (r->test_sets[t].role == RUN_SET_ZEROSHOT) {
            if (!(s->zs_cols[s->nzs] = strdup(r->test_sets[t].name))) return modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
            s->nzs++;
        }
    size_t cells = (size_t)(s->T + 1) * (size_t)s->nzs + 1;
    for (int k = 0; k < s->ns; k++) {
        RunSummaryStrategy *x = &s->s[k];
        if (!(x->zs_top1 = malloc(cells * sizeof(double))) || !(x->zs_top5 = malloc(cells * sizeof(double))))
            return modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
        for (int i = 0; i <= s->T; i++)
            for (int j = 0; j < s->nzs; j++) {
                const ZeroShotRecord *z = runlog_find_zeroshot(log, x->name, i, s->zs_cols[j]);
                if (!z && i == 0) z = runlog_find_zeroshot(log, RUN_PHASE0, 0, s->zs_cols[j]);
                x->zs_top1[(size_t)i * (size_t)s->nzs + (size_t)j] = z ? z->top1 : NAN;
                x->zs_top5[(size_t)i * (size_t)s->nzs + (size_t)j] = z ? z->top5 : NAN;
            }
    }
    return MODX_OK;
}

/* ---- compute accounting from metrics.jsonl ---- */

typedef struct {
    double last_step, wall; /* wall: NaN once a step line has no usable rate */
    int lines;
    RunCompute rec;         /* the latest "compute" line of this (strategy, phase) */
    int has_rec;
} PhaseCost;

static double num_or_nan(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void cost_line(PhaseCost *c, const cJSON *o, int is_step, double batch) {
    if (is_step) {
        double step = num_or_nan(o, "step"), rate = num_or_nan(o, "samples_per_s");
        double prev = c->lines ? c->last_step : 0;
        c->wall += isfinite(step) && rate > 0 ? (step - prev) * batch / rate : NAN;
        if (isfinite(step) && step > c->last_step) c->last_step = step;
        c->lines++;
        return;
    }
    /* a phase's compute lines merge: the trainer's, then the driver's "eval_s" line (a later key wins) */
    if (!c->has_rec) c->rec = compute_unknown;
    c->has_rec = 1;
    const struct { const char *key; double *v; } f[] = {
        {"samples", &c->rec.samples}, {"train_s", &c->rec.train_s}, {"forward_passes", &c->rec.forward_passes},
        {"backward_passes", &c->rec.backward_passes}, {"frozen_forward_passes", &c->rec.frozen_forward_passes},
        {"matmul_flops", &c->rec.matmul_flops}, {"peak_rss_bytes", &c->rec.peak_rss_bytes}, {"eval_s", &c->rec.eval_s}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        double v = num_or_nan(o, f[i].key);
        if (!isnan(v)) *f[i].v = v;
    }
}

/* Sums a field over phases: NaN when no phase has it, else the sum (max for peak) of those that do. */
static double fold(const PhaseCost *c, int n, size_t off, int use_max) {
    double acc = NAN;
    for (int p = 0; p < n; p++) {
        if (!c[p].has_rec) continue;
        double v = *(const double *)((const char *)&c[p].rec + off);
        if (!isfinite(v)) continue;
        acc = isnan(acc) ? v : use_max ? fmax(acc, v) : acc + v;
    }
    return acc;
}

static RunCompute cost_total(const PhaseCost *c, int n, double batch) {
    RunCompute r = compute_unknown;
    double steps = 0, wall = 0;
    int any = 0;
    for (int p = 0; p < n; p++)
        if (c[p].lines) steps += c[p].last_step, wall += c[p].wall, any = 1;
    if (any) r.steps = steps, r.samples = steps * batch, r.train_s = wall;
    double v;
    if (!isnan(v = fold(c, n, offsetof(RunCompute, samples), 0))) r.samples = v;
    if (!isnan(v = fold(c, n, offsetof(RunCompute, train_s), 0))) r.train_s = v;
    r.forward_passes = fold(c, n, offsetof(RunCompute, forward_passes), 0);
    r.backward_passes = fold(c, n, offsetof(RunCompute, backward_passes), 0);
    r.frozen_forward_passes = fold(c, n, offsetof(RunCompute, frozen_forward_passes), 0);
    r.matmul_flops = fold(c, n, offsetof(RunCompute, matmul_flops), 0);
    r.peak_rss_bytes = fold(c, n, offsetof(RunCompute, peak_rss_bytes), 1);
    r.eval_s = fold(c, n, offsetof(RunCompute, eval_s), 0);
    return r;
}

/* train.batch of the run's experiment (its owner reads it); NaN when the
 * experiment cannot be read (a run directory moved without its data). */
static double batch_read(const char *dir) {
    Experiment e;
    if (continual_load_run_experiment(&e, dir) != MODX_OK) {
        modx_clear_error();
        return NAN;
    }
    double b = e.hp.batch;
    experiment_free(&e);
    return b;
}

typedef struct {
    RunSummary *s;
    PhaseCost *c;
    double batch;
} CostRead;

/* One metrics.jsonl line (runlog_each_line): step and compute lines count. */
static ModxStatus cost_of_line(void *ctx, const cJSON *o, const char *type, const char *path, long line) {
    (void)path, (void)line;
    CostRead *cr = ctx;
    RunSummary *s = cr->s;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "strategy");
    double ph = num_or_nan(o, "phase");
    int is_step = !strcmp(type, "step"), is_cost = !strcmp(type, "compute");
    if (!(is_step || is_cost) || !cJSON_IsString(name) || !(ph >= 0 && ph <= s->T && ph == floor(ph))) return MODX_OK;
    int k = s->ns; /* the phase0 slot unless a strategy matches */
    for (int i = 0; i < s->ns; i++)
        if (!strcmp(s->s[i].name, name->valuestring)) k = i;
    if (k < s->ns || !strcmp(name->valuestring, RUN_PHASE0))
        cost_line(&cr->c[(size_t)k * (size_t)(s->T + 1) + (size_t)ph], o, is_step, cr->batch);
    return MODX_OK;
}

/* Step and compute lines of metrics.jsonl, per (strategy or phase0, phase). */
static ModxStatus costs_read(RunSummary *s, const char *path, double batch) {
    int P = s->T + 1;
    PhaseCost *c = calloc((size_t)(s->ns + 1) * (size_t)P, sizeof *c);
    if (!c) return modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
    CostRead cr = {s, c, batch};
    ModxStatus st = runlog_each_line(path, UINT64_MAX, cost_of_line, &cr);
    for (int k = 0; k <= s->ns && !st; k++) {
        RunCompute t = cost_total(c + (size_t)k * (size_t)P, P, batch);
        if (k < s->ns) s->s[k].compute = t;
        else s->phase0 = t;
    }
    free(c);
    return st;
}

ModxStatus run_summary_build(RunSummary *out, const char *dir) {
    memset(out, 0, sizeof *out);
    out->phase0 = compute_unknown;
    RunInfo r;
    MODX_TRY(run_info_load(&r, dir));
    RunLog log;
    memset(&log, 0, sizeof log);
    char path[4096];
    ModxStatus st = MODX_OK;
    if (snprintf(path, sizeof path, "%s/metrics.jsonl", dir) >= (int)sizeof path)
        st = modx_fail(MODX_ERR_INVALID, "%s: path too long", dir);
    else if (!io_file_exists(path))
        st = modx_fail(MODX_ERR_IO, "%s not found (the run's metrics; written by modx run)", path);
    if (!st && r.phases > CL_MAX_PHASES)
        st = modx_fail(MODX_ERR_FORMAT, "%s/run.json: %d phases, at most %d", dir, r.phases, CL_MAX_PHASES);
    if (!st) st = runlog_open(&log, dir);
    out->T = r.phases;
    out->ns = 0;
    if (!st && !(out->run = strdup(r.name))) st = modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
    if (!st) st = columns_choose(out, &r);
    if (!st && !(out->s = calloc((size_t)r.nstrategies + 1, sizeof *out->s)))
        st = modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
    if (!st) out->ns = r.nstrategies;
    if (!st) st = matrices_fill(out, &r, &log);
    if (!st) st = zeroshot_fill(out, &r, &log);
    if (!st) st = costs_read(out, path, batch_read(dir));
    runlog_close(&log);
    run_info_free(&r);
    return st;
}

/* ---- summary.json ---- */

static cJSON *num_json(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

/* Adds item to an object (key) or an array (key NULL); 0 when item is NULL (out of memory), so that
 * `ok &= put(...)` carries a failure to the end instead of leaving a key out silently. */
static int put(cJSON *parent, const char *key, cJSON *item) {
    if (!parent || !item) {
        cJSON_Delete(item);
        return 0;
    }
    return key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item);
}

static cJSON *compute_json(const RunCompute *c, int *ok) {
    cJSON *o = cJSON_CreateObject();
    const struct { const char *key; double v; } f[] = {
        {"train_steps", c->steps}, {"train_samples", c->samples}, {"train_wall_s", c->train_s},
        {"forward_passes", c->forward_passes}, {"backward_passes", c->backward_passes},
        {"frozen_forward_passes", c->frozen_forward_passes}, {"matmul_flops", c->matmul_flops},
        {"peak_rss_bytes", c->peak_rss_bytes}, {"eval_wall_s", c->eval_s}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) *ok &= put(o, f[i].key, num_json(f[i].v));
    return o;
}

static cJSON *zeroshot_json(const RunSummary *s, const RunSummaryStrategy *x, int *ok) {
    cJSON *o = cJSON_CreateObject(), *ph = cJSON_CreateArray(), *ts = cJSON_CreateArray(), *t1 = cJSON_CreateArray(),
          *t5 = cJSON_CreateArray();
    *ok &= put(o, "phases", ph) & put(o, "test_sets", ts) & put(o, "top1", t1) & put(o, "top5", t5);
    for (int j = 0; j < s->nzs; j++) *ok &= put(ts, NULL, cJSON_CreateString(s->zs_cols[j]));
    for (int i = 0; i <= s->T; i++) {
        cJSON *r1 = cJSON_CreateArray(), *r5 = cJSON_CreateArray();
        for (int j = 0; j < s->nzs; j++) {
            size_t c = (size_t)i * (size_t)s->nzs + (size_t)j;
            *ok &= put(r1, NULL, num_json(x->zs_top1[c])) & put(r5, NULL, num_json(x->zs_top5[c]));
        }
        *ok &= put(ph, NULL, cJSON_CreateNumber(i)) & put(t1, NULL, r1) & put(t5, NULL, r5);
    }
    return o;
}

static cJSON *strategy_json(const RunSummary *s, const RunSummaryStrategy *x, int *ok) {
    cJSON *o = cJSON_CreateObject(), *m = cJSON_CreateObject(), *ph = cJSON_CreateArray(), *ts = cJSON_CreateArray(),
          *rows = cJSON_CreateArray(), *intr = cJSON_CreateArray();
    *ok &= put(m, "phases", ph) & put(m, "test_sets", ts) & put(m, "r1", rows) & put(o, "matrix", m);
    for (int i = 0; i <= s->T; i++) {
        cJSON *row = cJSON_CreateArray();
        for (int j = 0; j < s->ncols; j++) *ok &= put(row, NULL, num_json(x->r1[(size_t)i * (size_t)s->ncols + (size_t)j]));
        *ok &= put(ph, NULL, cJSON_CreateNumber(i)) & put(rows, NULL, row);
    }
    for (int j = 0; j < s->ncols; j++) *ok &= put(ts, NULL, cJSON_CreateString(s->cols[j]));
    const struct { const char *key; double v; } f[] = {
        {"last", x->fig.last}, {"avg_incremental", x->fig.avg_incremental}, {"bwt", x->fig.bwt},
        {"fwt", x->fig.fwt}, {"forgetting", x->fig.forgetting}, {"kept_pct", x->fig.kept_pct},
        {"learned_pct", x->fig.learned_pct}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) *ok &= put(o, f[i].key, num_json(f[i].v));
    for (int j = 0; j < s->T; j++) *ok &= put(intr, NULL, num_json(x->intransigence[j]));
    *ok &= put(o, "intransigence", intr);
    *ok &= put(o, "compute", compute_json(&x->compute, ok));
    if (s->nzs > 0) *ok &= put(o, "zeroshot", zeroshot_json(s, x, ok));
    return o;
}

void *run_summary_strategy_object(const RunSummary *s, int k) {
    int ok = 1;
    cJSON *o = strategy_json(s, &s->s[k], &ok);
    if (!ok) cJSON_Delete(o);
    return ok ? o : NULL;
}

void *run_summary_compute_object(const RunCompute *c) {
    int ok = 1;
    cJSON *o = compute_json(c, &ok);
    if (!ok) cJSON_Delete(o);
    return ok ? o : NULL;
}

ModxStatus run_summary_json(const RunSummary *s, char **text) {
    *text = NULL;
    cJSON *root = cJSON_CreateObject(), *p0 = cJSON_CreateObject(), *all = cJSON_CreateObject();
    int ok = put(root, "format", cJSON_CreateString(SUMMARY_FORMAT));
    ok &= put(root, "run", cJSON_CreateString(s->run ? s->run : ""));
    ok &= put(root, "stream", cJSON_CreateString(s->kind == CL_STREAM_DOMAIN ? "domain" : "sets"));
    ok &= put(root, "T", cJSON_CreateNumber(s->T));
    ok &= put(p0, "compute", compute_json(&s->phase0, &ok)) & put(root, "phase0", p0);
    for (int k = 0; k < s->ns; k++) ok &= put(all, s->s[k].name, strategy_json(s, &s->s[k], &ok));
    ok &= put(root, "strategies", all);
    if (ok) *text = cJSON_Print(root);
    cJSON_Delete(root);
    return *text ? MODX_OK : modx_fail(MODX_ERR_NOMEM, "summary: out of memory for summary.json");
}

/* ---- summary.md ---- */

static void md_num(StrBuf *b, double v, const char *fmt) {
    if (isfinite(v)) strbuf_printf(b, fmt, v);
    else strbuf_puts(b, " \xE2\x80\x93 |");
}

/* Each strategy's zero-shot matrices: a row per phase, top-1 and top-5 per zero-shot set. */
static void zeroshot_markdown(StrBuf *b, const RunSummary *s) {
    if (s->nzs < 1) return;
    strbuf_puts(b, "\n## Zero-shot accuracy\n\nZ[i][j] = top-1 / top-5 accuracy (%) of zero-shot classification on "
                   "set j after phase i (docs/metrics.md).\n");
    for (int k = 0; k < s->ns; k++) {
        const RunSummaryStrategy *x = &s->s[k];
        strbuf_printf(b, "\n### %s: Z[i][j]\n\n| phase |", x->name);
        for (int j = 0; j < s->nzs; j++) strbuf_printf(b, " %s top-1 | %s top-5 |", s->zs_cols[j], s->zs_cols[j]);
        strbuf_puts(b, "\n|---:|");
        for (int j = 0; j < s->nzs; j++) strbuf_puts(b, "---:|---:|");
        for (int i = 0; i <= s->T; i++) {
            strbuf_printf(b, "\n| %d |", i);
            for (int j = 0; j < s->nzs; j++) {
                md_num(b, x->zs_top1[(size_t)i * (size_t)s->nzs + (size_t)j], " %.2f |");
                md_num(b, x->zs_top5[(size_t)i * (size_t)s->nzs + (size_t)j], " %.2f |");
            }
        }
        strbuf_puts(b, "\n");
    }
}

ModxStatus run_summary_markdown(const RunSummary *s, char **text) {
    *text = NULL;
    StrBuf b;
    strbuf_init(&b);
    int dom = s->kind == CL_STREAM_DOMAIN;
    strbuf_printf(&b, "# Continual-learning summary: %s\n\n", s->run ? s->run : "");
    strbuf_printf(&b, "R[i][j] = the mean of image\xE2\x86\x92text and text\xE2\x86\x92image R@1 (%%) on test set j after "
                      "phase i, i = 0..%d. %s Definitions and index ranges: docs/metrics.md. Figures in R@1 points, "
                      "kept/learned in %% of joint/finetune; \xE2\x80\x93 = does not apply or not evaluated.\n\n",
                  s->T, dom ? "A domain stream: column j is phase j's domain."
                            : "Not one domain per phase: the columns are the listed test sets and only Last and the "
                              "average incremental apply.");
    strbuf_puts(&b, "| strategy | Last | Avg inc. | BWT | FWT | forgetting | kept % | learned % | samples | train s |\n"
                    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int k = 0; k < s->ns; k++) {
        const RunSummaryStrategy *x = &s->s[k];
        strbuf_printf(&b, "| %s |", x->name);
        const double v[7] = {x->fig.last, x->fig.avg_incremental, x->fig.bwt, x->fig.fwt, x->fig.forgetting,
                             x->fig.kept_pct, x->fig.learned_pct};
        for (int i = 0; i < 7; i++) md_num(&b, v[i], " %.2f |");
        md_num(&b, x->compute.samples, " %.0f |");
        md_num(&b, x->compute.train_s, " %.1f |");
        strbuf_puts(&b, "\n");
    }
    for (int k = 0; k < s->ns; k++) {
        const RunSummaryStrategy *x = &s->s[k];
        strbuf_printf(&b, "\n## %s: R[i][j]\n\n| phase |", x->name);
        for (int j = 0; j < s->ncols; j++) strbuf_printf(&b, " %s |", s->cols[j]);
        strbuf_puts(&b, "\n|---:|");
        for (int j = 0; j < s->ncols; j++) strbuf_puts(&b, "---:|");
        for (int i = 0; i <= s->T; i++) {
            strbuf_printf(&b, "\n| %d |", i);
            for (int j = 0; j < s->ncols; j++) md_num(&b, x->r1[(size_t)i * (size_t)s->ncols + (size_t)j], " %.2f |");
        }
        strbuf_puts(&b, "\n");
    }
    zeroshot_markdown(&b, s);
    ModxStatus st = strbuf_status(&b);
    if (!st && !(*text = strdup(strbuf_cstr(&b)))) st = modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
    strbuf_free(&b);
    return st;
}

ModxStatus run_summary_write(const RunSummary *s, const char *dir) {
    char *json = NULL, *md = NULL, path[4096];
    ModxStatus st = run_summary_json(s, &json);
    if (!st) st = run_summary_markdown(s, &md);
    if (!st && snprintf(path, sizeof path, "%s/summary.json", dir) >= (int)sizeof path)
        st = modx_fail(MODX_ERR_INVALID, "%s: path too long", dir);
    if (!st) st = io_write_atomic(path, json, strlen(json));
    if (!st) snprintf(path, sizeof path, "%s/summary.md", dir);
    if (!st) st = io_write_atomic(path, md, strlen(md));
    free(json);
    free(md);
    return st;
}
