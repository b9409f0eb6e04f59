#include "train/continual.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip/model.h"
#include "core/rng.h"
#include "data/cache.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/phases.h"
#include "data/prepare.h"
#include "analysis/features_file.h"
#include "eval/encode.h"
#include "eval/probe.h"
#include "io/checkpoint.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "loss/ewc.h"
#include "train/merge.h"
#include "train/progress.h"
#include "train/replay.h"
#include "train/runlog.h"
#include "train/step.h"
#include "train/trainer.h"

typedef struct {
    uint32_t *images;
    size_t n;
} ImageList;

/* Everything a run needs, set up and checked before any training. */
typedef struct {
    const Experiment *e;
    const char *dir;
    ClipConfig cfg;
    Cache **caches;          /* (n_datasets) */
    ImageList phase0;        /* empty without phase-0 training */
    int phase0_dataset;
    PhaseStream stream;
    int stream_dataset;
    int N;                   /* continual phases */
    ImageList *tests;        /* (n_tests) */
    int *first_phase;        /* (n_tests) −1 when not a domain set / unknown */
    int probe_test;
    size_t probe_pairs;
    char phase0_name[256];
    int completed[STRATEGY_COUNT]; /* last completed phase, −1 none */
    int phase0_done;
    uint64_t metrics_bytes;  /* size of metrics.jsonl when the last phase was completed */
    int resume_pending;      /* a resumed run has not started its first phase yet */
    RunLog log;
    Progress progress;
} Run;

static uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* The loader seed of phase k (the same for every strategy). */
static uint64_t phase_seed(const Run *r, int k) { return mix64(r->e->hp.seed * 1000003ull + (uint64_t)k); }

static void path_of(char *out, size_t n, const Run *r, const char *strategy, int phase, const char *file) {
    if (phase < 0) snprintf(out, n, "%s/%s/%s", r->dir, strategy, file);
    else if (!strcmp(strategy, "phase0")) snprintf(out, n, "%s/phase0/%s", r->dir, file);
    else snprintf(out, n, "%s/%s/phase%d/%s", r->dir, strategy, phase, file);
}

/* ---- data ---- */

static ModxStatus prepare_dataset(const Run *r, const ExpDataset *d, char *path, size_t n) {
    snprintf(path, n, "%s/data/%s.cache", r->dir, d->name);
    if (io_file_exists(path)) return MODX_OK; /* prepared by this run before (a resume) */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data", r->dir);
    MODX_TRY(io_mkdir_p(dir));
    Dataset ds;
    dataset_init(&ds);
    DatasetOptions o = {0};
    if (d->splits) MODX_TRY(dataset_parse_splits(d->splits, &o.splits));
    ModxStatus st;
    if (!strcmp(d->format, "manifest")) st = dataset_read_manifest(&ds, d->input, &o);
    else if (!strcmp(d->format, "karpathy")) st = dataset_read_karpathy(&ds, d->input, d->images, &o);
    else st = dataset_read_coco(&ds, d->input, d->images, &o);
    PrepareOptions po = {.vocab_path = r->e->tokenizer, .image_size = r->cfg.vision.image_size,
                         .context = r->cfg.text.context_length, .skip_bad = 0};
    PrepareReport rep;
    memset(&rep, 0, sizeof rep);
    if (st == MODX_OK) {
        progress_note((Progress *)&r->progress, "preparing dataset '%s' (%zu images) into %s", d->name, ds.n_images, path);
        st = data_prepare(&ds, &po, path, &rep);
    }
    if (st != MODX_OK) modx_error_prefix("dataset '%s': ", d->name);
    prepare_report_free(&rep);
    dataset_free(&ds);
    return st;
}

static ModxStatus open_data(Run *r) {
    const Experiment *e = r->e;
    uint32_t vocab_crc = 0;
    if (e->tokenizer) MODX_TRY(cache_file_crc32(e->tokenizer, &vocab_crc));
    r->caches = calloc((size_t)e->n_datasets, sizeof *r->caches);
    if (!r->caches) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    for (int i = 0; i < e->n_datasets; i++) {
        const ExpDataset *d = &e->datasets[i];
        char path[4096];
        if (d->cache) snprintf(path, sizeof path, "%s", d->cache);
        else MODX_TRY(prepare_dataset(r, d, path, sizeof path));
        MODX_TRY(cache_open(&r->caches[i], path, 1));
        Cache *c = r->caches[i];
        char name[8448];
        snprintf(name, sizeof name, "%s: dataset '%s' (%s)", e->path, d->name, path);
        if (e->tokenizer) MODX_TRY(cache_check_compat(c, name, r->cfg.vision.image_size, r->cfg.text.context_length, vocab_crc));
        else /* no tokenizer named: every cache must share the first one's */
            MODX_TRY(cache_check_compat(c, name, r->cfg.vision.image_size, r->cfg.text.context_length,
                                        r->caches[0]->vocab_crc));
        if (c->vocab_size > r->cfg.text.vocab_size)
            return modx_fail(MODX_ERR_INVALID, "%s: the tokenizer has %d ids but the model's vocab_size is %d (%s)", name,
                             c->vocab_size, r->cfg.text.vocab_size, e->model);
    }
    return MODX_OK;
}

