#include "report/run_report.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/rotation.h"
#include "analysis/run_analysis.h"
#include "analysis/run_summary.h"
#include "analysis/seed_summary.h"
#include "run/rundir.h"
#include "run/seeds.h"
#include "io/file.h"
#include "report/gallery.h"
#include "report/report.h"
#include "report/strbuf.h"
#include "train/runlog.h"

#define MAX_EXPERIMENT_KV 16

static const char phase0_name[] = RUN_PHASE0; /* results of phase-0 lines point here until copied */

typedef struct {
    const RunInfo *run;
    char path[4096];   /* the file being read, for messages */
    char **strs;       /* owned strings the Report points at */
    size_t nstrs, capstrs;
    ReportKV *kv;
    size_t nkv, capkv;
    ReportTestSet *sets;
    ReportResult *res;
    size_t nres, capres;
    ReportRotationHist *hists;
    size_t nh, caph, capcounts;
    double **counts;   /* (nh) owned, ANGLE_HIST_BINS each */
    double *edges;     /* shared by every histogram */
    ReportTopology *topo;
    size_t ntopo, captopo;
    ReportInterModal *im;
    size_t nim, capim;
    ReportLoss *loss;  /* "step" lines */
    size_t nloss, caploss, loss_skipped; /* skipped: step lines without strategy, phase or step */
    int undetermined;  /* step comparisons without a relative rotation (N < E) */
    int pairs, embed_dim;
    int over_seeds;    /* the report of a run with seeds: its "seeds" line replaces the first seed's "seed" */
} RunReport;

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 1;
    size_t c = *cap ? *cap * 2 : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return 0;
    *p = q;
    *cap = c;
    return 1;
}

static const char *pool(RunReport *rr, const char *s) {
    char *d = strdup(s);
    if (!d || !grow((void **)&rr->strs, &rr->capstrs, rr->nstrs + 1, sizeof *rr->strs)) {
        free(d);
        modx_fail(MODX_ERR_NOMEM, "report: out of memory");
        return NULL;
    }
    return rr->strs[rr->nstrs++] = d;
}

static ModxStatus add_kv(RunReport *rr, const char *key, const char *value) {
    const char *k = pool(rr, key), *v = k ? pool(rr, value) : NULL;
    if (!v || !grow((void **)&rr->kv, &rr->capkv, rr->nkv + 1, sizeof *rr->kv))
        return modx_fail(MODX_ERR_NOMEM, "report: out of memory");
    rr->kv[rr->nkv++] = (ReportKV){k, v};
    return MODX_OK;
}

static void run_report_free(RunReport *rr) {
    for (size_t i = 0; i < rr->nstrs; i++) free(rr->strs[i]);
    for (size_t i = 0; i < rr->nh; i++) free(rr->counts[i]);
    free(rr->loss), free(rr->strs), free(rr->kv), free(rr->sets), free(rr->res), free(rr->hists), free(rr->counts), free(rr->edges);
    free(rr->topo), free(rr->im);
}

static ModxStatus read_json(const char *path, cJSON **out) {
    *out = NULL;
    if (!io_file_exists(path)) return modx_fail(MODX_ERR_IO, "%s not found", path);
    uint8_t *buf = NULL;
    size_t n = 0;
    MODX_TRY(io_read_file(path, &buf, &n));
    *out = cJSON_ParseWithLength((const char *)buf, n);
    free(buf);
    if (!*out || !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return modx_fail(MODX_ERR_FORMAT, "%s: not a valid JSON object", path);
    }
    return MODX_OK;
}

/* ---- summary ---- */

