#include "analysis/analysis.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

AnalysisOptions analysis_default_options(void) {
    AnalysisOptions o = {TOPOLOGY_DEFAULT_MAX_PAIRS, TOPOLOGY_DEFAULT_SEED};
    return o;
}

ModxStatus analysis_compute(AnalysisResult *out, const float *va, const float *ta, const float *vb, const float *tb,
                            int N, int E, const AnalysisOptions *opt) {
    memset(out, 0, sizeof *out);
    AnalysisOptions o = opt ? *opt : analysis_default_options();
    if (N < 2 || E <= 0)
        return modx_fail(MODX_ERR_INVALID, "analysis: expected at least 2 probe pairs and a positive width, got %d x %d", N, E);
    out->n = N;
    out->e = E;
    double *theta = modx_calloc((size_t)N, sizeof *theta, "rotation angles");
    if (!theta) return MODX_ERR_NOMEM;
    ModxStatus st;
    if ((st = rotation_angles(theta, va, vb, N, E)) || (st = angle_stats(&out->rotation_v, theta, N))) {
        modx_error_prefix("image rotation: ");
        goto fail;
    }
    if ((st = rotation_angles(theta, ta, tb, N, E)) || (st = angle_stats(&out->rotation_t, theta, N))) {
        modx_error_prefix("text rotation: ");
        goto fail;
    }
    if ((st = topology_change(&out->topology_v, va, vb, N, E, o.topology_max_pairs, o.topology_seed))) {
        modx_error_prefix("image topology: ");
        goto fail;
    }
    if ((st = topology_change(&out->topology_t, ta, tb, N, E, o.topology_max_pairs, o.topology_seed))) {
        modx_error_prefix("text topology: ");
        goto fail;
    }
    if ((st = deviation_pair_angles(&out->pair, va, ta, vb, tb, N, E))) goto fail;
    st = deviation_relative_rotation(&out->relative, va, ta, vb, tb, N, E);
fail:
    free(theta);
    if (st) analysis_free(out);
    return st;
}

void analysis_free(AnalysisResult *r) { relative_rotation_free(&r->relative); }

/* ---- JSON ---- */

static int add_num(cJSON *o, const char *k, double v) {
    return isfinite(v) ? cJSON_AddNumberToObject(o, k, v) != NULL : cJSON_AddNullToObject(o, k) != NULL;
}

static cJSON *angle_stats_json(const AngleStats *s) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = cJSON_AddNumberToObject(o, "n", s->n) && add_num(o, "mean_deg", s->mean) &&
             add_num(o, "median_deg", s->median) && add_num(o, "p10_deg", s->p10) && add_num(o, "p90_deg", s->p90) &&
             add_num(o, "min_deg", s->min) && add_num(o, "max_deg", s->max) &&
             cJSON_AddNumberToObject(o, "hist_bin_width_deg", ANGLE_HIST_WIDTH_DEG);
    cJSON *h = ok ? cJSON_AddArrayToObject(o, "hist") : NULL;
    for (int k = 0; h && k < ANGLE_HIST_BINS; k++) {
        cJSON *v = cJSON_CreateNumber((double)s->hist[k]);
        if (!v || !cJSON_AddItemToArray(h, v)) {
            cJSON_Delete(v);
            h = NULL;
        }
    }
    if (!h) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *topology_json(const TopologyChange *t) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = cJSON_AddNumberToObject(o, "pairs_total", (double)t->pairs_total) &&
             cJSON_AddNumberToObject(o, "pairs_used", (double)t->pairs_used) &&
             cJSON_AddBoolToObject(o, "subsampled", t->subsampled) && add_num(o, "mean_angle_a_deg", t->mean_angle_a_deg) &&
             add_num(o, "mean_angle_b_deg", t->mean_angle_b_deg) &&
             add_num(o, "mean_abs_change_deg", t->mean_abs_change_deg) &&
             add_num(o, "max_abs_change_deg", t->max_abs_change_deg) && add_num(o, "spearman", t->spearman);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int add_obj(cJSON *parent, const char *k, cJSON *child) {
    if (!child) return 0;
    if (!cJSON_AddItemToObject(parent, k, child)) {
        cJSON_Delete(child);
        return 0;
    }
    return 1;
}

