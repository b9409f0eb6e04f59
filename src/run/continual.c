#include "run/continual.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip/model.h"
#include "core/dist.h"
#include "core/rng.h"
#include "strategy/strategy.h"
#include "data/cache.h"
#include "data/cacheset.h"
#include "data/dataset.h"
#include "data/formats.h"
#include "data/loader.h"
#include "data/phases.h"
#include "data/prepare.h"
#include "data/selection.h"
#include "analysis/features_file.h"
#include "run/evalsets.h"
#include "run/rundir.h"
#include "run/zeroshot_sets.h"
#include "eval/encode.h"
#include "eval/probe.h"
#include "io/checkpoint.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "train/progress.h"
#include "train/runlog.h"
#include "train/trainer.h"


/* Everything a run needs, set up and checked before any training. */
typedef struct {
    const Experiment *e;
    const char *dir;
    ClipConfig cfg;
    Cache **caches;          /* (n_datasets) */
    CacheSet set;            /* the caches trained on: the stream's, then phase 0's when another (replay ids) */
    ImageList phase0;        /* empty without phase-0 training */
    int phase0_dataset;
    PhaseStream stream;
    int stream_dataset;
    int N;                   /* continual phases */
    ImageList *tests;        /* (n_tests) */
    int *first_phase;        /* (n_tests) −1 when not a domain set / unknown */
    ZsSets zs;               /* the zero-shot test sets' classes and labels */
    int probe_test;
    size_t probe_pairs;
    char phase0_name[256];
    int *completed;          /* (n_strategies) last completed phase, −1 none */
    int phase0_done;
    uint64_t metrics_bytes;  /* size of metrics.jsonl when the last phase was completed */
    int resume_pending;      /* a resumed run has not started its first phase yet */
    int resuming;            /* the run continues an earlier one (--resume) */
    uint64_t max_memory;     /* RunOptions.max_memory */
    RunLog log;
    Progress progress;
    ClipActs *eval_acts;     /* the evaluations' inference arena (eval_batch), kept from one phase to the next */
} Run;

/* The loader seed of phase k (the same for every strategy). */
static uint64_t phase_seed(const Run *r, int k) { return rng_mix64(r->e->hp.seed * 1000003ull + (uint64_t)k); }

/* The run's files (run/rundir.h: run_path); the run directory's length is
 * bounded in run_open, so every path fits. */
static void path_of(char *out, size_t n, const Run *r, const char *strategy, int phase, const char *file) {
    CHECK(run_path(out, n, r->dir, strategy, phase, file), "run path too long");
}

/* ---- data ---- */

static ModxStatus prepare_dataset_write(const Run *r, const ExpDataset *d, const char *path);

static ModxStatus prepare_dataset(const Run *r, const ExpDataset *d, char *path, size_t n) {
    CHECK(run_data_cache_path(path, n, r->dir, d->name), "run path too long");
    /* A resumed run keeps what it prepared; a fresh one prepares anew (a cache
     * left by an attempt stopped before experiment.json existed may be stale). */
    int keep = r->resuming && io_file_exists(path);
    MODX_TRY(dist_bcast(&keep, sizeof keep, 0)); /* rank 0 decides; the others wait for its cache */
    if (keep) return MODX_OK;
    if (!dist_is_writer()) return dist_barrier();
    MODX_TRY(prepare_dataset_write(r, d, path));
    return dist_barrier();
}

static ModxStatus prepare_dataset_write(const Run *r, const ExpDataset *d, const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data", r->dir);
    MODX_TRY(io_mkdir_p(dir));
    Dataset ds;
    dataset_init(&ds);
    DatasetOptions o = {0};
    if (d->splits) MODX_TRY(dataset_parse_splits(d->splits, &o.splits));
    const char *inputs[1] = {d->input};
    DatasetSource src = {.inputs = inputs, .n_inputs = 1, .images = d->images};
    ModxStatus st = dataset_read_source(&ds, d->format, &src, &o);
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

/* "dataset 'NAME' (PATH)" for messages. */
static void dataset_label(const Run *r, int i, char *out, size_t n) {
    const ExpDataset *d = &r->e->datasets[i];
    char path[4096];
    if (d->cache) snprintf(path, sizeof path, "%s", d->cache);
    else CHECK(run_data_cache_path(path, sizeof path, r->dir, d->name), "run path too long");
    snprintf(out, n, "dataset '%s' (%s)", d->name, path);
}

/* The caches whose pairs share batches (joint's, a replay buffer's): phase
 * 0's and the stream's must agree on image size, context and tokenizer. */
static ModxStatus open_train_set(Run *r) {
    const Experiment *e = r->e;
    const Cache *set[2] = {r->caches[e->stream.dataset], NULL};
    int n = 1;
    if (e->has_phase0 && e->phase0.dataset != e->stream.dataset) {
        char a[8448], b[8448];
        dataset_label(r, e->phase0.dataset, a, sizeof a);
        dataset_label(r, e->stream.dataset, b, sizeof b);
        ModxStatus st = cache_check_mixable(r->caches[e->phase0.dataset], a, r->caches[e->stream.dataset], b);
        if (st != MODX_OK) modx_error_prefix("%s: ", e->path);
        MODX_TRY(st);
        set[n++] = r->caches[e->phase0.dataset];
    }
    return cacheset_init(&r->set, set, n);
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
    }
    MODX_TRY(open_train_set(r));
    for (int i = 0; i < e->n_datasets; i++) {
        Cache *c = r->caches[i];
        char label[8448], name[12800];
        dataset_label(r, i, label, sizeof label);
        snprintf(name, sizeof name, "%s: %s", e->path, label);
        if (e->tokenizer) MODX_TRY(cache_check_compat(c, name, r->cfg.vision.image_size, r->cfg.text.context_length, vocab_crc));
        else /* no tokenizer named: every cache must share the first one's */
            MODX_TRY(cache_check_compat(c, name, r->cfg.vision.image_size, r->cfg.text.context_length,
                                        r->caches[0]->vocab_crc));
        if (c->vocab_size > r->cfg.text.vocab_size)
            return modx_fail(MODX_ERR_INVALID, "%s: the tokenizer has %d ids but the model's vocab_size is %d (%s); "
                             "set its \"text_cfg\": {\"vocab_size\": %d} (or more)", name, c->vocab_size,
                             r->cfg.text.vocab_size, e->model, c->vocab_size);
    }
    return MODX_OK;
}