static ModxStatus domain_id(const Cache *c, const char *where, const char *name, uint32_t *id) {
    for (uint64_t d = 0; d < c->n_domains; d++)
        if (!strcmp(c->domain_names[d], name)) {
            *id = (uint32_t)d;
            return MODX_OK;
        }
    char list[1024] = "";
    for (uint64_t d = 0; d < c->n_domains; d++) {
        strncat(list, d ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, c->domain_names[d], sizeof list - strlen(list) - 1);
    }
    return modx_fail(MODX_ERR_INVALID, "%s: unknown domain '%s' (the dataset has: %s)", where, name, list);
}

/* The images of a selection, in cache order. */
static ModxStatus select_images(const Run *r, const ExpSelection *s, const char *where, ImageList *out) {
    const Cache *c = r->caches[s->dataset];
    uint32_t ids[EXP_MAX_DOMAINS];
    for (int k = 0; k < s->n_domains; k++) MODX_TRY(domain_id(c, where, s->domains[k], &ids[k]));
    out->images = malloc((size_t)(c->n_images ? c->n_images : 1) * sizeof(uint32_t));
    if (!out->images) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    out->n = 0;
    for (uint64_t i = 0; i < c->n_images; i++) {
        if (!(s->split_mask & (1u << c->image_split[i]))) continue;
        int ok = s->n_domains == 0;
        for (int k = 0; k < s->n_domains && !ok; k++) ok = c->image_domain[i] == ids[k];
        if (ok) out->images[out->n++] = (uint32_t)i;
    }
    if (!out->n)
        return modx_fail(MODX_ERR_INVALID, "%s: no image of dataset '%s' is in the selected splits/domains", where,
                         r->e->datasets[s->dataset].name);
    return MODX_OK;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int selection_covers(const Run *r, const ExpSelection *test, int dataset, const ImageList *imgs) {
    if (test->dataset != dataset) return 0;
    if (!test->n_domains) return 1;
    const Cache *c = r->caches[dataset];
    for (size_t i = 0; i < imgs->n; i++)
        for (int k = 0; k < test->n_domains; k++) {
            uint32_t id;
            if (domain_id(c, "", test->domains[k], &id) == MODX_OK && c->image_domain[imgs->images[i]] == id) return 1;
        }
    return 0;
}

static ModxStatus setup_data(Run *r) {
    const Experiment *e = r->e;
    char where[512];
    const ExpHyper *h = &e->hp;
    if (e->has_phase0) {
        snprintf(where, sizeof where, "%s: 'phase0'", e->path);
        MODX_TRY(select_images(r, &e->phase0, where, &r->phase0));
        if (r->phase0.n < (size_t)h->batch)
            return modx_fail(MODX_ERR_INVALID, "%s: %zu images, fewer than one batch (train.batch = %d)", where,
                             r->phase0.n, h->batch);
        if (e->phase0.n_domains) {
            r->phase0_name[0] = 0;
            for (int k = 0; k < e->phase0.n_domains; k++) {
                if (k) strncat(r->phase0_name, "+", sizeof r->phase0_name - strlen(r->phase0_name) - 1);
                strncat(r->phase0_name, e->phase0.domains[k], sizeof r->phase0_name - strlen(r->phase0_name) - 1);
            }
        } else {
            snprintf(r->phase0_name, sizeof r->phase0_name, "%s", e->datasets[e->phase0.dataset].name);
        }
    } else {
        snprintf(r->phase0_name, sizeof r->phase0_name, "%s", e->phase0_checkpoint ? "checkpoint" : "init");
    }
    /* The stream: the selection's images (any domain when the domain mode lists none), cut into phases. */
    snprintf(where, sizeof where, "%s: 'stream'", e->path);
    ImageList all = {0};
    ExpSelection sel = e->stream;
    if (e->mode == PHASES_DOMAIN) sel.n_domains = 0; /* the order below picks the domains */
    ModxStatus st = select_images(r, &sel, where, &all);
    const Cache *c = r->caches[e->stream.dataset];
    if (st == MODX_OK && e->mode == PHASES_DOMAIN) {
        for (int k = 0; k < e->stream.n_domains && st == MODX_OK; k++) {
            uint32_t id;
            st = domain_id(c, where, e->stream.domains[k], &id);
        }
        if (st == MODX_OK && e->stream.n_domains) { /* keep the listed domains' images only */
            size_t m = 0;
            for (size_t i = 0; i < all.n; i++)
                for (int k = 0; k < e->stream.n_domains; k++) {
                    uint32_t id;
                    domain_id(c, where, e->stream.domains[k], &id);
                    if (c->image_domain[all.images[i]] == id) {
                        all.images[m++] = all.images[i];
                        break;
                    }
                }
            all.n = m;
        }
    }
    if (st == MODX_OK && e->mode != PHASES_DOMAIN && (size_t)e->n_phases > all.n)
        st = modx_fail(MODX_ERR_INVALID, "%s: %d phases but the stream has only %zu images", where, e->n_phases, all.n);
    if (st == MODX_OK)
        st = phases_split(&r->stream, all.images, all.n, e->mode,
                          e->mode == PHASES_DOMAIN ? (size_t)e->stream.n_domains : (size_t)e->n_phases, h->seed,
                          c->image_domain, c->domain_names, (size_t)c->n_domains,
                          e->stream.n_domains ? (const char *const *)e->stream.domains : NULL,
                          (size_t)e->stream.n_domains);
    free(all.images);
    if (st != MODX_OK) {
        modx_error_prefix("%s: ", where);
        return st;
    }
    r->N = (int)r->stream.n_phases;
    r->stream_dataset = e->stream.dataset;
    for (int k = 0; k < r->N; k++)
        if (r->stream.phases[k].n_images < (size_t)h->batch)
            return modx_fail(MODX_ERR_INVALID, "%s: phase %d (%s) has %zu images, fewer than one batch (train.batch = %d);"
                             " use fewer phases or a smaller batch", where, k + 1, r->stream.phases[k].name,
                             r->stream.phases[k].n_images, h->batch);
    /* Test sets. */
    r->tests = calloc((size_t)e->n_tests, sizeof *r->tests);
    r->first_phase = calloc((size_t)e->n_tests, sizeof *r->first_phase);
    if (!r->tests || !r->first_phase) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    for (int t = 0; t < e->n_tests; t++) {
        const ExpTestSet *ts = &e->tests[t];
        snprintf(where, sizeof where, "%s: test set '%s'", e->path, ts->name);
        MODX_TRY(select_images(r, &ts->sel, where, &r->tests[t]));
        if (ts->sample && (size_t)ts->sample < r->tests[t].n) {
            Rng g;
            rng_seed_stream(&g, h->seed, 0x5a3d1e + (uint64_t)t);
            rng_shuffle_u32(&g, r->tests[t].images, r->tests[t].n);
            r->tests[t].n = (size_t)ts->sample;
            qsort(r->tests[t].images, r->tests[t].n, sizeof(uint32_t), cmp_u32);
        }
        r->first_phase[t] = -1;
        if (ts->role != TESTSET_DOMAIN) continue;
        if (ts->first_phase >= 0) {
            if (ts->first_phase > r->N)
                return modx_fail(MODX_ERR_INVALID, "%s: first_phase %d but the stream has %d phases", where,
                                 ts->first_phase, r->N);
            r->first_phase[t] = ts->first_phase;
            continue;
        }
        if (e->has_phase0 && selection_covers(r, &ts->sel, e->phase0.dataset, &r->phase0)) r->first_phase[t] = 0;
        for (int k = 0; k < r->N && r->first_phase[t] < 0; k++) {
            ImageList pl = {r->stream.phases[k].images, r->stream.phases[k].n_images};
            if (selection_covers(r, &ts->sel, r->stream_dataset, &pl)) r->first_phase[t] = k + 1;
        }
    }
    for (int t = 0; t < e->n_tests; t++)
        if (e->tests[t].role == TESTSET_DOMAIN && r->first_phase[t] < 0)
            return modx_fail(MODX_ERR_INVALID,
                             "%s: test set '%s' is a domain test set but no phase trains its domain; give it "
                             "\"first_phase\" or \"role\": \"heldout\"",
                             e->path, e->tests[t].name);
    r->probe_test = experiment_find_test(e, e->probe_test);
    r->probe_pairs = r->tests[r->probe_test].n < (size_t)e->probe_pairs ? r->tests[r->probe_test].n : (size_t)e->probe_pairs;
    /* The probe is checked here, before any training, not when phase 0 ends. */
    {
        const ExpTestSet *pts = &e->tests[r->probe_test];
        ProbeSet ps;
        MODX_TRY(probe_select(&ps, r->caches[pts->sel.dataset], pts->name, r->tests[r->probe_test].images,
                              r->tests[r->probe_test].n, (int)r->probe_pairs));
        probe_set_free(&ps);
    }
    return MODX_OK;
}

/* ---- run.json ---- */

static ModxStatus write_run_json(const Run *r, int done) {
    const Experiment *e = r->e;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", "modx-run-1");
    cJSON_AddStringToObject(o, "name", e->name);
    cJSON_AddNumberToObject(o, "seed", (double)e->hp.seed);
    cJSON *s = cJSON_AddArrayToObject(o, "strategies");
    for (int i = 0; i < e->n_strategies; i++) cJSON_AddItemToArray(s, cJSON_CreateString(strategy_name(e->strategies[i])));
    cJSON_AddNumberToObject(o, "phases", r->N);
    cJSON *pn = cJSON_AddArrayToObject(o, "phase_names");
    cJSON_AddItemToArray(pn, cJSON_CreateString(r->phase0_name));
    for (int k = 0; k < r->N; k++) cJSON_AddItemToArray(pn, cJSON_CreateString(r->stream.phases[k].name));
    cJSON *ts = cJSON_AddArrayToObject(o, "test_sets");
    for (int t = 0; t < e->n_tests; t++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", e->tests[t].name);
        cJSON_AddStringToObject(x, "role", testset_role_name(e->tests[t].role));
        if (r->first_phase[t] >= 0) cJSON_AddNumberToObject(x, "first_phase", r->first_phase[t]);
        cJSON_AddNumberToObject(x, "images", (double)r->tests[t].n);
        cJSON_AddItemToArray(ts, x);
    }
    cJSON *p = cJSON_AddObjectToObject(o, "probe");
    cJSON_AddStringToObject(p, "test_set", e->probe_test);
    cJSON_AddNumberToObject(p, "pairs", (double)r->probe_pairs);
    cJSON_AddStringToObject(o, "status", done ? "done" : "running");
    cJSON_AddNumberToObject(o, "metrics_bytes", (double)r->metrics_bytes);
    cJSON *c = cJSON_AddObjectToObject(o, "completed");
    if (r->phase0_done) cJSON_AddNumberToObject(c, "phase0", 0);
    for (int i = 0; i < e->n_strategies; i++)
        if (r->completed[e->strategies[i]] >= 1)
            cJSON_AddNumberToObject(c, strategy_name(e->strategies[i]), r->completed[e->strategies[i]]);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    char path[4096];
    snprintf(path, sizeof path, "%s/run.json", r->dir);
    size_t n = strlen(text);
    text[n] = '\n';
    ModxStatus st = io_write_atomic(path, text, n + 1);
    free(text);
    return st;
}

static ModxStatus read_run_json(Run *r) {
    char path[4096];
    snprintf(path, sizeof path, "%s/run.json", r->dir);
    if (!io_file_exists(path)) return MODX_OK;
    uint8_t *buf;
    size_t n;
    MODX_TRY(io_read_file(path, &buf, &n));
    cJSON *o = cJSON_ParseWithLength((const char *)buf, n);
    free(buf);
    if (!o) return modx_fail(MODX_ERR_FORMAT, "%s: malformed JSON", path);
    const cJSON *mb = cJSON_GetObjectItemCaseSensitive(o, "metrics_bytes");
    if (cJSON_IsNumber(mb) && mb->valuedouble >= 0) r->metrics_bytes = (uint64_t)mb->valuedouble;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "completed");
    if (c && !cJSON_IsObject(c)) {
        cJSON_Delete(o);
        return modx_fail(MODX_ERR_FORMAT, "%s: \"completed\" must be an object of phase numbers", path);
    }
    for (const cJSON *it = c ? c->child : NULL; it; it = it->next) {
        if (!cJSON_IsNumber(it) || !it->string) continue;
        StrategyKind k;
        if (!strcmp(it->string, "phase0")) {
            r->phase0_done = 1;
        } else if (strategy_parse(it->string, &k) == MODX_OK) {
            if (!(it->valuedouble >= 0 && it->valuedouble <= r->N)) {
                cJSON_Delete(o);
                return modx_fail(MODX_ERR_FORMAT, "%s: \"completed\".\"%s\" is %g, expected a phase in [0, %d]", path,
                                 it->string, it->valuedouble, r->N);
            }
            r->completed[k] = (int)it->valuedouble;
        }
    }
    modx_clear_error();
    cJSON_Delete(o);
    return MODX_OK;
}

