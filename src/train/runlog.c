#include "train/runlog.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/dist.h"
#include "io/file.h"

static ModxStatus add_eval(RunLog *log, const char *strategy, int phase, const char *test, const RetrievalMetrics *m) {
    if (log->n_evals == log->cap_evals) {
        int cap = log->cap_evals ? 2 * log->cap_evals : 64;
        EvalRecord *e = realloc(log->evals, (size_t)cap * sizeof *e);
        if (!e) return modx_fail(MODX_ERR_NOMEM, "out of memory");
        log->evals = e, log->cap_evals = cap;
    }
    EvalRecord *r = &log->evals[log->n_evals++];
    memset(r, 0, sizeof *r);
    snprintf(r->strategy, sizeof r->strategy, "%s", strategy);
    snprintf(r->test_set, sizeof r->test_set, "%s", test);
    r->phase = phase;
    r->m = *m;
    return MODX_OK;
}

static ModxStatus add_zs(RunLog *log, const ZeroShotRecord *z) {
    if (log->n_zs == log->cap_zs) {
        int cap = log->cap_zs ? 2 * log->cap_zs : 16;
        ZeroShotRecord *p = realloc(log->zs, (size_t)cap * sizeof *p);
        if (!p) return modx_fail(MODX_ERR_NOMEM, "out of memory");
        log->zs = p, log->cap_zs = cap;
    }
    log->zs[log->n_zs++] = *z;
    return MODX_OK;
}

static double num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

ModxStatus runlog_each_line(const char *path, uint64_t limit, RunLogLineFn fn, void *ctx) {
    uint8_t *buf;
    size_t n;
    MODX_TRY(io_read_file(path, &buf, &n));
    if (n > limit) n = (size_t)limit;
    ModxStatus st = MODX_OK;
    long line = 0;
    for (size_t a = 0; a < n && st == MODX_OK;) {
        size_t b = a, k = a;
        while (b < n && buf[b] != '\n') b++;
        line++;
        while (k < b && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r')) k++;
        if (b == n) break; /* an unfinished last line (a killed or running run) is left out */
        if (k < b) {
            cJSON *o = cJSON_ParseWithLength((const char *)buf + a, b - a);
            const cJSON *type = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "type") : NULL;
            if (!cJSON_IsObject(o))
                st = modx_fail(MODX_ERR_FORMAT, "%s:%ld: expected a JSON object per line", path, line);
            else if (!cJSON_IsString(type))
                st = modx_fail(MODX_ERR_FORMAT, "%s:%ld: missing \"type\" (\"step\" or \"eval\")", path, line);
            else
                st = fn(ctx, o, type->valuestring, path, line);
            cJSON_Delete(o);
        }
        a = b + 1;
    }
    free(buf);
    return st;
}

static ModxStatus eval_of_line(void *ctx, const cJSON *o, const char *type, const char *path, long line) {
    RunLog *log = ctx;
    int zs = !strcmp(type, "zeroshot");
    if (strcmp(type, "eval") && !zs) return MODX_OK;
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "strategy");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "test_set");
    if (!cJSON_IsString(s) || !cJSON_IsString(t))
        return modx_fail(MODX_ERR_FORMAT, "%s:%ld: %s line without strategy/test_set", path, line, type);
    if (zs) {
        ZeroShotRecord z = {.phase = (int)num(o, "phase"), .images = (int)num(o, "images"),
                            .classes = (int)num(o, "classes"), .templates = (int)num(o, "templates"),
                            .top1 = num(o, "top1"), .top5 = num(o, "top5")};
        snprintf(z.strategy, sizeof z.strategy, "%s", s->valuestring);
        snprintf(z.test_set, sizeof z.test_set, "%s", t->valuestring);
        return add_zs(log, &z);
    }
    RetrievalMetrics m = {0};
    m.i2t_r1 = num(o, "i2t_R@1"), m.i2t_r5 = num(o, "i2t_R@5"), m.i2t_r10 = num(o, "i2t_R@10");
    m.t2i_r1 = num(o, "t2i_R@1"), m.t2i_r5 = num(o, "t2i_R@5"), m.t2i_r10 = num(o, "t2i_R@10");
    m.rsum = num(o, "rsum");
    m.i2t_median_rank = num(o, "i2t_medr"), m.i2t_mean_rank = num(o, "i2t_meanr");
    m.t2i_median_rank = num(o, "t2i_medr"), m.t2i_mean_rank = num(o, "t2i_meanr");
    m.n_images = (int)num(o, "images"), m.n_captions = (int)num(o, "captions");
    return add_eval(log, s->valuestring, (int)num(o, "phase"), t->valuestring, &m);
}