static ModxStatus domain_id(const Cache *c, const char *where, const char *name, uint32_t *id) {
    ModxStatus st = selection_domain_id(c, name, id);
    if (st != MODX_OK) modx_error_prefix("%s: ", where);
    return st;
}

/* The images of a selection, in cache order. */
static ModxStatus select_images(const Run *r, const ExpSelection *s, const char *where, ImageList *out) {
    Selection sel = {.splits = s->split_mask, .domains = (const char *const *)s->domains, .n_domains = (size_t)s->n_domains};
    ModxStatus st = selection_apply(r->caches[s->dataset], &sel, &out->images, &out->n);
    if (st != MODX_OK) modx_error_prefix("%s: dataset '%s': ", where, r->e->datasets[s->dataset].name);
    return st;
}

static int selection_covers(const Run *r, const ExpSelection *test, int dataset, const ImageList *imgs) {
    if (test->dataset != dataset) return 0;
    if (!test->n_domains) return 1;
    return selection_any_in_domains(r->caches[dataset], (const char *const *)test->domains, (size_t)test->n_domains,
                                    imgs->images, imgs->n);
}

/* Phase 0's images and the name its column carries. */
static ModxStatus setup_phase0(Run *r) {
    const Experiment *e = r->e;
    if (!e->has_phase0) {
        snprintf(r->phase0_name, sizeof r->phase0_name, "%s", e->phase0_checkpoint ? "checkpoint" : "init");
        return MODX_OK;
    }
    char where[512];
    snprintf(where, sizeof where, "%s: 'phase0'", e->path);
    MODX_TRY(select_images(r, &e->phase0, where, &r->phase0));
    if (r->phase0.n < (size_t)e->hp.batch)
        return modx_fail(MODX_ERR_INVALID, "%s: %zu images, fewer than one batch (train.batch = %d)", where,
                         r->phase0.n, e->hp.batch);
    if (!e->phase0.n_domains) {
        snprintf(r->phase0_name, sizeof r->phase0_name, "%s", e->datasets[e->phase0.dataset].name);
        return MODX_OK;
    }
    r->phase0_name[0] = 0;
    for (int k = 0; k < e->phase0.n_domains; k++) {
        if (k) strncat(r->phase0_name, "+", sizeof r->phase0_name - strlen(r->phase0_name) - 1);
        strncat(r->phase0_name, e->phase0.domains[k], sizeof r->phase0_name - strlen(r->phase0_name) - 1);
    }
    return MODX_OK;
}

/* The stream's images in domain mode: only the listed domains' (all when none
 * is listed), each name checked. */
static ModxStatus stream_domains_only(const Run *r, const char *where, ImageList *all) {
    const Experiment *e = r->e;
    const Cache *c = r->caches[e->stream.dataset];
    for (int k = 0; k < e->stream.n_domains; k++) {
        uint32_t id;
        MODX_TRY(domain_id(c, where, e->stream.domains[k], &id));
    }
    if (!e->stream.n_domains) return MODX_OK;
    size_t m = 0;
    for (size_t i = 0; i < all->n; i++)
        for (int k = 0; k < e->stream.n_domains; k++) {
            uint32_t id;
            domain_id(c, where, e->stream.domains[k], &id);
            if (c->image_domain[all->images[i]] == id) {
                all->images[m++] = all->images[i];
                break;
            }
        }
    all->n = m;
    return MODX_OK;
}

/* The stream: the selection's images (any domain when the domain mode lists
 * none), cut into phases of at least one batch each. */
static ModxStatus setup_stream(Run *r) {
    const Experiment *e = r->e;
    const ExpHyper *h = &e->hp;
    char where[512];
    snprintf(where, sizeof where, "%s: 'stream'", e->path);
    ImageList all = {0};
    ExpSelection sel = e->stream;
    if (e->mode == PHASES_DOMAIN) sel.n_domains = 0; /* the order below picks the domains */
    ModxStatus st = select_images(r, &sel, where, &all);
    const Cache *c = r->caches[e->stream.dataset];
    if (st == MODX_OK && e->mode == PHASES_DOMAIN) st = stream_domains_only(r, where, &all);
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
    return MODX_OK;
}