/* ---- evaluation ---- */

static ModxStatus write_probe(const Run *r, const ClipModel *m, const char *label, int phase) {
    const Experiment *e = r->e;
    const ImageList *pl = &r->tests[r->probe_test];
    const ExpTestSet *ts = &e->tests[r->probe_test];
    const Cache *c = r->caches[ts->sel.dataset];
    ProbeSet ps;
    ProbeFeatures f;
    MODX_TRY(probe_select(&ps, c, ts->name, pl->images, pl->n, (int)r->probe_pairs));
    ModxStatus st = probe_encode(&f, m, c, ts->name, &ps, e->hp.eval_batch);
    if (st == MODX_OK) {
        char path[4096], ph[16];
        path_of(path, sizeof path, r, label, phase, "probe.safetensors");
        snprintf(ph, sizeof ph, "%d", phase);
        const char *const meta[3][2] = {{"modx.probe.test_set", ts->name}, {"modx.strategy", label}, {"modx.phase", ph}};
        st = probe_features_save(&f, path, meta, 3);
        probe_features_free(&f);
    }
    probe_set_free(&ps);
    return st;
}

static ModxStatus evaluate_all(Run *r, const ClipModel *m, const char *label, int phase) {
    const Experiment *e = r->e;
    for (int t = 0; t < e->n_tests; t++) {
        const ExpTestSet *ts = &e->tests[t];
        EncodedSet es;
        RetrievalMetrics rm;
        MODX_TRY(eval_encode(&es, m, r->caches[ts->sel.dataset], ts->name, r->tests[t].images, r->tests[t].n,
                             e->hp.eval_batch));
        ModxStatus st = eval_retrieval(&rm, &es);
        encoded_set_free(&es);
        MODX_TRY(st);
        MODX_TRY(runlog_eval(&r->log, label, phase, ts->name, &rm));
        progress_note(&r->progress, "  eval %-12s phase %d  %-14s i2t R@1 %5.1f  t2i R@1 %5.1f  rsum %6.1f", label,
                      phase, ts->name, rm.i2t_r1, rm.t2i_r1, rm.rsum);
    }
    return MODX_OK;
}