static ModxStatus summary_fill(RunReport *rr, const char *dir) {
    const RunInfo *r = rr->run;
    StrBuf sb;
    char num[64];
    MODX_TRY(add_kv(rr, "run", r->name));
    strbuf_init(&sb);
    strbuf_puts(&sb, r->status);
    if (!strcmp(r->status, "running")) {
        strbuf_puts(&sb, " (completed:");
        for (int s = 0; s < r->nstrategies; s++)
            strbuf_printf(&sb, "%s %s %d/%d", s ? "," : "", r->strategies[s], r->completed[s], r->phases);
        strbuf_puts(&sb, ")");
    }
    ModxStatus st = strbuf_status(&sb) ? strbuf_status(&sb) : add_kv(rr, "status", strbuf_cstr(&sb));
    strbuf_free(&sb);
    MODX_TRY(st);
    strbuf_init(&sb);
    for (int s = 0; s < r->nstrategies; s++) strbuf_printf(&sb, "%s%s", s ? ", " : "", r->strategies[s]);
    st = strbuf_status(&sb) ? strbuf_status(&sb) : add_kv(rr, "strategies", strbuf_cstr(&sb));
    strbuf_free(&sb);
    MODX_TRY(st);
    strbuf_init(&sb);
    strbuf_printf(&sb, "%d after phase 0", r->phases);
    for (int i = 0; i < r->nphase_names; i++) strbuf_printf(&sb, "%s%d %s", i ? ", " : ": ", i, r->phase_names[i]);
    st = strbuf_status(&sb) ? strbuf_status(&sb) : add_kv(rr, "phases", strbuf_cstr(&sb));
    strbuf_free(&sb);
    MODX_TRY(st);
    strbuf_init(&sb);
    for (int i = 0; i < r->ntest_sets; i++) {
        const RunTestSet *t = &r->test_sets[i];
        strbuf_printf(&sb, "%s%s (", i ? ", " : "", t->name);
        if (t->role == RUN_SET_DOMAIN) strbuf_printf(&sb, "domain from phase %d)", t->first_phase);
        else strbuf_puts(&sb, t->role == RUN_SET_HELDOUT    ? "held-out)"
                              : t->role == RUN_SET_ZEROSHOT ? "zero-shot)"
                                                            : "training sample)");
    }
    st = strbuf_status(&sb) ? strbuf_status(&sb) : add_kv(rr, "test sets", strbuf_cstr(&sb));
    strbuf_free(&sb);
    MODX_TRY(st);
    if (rr->pairs > 0) {
        char probe[512];
        snprintf(probe, sizeof probe, "%d image\xE2\x80\x93text pairs%s%s, embedding width %d", rr->pairs,
                 r->probe_test_set ? " of " : "", r->probe_test_set ? r->probe_test_set : "", rr->embed_dim);
        MODX_TRY(add_kv(rr, "probe set", probe));
    }
    if (isfinite(r->seed) && !rr->over_seeds) {
        snprintf(num, sizeof num, "%.17g", r->seed);
        MODX_TRY(add_kv(rr, "seed", num));
    }
    /* experiment.json: its top-level scalar settings, when the file exists */
    char path[4096];
    snprintf(path, sizeof path, "%s/experiment.json", dir);
    if (!io_file_exists(path)) return MODX_OK;
    cJSON *root = NULL;
    MODX_TRY(read_json(path, &root));
    const cJSON *v;
    int n = 0;
    st = MODX_OK;
    cJSON_ArrayForEach(v, root) {
        if (n >= MAX_EXPERIMENT_KV || st) break;
        char val[512];
        if (cJSON_IsString(v)) snprintf(val, sizeof val, "%s", v->valuestring);
        else if (cJSON_IsNumber(v)) snprintf(val, sizeof val, "%.10g", v->valuedouble);
        else if (cJSON_IsBool(v)) snprintf(val, sizeof val, "%s", cJSON_IsTrue(v) ? "true" : "false");
        else continue;
        if (!strcmp(v->string, "name") || !strcmp(v->string, "seed")) continue;
        st = add_kv(rr, v->string, val);
        n++;
    }
    cJSON_Delete(root);
    return st;
}

/* ---- metrics.jsonl ---- */

static int strategy_index(const RunInfo *r, const char *name) {
    for (int s = 0; s < r->nstrategies; s++)
        if (!strcmp(r->strategies[s], name)) return s;
    return -1;
}

static int set_index(const RunInfo *r, const char *name) {
    for (int i = 0; i < r->ntest_sets; i++)
        if (!strcmp(r->test_sets[i].name, name)) return i;
    return -1;
}

/* Sets (strategy, phase, set, metric) = value, replacing an earlier value. */
static ModxStatus put_result(RunReport *rr, const char *strategy, int phase, const char *set, const char *metric,
                             double value) {
    for (size_t i = 0; i < rr->nres; i++) {
        ReportResult *e = &rr->res[i];
        if (e->phase == phase && e->strategy == strategy && e->test_set == set && !strcmp(e->metric, metric)) {
            e->value = value;
            return MODX_OK;
        }
    }
    const char *m = NULL;
    for (size_t i = 0; i < rr->nres && !m; i++)
        if (!strcmp(rr->res[i].metric, metric)) m = rr->res[i].metric;
    if (!m && !(m = pool(rr, metric))) return MODX_ERR_NOMEM;
    if (!grow((void **)&rr->res, &rr->capres, rr->nres + 1, sizeof *rr->res))
        return modx_fail(MODX_ERR_NOMEM, "report: out of memory");
    rr->res[rr->nres++] = (ReportResult){.strategy = strategy, .phase = phase, .test_set = set, .metric = m, .value = value};
    return MODX_OK;
}