/* Test set t's images (its seeded sample) and, for a domain set, the first
 * phase that trains its domain. */
static ModxStatus setup_test(Run *r, int t) {
    const Experiment *e = r->e;
    const ExpTestSet *ts = &e->tests[t];
    char where[512];
    snprintf(where, sizeof where, "%s: test set '%s'", e->path, ts->name);
    MODX_TRY(select_images(r, &ts->sel, where, &r->tests[t]));
    selection_sample(r->tests[t].images, &r->tests[t].n, (size_t)ts->sample, e->hp.seed,
                     RUN_TEST_SAMPLE_STREAM + (uint64_t)t);
    r->first_phase[t] = -1;
    if (ts->role != TESTSET_DOMAIN) return MODX_OK;
    if (ts->first_phase >= 0) {
        if (ts->first_phase > r->N)
            return modx_fail(MODX_ERR_INVALID, "%s: first_phase %d but the stream has %d phases", where,
                             ts->first_phase, r->N);
        r->first_phase[t] = ts->first_phase;
        return MODX_OK;
    }
    if (e->has_phase0 && selection_covers(r, &ts->sel, e->phase0.dataset, &r->phase0)) r->first_phase[t] = 0;
    for (int k = 0; k < r->N && r->first_phase[t] < 0; k++) {
        ImageList pl = {r->stream.phases[k].images, r->stream.phases[k].n_images};
        if (selection_covers(r, &ts->sel, r->stream_dataset, &pl)) r->first_phase[t] = k + 1;
    }
    return MODX_OK;
}

static ModxStatus setup_tests(Run *r) {
    const Experiment *e = r->e;
    r->tests = calloc((size_t)e->n_tests, sizeof *r->tests);
    r->first_phase = calloc((size_t)e->n_tests, sizeof *r->first_phase);
    if (!r->tests || !r->first_phase) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    MODX_TRY(zs_sets_init(&r->zs, e));
    for (int t = 0; t < e->n_tests; t++) {
        MODX_TRY(setup_test(r, t));
        if (e->tests[t].role == TESTSET_ZEROSHOT)
            MODX_TRY(zs_sets_add(&r->zs, e, t, r->caches[e->tests[t].sel.dataset], &r->tests[t].images, &r->tests[t].n));
    }
    for (int t = 0; t < e->n_tests; t++)
        if (e->tests[t].role == TESTSET_DOMAIN && r->first_phase[t] < 0)
            return modx_fail(MODX_ERR_INVALID,
                             "%s: test set '%s' is a domain test set but no phase trains its domain; give it "
                             "\"first_phase\" or \"role\": \"heldout\"",
                             e->path, e->tests[t].name);
    return MODX_OK;
}

/* Phase 0, the stream, the test sets and the probe, all checked before any
 * training (the probe too, not only when phase 0 ends). */
static ModxStatus setup_data(Run *r) {
    const Experiment *e = r->e;
    MODX_TRY(setup_phase0(r));
    MODX_TRY(setup_stream(r));
    MODX_TRY(setup_tests(r));
    r->probe_test = experiment_find_test(e, e->probe_test);
    r->probe_pairs = r->tests[r->probe_test].n < (size_t)e->probe_pairs ? r->tests[r->probe_test].n : (size_t)e->probe_pairs;
    const ExpTestSet *pts = &e->tests[r->probe_test];
    ProbeSet ps;
    MODX_TRY(probe_select(&ps, r->caches[pts->sel.dataset], pts->name, r->tests[r->probe_test].images,
                          r->tests[r->probe_test].n, (int)r->probe_pairs));
    probe_set_free(&ps);
    return MODX_OK;
}

/* ---- run.json ---- */

/* run.json through the run directory's owner (run/rundir.h): a view of
 * the run's state, nothing copied. */
static ModxStatus write_run_json(const Run *r, int done) {
    const Experiment *e = r->e;
    const char *strategies[EXP_MAX_STRATEGIES], *bases[EXP_MAX_STRATEGIES];
    const char **phase_names = malloc(((size_t)r->N + 1) * sizeof *phase_names);
    RunTestSet *ts = calloc((size_t)e->n_tests + 1, sizeof *ts);
    if (!ts || !phase_names) {
        free(ts), free(phase_names);
        return modx_fail(MODX_ERR_NOMEM, "out of memory");
    }
    int n_names = 0;
    phase_names[n_names++] = r->phase0_name;
    for (int k = 0; k < r->N; k++) phase_names[n_names++] = r->stream.phases[k].name;
    for (int t = 0; t < e->n_tests; t++)
        ts[t] = (RunTestSet){.name = (char *)e->tests[t].name, .role = (RunSetRole)e->tests[t].role,
                             .first_phase = r->first_phase[t], .images = (long)r->tests[t].n};
    for (int i = 0; i < e->n_strategies; i++) strategies[i] = e->strategies[i].name, bases[i] = e->strategies[i].desc->name;
    RunInfo info = {.name = (char *)e->name, .seed = (double)e->hp.seed, .strategies = (char **)strategies,
                    .bases = (char **)bases, .nstrategies = e->n_strategies, .phases = r->N, .phase_names = (char **)phase_names,
                    .nphase_names = n_names, .test_sets = ts, .ntest_sets = e->n_tests,
                    .probe_test_set = (char *)e->probe_test, .probe_pairs = (int)r->probe_pairs,
                    .status = done ? "done" : "running", .completed = r->completed, .phase0_done = r->phase0_done,
                    .metrics_bytes = (double)r->metrics_bytes};
    ModxStatus st = run_info_save(&info, r->dir);
    free(ts), free(phase_names);
    return st;
}