static ModxStatus write_results(Run *r) {
    const Experiment *e = r->e;
    const char *names[STRATEGY_COUNT], *tests[256], *roles[256];
    int nt = e->n_tests < 256 ? e->n_tests : 256;
    for (int i = 0; i < e->n_strategies; i++) names[i] = strategy_name(e->strategies[i]);
    for (int t = 0; t < nt; t++) tests[t] = e->tests[t].name, roles[t] = testset_role_name(e->tests[t].role);
    return runlog_write_results(&r->log, r->dir, e->name, names, e->n_strategies, tests, roles, nt, r->N);
}

/* Checkpoint, probe, evaluations, results and run.json after a phase. */
static ModxStatus finish_phase(Run *r, ClipModel *m, const char *label, int phase) {
    MODX_TRY(write_probe(r, m, label, phase));
    MODX_TRY(evaluate_all(r, m, label, phase));
    MODX_TRY(write_results(r));
    r->metrics_bytes = runlog_offset(&r->log);
    return MODX_OK;
}

/* The first phase of a resumed run: without a resume checkpoint, the steps it
 * logged before it was killed are cut from metrics.jsonl (with one, the
 * trainer cuts back to where the checkpoint was written). */
static ModxStatus resume_prepare(Run *r, const char *resume_path) {
    if (!r->resume_pending) return MODX_OK;
    r->resume_pending = 0;
    int exists;
    MODX_TRY(trainer_resume_recover(resume_path, &exists));
    return exists ? MODX_OK : runlog_truncate(&r->log, r->metrics_bytes);
}

