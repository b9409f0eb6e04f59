#include "analysis/run_analysis.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/features_file.h"
#include "run/rundir.h"
#include "run/seeds.h"
#include "io/file.h"

typedef struct {
    char rel[512];
    ProbeFeatures f;
} LoadedProbe;

static ModxStatus load_probe(LoadedProbe *p, const char *dir, const RunInfo *r, int s, int phase) {
    memset(p, 0, sizeof *p);
    char path[4096];
    if (!run_probe_relpath(p->rel, sizeof p->rel, r, s, phase) ||
        snprintf(path, sizeof path, "%s/%s", dir, p->rel) >= (int)sizeof path)
        return modx_fail(MODX_ERR_INVALID, "%s: path too long", dir);
    if (!io_file_exists(path))
        return modx_fail(MODX_ERR_IO, "%s not found (strategy \"%s\" completed phase %d according to %s/run.json; "
                         "every completed phase has a probe file)", path, r->strategies[s], run_info_last_phase(r, s), dir);
    return probe_features_load(&p->f, path);
}

static int add_str(cJSON *o, const char *k, const char *v) { return cJSON_AddStringToObject(o, k, v) != NULL; }
static int add_int(cJSON *o, const char *k, double v) { return cJSON_AddNumberToObject(o, k, v) != NULL; }

static void print_row(FILE *f, const char *strategy, int a, int b, const AnalysisResult *res) {
    if (!f) return;
    char cmp[32];
    snprintf(cmp, sizeof cmp, "%d->%d", a, b);
    fprintf(f, "%-14s %-7s %8.2f %8.2f %9.3f %9.3f %8.3f %8.3f %+8.3f", strategy, cmp, res->rotation_v.mean,
            res->rotation_t.mean, res->topology_v.mean_abs_change_deg, res->topology_t.mean_abs_change_deg,
            res->topology_v.spearman, res->topology_t.spearman, res->pair.mean_change_deg);
    if (res->relative.determined)
        fprintf(f, " %8.3f %8.3f\n", res->relative.mean_deg, res->relative.max_deg);
    else
        fprintf(f, " %8s %8s\n", "n/a", "n/a");
}

/* Compares a and b and appends one entry to `list`. */
static ModxStatus compare(cJSON *list, FILE *summary, const char *strategy, const char *kind, int pa, int pb,
                          const LoadedProbe *a, const LoadedProbe *b, const AnalysisOptions *opt, int *n, int *e) {
    if (a->f.n != b->f.n || a->f.e != b->f.e)
        return modx_fail(MODX_ERR_FORMAT, "%s has %d pairs of width %d but %s has %d of width %d; every probe file of a "
                         "run holds the same probe set", a->rel, a->f.n, a->f.e, b->rel, b->f.n, b->f.e);
    if (*n && (a->f.n != *n || a->f.e != *e))
        return modx_fail(MODX_ERR_FORMAT, "%s has %d pairs of width %d, other probe files of the run %d of width %d",
                         a->rel, a->f.n, a->f.e, *n, *e);
    *n = a->f.n, *e = a->f.e;
    AnalysisResult res;
    ModxStatus st = analysis_compute(&res, a->f.image, a->f.text, b->f.image, b->f.text, a->f.n, a->f.e, opt);
    if (st) {
        modx_error_prefix("%s vs %s: ", a->rel, b->rel);
        return st;
    }
    cJSON *j = NULL, *item = cJSON_CreateObject();
    st = analysis_to_json(&res, &j);
    int ok = st == MODX_OK && item && add_str(item, "strategy", strategy) && add_str(item, "kind", kind) &&
             add_int(item, "from_phase", pa) && add_int(item, "to_phase", pb) && add_str(item, "a", a->rel) &&
             add_str(item, "b", b->rel) && cJSON_AddItemToObject(item, "result", j);
    if (ok) j = NULL;
    ok = ok && cJSON_AddItemToArray(list, item);
    if (ok) item = NULL;
    cJSON_Delete(j);
    cJSON_Delete(item);
    if (ok) print_row(summary, strategy, pa, pb, &res);
    analysis_free(&res);
    if (!ok && st == MODX_OK) st = modx_fail(MODX_ERR_NOMEM, "analysis: out of memory building analysis.json");
    return st;
}