/* A resumed run's state from its run.json (none yet: nothing completed). */
static ModxStatus read_run_json(Run *r) {
    char path[4096];
    snprintf(path, sizeof path, "%s/run.json", r->dir);
    if (!io_file_exists(path)) return MODX_OK;
    RunInfo info;
    MODX_TRY(run_info_load(&info, r->dir));
    ModxStatus st = MODX_OK;
    if (info.phases != r->N)
        st = modx_fail(MODX_ERR_FORMAT, "%s: %d phases, but the run's experiment has %d", path, info.phases, r->N);
    for (int s = 0; st == MODX_OK && s < info.nstrategies; s++) {
        int i = experiment_find_strategy(r->e, info.strategies[s]);
        if (i >= 0) r->completed[i] = info.completed[s] >= 1 ? info.completed[s] : -1;
    }
    r->phase0_done = info.phase0_done;
    if (info.metrics_bytes >= 0) r->metrics_bytes = (uint64_t)info.metrics_bytes;
    run_info_free(&info);
    return st;
}

/* ---- evaluation ---- */

/* The probe features, from the encoding `es` of the probe's test set (its first pairs). */
static ModxStatus write_probe(const Run *r, const EncodedSet *es, const char *label, int phase) {
    const Experiment *e = r->e;
    const ImageList *pl = &r->tests[r->probe_test];
    const ExpTestSet *ts = &e->tests[r->probe_test];
    const Cache *c = r->caches[ts->sel.dataset];
    ProbeSet ps;
    ProbeFeatures f;
    MODX_TRY(probe_select(&ps, c, ts->name, pl->images, pl->n, (int)r->probe_pairs));
    ModxStatus st = probe_from_encoded(&f, es, pl->images, ts->name, &ps);
    if (st == MODX_OK) {
        char path[4096], ph[16];
        path_of(path, sizeof path, r, label, phase, RUN_PROBE_FILE);
        snprintf(ph, sizeof ph, "%d", phase);
        const char *const meta[3][2] = {{"modx.probe.test_set", ts->name}, {"modx.strategy", label}, {"modx.phase", ph}};
        st = probe_features_save(&f, path, meta, 3);
        probe_features_free(&f);
    }
    probe_set_free(&ps);
    return st;
}

typedef struct {
    const Run *r;
    const char *label;
    int phase;
} ProbeHook;

/* The probe's test set gives the probe features (src/run/evalsets.h's on_encoded). */
static ModxStatus probe_hook(void *ctx, int t, const EncodedSet *es) {
    const ProbeHook *h = ctx;
    return t == h->r->probe_test ? write_probe(h->r, es, h->label, h->phase) : MODX_OK;
}

/* Every test set encoded once (in one inference arena kept for the whole run), its metrics
 * logged; the probe's test set also gives the probe features. */
static ModxStatus evaluate_all(Run *r, const ClipModel *m, const char *label, int phase) {
    const Experiment *e = r->e;
    if (!r->eval_acts) MODX_TRY(clip_acts_new(&r->eval_acts, &m->cfg, e->hp.eval_batch, 0));
    ProbeHook hook = {r, label, phase};
    EvalSets ev = {.e = e, .caches = r->caches, .tests = r->tests, .zs = &r->zs, .acts = r->eval_acts, .log = &r->log,
                   .progress = &r->progress, .on_encoded = probe_hook, .ctx = &hook};
    return evalsets_run(&ev, m, label, phase);
}

static ModxStatus write_results(Run *r) {
    const Experiment *e = r->e;
    const char *names[EXP_MAX_STRATEGIES], *tests[256], *roles[256];
    int nt = e->n_tests < 256 ? e->n_tests : 256;
    for (int i = 0; i < e->n_strategies; i++) names[i] = e->strategies[i].name;
    for (int t = 0; t < nt; t++) tests[t] = e->tests[t].name, roles[t] = testset_role_name(e->tests[t].role);
    return runlog_write_results(&r->log, r->dir, e->name, names, e->n_strategies, tests, roles, nt, r->N);
}