/* ---- strategies ---- */

static TrainSpec base_spec(const Run *r, StrategyKind kind, int epochs, double wd, uint64_t seed) {
    const ExpHyper *h = &r->e->hp;
    return (TrainSpec){.kind = kind, .epochs = epochs, .batch = h->batch, .lr = h->lr, .warmup = h->warmup,
                       .weight_decay = wd, .grad_clip = h->grad_clip, .alpha = h->alpha, .lwf_lambda = h->lwf_lambda,
                       .lwf_tau = h->lwf_tau, .ewc_lambda = h->ewc_lambda, .replay_fraction = h->replay_fraction,
                       .seed = seed, .log_every = h->log_every, .checkpoint_every = h->checkpoint_every};
}

static ModxStatus load_model(ClipModel **m, const char *path) {
    MODX_TRY(checkpoint_load(m, path, NULL));
    return MODX_OK;
}

static ModxStatus run_phase0(Run *r) {
    const Experiment *e = r->e;
    char dir[4096], out[4096], resume[4096];
    snprintf(dir, sizeof dir, "%s/phase0", r->dir);
    MODX_TRY(io_mkdir_p(dir));
    path_of(out, sizeof out, r, "phase0", 0, "model.safetensors");
    path_of(resume, sizeof resume, r, "phase0", 0, "resume.safetensors");
    ClipModel *m = NULL;
    ModxStatus st = resume_prepare(r, resume);
    if (st != MODX_OK) {
    } else if (e->phase0_checkpoint) {
        st = load_model(&m, e->phase0_checkpoint);
        if (st == MODX_OK && (m->table.total != 0)) {
            char *a = clip_config_to_json(&m->cfg), *b = clip_config_to_json(&r->cfg);
            if (!a || !b || strcmp(a, b))
                st = modx_fail(MODX_ERR_INVALID, "%s: phase0.checkpoint %s has a different model config than %s",
                               e->path, e->phase0_checkpoint, e->model);
            free(a), free(b);
        }
        if (st == MODX_OK) st = checkpoint_save(out, m, m->params, NULL, 0);
    } else {
        st = clip_model_new(&m, &r->cfg);
        if (st == MODX_OK) clip_model_init(m, e->hp.seed);
        if (st == MODX_OK && !e->has_phase0) {
            CheckpointMeta meta[] = {{"modx.strategy", "phase0"}, {"modx.phase", "0"}};
            st = checkpoint_save(out, m, m->params, meta, 2);
        } else if (st == MODX_OK) {
            TrainSpec sp = base_spec(r, STRATEGY_JOINT, e->hp.phase0_epochs, e->hp.joint_weight_decay, phase_seed(r, 0));
            TrainPhase ph = {.label = "phase0", .phase = 0, .model = m, .cache = r->caches[e->phase0.dataset],
                             .images = r->phase0.images, .n_images = r->phase0.n, .resume_path = resume,
                             .out_path = out, .log = &r->log, .progress = &r->progress};
            TrainResult res;
            st = trainer_run(&sp, &ph, &res);
            if (st == MODX_OK && res.interrupted)
                st = modx_fail(MODX_ERR_IO, "interrupted during phase 0; resume with --resume %s", r->dir);
        }
    }
    if (st == MODX_OK) st = finish_phase(r, m, "phase0", 0);
    if (st == MODX_OK) {
        r->phase0_done = 1;
        st = write_run_json(r, 0);
        trainer_resume_remove(resume);
    }
    clip_model_free(m);
    return st;
}

/* The empirical Fisher of the contrastive loss of m on a set of images. */
static ModxStatus compute_fisher(const Run *r, const ClipModel *m, const Cache *c, const ImageList *imgs, uint64_t seed,
                                 float *fisher) {
    int B = r->e->hp.batch;
    LoaderConfig lc = {.cache = c, .images = imgs->images, .n_images = imgs->n, .batch = B, .seed = seed,
                       .drop_last = 1, .shuffle = 1, .prefetch = 0};
    DataLoader *ld = NULL;
    ClipStep *step = NULL;
    Batch b;
    memset(&b, 0, sizeof b);
    size_t n = m->table.total;
    float *grads = modx_calloc(n, sizeof(float), "gradients");
    ModxStatus st = grads ? loader_create(&ld, &lc) : MODX_ERR_NOMEM;
    if (st == MODX_OK) st = clip_step_new(&step, m, NULL, B);
    if (st == MODX_OK) st = batch_alloc(&b, B, c->image_size, c->context);
    long nb = ld ? (long)loader_batches_per_epoch(ld) : 0;
    if (r->e->hp.ewc_batches > 0 && r->e->hp.ewc_batches < nb) nb = r->e->hp.ewc_batches;
    memset(fisher, 0, n * sizeof(float));
    StepLossSpec ls = {STEP_LOSS_CONTRASTIVE, 0, 1};
    for (long k = 0; st == MODX_OK && k < nb; k++) {
        loader_batch_at(ld, (uint64_t)k, &b);
        StepLoss sl;
        st = clip_step_run_loss(step, b.pixels, b.tokens, B, &ls, grads, &sl);
        if (st == MODX_OK) ewc_fisher_accumulate(fisher, grads, n);
    }
    if (st == MODX_OK) st = ewc_fisher_finish(fisher, n, nb, &m->table);
    batch_free(&b);
    clip_step_free(step);
    loader_free(ld);
    free(grads);
    return st;
}