static cJSON *fit_json(const ProcrustesFit *f) {
    cJSON *o = cJSON_CreateObject();
    if (o && (!add_num(o, "residual", f->residual) || !add_num(o, "sv_min_ratio", f->sv_min_ratio))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *relative_json(const RelativeRotation *r) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = cJSON_AddBoolToObject(o, "determined", r->determined) != NULL;
    if (ok && !r->determined) {
        ok = cJSON_AddStringToObject(o, "reason", "fewer probe pairs than embedding dimensions: the Procrustes maps are not unique") != NULL;
    } else if (ok) {
        ok = add_num(o, "max_deg", r->max_deg) && add_num(o, "mean_deg", r->mean_deg) &&
             add_obj(o, "fit_v", fit_json(&r->fit_v)) && add_obj(o, "fit_t", fit_json(&r->fit_t)) &&
             add_num(o, "rot_v_max_deg", r->rot_v_max_deg) && add_num(o, "rot_v_mean_deg", r->rot_v_mean_deg) &&
             add_num(o, "rot_t_max_deg", r->rot_t_max_deg) && add_num(o, "rot_t_mean_deg", r->rot_t_mean_deg);
        cJSON *a = ok ? cJSON_CreateDoubleArray(r->angles_deg, r->E) : NULL;
        ok = ok && add_obj(o, "angles_deg", a);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

ModxStatus analysis_to_json(const AnalysisResult *r, cJSON **out) {
    *out = NULL;
    cJSON *o = cJSON_CreateObject(), *pair = cJSON_CreateObject();
    int ok = o && pair && cJSON_AddNumberToObject(o, "n", r->n) && cJSON_AddNumberToObject(o, "embed_dim", r->e) &&
             add_obj(o, "rotation_v", angle_stats_json(&r->rotation_v)) &&
             add_obj(o, "rotation_t", angle_stats_json(&r->rotation_t)) &&
             add_obj(o, "topology_v", topology_json(&r->topology_v)) &&
             add_obj(o, "topology_t", topology_json(&r->topology_t));
    if (ok) {
        ok = add_obj(pair, "at_a", angle_stats_json(&r->pair.at_a)) && add_obj(pair, "at_b", angle_stats_json(&r->pair.at_b)) &&
             add_num(pair, "mean_change_deg", r->pair.mean_change_deg) &&
             add_num(pair, "mean_abs_change_deg", r->pair.mean_abs_change_deg) &&
             add_num(pair, "max_abs_change_deg", r->pair.max_abs_change_deg);
        ok = ok && add_obj(o, "pair_angle", pair);
        pair = NULL;
    }
    ok = ok && add_obj(o, "relative_rotation", relative_json(&r->relative));
    if (!ok) {
        cJSON_Delete(o);
        cJSON_Delete(pair);
        return modx_fail(MODX_ERR_NOMEM, "analysis: out of memory while building the JSON result");
    }
    *out = o;
    return MODX_OK;
}

/* ---- summary ---- */

static void print_spearman(FILE *f, double s) {
    if (isfinite(s))
        fprintf(f, "%.4f", s);
    else
        fprintf(f, "n/a");
}

void analysis_print_summary(FILE *f, const AnalysisResult *r) {
    fprintf(f, "probe pairs %d, embedding width %d\n", r->n, r->e);
    const char *names[2] = {"image", "text"};
    const AngleStats *rot[2] = {&r->rotation_v, &r->rotation_t};
    const TopologyChange *top[2] = {&r->topology_v, &r->topology_t};
    for (int m = 0; m < 2; m++) {
        fprintf(f, "%-5s rotation theta (deg): mean %.3f  median %.3f  p10 %.3f  p90 %.3f\n", names[m], rot[m]->mean,
                rot[m]->median, rot[m]->p10, rot[m]->p90);
        fprintf(f, "%-5s topology: mean |S_a - S_b| %.4f deg over %lld%s pairs, Spearman ", names[m],
                top[m]->mean_abs_change_deg, (long long)top[m]->pairs_used, top[m]->subsampled ? " sampled" : "");
        print_spearman(f, top[m]->spearman);
        fprintf(f, "\n");
    }
    fprintf(f, "pair angle (deg): mean %.3f at a, %.3f at b; change mean %+.4f, mean |change| %.4f\n",
            r->pair.at_a.mean, r->pair.at_b.mean, r->pair.mean_change_deg, r->pair.mean_abs_change_deg);
    const RelativeRotation *q = &r->relative;
    if (q->determined) {
        fprintf(f, "relative rotation R_V^T R_T (deg): max %.4f  mean %.4f\n", q->max_deg, q->mean_deg);
        fprintf(f, "  Procrustes residual: image %.4g, text %.4g; whole-space rotation max/mean: image %.3f/%.3f, text %.3f/%.3f\n",
                q->fit_v.residual, q->fit_t.residual, q->rot_v_max_deg, q->rot_v_mean_deg, q->rot_t_max_deg,
                q->rot_t_mean_deg);
    } else {
        fprintf(f, "relative rotation: not determined (%d probe pairs < %d dimensions)\n", r->n, r->e);
    }
}