static double num_or_nan(const cJSON *o, const char *key);

/* An "eval" line (every number a metric) or a "zeroshot" line (zs = 1). */
static ModxStatus eval_line(RunReport *rr, const cJSON *o, long line, int zs, int *own_phase0) {
    const RunInfo *r = rr->run;
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(o, "strategy"), *jp = cJSON_GetObjectItemCaseSensitive(o, "phase"),
                *jt = cJSON_GetObjectItemCaseSensitive(o, "test_set");
    if (!cJSON_IsString(js) || !cJSON_IsString(jt) || !cJSON_IsNumber(jp))
        return modx_fail(MODX_ERR_FORMAT, "%s:%ld: an %s line needs \"strategy\" and \"test_set\" (strings) and "
                         "\"phase\" (a number)", rr->path, line, zs ? "zeroshot" : "eval");
    double ph = jp->valuedouble;
    if (ph != floor(ph) || ph < 0 || ph > r->phases)
        return modx_fail(MODX_ERR_FORMAT, "%s:%ld: \"phase\" is %g, expected an integer in [0, %d] (run.json phases)",
                         rr->path, line, ph, r->phases);
    int phase = (int)ph;
    const char *strategy;
    int s = strategy_index(r, js->valuestring);
    if (s >= 0) strategy = r->strategies[s];
    else if (!strcmp(js->valuestring, RUN_PHASE0)) strategy = phase0_name;
    else
        return modx_fail(MODX_ERR_FORMAT, "%s:%ld: strategy \"%s\" is not in run.json's \"strategies\" (nor \"%s\")",
                         rr->path, line, js->valuestring, RUN_PHASE0);
    if (strategy == phase0_name && phase != 0)
        return modx_fail(MODX_ERR_FORMAT, "%s:%ld: strategy \"%s\" at phase %d; phase-0 lines have phase 0", rr->path,
                         line, RUN_PHASE0, phase);
    int t = set_index(r, jt->valuestring);
    if (t < 0)
        return modx_fail(MODX_ERR_FORMAT, "%s:%ld: test set \"%s\" is not in run.json's \"test_sets\"", rr->path, line,
                         jt->valuestring);
    if (s >= 0 && phase == 0) own_phase0[s] = 1;
    if (zs) { /* a zero-shot line: its two accuracies */
        MODX_TRY(put_result(rr, strategy, phase, r->test_sets[t].name, REPORT_METRIC_ZS_TOP1, num_or_nan(o, "top1")));
        return put_result(rr, strategy, phase, r->test_sets[t].name, REPORT_METRIC_ZS_TOP5, num_or_nan(o, "top5"));
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, o) {
        if (!cJSON_IsNumber(v) || !strcmp(v->string, "phase")) continue;
        MODX_TRY(put_result(rr, strategy, phase, r->test_sets[t].name, v->string, v->valuedouble));
    }
    return MODX_OK;
}

typedef struct {
    RunReport *rr;
    int *own;
} EvalRead;

/* A "step" line: its losses, for the loss curves. */
static ModxStatus step_line(RunReport *rr, const cJSON *o, long line) {
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(o, "strategy"), *jp = cJSON_GetObjectItemCaseSensitive(o, "phase"),
                *jn = cJSON_GetObjectItemCaseSensitive(o, "step");
    if (!cJSON_IsString(js) || !cJSON_IsNumber(jp) || !cJSON_IsNumber(jn)) {
        rr->loss_skipped++; /* not plottable; the loss section counts them */
        return MODX_OK;
    }
    /* the shared phase-0 training logs as strategy "phase0" */
    int s = strategy_index(rr->run, js->valuestring);
    double ph = jp->valuedouble;
    if (s < 0 && strcmp(js->valuestring, RUN_PHASE0))
        return modx_fail(MODX_ERR_FORMAT, "%s:%ld: step line of strategy \"%s\", which is not in run.json's "
                         "\"strategies\"", rr->path, line, js->valuestring);
    if (ph != floor(ph) || ph < 0 || ph > rr->run->phases)
        return modx_fail(MODX_ERR_FORMAT, "%s:%ld: step line \"phase\" is %g, expected an integer in [0, %d]", rr->path,
                         line, ph, rr->run->phases);
    if (!grow((void **)&rr->loss, &rr->caploss, rr->nloss + 1, sizeof *rr->loss))
        return modx_fail(MODX_ERR_NOMEM, "report: out of memory for %zu step lines", rr->nloss + 1);
    rr->loss[rr->nloss++] = (ReportLoss){s >= 0 ? rr->run->strategies[s] : REPORT_LOSS_PHASE0, (int)ph, jn->valuedouble, num_or_nan(o, "loss"),
                                         num_or_nan(o, "loss_con"), num_or_nan(o, "loss_kl")};
    return MODX_OK;
}