/* Probe, evaluations (their wall time: the phase's eval_s) and results after a phase. */
static ModxStatus finish_phase(Run *r, ClipModel *m, const char *label, int phase) {
    double t0 = progress_now();
    MODX_TRY(evaluate_all(r, m, label, phase));
    MODX_TRY(runlog_eval_time(&r->log, label, phase, progress_now() - t0));
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

static TrainSpec base_spec(const Run *r, StepLossTerm loss, int epochs, double wd, uint64_t seed) {
    const ExpHyper *h = &r->e->hp;
    return (TrainSpec){.loss = loss, .epochs = epochs, .batch = h->batch, .lr = h->lr, .warmup = h->warmup,
                       .weight_decay = wd, .grad_clip = h->grad_clip, .seed = seed, .log_every = h->log_every,
                       .checkpoint_every = h->checkpoint_every, .old_per_step = h->old_per_step,
                       .max_memory = r->max_memory, .precision = (GemmPrecision)h->precision};
}

static ModxStatus load_model(ClipModel **m, const char *path) {
    MODX_TRY(dist_barrier()); /* every rank reads what rank 0 finished writing */
    MODX_TRY(checkpoint_load(m, path, NULL));
    return MODX_OK;
}

static ModxStatus run_phase0(Run *r) {
    const Experiment *e = r->e;
    char dir[4096], out[4096], resume[4096];
    path_of(dir, sizeof dir, r, RUN_PHASE0, 0, "");
    MODX_TRY(io_mkdir_p(dir));
    path_of(out, sizeof out, r, RUN_PHASE0, 0, RUN_MODEL_FILE);
    path_of(resume, sizeof resume, r, RUN_PHASE0, 0, "resume.safetensors");
    ClipModel *m = NULL;
    ModxStatus st = resume_prepare(r, resume);
    if (st != MODX_OK) {
    } else if (e->phase0_checkpoint) {
        /* either naming; a file with no config of its own (an OpenCLIP hub file) takes the experiment's */
        st = checkpoint_load_default(&m, e->phase0_checkpoint, NULL, e->model);
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
            CheckpointMeta meta[] = {{"modx.strategy", RUN_PHASE0}, {"modx.phase", "0"}};
            st = checkpoint_save(out, m, m->params, meta, 2);
        } else if (st == MODX_OK) {
            StepLossTerm con = {0};
            TrainSpec sp = base_spec(r, con, e->hp.phase0_epochs, e->hp.joint_weight_decay, phase_seed(r, 0));
            TrainPhase ph = {.label = RUN_PHASE0, .phase = 0, .model = m, .cache = r->caches[e->phase0.dataset],
                             .images = r->phase0.images, .n_images = r->phase0.n, .caches = &r->set,
                             .resume_path = resume,
                             .out_path = out, .log = &r->log, .progress = &r->progress};
            TrainResult res;
            st = trainer_run(&sp, &ph, &res);
            if (st == MODX_OK && res.interrupted)
                st = modx_fail(MODX_ERR_IO, "interrupted during phase 0; resume with --resume %s", r->dir);
        }
    }
    if (st == MODX_OK) st = finish_phase(r, m, RUN_PHASE0, 0);
    if (st == MODX_OK) {
        /* Resume files first, as for the strategies: a crash between the two trains phase 0 again,
         * never leaves its resume files behind a completed phase 0. */
        trainer_resume_remove(resume);
        r->phase0_done = 1;
        st = write_run_json(r, 0);
    }
    clip_model_free(m);
    return st;
}

/* What a strategy trains on in phase k: phase k's images, or for a
 * STRATEGY_ONCE strategy the union of all the data, phase 0's set and every
 * phase: one list when they share a cache, else two loader parts (phase 0's
 * cache, the stream's) mixed uniformly or in the experiment's "shares". */
typedef struct {
    ImageList list; /* the images of the stream's cache (owned when `owned`) */
    int owned;
    LoaderPart parts[2];
    int n_parts, proportions;
} PhaseData;

static ModxStatus phase_data(const Run *r, const StrategyInst *si, int k, PhaseData *d) {
    memset(d, 0, sizeof *d);
    if (!(si->desc->flags & STRATEGY_ONCE)) {
        d->list.images = r->stream.phases[k - 1].images, d->list.n = r->stream.phases[k - 1].n_images;
        return MODX_OK;
    }
    const Experiment *e = r->e;
    int with0 = e->has_phase0 && e->phase0.dataset == e->stream.dataset;
    size_t tot = with0 ? r->phase0.n : 0;
    for (int j = 0; j < r->N; j++) tot += r->stream.phases[j].n_images;
    if (!(d->list.images = malloc(tot * sizeof(uint32_t)))) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    d->owned = 1;
    if (with0) {
        memcpy(d->list.images, r->phase0.images, r->phase0.n * sizeof(uint32_t));
        d->list.n = r->phase0.n;
    }
    for (int j = 0; j < r->N; j++) {
        memcpy(d->list.images + d->list.n, r->stream.phases[j].images, r->stream.phases[j].n_images * sizeof(uint32_t));
        d->list.n += r->stream.phases[j].n_images;
    }
    if (with0 || !r->phase0.n) return MODX_OK;
    d->parts[0] = (LoaderPart){.cache = r->caches[e->phase0.dataset], .images = r->phase0.images,
                               .n_images = r->phase0.n, .share = e->shares ? e->shares[e->phase0.dataset] : 1};
    d->parts[1] = (LoaderPart){.cache = r->caches[e->stream.dataset], .images = d->list.images, .n_images = d->list.n,
                               .share = e->shares ? e->shares[e->stream.dataset] : 1};
    d->n_parts = 2;
    d->proportions = e->shares != NULL;
    return MODX_OK;
}

