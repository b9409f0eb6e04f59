#include "analysis/seed_summary.h"

#include <cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "report/strbuf.h"
#include "run/rundir.h"
#include "run/seeds.h"
#include "train/runlog.h"

static const RunCompute compute_unknown = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};

void seed_summary_free(SeedSummary *s) {
    if (!s) return;
    for (int k = 0; k < s->n && s->runs; k++) run_summary_free(&s->runs[k]);
    for (int i = 0; i < s->nrows && s->rows; i++) free(s->rows[i]);
    for (int i = 0; i < s->ntests && s->tests; i++) free(s->tests[i]);
    free(s->run), free(s->runs), free(s->fig_mean), free(s->fig_sd), free(s->r1_mean), free(s->r1_sd);
    free(s->compute), free(s->rows), free(s->tests), free(s->last_mean), free(s->last_sd);
    memset(s, 0, sizeof *s);
}

/* Mean and sample sd of n values x[0], x[stride], ...: NaN when any is NaN; sd NaN for n < 2. */
static void mean_sd(const double *x, int n, size_t stride, double *mean, double *sd) {
    double m = 0, q = 0;
    for (int k = 0; k < n; k++) m += x[(size_t)k * stride];
    m /= n;
    for (int k = 0; k < n; k++) q += (x[(size_t)k * stride] - m) * (x[(size_t)k * stride] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(q / (n - 1)) : NAN;
}

static void figs_of(const ClFigures *f, double *v) {
    const double a[SEED_NFIG] = {f->last, f->avg_incremental, f->bwt, f->fwt, f->forgetting, f->kept_pct, f->learned_pct};
    memcpy(v, a, sizeof a);
}

/* Every seed's run must have the first one's strategies, phases and columns. */
static ModxStatus check_alike(const SeedSummary *s, const char *dir) {
    const RunSummary *a = &s->runs[0];
    for (int k = 1; k < s->n; k++) {
        const RunSummary *b = &s->runs[k];
        int same = b->ns == a->ns && b->T == a->T && b->ncols == a->ncols && b->kind == a->kind;
        for (int i = 0; same && i < a->ns; i++) same = !strcmp(a->s[i].name, b->s[i].name);
        for (int j = 0; same && j < a->ncols; j++) same = !strcmp(a->cols[j], b->cols[j]);
        if (!same)
            return modx_fail(MODX_ERR_FORMAT, "%s/" RUN_SEED_PREFIX "%d/run.json: its strategies, phases or test sets "
                             "differ from those of seed %d's run (the seeds of one run share one experiment)",
                             dir, s->seeds[k], s->seeds[0]);
    }
    return MODX_OK;
}

/* Figures, matrices and compute: mean and sd over seeds. */
static ModxStatus aggregate_figures(SeedSummary *s) {
    int n = s->n, ns = s->ns;
    size_t cells = (size_t)(s->T + 1) * (size_t)s->ncols;
    double *x = malloc(sizeof(double) * (size_t)n * (SEED_NFIG + cells + 1));
    s->fig_mean = malloc(sizeof(double) * (size_t)ns * SEED_NFIG + 1);
    s->fig_sd = malloc(sizeof(double) * (size_t)ns * SEED_NFIG + 1);
    s->r1_mean = malloc(sizeof(double) * (size_t)ns * cells + 1);
    s->r1_sd = malloc(sizeof(double) * (size_t)ns * cells + 1);
    s->compute = malloc(sizeof(RunCompute) * (size_t)ns + 1);
    if (!x || !s->fig_mean || !s->fig_sd || !s->r1_mean || !s->r1_sd || !s->compute) {
        free(x);
        return modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
    }
    const size_t nc = sizeof(RunCompute) / sizeof(double);
    for (int i = 0; i <= ns; i++) {
        RunCompute *out = i < ns ? &s->compute[i] : &s->phase0;
        *out = compute_unknown;
        for (size_t f = 0; f < nc; f++) {
            for (int k = 0; k < n; k++) {
                const RunCompute *c = i < ns ? &s->runs[k].s[i].compute : &s->runs[k].phase0;
                x[k] = ((const double *)c)[f];
            }
            double sd;
            mean_sd(x, n, 1, &((double *)out)[f], &sd);
        }
        if (i == ns) break;
        for (int k = 0; k < n; k++) {
            figs_of(&s->runs[k].s[i].fig, x + (size_t)k * SEED_NFIG);
            memcpy(x + (size_t)n * SEED_NFIG + (size_t)k * cells, s->runs[k].s[i].r1, cells * sizeof(double));
        }
        for (int f = 0; f < SEED_NFIG; f++)
            mean_sd(x + f, n, SEED_NFIG, &s->fig_mean[(size_t)i * SEED_NFIG + f], &s->fig_sd[(size_t)i * SEED_NFIG + f]);
        for (size_t c = 0; c < cells; c++)
            mean_sd(x + (size_t)n * SEED_NFIG + c, n, cells, &s->r1_mean[(size_t)i * cells + c],
                    &s->r1_sd[(size_t)i * cells + c]);
    }
    free(x);
    return MODX_OK;
}

/* R@1 after the last phase of row r on test t of one seed's log: phase0 at 0, strategies at T. */
static double last_r1(const RunLog *log, const char *row, int T, const char *test) {
    int p0 = !strcmp(row, RUN_PHASE0);
    const EvalRecord *e = runlog_find_eval(log, row, p0 ? 0 : T, test);
    return e ? 0.5 * (e->m.i2t_r1 + e->m.t2i_r1) : NAN;
}

/* The last-phase table: rows phase0 + strategies, columns every test set + the mean over the domain sets. */
static ModxStatus aggregate_last(SeedSummary *s, const char *dir, const RunInfo *info) {
    s->ntests = info->ntest_sets;
    s->nrows = s->ns + 1;
    int w = s->ntests + 1;
    s->tests = calloc((size_t)s->ntests + 1, sizeof *s->tests);
    s->rows = calloc((size_t)s->nrows, sizeof *s->rows);
    double *x = malloc(sizeof(double) * (size_t)s->n * (size_t)s->nrows * (size_t)w);
    s->last_mean = malloc(sizeof(double) * (size_t)s->nrows * (size_t)w);
    s->last_sd = malloc(sizeof(double) * (size_t)s->nrows * (size_t)w);
    ModxStatus st = MODX_OK;
    if (!s->tests || !s->rows || !x || !s->last_mean || !s->last_sd) st = modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
    for (int t = 0; !st && t < s->ntests; t++)
        if (!(s->tests[t] = strdup(info->test_sets[t].name))) st = modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
    for (int r = 0; !st && r < s->nrows; r++)
        if (!(s->rows[r] = strdup(r ? s->runs[0].s[r - 1].name : RUN_PHASE0)))
            st = modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
    for (int k = 0; !st && k < s->n; k++) {
        char sub[4096];
        CHECK(run_seed_dir(sub, sizeof sub, dir, s->seeds[k]), "path too long");
        RunLog log;
        memset(&log, 0, sizeof log);
        st = runlog_open(&log, sub);
        for (int r = 0; !st && r < s->nrows; r++) {
            double *row = x + ((size_t)k * (size_t)s->nrows + (size_t)r) * (size_t)w, sum = 0;
            int nd = 0; /* the one mean of results.md: over the domain test sets only */
            for (int t = 0; t < s->ntests; t++) {
                row[t] = last_r1(&log, s->rows[r], s->T, s->tests[t]);
                if (info->test_sets[t].role == RUN_SET_DOMAIN) sum += row[t], nd++;
            }
            row[s->ntests] = nd ? sum / nd : NAN;
        }
        runlog_close(&log);
    }
    size_t stride = (size_t)s->nrows * (size_t)w;
    for (size_t c = 0; !st && c < stride; c++) mean_sd(x + c, s->n, stride, &s->last_mean[c], &s->last_sd[c]);
    free(x);
    return st;
}

ModxStatus seed_summary_build(SeedSummary *s, const char *dir) {
    memset(s, 0, sizeof *s);
    if (!seeds_of_run(dir, s->seeds, &s->n))
        return modx_fail(MODX_ERR_INVALID, "%s: not a run with \"seeds\" (expected experiment.json listing them and "
                         "no run.json)", dir);
    if (!(s->runs = calloc((size_t)s->n, sizeof *s->runs))) return modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
    char sub[4096];
    ModxStatus st = MODX_OK;
    for (int k = 0; !st && k < s->n; k++) {
        CHECK(run_seed_dir(sub, sizeof sub, dir, s->seeds[k]), "path too long");
        st = run_summary_build(&s->runs[k], sub);
    }
    if (!st) st = check_alike(s, dir);
    if (st) return st;
    s->ns = s->runs[0].ns, s->T = s->runs[0].T, s->ncols = s->runs[0].ncols;
    if (!(s->run = strdup(s->runs[0].run ? s->runs[0].run : ""))) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    MODX_TRY(aggregate_figures(s));
    RunInfo info;
    CHECK(run_seed_dir(sub, sizeof sub, dir, s->seeds[0]), "path too long");
    MODX_TRY(run_info_load(&info, sub));
    st = aggregate_last(s, dir, &info);
    run_info_free(&info);
    return st;
}

/* ---- summary.json ---- */

_Static_assert(sizeof(RunCompute) % sizeof(double) == 0, "RunCompute is a row of doubles");

static const char *const fig_keys[SEED_NFIG] = {"last", "avg_incremental", "bwt", "fwt", "forgetting", "kept_pct",
                                                "learned_pct"};

static cJSON *num_json(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

/* Adds item (key NULL: to an array); 0 when out of memory, so `ok &= put(...)` carries a failure. */
static int put(cJSON *parent, const char *key, cJSON *item) {
    if (!parent || !item) {
        cJSON_Delete(item);
        return 0;
    }
    return key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item);
}

static cJSON *matrix_json(const SeedSummary *s, int i, int *ok) {
    size_t cells = (size_t)(s->T + 1) * (size_t)s->ncols;
    cJSON *m = cJSON_CreateObject(), *ph = cJSON_CreateArray(), *ts = cJSON_CreateArray(), *mean = cJSON_CreateArray(),
          *sd = cJSON_CreateArray();
    *ok &= put(m, "phases", ph) & put(m, "test_sets", ts) & put(m, "r1", mean) & put(m, "r1_sd", sd);
    for (int j = 0; j < s->ncols; j++) *ok &= put(ts, NULL, cJSON_CreateString(s->runs[0].cols[j]));
    for (int r = 0; r <= s->T; r++) {
        cJSON *a = cJSON_CreateArray(), *b = cJSON_CreateArray();
        for (int j = 0; j < s->ncols; j++) {
            size_t c = (size_t)i * cells + (size_t)r * (size_t)s->ncols + (size_t)j;
            *ok &= put(a, NULL, num_json(s->r1_mean[c])) & put(b, NULL, num_json(s->r1_sd[c]));
        }
        *ok &= put(ph, NULL, cJSON_CreateNumber(r)) & put(mean, NULL, a) & put(sd, NULL, b);
    }
    return m;
}

static cJSON *strategy_json(const SeedSummary *s, int i, int *ok) {
    cJSON *o = cJSON_CreateObject(), *sd = cJSON_CreateObject(), *per = cJSON_CreateArray();
    *ok &= put(o, "matrix", matrix_json(s, i, ok));
    for (int f = 0; f < SEED_NFIG; f++) {
        *ok &= put(o, fig_keys[f], num_json(s->fig_mean[(size_t)i * SEED_NFIG + f]));
        *ok &= put(sd, fig_keys[f], num_json(s->fig_sd[(size_t)i * SEED_NFIG + f]));
    }
    *ok &= put(o, "sd", sd) & put(o, "compute", run_summary_compute_object(&s->compute[i]));
    for (int k = 0; k < s->n; k++) {
        cJSON *one = run_summary_strategy_object(&s->runs[k], i);
        *ok &= one != NULL && put(one, "seed", cJSON_CreateNumber(s->seeds[k])) && put(per, NULL, one);
    }
    *ok &= put(o, "per_seed", per);
    return o;
}

ModxStatus seed_summary_json(const SeedSummary *s, char **text) {
    *text = NULL;
    cJSON *root = cJSON_CreateObject(), *seeds = cJSON_CreateIntArray(s->seeds, s->n), *runs = cJSON_CreateArray(),
          *p0 = cJSON_CreateObject(), *all = cJSON_CreateObject();
    int ok = put(root, "format", cJSON_CreateString(SEED_SUMMARY_FORMAT)) & put(root, "run", cJSON_CreateString(s->run));
    ok &= put(root, "seeds", seeds) & put(root, "runs", runs);
    for (int k = 0; k < s->n; k++) {
        char name[64];
        snprintf(name, sizeof name, RUN_SEED_PREFIX "%d", s->seeds[k]);
        ok &= put(runs, NULL, cJSON_CreateString(name));
    }
    ok &= put(root, "stream", cJSON_CreateString(s->runs[0].kind == CL_STREAM_DOMAIN ? "domain" : "sets"));
    ok &= put(root, "T", cJSON_CreateNumber(s->T));
    ok &= put(p0, "compute", run_summary_compute_object(&s->phase0)) & put(root, "phase0", p0);
    for (int i = 0; i < s->ns; i++) ok &= put(all, s->runs[0].s[i].name, strategy_json(s, i, &ok));
    ok &= put(root, "strategies", all);
    if (ok) *text = cJSON_Print(root);
    cJSON_Delete(root);
    return *text ? MODX_OK : modx_fail(MODX_ERR_NOMEM, "summary: out of memory for summary.json");
}

/* ---- summary.md and results.md ---- */

static void pm(StrBuf *b, double m, double sd, const char *fmt) {
    if (!isfinite(m)) {
        strbuf_puts(b, " \xE2\x80\x93 |");
        return;
    }
    strbuf_puts(b, " ");
    strbuf_printf(b, fmt, m);
    if (isfinite(sd)) strbuf_puts(b, " \xC2\xB1 ");
    if (isfinite(sd)) strbuf_printf(b, fmt, sd);
    strbuf_puts(b, " |");
}

static void seeds_list(StrBuf *b, const SeedSummary *s) {
    for (int k = 0; k < s->n; k++) strbuf_printf(b, "%s%d", k ? ", " : "", s->seeds[k]);
}

static void figures_table(StrBuf *b, const SeedSummary *s) {
    strbuf_puts(b, "| strategy | Last | Avg inc. | BWT | FWT | forgetting | kept % | learned % |\n"
                   "|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < s->ns; i++) {
        strbuf_printf(b, "| %s |", s->runs[0].s[i].name);
        for (int f = 0; f < SEED_NFIG; f++)
            pm(b, s->fig_mean[(size_t)i * SEED_NFIG + f], s->fig_sd[(size_t)i * SEED_NFIG + f], "%.1f");
        strbuf_puts(b, "\n");
    }
}

static void last_table(StrBuf *b, const SeedSummary *s) {
    int w = s->ntests + 1;
    strbuf_puts(b, "| strategy |");
    for (int t = 0; t < s->ntests; t++) strbuf_printf(b, " %s |", s->tests[t]);
    strbuf_puts(b, " mean of domains |\n|---|");
    for (int t = 0; t < w; t++) strbuf_puts(b, "---:|");
    strbuf_puts(b, "\n");
    for (int r = 0; r < s->nrows; r++) {
        strbuf_printf(b, "| %s |", s->rows[r]);
        for (int t = 0; t < w; t++)
            pm(b, s->last_mean[(size_t)r * (size_t)w + (size_t)t], s->last_sd[(size_t)r * (size_t)w + (size_t)t], "%.1f");
        strbuf_puts(b, "\n");
    }
}

static ModxStatus finish(StrBuf *b, char **text) {
    ModxStatus st = strbuf_status(b);
    if (!st && !(*text = strdup(strbuf_cstr(b)))) st = modx_fail(MODX_ERR_NOMEM, "summary: out of memory");
    strbuf_free(b);
    return st;
}

ModxStatus seed_summary_results(const SeedSummary *s, char **text) {
    *text = NULL;
    StrBuf b;
    strbuf_init(&b);
    strbuf_printf(&b, "# %s: R@1 after the last phase, mean \xC2\xB1 sd over seeds ", s->run);
    seeds_list(&b, s);
    strbuf_puts(&b, "\n\nR@1 (%) = the mean of image\xE2\x86\x92text and text\xE2\x86\x92image R@1 on each test set after "
                    "the last phase (phase0: each seed's starting model); mean of domains = over the domain test "
                    "sets only (held-out, training-sample and zero-shot sets shown apart); sd over seeds "
                    "(n \xE2\x88\x92 1). One run per seed in seed-S/.\n\n");
    last_table(&b, s);
    return finish(&b, text);
}

ModxStatus seed_summary_markdown(const SeedSummary *s, char **text) {
    *text = NULL;
    StrBuf b;
    strbuf_init(&b);
    strbuf_printf(&b, "# Continual-learning summary: %s, mean \xC2\xB1 sd over seeds ", s->run);
    seeds_list(&b, s);
    strbuf_printf(&b, "\n\nEach seed's figures from its own matrix (docs/metrics.md; that seed's seed-S/summary.md), "
                      "then their mean \xC2\xB1 sample sd over seeds. Figures in R@1 points, kept/learned in %% of "
                      "the same seed's joint/finetune; \xE2\x80\x93 = does not apply.\n\n");
    figures_table(&b, s);
    strbuf_puts(&b, "\n## Compute (mean over seeds)\n\n| strategy | samples | train s | eval s | matmul FLOPs |\n"
                    "|---|---:|---:|---:|---:|\n");
    for (int i = 0; i <= s->ns; i++) {
        const RunCompute *c = i < s->ns ? &s->compute[i] : &s->phase0;
        strbuf_printf(&b, "| %s |", i < s->ns ? s->runs[0].s[i].name : RUN_PHASE0);
        pm(&b, c->samples, NAN, "%.0f");
        pm(&b, c->train_s, NAN, "%.1f");
        pm(&b, c->eval_s, NAN, "%.1f");
        pm(&b, c->matmul_flops, NAN, "%.3g");
        strbuf_puts(&b, "\n");
    }
    size_t cells = (size_t)(s->T + 1) * (size_t)s->ncols;
    for (int i = 0; i < s->ns; i++) {
        strbuf_printf(&b, "\n## %s: R[i][j], mean \xC2\xB1 sd\n\n| phase |", s->runs[0].s[i].name);
        for (int j = 0; j < s->ncols; j++) strbuf_printf(&b, " %s |", s->runs[0].cols[j]);
        strbuf_puts(&b, "\n|---:|");
        for (int j = 0; j < s->ncols; j++) strbuf_puts(&b, "---:|");
        for (int r = 0; r <= s->T; r++) {
            strbuf_printf(&b, "\n| %d |", r);
            for (int j = 0; j < s->ncols; j++) {
                size_t c = (size_t)i * cells + (size_t)r * (size_t)s->ncols + (size_t)j;
                pm(&b, s->r1_mean[c], s->r1_sd[c], "%.2f");
            }
        }
        strbuf_puts(&b, "\n");
    }
    return finish(&b, text);
}

static ModxStatus write_text(const char *dir, const char *name, const char *text) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return modx_fail(MODX_ERR_INVALID, "%s: path too long", dir);
    return io_write_atomic(path, text, strlen(text));
}

ModxStatus seed_summary_write_dir(const char *dir, char **table) {
    if (table) *table = NULL;
    SeedSummary s;
    char *json = NULL, *md = NULL, *res = NULL;
    ModxStatus st = seed_summary_build(&s, dir);
    if (!st) st = seed_summary_json(&s, &json);
    if (!st) st = seed_summary_markdown(&s, &md);
    if (!st) st = seed_summary_results(&s, &res);
    if (!st) st = write_text(dir, "summary.json", json);
    if (!st) st = write_text(dir, "summary.md", md);
    if (!st) st = write_text(dir, "results.md", res);
    if (!st && table) {
        StrBuf b;
        strbuf_init(&b);
        strbuf_puts(&b, res);
        strbuf_puts(&b, "\nContinual-learning figures (docs/metrics.md), mean \xC2\xB1 sd over seeds:\n\n");
        figures_table(&b, &s);
        st = finish(&b, table);
    }
    free(json), free(md), free(res);
    seed_summary_free(&s);
    return st;
}