static ModxStatus eval_of_line(void *ctx, const cJSON *o, const char *type, const char *path, long line) {
    (void)path;
    EvalRead *er = ctx;
    if (!strcmp(type, "step")) return step_line(er->rr, o, line);
    int zs = !strcmp(type, "zeroshot");
    return strcmp(type, "eval") && !zs ? MODX_OK : eval_line(er->rr, o, line, zs, er->own);
}

static ModxStatus metrics_read(RunReport *rr, const char *dir) {
    snprintf(rr->path, sizeof rr->path, "%s/metrics.jsonl", dir);
    if (!io_file_exists(rr->path))
        return modx_fail(MODX_ERR_IO, "%s not found (the run's metrics; written by modx run)", rr->path);
    int *own = calloc((size_t)rr->run->nstrategies + 1, sizeof *own);
    if (!own) return modx_fail(MODX_ERR_NOMEM, "report: out of memory");
    EvalRead er = {rr, own};
    ModxStatus st = runlog_each_line(rr->path, UINT64_MAX, eval_of_line, &er);
    /* phase-0 results start every strategy's curve */
    size_t n0 = rr->nres;
    for (size_t i = 0; i < n0 && st == MODX_OK; i++) {
        if (rr->res[i].strategy != phase0_name) continue;
        for (int s = 0; s < rr->run->nstrategies && st == MODX_OK; s++)
            if (!own[s]) {
                ReportResult e = rr->res[i];
                st = put_result(rr, rr->run->strategies[s], 0, e.test_set, e.metric, e.value);
            }
    }
    size_t w = 0; /* drop the "phase0" pseudo-strategy */
    for (size_t i = 0; i < rr->nres; i++)
        if (rr->res[i].strategy != phase0_name) rr->res[w++] = rr->res[i];
    rr->nres = w;
    free(own);
    return st;
}

/* ---- analysis.json ---- */

static double num_or_nan(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static ModxStatus need_obj(const RunReport *rr, long i, const cJSON *parent, const char *key, const cJSON **out) {
    *out = cJSON_GetObjectItemCaseSensitive(parent, key);
    if (!cJSON_IsObject(*out))
        return modx_fail(MODX_ERR_FORMAT, "%s: comparisons[%ld]: missing object \"%s\"", rr->path, i, key);
    return MODX_OK;
}

static ModxStatus need_num(const RunReport *rr, long i, const char *what, const cJSON *o, const char *key,
                           double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        return modx_fail(MODX_ERR_FORMAT, "%s: comparisons[%ld]: %s \"%s\" must be a number", rr->path, i, what, key);
    *out = v->valuedouble;
    return MODX_OK;
}

static ModxStatus add_hist(RunReport *rr, long i, const char *strategy, const char *modality, const char *comparison,
                           const cJSON *rot) {
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(rot, "hist");
    double width = num_or_nan(rot, "hist_bin_width_deg");
    if (!cJSON_IsArray(h) || cJSON_GetArraySize(h) != ANGLE_HIST_BINS || width != ANGLE_HIST_WIDTH_DEG)
        return modx_fail(MODX_ERR_FORMAT, "%s: comparisons[%ld]: %s \"hist\" must be %d counts of %g-degree bins", rr->path,
                         i, modality, ANGLE_HIST_BINS, ANGLE_HIST_WIDTH_DEG);
    double *c = calloc(ANGLE_HIST_BINS, sizeof *c);
    if (!c || !grow((void **)&rr->hists, &rr->caph, rr->nh + 1, sizeof *rr->hists) ||
        !grow((void **)&rr->counts, &rr->capcounts, rr->nh + 1, sizeof *rr->counts)) {
        free(c);
        return modx_fail(MODX_ERR_NOMEM, "report: out of memory");
    }
    int b = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, h) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0) {
            free(c);
            return modx_fail(MODX_ERR_FORMAT, "%s: comparisons[%ld]: %s \"hist\"[%d] must be a count", rr->path, i,
                             modality, b);
        }
        c[b++] = v->valuedouble;
    }
    rr->counts[rr->nh] = c;
    rr->hists[rr->nh++] = (ReportRotationHist){.strategy = strategy, .modality = modality, .comparison = comparison,
                                               .counts = c, .nbins = ANGLE_HIST_BINS};
    return MODX_OK;
}