/* Reads the evaluations of an existing metrics.jsonl up to `limit` bytes. */
static ModxStatus read_evals(RunLog *log, uint64_t limit) {
    log->n_evals = log->n_zs = 0;
    if (!io_file_exists(log->path)) return MODX_OK;
    return runlog_each_line(log->path, limit, eval_of_line, log);
}

ModxStatus runlog_open(RunLog *log, const char *run_dir) {
    memset(log, 0, sizeof *log);
    size_t n = strlen(run_dir) + sizeof "/metrics.jsonl";
    if (!(log->path = malloc(n))) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    snprintf(log->path, n, "%s/metrics.jsonl", run_dir);
    ModxStatus st = read_evals(log, UINT64_MAX);
    if (st == MODX_OK && !(log->f = fopen(log->path, "a")))
        st = modx_fail(MODX_ERR_IO, "%s: cannot open for appending", log->path);
    if (st != MODX_OK) runlog_close(log);
    return st;
}

void runlog_close(RunLog *log) {
    if (log->f) fclose(log->f);
    free(log->path);
    free(log->evals);
    free(log->zs);
    memset(log, 0, sizeof *log);
}

/* In a job of several ranks (core/dist.h) rank 0 alone writes metrics.jsonl;
 * the other ranks keep the same records in memory and see its file's size. */
uint64_t runlog_offset(RunLog *log) {
    fflush(log->f);
    if (!dist_is_writer()) fseek(log->f, 0, SEEK_END);
    long p = ftell(log->f);
    return p < 0 ? 0 : (uint64_t)p;
}

ModxStatus runlog_truncate(RunLog *log, uint64_t offset) {
    fflush(log->f);
    if (offset > runlog_offset(log))
        return modx_fail(MODX_ERR_FORMAT, "%s is shorter (%llu bytes) than the checkpoint recorded (%llu bytes)",
                         log->path, (unsigned long long)runlog_offset(log), (unsigned long long)offset);
    if (dist_is_writer() && ftruncate(fileno(log->f), (off_t)offset) != 0)
        return modx_fail(MODX_ERR_IO, "%s: cannot truncate to %llu bytes", log->path, (unsigned long long)offset);
    fseek(log->f, 0, SEEK_END);
    return read_evals(log, offset);
}

static ModxStatus put_line(RunLog *log, const char *line) {
    if (!dist_is_writer()) return MODX_OK;
    if (fputs(line, log->f) < 0 || fputc('\n', log->f) < 0 || fflush(log->f) != 0)
        return modx_fail(MODX_ERR_IO, "%s: write failed", log->path);
    return MODX_OK;
}

/* "time": the line's wall-clock time, UTC, ISO 8601 to the second (the
 * resume tests compare the log without it: tests/fixtures/engine/toy_common.sh). */
static void utc_now(char *buf, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm)) snprintf(buf, n, "unknown");
}

ModxStatus runlog_step(RunLog *log, const StepRecord *r) {
    char line[640], now[32];
    utc_now(now, sizeof now);
    snprintf(line, sizeof line,
             "{\"type\": \"step\", \"strategy\": \"%s\", \"phase\": %d, \"step\": %lld, "
             "\"steps\": %lld, \"epoch\": %.4f, \"loss\": %.6g, \"loss_con\": %.6g, \"loss_kl\": %.6g, \"lr\": %.6g, "
             "\"logit_scale\": %.6g, \"samples_per_s\": %.1f, \"time\": \"%s\"}",
             r->strategy, r->phase, (long long)r->step, (long long)r->steps, r->epoch, r->loss, r->loss_con,
             r->loss_kl, r->lr, r->logit_scale, r->samples_per_s, now);
    return put_line(log, line);
}