/* The hooks' view of phase k (strategy.h): this phase's data, the previous
 * phase's (phase 0's set for k = 1), seeds and paths. */
static StrategyPhase strategy_phase(Run *r, const StrategyInst *si, int k, ClipModel *m, const ImageList *data,
                                    const char *dir, const char *prev_dir, const char *out) {
    const Experiment *e = r->e;
    int once = (si->desc->flags & STRATEGY_ONCE) != 0;
    StrategyPhase sp = {.si = si, .phase = k, .model = m, .batch = e->hp.batch, .run_seed = e->hp.seed,
                        .cache = r->caches[r->stream_dataset], .images = data->images, .n_images = data->n,
                        .seed = phase_seed(r, once ? r->N + 1 : k), .dir = dir, .prev_dir = k > 1 ? prev_dir : NULL,
                        .out_path = out, .progress = &r->progress, .caches = &r->set};
    if (once) return sp;
    if (k == 1 && r->phase0.n)
        sp.prev_cache = r->caches[e->phase0.dataset], sp.prev_images = r->phase0.images, sp.n_prev = r->phase0.n;
    else if (k > 1)
        sp.prev_cache = r->caches[r->stream_dataset], sp.prev_images = r->stream.phases[k - 2].images,
        sp.n_prev = r->stream.phases[k - 2].n_images;
    sp.prev_seed = phase_seed(r, k - 1);
    return sp;
}

/* The data of phases 0 … k−1 for the hooks (strategy.h: history), then the test sets'. */
static ModxStatus phase_history(const Run *r, int k, LoaderPart **out) {
    if (!(*out = calloc((size_t)(k + r->e->n_tests), sizeof **out))) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    for (int t = 0; t < r->e->n_tests; t++)
        (*out)[k + t] = (LoaderPart){.cache = r->caches[r->e->tests[t].sel.dataset], .images = r->tests[t].images,
                                     .n_images = r->tests[t].n, .share = 1};
    (*out)[0] = (LoaderPart){.cache = r->caches[r->e->has_phase0 ? r->e->phase0.dataset : r->stream_dataset],
                             .images = r->phase0.images, .n_images = r->phase0.n, .share = 1};
    for (int j = 1; j < k; j++)
        (*out)[j] = (LoaderPart){.cache = r->caches[r->stream_dataset], .images = r->stream.phases[j - 1].images,
                                 .n_images = r->stream.phases[j - 1].n_images, .share = 1};
    return MODX_OK;
}

/* Trains strategy i's phase k (its hooks around the trainer), then
 * checkpoint, probe, evaluations and run.json. */
static ModxStatus run_strategy_phase(Run *r, int i, int k) {
    const Experiment *e = r->e;
    const StrategyInst *si = &e->strategies[i];
    int once = (si->desc->flags & STRATEGY_ONCE) != 0;
    char prev[4096], prev_dir[4096], out[4096], resume[4096], dir[4096];
    if (k == 1 || once || (si->desc->flags & STRATEGY_FROM_START))
        path_of(prev, sizeof prev, r, RUN_PHASE0, 0, RUN_MODEL_FILE);
    else path_of(prev, sizeof prev, r, si->name, k - 1, RUN_MODEL_FILE);
    path_of(prev_dir, sizeof prev_dir, r, si->name, k - 1, "");
    path_of(out, sizeof out, r, si->name, k, RUN_MODEL_FILE);
    path_of(dir, sizeof dir, r, si->name, k, "");
    path_of(resume, sizeof resume, r, si->name, -1, "resume.safetensors");
    MODX_TRY(io_mkdir_p(dir));
    ClipModel *m = NULL, *old = NULL;
    PhaseData data;
    memset(&data, 0, sizeof data);
    ModxStatus st = load_model(&m, prev);
    if (st == MODX_OK && (si->desc->flags & STRATEGY_OLD_MODEL)) st = clip_model_clone(&old, m);
    if (st == MODX_OK) st = phase_data(r, si, k, &data);
    StrategyPhase sp = strategy_phase(r, si, k, m, &data.list, dir, prev_dir, out);
    LoaderPart *history = NULL;
    if (st == MODX_OK && !once) st = phase_history(r, k, &history);
    sp.history = history, sp.n_history = history ? k : 0, sp.epochs = e->hp.epochs;
    sp.tests = history ? history + k : NULL, sp.n_tests = history ? e->n_tests : 0;
    char start[4096];
    path_of(start, sizeof start, r, RUN_PHASE0, 0, RUN_MODEL_FILE);
    sp.start_path = start;
    if (st == MODX_OK) st = strategy_before_phase(&sp);
    if (st == MODX_OK) st = resume_prepare(r, resume);
    if (st == MODX_OK) {
        TrainSpec ts = base_spec(r, strategy_loss(si), once ? e->hp.joint_epochs : e->hp.epochs,
                                 once ? e->hp.joint_weight_decay : e->hp.weight_decay, sp.seed);
        ts.steps = sp.steps;
        TrainPhase ph = {.label = si->name, .phase = k, .model = m, .old = old, .cache = sp.cache,
                         .images = data.list.images, .n_images = data.list.n, .parts = data.parts,
                         .n_parts = data.n_parts, .proportions = data.proportions, .caches = &r->set, .replay = sp.replay,
                         .replay_fraction = sp.replay_fraction, .penalty = sp.penalty,
                         .extra_passes = sp.extra_passes,
                         .extra_frozen_passes = sp.extra_frozen_passes, .resume_path = resume,
                         .out_path = out, .log = &r->log, .progress = &r->progress};
        if (sp.n_parts > 0) ph.parts = sp.parts, ph.n_parts = sp.n_parts, ph.proportions = sp.proportions;
        TrainResult res;
        st = trainer_run(&ts, &ph, &res);
        if (st == MODX_OK && res.interrupted)
            st = modx_fail(MODX_ERR_IO, "interrupted during %s phase %d; resume with --resume %s", si->name, k, r->dir);
    }
    if (st == MODX_OK) st = strategy_after_phase(&sp);
    if (st == MODX_OK) st = finish_phase(r, m, si->name, k);
    if (st == MODX_OK) {
        /* Resume files go first: a crash between the two retrains phase k, never blocks phase k+1. */
        trainer_resume_remove(resume);
        r->completed[i] = k;
        st = write_run_json(r, 0);
    }
    strategy_end_phase(&sp);
    free(history);
    if (data.owned) free(data.list.images);
    clip_model_free(old);
    clip_model_free(m);
    return st;
}