static ModxStatus comparison_read(RunReport *rr, long i, const cJSON *c) {
    const RunInfo *r = rr->run;
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(c, "strategy"), *jk = cJSON_GetObjectItemCaseSensitive(c, "kind");
    if (!cJSON_IsString(js) || !cJSON_IsString(jk))
        return modx_fail(MODX_ERR_FORMAT, "%s: comparisons[%ld]: \"strategy\" and \"kind\" must be strings", rr->path, i);
    int s = strategy_index(r, js->valuestring);
    if (s < 0)
        return modx_fail(MODX_ERR_FORMAT, "%s: comparisons[%ld]: strategy \"%s\" is not in run.json's \"strategies\"",
                         rr->path, i, js->valuestring);
    const char *strategy = r->strategies[s];
    double from = 0, to = 0;
    MODX_TRY(need_num(rr, i, "", c, "from_phase", &from));
    MODX_TRY(need_num(rr, i, "", c, "to_phase", &to));
    if (from != floor(from) || to != floor(to) || from < 0 || to <= from || to > r->phases)
        return modx_fail(MODX_ERR_FORMAT, "%s: comparisons[%ld]: phases %g -> %g, expected 0 <= from < to <= %d",
                         rr->path, i, from, to, r->phases);
    const cJSON *res, *rv, *rt, *tv, *tt, *rel;
    MODX_TRY(need_obj(rr, i, c, "result", &res));
    MODX_TRY(need_obj(rr, i, res, "rotation_v", &rv));
    MODX_TRY(need_obj(rr, i, res, "rotation_t", &rt));
    MODX_TRY(need_obj(rr, i, res, "topology_v", &tv));
    MODX_TRY(need_obj(rr, i, res, "topology_t", &tt));
    MODX_TRY(need_obj(rr, i, res, "relative_rotation", &rel));
    if (!strcmp(jk->valuestring, ANALYSIS_KIND_OVERALL)) {
        char label[64];
        snprintf(label, sizeof label, "phase %d \xE2\x86\x92 phase %d", (int)from, (int)to);
        const char *lab = pool(rr, label);
        if (!lab) return MODX_ERR_NOMEM;
        MODX_TRY(add_hist(rr, i, strategy, "vision", lab, rv));
        return add_hist(rr, i, strategy, "text", lab, rt);
    }
    if (strcmp(jk->valuestring, ANALYSIS_KIND_STEP))
        return modx_fail(MODX_ERR_FORMAT, "%s: comparisons[%ld]: kind \"%s\", expected \"%s\" or \"%s\"", rr->path, i,
                         jk->valuestring, ANALYSIS_KIND_STEP, ANALYSIS_KIND_OVERALL);
    double rot_v, rot_t, top_v, top_t;
    MODX_TRY(need_num(rr, i, "rotation_v", rv, "mean_deg", &rot_v));
    MODX_TRY(need_num(rr, i, "rotation_t", rt, "mean_deg", &rot_t));
    MODX_TRY(need_num(rr, i, "topology_v", tv, "mean_abs_change_deg", &top_v));
    MODX_TRY(need_num(rr, i, "topology_t", tt, "mean_abs_change_deg", &top_t));
    if (!grow((void **)&rr->topo, &rr->captopo, rr->ntopo + 2, sizeof *rr->topo) ||
        !grow((void **)&rr->im, &rr->capim, rr->nim + 1, sizeof *rr->im))
        return modx_fail(MODX_ERR_NOMEM, "report: out of memory");
    rr->topo[rr->ntopo++] = (ReportTopology){strategy, "vision", (int)to, rot_v, top_v};
    rr->topo[rr->ntopo++] = (ReportTopology){strategy, "text", (int)to, rot_t, top_t};
    const cJSON *det = cJSON_GetObjectItemCaseSensitive(rel, "determined");
    if (cJSON_IsTrue(det)) {
        double mean;
        MODX_TRY(need_num(rr, i, "relative_rotation", rel, "mean_deg", &mean));
        rr->im[rr->nim++] = (ReportInterModal){strategy, (int)to, mean};
    } else if (cJSON_IsFalse(det)) {
        rr->undetermined++;
    } else {
        return modx_fail(MODX_ERR_FORMAT, "%s: comparisons[%ld]: relative_rotation \"determined\" must be true or false",
                         rr->path, i);
    }
    return MODX_OK;
}