ModxStatus runlog_compute(RunLog *log, const ComputeRecord *r) {
    char line[704], now[32];
    utc_now(now, sizeof now);
    snprintf(line, sizeof line,
             "{\"type\": \"compute\", \"strategy\": \"%s\", \"phase\": %d, \"samples\": %lld, "
             "\"forward_passes\": %lld, \"backward_passes\": %lld, \"frozen_forward_passes\": %lld, "
             "\"matmul_flops\": %.6g, \"train_s\": %.3f, \"peak_rss_bytes\": %lld, \"time\": \"%s\"}",
             r->strategy, r->phase, (long long)r->samples, (long long)r->forward_passes, (long long)r->backward_passes,
             (long long)r->frozen_forward_passes, r->matmul_flops, r->train_s, (long long)r->peak_rss_bytes, now);
    return put_line(log, line);
}

ModxStatus runlog_eval_time(RunLog *log, const char *strategy, int phase, double eval_s) {
    char line[256], now[32];
    utc_now(now, sizeof now);
    snprintf(line, sizeof line,
             "{\"type\": \"compute\", \"strategy\": \"%s\", \"phase\": %d, \"eval_s\": %.3f, \"time\": \"%s\"}",
             strategy, phase, eval_s, now);
    return put_line(log, line);
}

ModxStatus runlog_eval(RunLog *log, const char *strategy, int phase, const char *test_set, const RetrievalMetrics *m) {
    char line[832], now[32];
    utc_now(now, sizeof now);
    snprintf(line, sizeof line,
             "{\"type\": \"eval\", \"strategy\": \"%s\", \"phase\": %d, \"test_set\": \"%s\", \"images\": %d, "
             "\"captions\": %d, \"i2t_R@1\": %.4f, \"i2t_R@5\": %.4f, \"i2t_R@10\": %.4f, \"t2i_R@1\": %.4f, "
             "\"t2i_R@5\": %.4f, \"t2i_R@10\": %.4f, \"rsum\": %.4f, \"i2t_medr\": %g, \"i2t_meanr\": %.4f, "
             "\"t2i_medr\": %g, \"t2i_meanr\": %.4f, \"time\": \"%s\"}",
             strategy, phase, test_set, m->n_images, m->n_captions, m->i2t_r1, m->i2t_r5, m->i2t_r10, m->t2i_r1,
             m->t2i_r5, m->t2i_r10, m->rsum, m->i2t_median_rank, m->i2t_mean_rank, m->t2i_median_rank,
             m->t2i_mean_rank, now);
    MODX_TRY(put_line(log, line));
    /* Stored as the line will read back (4 decimals), so a resumed run's tables equal an uninterrupted run's. */
    RetrievalMetrics r = *m;
    double *f[] = {&r.i2t_r1, &r.i2t_r5, &r.i2t_r10, &r.t2i_r1, &r.t2i_r5, &r.t2i_r10, &r.rsum, &r.i2t_mean_rank,
                   &r.t2i_mean_rank};
    for (size_t k = 0; k < sizeof f / sizeof *f; k++) {
        char b[64];
        snprintf(b, sizeof b, "%.4f", *f[k]);
        *f[k] = strtod(b, NULL);
    }
    return add_eval(log, strategy, phase, test_set, &r);
}

ModxStatus runlog_zeroshot(RunLog *log, const ZeroShotRecord *r) {
    char line[576], now[32];
    utc_now(now, sizeof now);
    snprintf(line, sizeof line,
             "{\"type\": \"zeroshot\", \"strategy\": \"%s\", \"phase\": %d, \"test_set\": \"%s\", \"images\": %d, "
             "\"classes\": %d, \"templates\": %d, \"top1\": %.4f, \"top5\": %.4f, \"time\": \"%s\"}",
             r->strategy, r->phase, r->test_set, r->images, r->classes, r->templates, r->top1, r->top5, now);
    MODX_TRY(put_line(log, line));
    /* Stored as the line reads back, as for runlog_eval. */
    ZeroShotRecord z = *r;
    char b[64];
    snprintf(b, sizeof b, "%.4f", z.top1);
    z.top1 = strtod(b, NULL);
    snprintf(b, sizeof b, "%.4f", z.top5);
    z.top5 = strtod(b, NULL);
    return add_zs(log, &z);
}

const ZeroShotRecord *runlog_find_zeroshot(const RunLog *log, const char *strategy, int phase, const char *test_set) {
    for (int i = log->n_zs - 1; i >= 0; i--) {
        const ZeroShotRecord *r = &log->zs[i];
        if (r->phase == phase && !strcmp(r->strategy, strategy) && !strcmp(r->test_set, test_set)) return r;
    }
    return NULL;
}