static void run_free(Run *r) {
    if (r->caches)
        for (int i = 0; i < r->e->n_datasets; i++) cache_close(r->caches[i]);
    free(r->caches);
    cacheset_free(&r->set);
    free(r->phase0.images);
    phases_free(&r->stream);
    if (r->tests)
        for (int t = 0; t < r->e->n_tests; t++) free(r->tests[t].images);
    free(r->tests);
    free(r->first_phase);
    zs_sets_free(&r->zs);
    free(r->completed);
    clip_acts_free(r->eval_acts);
    runlog_close(&r->log);
}

/* Checks, data, run.json and metrics.jsonl of a new or resumed run. */
static ModxStatus run_open(Run *r, const RunOptions *opt) {
    const Experiment *e = r->e;
    char path[4096];
    /* Every file of the run is RUN_DIR/<strategy>/phase<k>/<name>: keep them well inside PATH buffers. */
    if (strlen(r->dir) > 3000)
        return modx_fail(MODX_ERR_INVALID, "run directory path is %zu characters long; at most 3000 are supported",
                         strlen(r->dir));
    snprintf(path, sizeof path, "%s/run.json", r->dir);
    if (!opt->resume && io_file_exists(path))
        return modx_fail(MODX_ERR_INVALID, "%s already holds a run (run.json); continue it with --resume %s or choose "
                         "another --out folder", r->dir, r->dir);
    MODX_TRY(dist_barrier()); /* every rank has looked before rank 0 writes run.json */
    if (opt->only_strategy && experiment_find_strategy(e, opt->only_strategy) < 0)
        return modx_fail(MODX_ERR_INVALID, "strategy '%s' is not one of the experiment's strategies",
                         opt->only_strategy);
    if (!(r->completed = malloc((size_t)e->n_strategies * sizeof *r->completed)))
        return modx_fail(MODX_ERR_NOMEM, "out of memory");
    for (int i = 0; i < e->n_strategies; i++) r->completed[i] = -1;
    MODX_TRY(clip_config_load(&r->cfg, e->model));
    MODX_TRY(io_mkdir_p(r->dir));
    MODX_TRY(open_data(r));
    MODX_TRY(setup_data(r));
    if (opt->resume) MODX_TRY(read_run_json(r));
    if (!opt->resume) {
        char *json = experiment_to_json(e);
        snprintf(path, sizeof path, "%s/experiment.json", r->dir);
        ModxStatus st = json ? io_write_atomic(path, json, strlen(json)) : modx_fail(MODX_ERR_NOMEM, "out of memory");
        free(json);
        MODX_TRY(st);
    }
    MODX_TRY(runlog_open(&r->log, r->dir));
    return write_run_json(r, 0);
}

/* A stopped strategy's resume checkpoint records where metrics.jsonl ended;
 * running another strategy first would append after that point, so the
 * stopped one must go first. */
static ModxStatus check_no_other_pending(const Run *r, const char *only) {
    for (int i = 0; i < r->e->n_strategies; i++) {
        char pending[4096];
        const char *other = r->e->strategies[i].name;
        path_of(pending, sizeof pending, r, other, -1, "resume.safetensors");
        if (strcmp(other, only) && io_file_exists(pending))
            return modx_fail(MODX_ERR_INVALID,
                             "%s: strategy '%s' was stopped mid-phase (%s); finish it first with "
                             "modx continual --resume %s --strategy %s",
                             r->dir, other, pending, r->dir, other);
    }
    return MODX_OK;
}