/* The inter-modal section's text when no comparison determined it. */
static void intermodal_missing(char *what, size_t n) {
    snprintf(what, n, "Not shown: the relative rotation fits an orthogonal map to N probe pairs in E dimensions and "
             "needs N \xE2\x89\xA5 E; this run's probe has fewer pairs than the model's embedding dimensions. Give "
             "the experiment \"probe\": {\"pairs\": P} with P at least the model's embed_dim (and a test set that "
             "large).");
}

static ModxStatus analysis_read(RunReport *rr, const char *dir) {
    snprintf(rr->path, sizeof rr->path, "%s/analysis.json", dir);
    if (!io_file_exists(rr->path))
        return modx_fail(MODX_ERR_IO, "%s not found (run `modx analyze %s` first; modx run writes it unless disabled)",
                         rr->path, dir);
    cJSON *root = NULL;
    MODX_TRY(read_json(rr->path, &root));
    ModxStatus st = MODX_OK;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format"),
                *list = cJSON_GetObjectItemCaseSensitive(root, "comparisons");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, ANALYSIS_FORMAT))
        st = modx_fail(MODX_ERR_FORMAT, "%s: \"format\" must be \"%s\"", rr->path, ANALYSIS_FORMAT);
    else if (!cJSON_IsArray(list))
        st = modx_fail(MODX_ERR_FORMAT, "%s: \"comparisons\" must be an array", rr->path);
    double pairs = num_or_nan(root, "pairs"), edim = num_or_nan(root, "embed_dim");
    rr->pairs = pairs >= 0 && pairs <= 1e9 ? (int)pairs : 0; /* 0: unknown (missing or out of range) */
    rr->embed_dim = edim >= 0 && edim <= 1e9 ? (int)edim : 0;
    long i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, list) {
        if (st) break;
        st = cJSON_IsObject(c) ? comparison_read(rr, i, c)
                               : modx_fail(MODX_ERR_FORMAT, "%s: comparisons[%ld] must be an object", rr->path, i);
        i++;
    }
    cJSON_Delete(root);
    if (st) return st;
    /* one set of bin edges for every histogram: 5-degree bins up to one past the largest angle seen */
    size_t nb = 4;
    for (size_t h = 0; h < rr->nh; h++)
        for (size_t b = 0; b < ANGLE_HIST_BINS; b++)
            if (rr->counts[h][b] > 0 && b + 2 > nb) nb = b + 2;
    if (nb > ANGLE_HIST_BINS) nb = ANGLE_HIST_BINS;
    rr->edges = calloc(nb + 1, sizeof *rr->edges);
    if (!rr->edges) return modx_fail(MODX_ERR_NOMEM, "report: out of memory");
    for (size_t b = 0; b <= nb; b++) rr->edges[b] = ANGLE_HIST_WIDTH_DEG * (double)b;
    for (size_t h = 0; h < rr->nh; h++) {
        /* counts in trimmed-away bins are zero by construction; keep the total by adding any rest to the last bin */
        for (size_t b = nb; b < ANGLE_HIST_BINS; b++) rr->counts[h][nb - 1] += rr->counts[h][b];
        rr->hists[h].edges_deg = rr->edges;
        rr->hists[h].nbins = nb;
    }
    return MODX_OK;
}

/* The figures of every strategy for the report: the run's own (sum), or with seeds the mean ± sd over
 * them (agg; the heat maps show the mean matrix). */