/* Offers a finished phase's pairs to the reservoir once each: every image with
 * its epoch-0 caption, in image order. So the buffer is a uniform sample of the
 * pairs of all PAST phases (each pair offered once, whatever the epochs), and a
 * phase replays only what came before it. */
static ModxStatus replay_offer_phase(const Cache *c, const uint32_t *images, size_t n, uint64_t seed, ReplayBuffer *rb) {
    LoaderConfig lc = {.cache = c, .images = images, .n_images = n, .batch = 1, .seed = seed, .drop_last = 1,
                       .shuffle = 0, .prefetch = 0};
    DataLoader *ld;
    MODX_TRY(loader_create(&ld, &lc));
    for (size_t i = 0; i < n; i++) replay_offer(rb, images[i], loader_caption_for(ld, 0, images[i]));
    loader_free(ld);
    return MODX_OK;
}

/* Fills a fresh reservoir with phase 0's pairs. The buffer holds indices into
 * the stream's cache, which the trainer reads replayed pairs from, so a phase 0
 * drawn from another dataset is not replayed (documented in README). */
static ModxStatus replay_seed_phase0(const Run *r, ReplayBuffer *rb) {
    const Experiment *e = r->e;
    if (!r->phase0.n || e->phase0.dataset != r->stream_dataset) return MODX_OK;
    return replay_offer_phase(r->caches[e->phase0.dataset], r->phase0.images, r->phase0.n, phase_seed(r, 0), rb);
}