static ModxStatus analyze_strategy(cJSON *list, FILE *summary, const char *dir, const RunInfo *r, int s,
                                   const LoadedProbe *p0, const AnalysisOptions *opt, int *n, int *e) {
    int last = run_info_last_phase(r, s);
    if (last == 0) {
        if (summary) fprintf(summary, "%-14s (no completed phase yet)\n", r->strategies[s]);
        return MODX_OK;
    }
    int joint = run_info_trains_once(r, s);
    LoadedProbe prev = *p0, cur;
    ModxStatus st = MODX_OK;
    for (int k = joint ? last : 1; k <= last && st == MODX_OK; k++) {
        st = load_probe(&cur, dir, r, s, k);
        if (st) break;
        if (!joint) st = compare(list, summary, r->strategies[s], ANALYSIS_KIND_STEP, k - 1, k, &prev, &cur, opt, n, e);
        if (k == last && st == MODX_OK)
            st = compare(list, summary, r->strategies[s], ANALYSIS_KIND_OVERALL, 0, k, p0, &cur, opt, n, e);
        if (prev.f.image != p0->f.image) probe_features_free(&prev.f);
        prev = cur;
        memset(&cur, 0, sizeof cur);
    }
    if (prev.f.image != p0->f.image) probe_features_free(&prev.f);
    return st;
}

ModxStatus run_analyze(const char *dir, const AnalysisOptions *opt, FILE *summary) {
    int seeds[EXP_MAX_SEEDS], ns;
    if (seeds_of_run(dir, seeds, &ns)) { /* a run with seeds: each seed's folder */
        char sub[4096];
        for (int k = 0; k < ns; k++) {
            if (!run_seed_dir(sub, sizeof sub, dir, seeds[k])) return modx_fail(MODX_ERR_INVALID, "%s: path too long", dir);
            MODX_TRY(run_analyze(sub, opt, summary));
        }
        return MODX_OK;
    }
    RunInfo r;
    MODX_TRY(run_info_load(&r, dir));
    LoadedProbe p0;
    memset(&p0, 0, sizeof p0);
    cJSON *root = cJSON_CreateObject(), *list = NULL;
    char *text = NULL;
    ModxStatus st = MODX_OK;
    int any = 0;
    for (int s = 0; s < r.nstrategies; s++) any |= run_info_last_phase(&r, s) > 0;
    if (any) st = load_probe(&p0, dir, &r, 0, 0);
    int n = 0, e = 0;
    if (st == MODX_OK) {
        int ok = root && add_str(root, "format", ANALYSIS_FORMAT) && add_str(root, "run", r.name) &&
                 add_str(root, "status", r.status) && (list = cJSON_AddArrayToObject(root, "comparisons"));
        if (!ok) st = modx_fail(MODX_ERR_NOMEM, "analysis: out of memory");
    }
    if (st == MODX_OK && summary) {
        fprintf(summary, "run %s (%s): %d strategies, %d phases after phase 0\n", r.name, r.status, r.nstrategies,
                r.phases);
        fprintf(summary, "rotation = mean theta (deg); topology = mean |S_a - S_b| (deg) and Spearman; pair = mean "
                         "change of the image-text angle; relative = angles of R_V^T R_T (mean, max)\n");
        fprintf(summary, "%-14s %-7s %8s %8s %9s %9s %8s %8s %8s %8s %8s\n", "strategy", "phases", "rot img", "rot txt",
                "topo img", "topo txt", "rho img", "rho txt", "pair", "rel mean", "rel max");
    }
    for (int s = 0; s < r.nstrategies && st == MODX_OK; s++)
        st = analyze_strategy(list, summary, dir, &r, s, &p0, opt, &n, &e);
    if (st == MODX_OK && !(cJSON_AddNumberToObject(root, "pairs", n) && cJSON_AddNumberToObject(root, "embed_dim", e)))
        st = modx_fail(MODX_ERR_NOMEM, "analysis: out of memory");
    if (st == MODX_OK) {
        const char *ptest = r.probe_test_set;
        cJSON *probe = cJSON_AddObjectToObject(root, "probe");
        if (!probe || !(ptest ? add_str(probe, "test_set", ptest) : cJSON_AddNullToObject(probe, "test_set") != NULL))
            st = modx_fail(MODX_ERR_NOMEM, "analysis: out of memory");
    }
    if (st == MODX_OK && !(text = cJSON_Print(root))) st = modx_fail(MODX_ERR_NOMEM, "analysis: out of memory");
    if (st == MODX_OK) {
        char path[4096];
        snprintf(path, sizeof path, "%s/analysis.json", dir);
        size_t len = strlen(text);
        text[len] = '\n';
        st = io_write_atomic(path, text, len + 1);
        if (st == MODX_OK && summary) fprintf(summary, "wrote %s\n", path);
    }
    free(text);
    cJSON_Delete(root);
    probe_features_free(&p0.f);
    run_info_free(&r);
    return st;
}