/* Strategy i's remaining phases. */
static ModxStatus run_strategy(Run *r, int i) {
    if (r->e->strategies[i].desc->flags & STRATEGY_ONCE)
        return r->completed[i] < r->N ? run_strategy_phase(r, i, r->N) : MODX_OK;
    for (int k = r->completed[i] < 1 ? 1 : r->completed[i] + 1; k <= r->N; k++) MODX_TRY(run_strategy_phase(r, i, k));
    return MODX_OK;
}

/* The strategy stopped mid-phase (its resume checkpoint records where
 * metrics.jsonl ended, so it must run before any other appends), −1: none. */
static int pending_strategy(const Run *r) {
    for (int i = 0; i < r->e->n_strategies; i++) {
        char pending[4096];
        path_of(pending, sizeof pending, r, r->e->strategies[i].name, -1, "resume.safetensors");
        if (io_file_exists(pending)) return i;
    }
    return -1;
}

/* Phase 0 (once), then every strategy's remaining phases; a strategy stopped
 * mid-phase first. */
static ModxStatus run_all(Run *r, const RunOptions *opt) {
    const Experiment *e = r->e;
    if (opt->only_strategy) MODX_TRY(check_no_other_pending(r, opt->only_strategy));
    if (!r->phase0_done) MODX_TRY(run_phase0(r));
    int first = opt->only_strategy ? -1 : pending_strategy(r);
    if (first >= 0) MODX_TRY(run_strategy(r, first));
    for (int i = 0; i < e->n_strategies; i++) {
        if (i == first || (opt->only_strategy && strcmp(e->strategies[i].name, opt->only_strategy))) continue;
        MODX_TRY(run_strategy(r, i));
    }
    int all = 1;
    for (int i = 0; i < e->n_strategies; i++) all &= r->completed[i] == r->N;
    return write_run_json(r, all);
}

/* The training steps the run has left (phase 0 and every strategy's remaining
 * phases, at the loader's whole batches per epoch): the progress line's run ETA. */
static int64_t run_steps_left(const Run *r, const RunOptions *opt) {
    const Experiment *e = r->e;
    int64_t B = e->hp.batch, n = 0;
    if (!r->phase0_done && e->has_phase0 && !e->phase0_checkpoint) n += (int64_t)r->phase0.n / B * e->hp.phase0_epochs;
    for (int i = 0; i < e->n_strategies; i++) {
        const StrategyInst *si = &e->strategies[i];
        if (opt->only_strategy && strcmp(si->name, opt->only_strategy)) continue;
        if (si->desc->flags & STRATEGY_ONCE) {
            size_t tot = e->has_phase0 && e->phase0.dataset == e->stream.dataset ? r->phase0.n : 0;
            for (int j = 0; j < r->N; j++) tot += r->stream.phases[j].n_images;
            if (r->completed[i] < r->N) n += (int64_t)tot / B * e->hp.joint_epochs;
            continue;
        }
        for (int k = r->completed[i] < 1 ? 1 : r->completed[i] + 1; k <= r->N; k++)
            n += (int64_t)r->stream.phases[k - 1].n_images / B * e->hp.epochs;
    }
    return n;
}

ModxStatus continual_run(const Experiment *e, const char *run_dir, const RunOptions *opt) {
    Run r;
    memset(&r, 0, sizeof r);
    r.e = e, r.dir = run_dir;
    r.phase0_dataset = e->has_phase0 ? e->phase0.dataset : -1;
    r.resuming = opt->resume, r.max_memory = opt->max_memory;
    progress_init(&r.progress, opt->quiet);
    ModxStatus st = run_open(&r, opt);
    if (st == MODX_OK) {
        progress_note(&r.progress, "run %s: %d phase(s) after phase 0 (%s), %d strategies, %d test set(s)", e->name,
                      r.N, r.phase0_name, e->n_strategies, e->n_tests);
        r.resume_pending = opt->resume;
        progress_set_run_steps(&r.progress, run_steps_left(&r, opt));
        st = run_all(&r, opt);
        progress_finish(&r.progress);
    }
    run_free(&r);
    return st;
}

ModxStatus continual_load_run_experiment(Experiment *e, const char *run_dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/experiment.json", run_dir);
    if (!io_file_exists(path) && io_dir_exists(run_dir))
        return modx_fail(MODX_ERR_INVALID, "%s: no experiment.json: not a run folder, or a run stopped before it "
                         "started (while checking or preparing its data); start it again with modx run EXPERIMENT "
                         "--out %s", run_dir, run_dir);
    if (!io_file_exists(path))
        return modx_fail(MODX_ERR_INVALID, "%s: no such run folder (expected a folder written by modx run)", run_dir);
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
        const char *names[EXP_MAX_STRATEGIES], *tests[256], *roles[256];
        int nt = e.n_tests < 256 ? e.n_tests : 256;
        for (int i = 0; i < e.n_strategies; i++) names[i] = e.strategies[i].name;
        for (int t = 0; t < nt; t++) tests[t] = e.tests[t].name, roles[t] = testset_role_name(e.tests[t].role);
        *table = runlog_final_table(&log, names, e.n_strategies, tests, roles, nt, N);
        if (!*table) st = modx_fail(MODX_ERR_NOMEM, "out of memory");
    }
    runlog_close(&log);
    experiment_free(&e);
    return st;
}