static ModxStatus run_strategy_phase(Run *r, StrategyKind kind, int k) {
    const Experiment *e = r->e;
    const char *name = strategy_name(kind);
    int joint = kind == STRATEGY_JOINT;
    char prev[4096], out[4096], resume[4096], dir[4096], rpath[4096];
    if (k == 1 || joint) path_of(prev, sizeof prev, r, "phase0", 0, "model.safetensors");
    else path_of(prev, sizeof prev, r, name, k - 1, "model.safetensors");
    path_of(out, sizeof out, r, name, k, "model.safetensors");
    path_of(dir, sizeof dir, r, name, k, "");
    path_of(resume, sizeof resume, r, name, -1, "resume.safetensors");
    MODX_TRY(io_mkdir_p(dir));
    ClipModel *m = NULL, *old = NULL;
    float *fisher = NULL, *theta = NULL, *prev_params = NULL;
    ReplayBuffer rb;
    memset(&rb, 0, sizeof rb);
    int have_rb = 0;
    ImageList data = {0};
    ModxStatus st = load_model(&m, prev);
    size_t n = m ? m->table.total : 0;
    if (st == MODX_OK && strategy_uses_old_model(kind)) st = clip_model_clone(&old, m);
    size_t ns = m ? m->table.state_total : 0; /* BatchNorm running statistics (ResNet), merged like weights */
    if (st == MODX_OK && kind == STRATEGY_WISEFT) {
        if (!(prev_params = malloc((n + ns + 1) * sizeof(float)))) st = modx_fail(MODX_ERR_NOMEM, "out of memory");
        else memcpy(prev_params, m->params, n * sizeof(float));
        if (prev_params && ns) memcpy(prev_params + n, m->state, ns * sizeof(float));
    }
    /* EWC: Fisher and θ* of the previous phase. */
    if (st == MODX_OK && kind == STRATEGY_EWC) {
        ImageList pd = {0};
        const Cache *pc = NULL;
        if (k == 1 && r->phase0.n) pd = r->phase0, pc = r->caches[e->phase0.dataset];
        else if (k > 1) pd = (ImageList){r->stream.phases[k - 2].images, r->stream.phases[k - 2].n_images},
                        pc = r->caches[r->stream_dataset];
        if (pd.n) {
            fisher = modx_calloc(n, sizeof(float), "EWC Fisher");
            theta = malloc(n * sizeof(float));
            if (!fisher || !theta) st = modx_fail(MODX_ERR_NOMEM, "out of memory");
            else memcpy(theta, m->params, n * sizeof(float));
            if (st == MODX_OK) {
                progress_note(&r->progress, "ewc phase %d: Fisher of phase %d's model on its data", k, k - 1);
                st = compute_fisher(r, m, pc, &pd, phase_seed(r, k - 1), fisher);
            }
        }
    }
    if (st == MODX_OK && strategy_uses_replay(kind)) {
        if (k == 1) {
            st = replay_new(&rb, (uint32_t)e->hp.buffer, mix64(e->hp.seed ^ 0x7265706c6179ull));
            have_rb = st == MODX_OK;
            if (st == MODX_OK) st = replay_seed_phase0(r, &rb);
        } else {
            path_of(rpath, sizeof rpath, r, name, k - 1, "replay.safetensors");
            st = replay_load(&rb, rpath);
            have_rb = st == MODX_OK;
        }
    }
    /* The phase's data: phase k, or for joint the union of all the data: the
     * phase-0 set (when it lives in the stream's dataset) and every phase. */
    if (st == MODX_OK) {
        if (joint) {
            const Experiment *ex = r->e;
            int with0 = ex->has_phase0 && ex->phase0.dataset == ex->stream.dataset;
            size_t tot = with0 ? r->phase0.n : 0;
            for (int j = 0; j < r->N; j++) tot += r->stream.phases[j].n_images;
            if (!(data.images = malloc(tot * sizeof(uint32_t)))) st = modx_fail(MODX_ERR_NOMEM, "out of memory");
            if (st == MODX_OK && with0) {
                memcpy(data.images, r->phase0.images, r->phase0.n * sizeof(uint32_t));
                data.n = r->phase0.n;
            }
            for (int j = 0; st == MODX_OK && j < r->N; j++) {
                memcpy(data.images + data.n, r->stream.phases[j].images, r->stream.phases[j].n_images * sizeof(uint32_t));
                data.n += r->stream.phases[j].n_images;
            }
        } else {
            data.images = r->stream.phases[k - 1].images, data.n = r->stream.phases[k - 1].n_images;
        }
    }
    if (st == MODX_OK) st = resume_prepare(r, resume);
    if (st == MODX_OK) {
        TrainSpec sp = base_spec(r, kind, joint ? e->hp.joint_epochs : e->hp.epochs,
                                 joint ? e->hp.joint_weight_decay : e->hp.weight_decay,
                                 phase_seed(r, joint ? r->N + 1 : k));
        TrainPhase ph = {.label = name, .phase = k, .model = m, .old = old, .cache = r->caches[r->stream_dataset],
                         .images = data.images, .n_images = data.n, .replay = have_rb ? &rb : NULL,
                         .ewc_fisher = fisher, .ewc_theta = theta, .resume_path = resume, .out_path = out,
                         .log = &r->log, .progress = &r->progress};
        TrainResult res;
        st = trainer_run(&sp, &ph, &res);
        if (st == MODX_OK && res.interrupted)
            st = modx_fail(MODX_ERR_IO, "interrupted during %s phase %d; resume with --resume %s", name, k, r->dir);
    }
    if (st == MODX_OK && kind == STRATEGY_WISEFT) {
        merge_params(m->params, prev_params, m->params, n, e->hp.wiseft_mix);
        if (ns) merge_params(m->state, prev_params + n, m->state, ns, e->hp.wiseft_mix);
        char mix[32];
        snprintf(mix, sizeof mix, "%.17g", e->hp.wiseft_mix);
        char ph[16];
        snprintf(ph, sizeof ph, "%d", k);
        CheckpointMeta meta[] = {{"modx.strategy", name}, {"modx.phase", ph}, {"modx.merge.mix", mix}};
        st = checkpoint_save(out, m, m->params, meta, 3);
    }
    if (st == MODX_OK && have_rb) {
        st = replay_offer_phase(r->caches[r->stream_dataset], data.images, data.n, phase_seed(r, k), &rb);
        path_of(rpath, sizeof rpath, r, name, k, "replay.safetensors");
        if (st == MODX_OK) st = replay_save(&rb, rpath);
    }
    if (st == MODX_OK) st = finish_phase(r, m, name, k);
    if (st == MODX_OK) {
        /* Resume files go first: a crash between the two retrains phase k, never blocks phase k+1. */
        trainer_resume_remove(resume);
        r->completed[kind] = k;
        st = write_run_json(r, 0);
    }
    if (joint) free(data.images);
    if (have_rb) replay_free(&rb);
    free(fisher), free(theta), free(prev_params);
    clip_model_free(old);
    clip_model_free(m);
    return st;
}

static void run_free(Run *r) {
    if (r->caches)
        for (int i = 0; i < r->e->n_datasets; i++) cache_close(r->caches[i]);
    free(r->caches);
    free(r->phase0.images);
    phases_free(&r->stream);
    if (r->tests)
        for (int t = 0; t < r->e->n_tests; t++) free(r->tests[t].images);
    free(r->tests);
    free(r->first_phase);
    runlog_close(&r->log);
}