static ReportCl *cl_fill(const RunInfo *run, const RunSummary *sum, const SeedSummary *agg) {
    ReportCl *cl = calloc((size_t)sum->ns + 1, sizeof *cl);
    if (!cl) return modx_fail(MODX_ERR_NOMEM, "report: out of memory"), NULL;
    size_t cells = (size_t)(sum->T + 1) * (size_t)sum->ncols;
    for (int k = 0; k < sum->ns; k++) {
        const RunSummaryStrategy *x = &sum->s[k];
        const ClFigures *f = &x->fig;
        cl[k] = (ReportCl){.strategy = run->strategies[k], .nrows = (size_t)sum->T + 1, .ncols = (size_t)sum->ncols,
                           .cols = (const char *const *)sum->cols, .r1 = sum->ncols > 0 ? x->r1 : NULL,
                           .fig = {f->last, f->avg_incremental, f->bwt, f->fwt, f->forgetting, f->kept_pct,
                                   f->learned_pct},
                           .train_samples = x->compute.samples, .train_s = x->compute.train_s,
                           .reference = !strcmp(x->name, RUN_JOINT) || !strcmp(x->name, "finetune")};
        if (!agg) continue;
        for (int j = 0; j < REPORT_CL_NFIG; j++) cl[k].fig[j] = agg->fig_mean[(size_t)k * SEED_NFIG + (size_t)j];
        cl[k].sd = agg->fig_sd + (size_t)k * SEED_NFIG;
        cl[k].r1 = sum->ncols > 0 ? agg->r1_mean + (size_t)k * cells : NULL;
        cl[k].train_samples = agg->compute[k].samples, cl[k].train_s = agg->compute[k].train_s;
    }
    return cl;
}

/* The report of run folder dir into html_path; with agg (a run with seeds, dir = its first seed's
 * folder) the figures, scatter and heat maps are the mean ± sd over the seeds. */
static ModxStatus report_build(const char *dir, const SeedSummary *agg, const char *html_path, const char *regions_path) {
    RunInfo run;
    MODX_TRY(run_info_load(&run, dir));
    RunReport rr;
    memset(&rr, 0, sizeof rr);
    rr.run = &run;
    RunSummary sum;
    memset(&sum, 0, sizeof sum);
    ModxStatus st = metrics_read(&rr, dir); /* first: its messages name the line of a bad record */
    if (!st) st = run_summary_build(&sum, dir);
    if (!st && !agg) st = run_summary_write(&sum, dir);
    if (!st) st = analysis_read(&rr, dir);
    rr.over_seeds = agg != NULL;
    if (!st) st = summary_fill(&rr, dir);
    if (!st && !(rr.sets = calloc((size_t)run.ntest_sets + 1, sizeof *rr.sets)))
        st = modx_fail(MODX_ERR_NOMEM, "report: out of memory");
    for (int i = 0; !st && i < run.ntest_sets; i++) {
        const RunTestSet *t = &run.test_sets[i];
        rr.sets[i] = (ReportTestSet){.name = t->name,
                                     .role = t->role == RUN_SET_DOMAIN     ? REPORT_SET_DOMAIN
                                             : t->role == RUN_SET_HELDOUT  ? REPORT_SET_HELDOUT
                                             : t->role == RUN_SET_ZEROSHOT ? REPORT_SET_ZEROSHOT
                                                                           : REPORT_SET_TRAIN_SAMPLE,
                                     .domain_phase = t->role == RUN_SET_DOMAIN ? t->first_phase : 0};
    }
    char title[512], what[512];
    snprintf(title, sizeof title, "modx report \xE2\x80\x94 %s%s", run.name, agg ? " (mean \xC2\xB1 sd over seeds)" : "");
    if (!st && agg) {
        StrBuf sb;
        strbuf_init(&sb);
        for (int k = 0; k < agg->n; k++) strbuf_printf(&sb, "%s%d", k ? ", " : "", agg->seeds[k]);
        strbuf_puts(&sb, ": figures, scatter and heat maps are the mean \xC2\xB1 sd over these seeds (summary.json, "
                         "summary.md); curves, histograms, tables of results and the gallery are the first seed's run "
                         "(seed-S/report.html: each seed's own)");
        st = strbuf_status(&sb) ? strbuf_status(&sb) : add_kv(&rr, "seeds", strbuf_cstr(&sb));
        strbuf_free(&sb);
    }
    snprintf(what, sizeof what,
             "Mean angle of the spectrum of R_V\xE1\xB5\x80 R_T (orthogonal Procrustes maps of the vision and text "
             "probe features, phase p\xE2\x88\x92" "1 \xE2\x86\x92 p). 0 = the modalities rotate in step.%s",
             rr.undetermined ? " Not determined for some comparisons: fewer probe pairs than embedding dimensions." : "");
    if (rr.undetermined && !rr.nim) intermodal_missing(what, sizeof what);
    ReportCl *cl = st ? NULL : cl_fill(&run, &sum, agg);
    if (!st && !cl) st = MODX_ERR_NOMEM;
    const char *cl_what =
        sum.kind == CL_STREAM_DOMAIN
            ? "Scatter: one point per strategy, x = learned %, y = kept %; up and right is better; joint (keeps "
              "100 %) and finetune (learns 100 %) are the references. Heat maps: R[i][j], column j = the domain of "
              "phase j, one colour scale for all. Also in summary.json / summary.md."
            : "Not one domain test set per phase: kept % and learned % do not apply (no scatter), only Last and the "
              "average. Heat maps: R[i][j] on the listed test sets, one colour scale for all.";
    RunGallery *gal = st ? NULL : calloc(1, sizeof *gal);
    char gnote[768] = "";
    int have_gallery = 0;
    if (!st && !gal) st = modx_fail(MODX_ERR_NOMEM, "report: out of memory");
    if (!st) { /* optional: a run without its data or checkpoints still gets its report */
        have_gallery = run_gallery_build(gal, dir, &run, &sum) == MODX_OK;
        if (!have_gallery) snprintf(gnote, sizeof gnote, "No gallery: %s.", modx_last_error());
    }
    if (!st) {
        Report rep = {.title = title, .cl = cl, .ncl = (size_t)sum.ns, .cl_what = cl_what,
                      .gallery = have_gallery ? &gal->view : NULL, .gallery_note = have_gallery ? NULL : gnote, .summary = rr.kv, .nsummary = rr.nkv,
                      .strategies = (const char *const *)run.strategies, .nstrategies = (size_t)run.nstrategies,
                      .test_sets = rr.sets, .ntest_sets = (size_t)run.ntest_sets,
                      .results = rr.res, .nresults = rr.nres, .hists = rr.hists, .nhists = rr.nh,
                      .topology = rr.topo, .ntopology = rr.ntopo, .intermodal = rr.im, .nintermodal = rr.nim,
                      .losses = rr.loss, .nlosses = rr.nloss, .nlosses_skipped = rr.loss_skipped,
                      .intermodal_what = what};
        st = report_write(&rep, html_path, regions_path);
    }
    if (gal) run_gallery_free(gal);
    free(gal);
    free(cl);
    run_report_free(&rr);
    run_summary_free(&sum);
    run_info_free(&run);
    return st;
}