const EvalRecord *runlog_find_eval(const RunLog *log, const char *strategy, int phase, const char *test_set) {
    for (int i = log->n_evals - 1; i >= 0; i--) {
        const EvalRecord *r = &log->evals[i];
        if (r->phase == phase && !strcmp(r->strategy, strategy) && !strcmp(r->test_set, test_set)) return r;
    }
    return NULL;
}

/* A growing text buffer. */
typedef struct {
    char *s;
    size_t n, cap;
    int oom;
} Buf;

static void bprintf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(Buf *b, const char *fmt, ...) {
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->n + (size_t)k + 1 > b->cap) {
        size_t cap = (b->cap ? 2 * b->cap : 4096) + (size_t)k;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s, b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static double r1(const RetrievalMetrics *m) { return 0.5 * (m->i2t_r1 + m->t2i_r1); }

/* The phase whose results a strategy reports last: N, or 0 for "phase0". */
static int final_phase(const char *strategy, int n_phases) { return strcmp(strategy, RUN_PHASE0) ? n_phases : 0; }

static int is_zs(const char *const *roles, int t) { return roles && !strcmp(roles[t], "zeroshot"); }

/* The one "mean" of the results, the report and the README: over the domain
 * test sets only (held-out and train-sample sets are shown apart); a
 * zero-shot set's column (its top-1) comes after it, outside the mean. */
static int is_domain(const char *const *roles, int t) { return roles && !strcmp(roles[t], "domain"); }

static void final_table(Buf *b, const RunLog *log, const char *const *strategies, int ns, const char *const *tests,
                        const char *const *roles, int nt, int n_phases) {
    int n_domain = 0, ncol = 0;
    for (int t = 0; t < nt; t++) n_domain += is_domain(roles, t);
    bprintf(b, "| strategy |");
    for (int t = 0; t < nt; t++)
        if (!is_zs(roles, t)) bprintf(b, " %s |", tests[t]), ncol++;
    if (n_domain) bprintf(b, " mean of domains |"), ncol++;
    for (int t = 0; t < nt; t++)
        if (is_zs(roles, t)) bprintf(b, " %s zero-shot top-1 |", tests[t]), ncol++;
    bprintf(b, "\n|---|");
    for (int t = 0; t < ncol; t++) bprintf(b, "---:|");
    bprintf(b, "\n");
    for (int s = -1; s < ns; s++) {
        const char *name = s < 0 ? RUN_PHASE0 : strategies[s];
        int ph = final_phase(name, n_phases);
        bprintf(b, "| %s%s |", name, s < 0 ? " (start)" : "");
        double sum = 0;
        int cnt = 0;
        for (int t = 0; t < nt; t++) {
            if (is_zs(roles, t)) continue;
            const EvalRecord *r = runlog_find_eval(log, name, ph, tests[t]);
            if (r) bprintf(b, " %.1f |", r1(&r->m));
            else bprintf(b, " – |");
            if (r && is_domain(roles, t)) sum += r1(&r->m), cnt++;
        }
        if (n_domain && cnt == n_domain) bprintf(b, " %.1f |", sum / cnt);
        else if (n_domain) bprintf(b, " – |");
        for (int t = 0; t < nt; t++) {
            const ZeroShotRecord *z = is_zs(roles, t) ? runlog_find_zeroshot(log, name, ph, tests[t]) : NULL;
            if (z) bprintf(b, " %.1f |", z->top1);
            else if (is_zs(roles, t)) bprintf(b, " – |");
        }
        bprintf(b, "\n");
    }
}

char *runlog_final_table(const RunLog *log, const char *const *strategies, int ns, const char *const *tests,
                         const char *const *roles, int nt, int n_phases) {
    Buf b = {0};
    final_table(&b, log, strategies, ns, tests, roles, nt, n_phases);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* results.md's zero-shot section: every (strategy, phase) of every zero-shot set. */
static void zeroshot_md(Buf *md, const RunLog *log, const char *const *strategies, int ns, const char *const *tests,
                        const char *const *roles, int nt, int n_phases) {
    int any = 0;
    for (int t = 0; t < nt; t++) any |= is_zs(roles, t);
    if (!any) return;
    bprintf(md, "\n## Zero-shot classification, every phase\n\nTop-1 and top-5 accuracy (%%) on each zero-shot test "
                "set: how much of what the model could classify it keeps.\n\n"
                "| strategy | phase | test set | images | classes | templates | top-1 | top-5 |\n"
                "|---|---:|---|---:|---:|---:|---:|---:|\n");
    for (int s = -1; s < ns; s++) {
        const char *name = s < 0 ? RUN_PHASE0 : strategies[s];
        for (int ph = 0; ph <= n_phases; ph++)
            for (int t = 0; t < nt; t++) {
                const ZeroShotRecord *z = is_zs(roles, t) ? runlog_find_zeroshot(log, name, ph, tests[t]) : NULL;
                if (z)
                    bprintf(md, "| %s | %d | %s | %d | %d | %d | %.1f | %.1f |\n", name, ph, tests[t], z->images,
                            z->classes, z->templates, z->top1, z->top5);
            }
    }
}

ModxStatus runlog_write_results(const RunLog *log, const char *run_dir, const char *title, const char *const *strategies,
                                int ns, const char *const *tests, const char *const *roles, int nt, int n_phases) {
    Buf csv = {0}, md = {0};
    bprintf(&csv, "strategy,phase,test_set,role,images,captions,i2t_R@1,i2t_R@5,i2t_R@10,t2i_R@1,t2i_R@5,t2i_R@10,rsum,"
                  "i2t_medr,i2t_meanr,t2i_medr,t2i_meanr,zs_top1,zs_top5\n");
    bprintf(&md, "# Results: %s\n\nRetrieval R@1 in %%, the mean of image→text and text→image, on every test set "
                 "after the last phase (phase %d); `phase0 (start)` is the shared starting model. The mean is over "
                 "the domain test sets only (as in report.html); held-out and train-sample (fit) sets are shown "
                 "apart; a zero-shot set's column is its top-1 accuracy (%%), outside the mean.\n\n", title, n_phases);
    final_table(&md, log, strategies, ns, tests, roles, nt, n_phases);
    bprintf(&md, "\n## Every phase\n\nR@1/R@5/R@10 image→text and text→image, rsum.\n\n"
                 "| strategy | phase | test set | role | i2t R@1 | i2t R@5 | i2t R@10 | t2i R@1 | t2i R@5 | t2i R@10 | rsum |\n"
                 "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int s = -1; s < ns; s++) {
        const char *name = s < 0 ? RUN_PHASE0 : strategies[s];
        for (int ph = 0; ph <= n_phases; ph++)
            for (int t = 0; t < nt; t++) {
                const ZeroShotRecord *z = is_zs(roles, t) ? runlog_find_zeroshot(log, name, ph, tests[t]) : NULL;
                if (z) bprintf(&csv, "%s,%d,%s,%s,%d,,,,,,,,,,,,,%.4f,%.4f\n", name, ph, tests[t], roles[t], z->images,
                               z->top1, z->top5);
                const EvalRecord *r = is_zs(roles, t) ? NULL : runlog_find_eval(log, name, ph, tests[t]);
                if (!r) continue;
                const RetrievalMetrics *m = &r->m;
                bprintf(&csv, "%s,%d,%s,%s,%d,%d,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%g,%.4f,%g,%.4f,,\n", name, ph,
                        tests[t], roles[t], m->n_images, m->n_captions, m->i2t_r1, m->i2t_r5, m->i2t_r10, m->t2i_r1,
                        m->t2i_r5, m->t2i_r10, m->rsum, m->i2t_median_rank, m->i2t_mean_rank, m->t2i_median_rank,
                        m->t2i_mean_rank);
                bprintf(&md, "| %s | %d | %s | %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", name, ph,
                        tests[t], roles[t], m->i2t_r1, m->i2t_r5, m->i2t_r10, m->t2i_r1, m->t2i_r5, m->t2i_r10, m->rsum);
            }
    }
    zeroshot_md(&md, log, strategies, ns, tests, roles, nt, n_phases);
    ModxStatus st = MODX_OK;
    if (csv.oom || md.oom) st = modx_fail(MODX_ERR_NOMEM, "out of memory");
    char path[4096];
    if (st == MODX_OK) {
        snprintf(path, sizeof path, "%s/results.csv", run_dir);
        st = io_write_atomic(path, csv.s, csv.n);
    }
    if (st == MODX_OK) {
        snprintf(path, sizeof path, "%s/results.md", run_dir);
        st = io_write_atomic(path, md.s, md.n);
    }
    free(csv.s), free(md.s);
    return st;
}