ModxStatus continual_run(const Experiment *e, const char *run_dir, const RunOptions *opt) {
    Run r;
    memset(&r, 0, sizeof r);
    r.e = e, r.dir = run_dir;
    r.phase0_dataset = e->has_phase0 ? e->phase0.dataset : -1;
    for (int k = 0; k < STRATEGY_COUNT; k++) r.completed[k] = -1;
    progress_init(&r.progress, opt->quiet);
    char path[4096];
    /* Every file of the run is RUN_DIR/<strategy>/phase<k>/<name>: keep them well inside PATH buffers. */
    if (strlen(run_dir) > 3000)
        return modx_fail(MODX_ERR_INVALID, "run directory path is %zu characters long; at most 3000 are supported",
                         strlen(run_dir));
    snprintf(path, sizeof path, "%s/run.json", run_dir);
    if (!opt->resume && io_file_exists(path))
        return modx_fail(MODX_ERR_INVALID, "%s already holds a run (run.json); continue it with --resume %s or choose "
                         "another --out folder", run_dir, run_dir);
    if (opt->only_strategy >= 0) {
        int found = 0;
        for (int i = 0; i < e->n_strategies; i++) found |= e->strategies[i] == (StrategyKind)opt->only_strategy;
        if (!found)
            return modx_fail(MODX_ERR_INVALID, "strategy '%s' is not one of the experiment's strategies",
                             strategy_name((StrategyKind)opt->only_strategy));
    }
    ModxStatus st = clip_config_load(&r.cfg, e->model);
    if (st == MODX_OK) st = io_mkdir_p(run_dir);
    if (st == MODX_OK) st = open_data(&r);
    if (st == MODX_OK) st = setup_data(&r);
    if (st == MODX_OK && opt->resume) st = read_run_json(&r);
    if (st == MODX_OK && !opt->resume) {
        char *json = experiment_to_json(e);
        snprintf(path, sizeof path, "%s/experiment.json", run_dir);
        st = json ? io_write_atomic(path, json, strlen(json)) : modx_fail(MODX_ERR_NOMEM, "out of memory");
        free(json);
    }
    if (st == MODX_OK) st = runlog_open(&r.log, run_dir);
    if (st == MODX_OK) st = write_run_json(&r, 0);
    if (st != MODX_OK) {
        run_free(&r);
        return st;
    }
    progress_note(&r.progress, "run %s: %d phase(s) after phase 0 (%s), %d strategies, %d test set(s)", e->name, r.N,
                  r.phase0_name, e->n_strategies, e->n_tests);
    r.resume_pending = opt->resume;
    /* A stopped strategy's resume checkpoint records where metrics.jsonl ended; running
     * another strategy first would append after that point, so the stopped one goes first. */
    for (int i = 0; st == MODX_OK && opt->only_strategy >= 0 && i < e->n_strategies; i++) {
        char pending[4096];
        const char *other = strategy_name(e->strategies[i]);
        path_of(pending, sizeof pending, &r, other, -1, "resume.safetensors");
        if (e->strategies[i] != (StrategyKind)opt->only_strategy && io_file_exists(pending))
            st = modx_fail(MODX_ERR_INVALID,
                           "%s: strategy '%s' was stopped mid-phase (%s); finish it first with "
                           "modx continual --resume %s --strategy %s",
                           run_dir, other, pending, run_dir, other);
    }
    if (st == MODX_OK && !r.phase0_done) st = run_phase0(&r);
    for (int i = 0; st == MODX_OK && i < e->n_strategies; i++) {
        StrategyKind kind = e->strategies[i];
        if (opt->only_strategy >= 0 && kind != (StrategyKind)opt->only_strategy) continue;
        if (kind == STRATEGY_JOINT) {
            if (r.completed[kind] < r.N) st = run_strategy_phase(&r, kind, r.N);
            continue;
        }
        for (int k = r.completed[kind] < 1 ? 1 : r.completed[kind] + 1; st == MODX_OK && k <= r.N; k++)
            st = run_strategy_phase(&r, kind, k);
    }
    if (st == MODX_OK) {
        int all = 1;
        for (int i = 0; i < e->n_strategies; i++)
            all &= r.completed[e->strategies[i]] == r.N;
        st = write_run_json(&r, all);
    }
    progress_finish(&r.progress);
    run_free(&r);
    return st;
}

ModxStatus continual_load_run_experiment(Experiment *e, const char *run_dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/experiment.json", run_dir);
    if (!io_file_exists(path))
        return modx_fail(MODX_ERR_INVALID, "%s: no experiment.json; is this a run folder written by modx run?", run_dir);
    return experiment_load(e, path);
}

ModxStatus continual_final_table(const char *run_dir, char **table) {
    Experiment e;
    MODX_TRY(continual_load_run_experiment(&e, run_dir));
    RunLog log;
    ModxStatus st = runlog_open(&log, run_dir);
    char path[4096];
    int N = 0;
    if (st == MODX_OK) {
        snprintf(path, sizeof path, "%s/run.json", run_dir);
        uint8_t *buf;
        size_t n;
        st = io_read_file(path, &buf, &n);
        if (st == MODX_OK) {
            cJSON *o = cJSON_ParseWithLength((const char *)buf, n);
            const cJSON *p = o ? cJSON_GetObjectItemCaseSensitive(o, "phases") : NULL;
            if (!cJSON_IsNumber(p)) st = modx_fail(MODX_ERR_FORMAT, "%s: expected \"phases\" (a number)", path);
            else N = (int)p->valuedouble;
            cJSON_Delete(o);
            free(buf);
        }
    }
    if (st == MODX_OK) {
        const char *names[STRATEGY_COUNT], *tests[256];
        int nt = e.n_tests < 256 ? e.n_tests : 256;
        for (int i = 0; i < e.n_strategies; i++) names[i] = strategy_name(e.strategies[i]);
        for (int t = 0; t < nt; t++) tests[t] = e.tests[t].name;
        *table = runlog_final_table(&log, names, e.n_strategies, tests, nt, N);
        if (!*table) st = modx_fail(MODX_ERR_NOMEM, "out of memory");
    }
    runlog_close(&log);
    experiment_free(&e);
    return st;
}