ModxStatus report_run_write(const char *dir, const char *html_path, const char *regions_path) {
    int seeds[EXP_MAX_SEEDS], n;
    if (!seeds_of_run(dir, seeds, &n)) return report_build(dir, NULL, html_path, regions_path);
    SeedSummary agg;
    memset(&agg, 0, sizeof agg);
    char first[4096], *table = NULL;
    ModxStatus st = seed_summary_write_dir(dir, &table); /* summary.json, summary.md, results.md */
    free(table);
    if (!st) st = seed_summary_build(&agg, dir);
    if (!st && !run_seed_dir(first, sizeof first, dir, seeds[0])) st = modx_fail(MODX_ERR_INVALID, "%s: path too long", dir);
    if (!st) st = report_build(first, &agg, html_path, regions_path);
    seed_summary_free(&agg);
    return st;
}

ModxStatus report_run_finish(const char *dir, FILE *log) {
    int seeds[EXP_MAX_SEEDS], n;
    char path[4096];
    if (seeds_of_run(dir, seeds, &n)) /* each seed's own analysis and report, then the aggregate report */
        for (int k = 0; k < n; k++) {
            if (!run_seed_dir(path, sizeof path, dir, seeds[k])) return modx_fail(MODX_ERR_INVALID, "%s: path too long", dir);
            MODX_TRY(report_run_finish(path, log));
        }
    else
        MODX_TRY(run_analyze(dir, NULL, log));
    if (snprintf(path, sizeof path, "%s/report.html", dir) >= (int)sizeof path)
        return modx_fail(MODX_ERR_INVALID, "%s: path too long", dir);
    MODX_TRY(report_run_write(dir, path, NULL));
    if (log) fprintf(log, "report: %s\n", path);
    return MODX_OK;
}
