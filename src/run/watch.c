#include "run/watch.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clip/model.h"
#include "core/rng.h"
#include "data/cache.h"
#include "data/dataset.h"
#include "data/formats.h"
#include "data/prepare.h"
#include "data/selection.h"
#include "eval/encode.h"
#include "io/checkpoint.h"
#include "io/file.h"
#include "run/evalsets.h"
#include "run/rundir.h"
#include "run/watch_state.h"
#include "run/zeroshot_sets.h"
#include "strategy/strategy.h"
#include "train/progress.h"
#include "train/runlog.h"
#include "train/trainer.h"


typedef struct {
    const Experiment *e;
    const WatchOptions *o;
    const StrategyInst *si;
    const char *run;
    char dir[PATH_MAX];  /* the watched folder, absolute */
    ClipConfig cfg;
    Cache **caches;      /* (e->n_datasets) the test sets' datasets */
    ImageList *tests;    /* (e->n_tests) */
    ZsSets zs;           /* the zero-shot test sets' labels, classes and templates */
    WatchState state;
    RunLog log;
    int log_open;
    Progress progress;
} Watch;

static void path_of(char *out, size_t n, const Watch *w, const char *label, int phase, const char *file) {
    CHECK(run_path(out, n, w->run, label, phase, file), "run path too long");
}

/* RUN_DIR/stream/phase<k>.cache */
static void phase_cache_path(char *out, size_t n, const Watch *w, int k) {
    CHECK((size_t)snprintf(out, n, "%s/stream/phase%d.cache", w->run, k) < n, "run path too long");
}

/* ---- data ---- */

/* Reads `inputs` with `format` and prepares them at the model's sizes with the
 * experiment's tokenizer into `out` (atomically). */
static ModxStatus prepare_inputs(Watch *w, const char *format, const char *const *inputs, size_t n, const char *images,
                                 const char *splits, const char *out, size_t *n_images) {
    Dataset ds;
    dataset_init(&ds);
    DatasetOptions o = {0};
    ModxStatus st = splits ? dataset_parse_splits(splits, &o.splits) : MODX_OK;
    DatasetSource src = {.inputs = inputs, .n_inputs = n, .images = images};
    if (st == MODX_OK) st = dataset_read_source(&ds, format, &src, &o);
    PrepareOptions po = {.vocab_path = w->e->tokenizer, .image_size = w->cfg.vision.image_size,
                         .context = w->cfg.text.context_length};
    PrepareReport rep;
    memset(&rep, 0, sizeof rep);
    if (st == MODX_OK) st = data_prepare(&ds, &po, out, &rep);
    if (n_images) *n_images = rep.n_images;
    prepare_report_free(&rep);
    dataset_free(&ds);
    return st;
}

/* A cache this run reads: its sizes and tokenizer must be the model's. */
static ModxStatus open_cache(Watch *w, const char *path, const char *what, Cache **out) {
    uint32_t crc;
    MODX_TRY(cache_file_crc32(w->e->tokenizer, &crc));
    MODX_TRY(cache_open(out, path, 1));
    char name[8448];
    snprintf(name, sizeof name, "%s (%s)", what, path);
    MODX_TRY(cache_check_compat(*out, name, w->cfg.vision.image_size, w->cfg.text.context_length, crc));
    if ((*out)->vocab_size > w->cfg.text.vocab_size)
        return modx_fail(MODX_ERR_INVALID, "%s: the tokenizer has %d ids but the model's vocab_size is %d (%s)", name,
                         (*out)->vocab_size, w->cfg.text.vocab_size, w->e->model);
    return MODX_OK;
}

/* The test sets' datasets (a source is prepared once into RUN_DIR/data/NAME.cache)
 * and each test set's images (its seeded sample). */
static ModxStatus open_tests(Watch *w) {
    const Experiment *e = w->e;
    w->caches = calloc((size_t)e->n_datasets + 1, sizeof *w->caches);
    w->tests = calloc((size_t)e->n_tests + 1, sizeof *w->tests);
    if (!w->caches || !w->tests) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    MODX_TRY(zs_sets_init(&w->zs, e));
    for (int i = 0; i < e->n_datasets; i++) {
        const ExpDataset *d = &e->datasets[i];
        char path[4096], what[512];
        snprintf(what, sizeof what, "%s: dataset '%s'", e->path, d->name);
        if (d->cache) snprintf(path, sizeof path, "%s", d->cache);
        else CHECK(run_data_cache_path(path, sizeof path, w->run, d->name), "run path too long");
        if (!d->cache && !io_file_exists(path)) {
            char folder[4096];
            snprintf(folder, sizeof folder, "%s/data", w->run);
            MODX_TRY(io_mkdir_p(folder));
            const char *in[1] = {d->input};
            ModxStatus st = prepare_inputs(w, d->format, in, 1, d->images, d->splits, path, NULL);
            if (st != MODX_OK) modx_error_prefix("%s: ", what);
            MODX_TRY(st);
        }
        MODX_TRY(open_cache(w, path, what, &w->caches[i]));
    }
    for (int t = 0; t < e->n_tests; t++) {
        const ExpTestSet *ts = &e->tests[t];
        Selection sel = {.splits = ts->sel.split_mask, .domains = (const char *const *)ts->sel.domains,
                         .n_domains = (size_t)ts->sel.n_domains};
        ModxStatus st = selection_apply(w->caches[ts->sel.dataset], &sel, &w->tests[t].images, &w->tests[t].n);
        if (st != MODX_OK) modx_error_prefix("%s: test set '%s': ", e->path, ts->name);
        MODX_TRY(st);
        selection_sample(w->tests[t].images, &w->tests[t].n, (size_t)ts->sample, e->hp.seed,
                         RUN_TEST_SAMPLE_STREAM + (uint64_t)t);
        if (ts->role == TESTSET_ZEROSHOT)
            MODX_TRY(zs_sets_add(&w->zs, e, t, w->caches[ts->sel.dataset], &w->tests[t].images, &w->tests[t].n));
    }
    return MODX_OK;
}

static int shard_cmp(const void *a, const void *b) {
    return strcmp(((const WatchShard *)a)->name, ((const WatchShard *)b)->name);
}

static void shards_free(WatchShard *s, size_t n) {
    for (size_t i = 0; i < n; i++) free(s[i].name);
    free(s);
}

/* NAME.tar with its NAME.tar.done marker, not taken yet: appended to *out. */
static ModxStatus scan_entry(const Watch *w, const char *name, WatchShard **out, size_t *n, size_t *cap) {
    size_t len = strlen(name);
    if (name[0] == '.' || len < 5 || strcmp(name + len - 4, ".tar") || watch_state_taken(&w->state, name)) return MODX_OK;
    char path[PATH_MAX + 512], done[PATH_MAX + 520];
    snprintf(path, sizeof path, "%s/%s", w->dir, name);
    snprintf(done, sizeof done, "%s%s", path, WATCH_DONE_SUFFIX);
    struct stat sb;
    if (stat(done, &sb) != 0) return MODX_OK; /* still being written */
    if (strpbrk(name, "{}") || strstr(name, "::"))
        return modx_fail(MODX_ERR_INVALID, "%s: shard name '%s': '{', '}' and '::' are pattern syntax; rename it",
                         w->dir, name);
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return modx_fail(MODX_ERR_INVALID, "%s: %s is marked complete but is not a regular file", w->dir, name);
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        WatchShard *p = realloc(*out, c * sizeof *p);
        if (!p) return modx_fail(MODX_ERR_NOMEM, "out of memory");
        *out = p, *cap = c;
    }
    if (!((*out)[*n].name = strdup(name))) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    (*out)[(*n)++].bytes = (uint64_t)sb.st_size;
    return MODX_OK;
}

/* The complete shards of the watched folder that no phase has taken, in name order. */
static ModxStatus scan_new(const Watch *w, WatchShard **out, size_t *n) {
    *out = NULL, *n = 0;
    size_t cap = 0;
    DIR *d = opendir(w->dir);
    if (!d) return modx_fail(MODX_ERR_IO, "%s: cannot read the watched folder: %s", w->dir, strerror(errno));
    ModxStatus st = MODX_OK;
    for (struct dirent *de; st == MODX_OK && (de = readdir(d));) st = scan_entry(w, de->d_name, out, n, &cap);
    closedir(d);
    if (st != MODX_OK) {
        shards_free(*out, *n);
        *out = NULL, *n = 0;
        return st;
    }
    if (*n) qsort(*out, *n, sizeof **out, shard_cmp);
    return MODX_OK;
}

/* Prepares phase k's shards into its cache (*n_images: its images); a shard
 * whose size changed since it was taken is an error (shards are never rewritten). */
static ModxStatus prepare_phase(Watch *w, int k, const WatchShard *sh, size_t n, size_t *n_images) {
    char out[4096], folder[4096];
    phase_cache_path(out, sizeof out, w, k);
    snprintf(folder, sizeof folder, "%s/stream", w->run);
    MODX_TRY(io_mkdir_p(folder));
    char **paths = calloc(n, sizeof *paths);
    if (!paths) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    ModxStatus st = MODX_OK;
    for (size_t i = 0; st == MODX_OK && i < n; i++) {
        struct stat sb;
        size_t len = strlen(w->dir) + strlen(sh[i].name) + 2;
        if (!(paths[i] = malloc(len))) st = modx_fail(MODX_ERR_NOMEM, "out of memory");
        else snprintf(paths[i], len, "%s/%s", w->dir, sh[i].name);
        if (st == MODX_OK && (stat(paths[i], &sb) != 0 || (uint64_t)sb.st_size != sh[i].bytes))
            st = modx_fail(MODX_ERR_INVALID, "%s: shard %s changed (or went away) after it was taken for phase %d "
                           "(%llu bytes then); a shard must not be rewritten once marked complete",
                           w->dir, sh[i].name, k, (unsigned long long)sh[i].bytes);
    }
    if (st == MODX_OK) {
        progress_note(&w->progress, "phase %d: preparing %zu shard(s) from %s", k, n, w->dir);
        st = prepare_inputs(w, "wds", (const char *const *)paths, n, NULL, NULL, out, n_images);
    }
    if (st != MODX_OK) modx_error_prefix("phase %d: ", k);
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
    return st;
}

/* 1 in *have when a phase is ready to train: the last recorded one when it is
 * not done, else a new one made of every complete untaken shard when there are
 * at least min_shards of them holding at least one batch of images (prepared
 * first, then recorded; fewer images: not taken yet, the shards wait for more). */
static ModxStatus next_phase(Watch *w, int *have) {
    WatchState *s = &w->state;
    *have = s->n_phases && !s->phases[s->n_phases - 1].done;
    if (*have) return MODX_OK;
    WatchShard *sh;
    size_t n;
    MODX_TRY(scan_new(w, &sh, &n));
    ModxStatus st = MODX_OK;
    if (n >= (size_t)w->o->min_shards) {
        size_t images = 0;
        st = prepare_phase(w, s->n_phases + 1, sh, n, &images);
        int enough = images >= (size_t)w->e->hp.batch;
        if (st == MODX_OK && !enough)
            progress_note(&w->progress, "phase %d: %zu image(s) in %zu shard(s), fewer than one batch "
                          "(train.batch = %d); waiting for more shards", s->n_phases + 1, images, n, w->e->hp.batch);
        if (st == MODX_OK && enough) st = watch_state_add_phase(s, sh, n);
        if (st == MODX_OK && enough) st = watch_state_save(s, w->run);
        *have = st == MODX_OK && enough;
    }
    shards_free(sh, n);
    return st;
}

/* ---- evaluation and publishing ---- */

static ModxStatus evaluate_all(Watch *w, const ClipModel *m, const char *label, int phase) {
    const Experiment *e = w->e;
    EvalSets ev = {.e = e, .caches = w->caches, .tests = w->tests, .zs = &w->zs, .log = &w->log,
                   .progress = &w->progress};
    MODX_TRY(evalsets_run(&ev, m, label, phase));
    const char *names[1] = {w->si->name}, *tests[256], *roles[256];
    int nt = e->n_tests < 256 ? e->n_tests : 256;
    for (int t = 0; t < nt; t++) tests[t] = e->tests[t].name, roles[t] = testset_role_name(e->tests[t].role);
    return runlog_write_results(&w->log, w->run, e->name, names, 1, tests, roles, nt, phase);
}

/* Copies the checkpoint at `src` to RUN_DIR/latest.safetensors atomically. */
static ModxStatus publish(const Watch *w, const char *src) {
    char dst[4096];
    snprintf(dst, sizeof dst, "%s/%s", w->run, WATCH_LATEST_FILE);
    FILE *f = fopen(src, "rb");
    if (!f) return modx_fail(MODX_ERR_IO, "%s: cannot open: %s", src, strerror(errno));
    IoAtomicFile *out;
    ModxStatus st = io_atomic_open(&out, dst);
    if (st != MODX_OK) return fclose(f), st;
    static char buf[1 << 16];
    size_t n;
    while (st == MODX_OK && (n = fread(buf, 1, sizeof buf, f)) > 0) st = io_atomic_write(out, buf, n);
    if (st == MODX_OK && ferror(f)) st = modx_fail(MODX_ERR_IO, "%s: read error", src);
    fclose(f);
    if (st != MODX_OK) return io_atomic_abort(out), st;
    return io_atomic_commit(out);
}

/* Phase 0: the experiment's checkpoint or the initialised model, saved,
 * evaluated and published (again from the start after a crash). */
static ModxStatus run_phase0(Watch *w) {
    const Experiment *e = w->e;
    char dir[4096], out[4096];
    path_of(dir, sizeof dir, w, RUN_PHASE0, 0, "");
    path_of(out, sizeof out, w, RUN_PHASE0, 0, RUN_MODEL_FILE);
    MODX_TRY(io_mkdir_p(dir));
    MODX_TRY(runlog_truncate(&w->log, w->state.metrics_bytes));
    ClipModel *m = NULL;
    ModxStatus st;
    if (e->phase0_checkpoint) {
        st = checkpoint_load(&m, e->phase0_checkpoint, NULL);
        char *a = st == MODX_OK ? clip_config_to_json(&m->cfg) : NULL, *b = clip_config_to_json(&w->cfg);
        if (st == MODX_OK && (!a || !b || strcmp(a, b)))
            st = modx_fail(MODX_ERR_INVALID, "%s: phase0.checkpoint %s has a different model config than %s", e->path,
                           e->phase0_checkpoint, e->model);
        free(a), free(b);
    } else {
        st = clip_model_new(&m, &w->cfg);
        if (st == MODX_OK) clip_model_init(m, e->hp.seed);
    }
    CheckpointMeta meta[] = {{"modx.strategy", RUN_PHASE0}, {"modx.phase", "0"}};
    if (st == MODX_OK) st = checkpoint_save(out, m, m->params, meta, 2);
    if (st == MODX_OK) st = evaluate_all(w, m, RUN_PHASE0, 0);
    if (st == MODX_OK) st = publish(w, out);
    clip_model_free(m);
    MODX_TRY(st);
    w->state.phase0_done = 1;
    w->state.metrics_bytes = runlog_offset(&w->log);
    return watch_state_save(&w->state, w->run);
}

/* ---- training a phase ---- */

/* Every image of phase k's cache (opened into *c). */
static ModxStatus phase_images(Watch *w, int k, Cache **c, ImageList *l) {
    char path[4096], what[64];
    phase_cache_path(path, sizeof path, w, k);
    snprintf(what, sizeof what, "phase %d", k);
    if (!io_file_exists(path)) { /* recorded, but its cache is gone: prepare it again from the same shards */
        const WatchPhase *p = &w->state.phases[k - 1];
        MODX_TRY(prepare_phase(w, k, p->shards, p->n_shards, NULL));
    }
    MODX_TRY(open_cache(w, path, what, c));
    l->n = (*c)->n_images;
    if (!(l->images = malloc((l->n ? l->n : 1) * sizeof *l->images))) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < l->n; i++) l->images[i] = (uint32_t)i;
    return MODX_OK;
}

/* The loader seed of phase k (as the continual driver's). */
static uint64_t phase_seed(const Watch *w, int k) { return rng_mix64(w->e->hp.seed * 1000003ull + (uint64_t)k); }

/* The trainer over phase k (resumed when its checkpoint is there; without
 * one, metrics.jsonl is cut back to where the last phase ended). */
static ModxStatus train_phase(Watch *w, StrategyPhase *sp, const ClipModel *old, const char *resume, int *stopped) {
    const ExpHyper *h = &w->e->hp;
    int exists;
    MODX_TRY(trainer_resume_recover(resume, &exists));
    if (!exists) MODX_TRY(runlog_truncate(&w->log, w->state.metrics_bytes));
    TrainSpec ts = {.loss = strategy_loss(w->si), .epochs = h->epochs, .batch = h->batch, .lr = h->lr,
                    .warmup = h->warmup, .weight_decay = h->weight_decay, .grad_clip = h->grad_clip, .seed = sp->seed,
                    .log_every = h->log_every, .checkpoint_every = h->checkpoint_every};
    TrainPhase ph = {.label = w->si->name, .phase = sp->phase, .model = sp->model, .old = old, .cache = sp->cache,
                     .images = sp->images, .n_images = sp->n_images, .replay = sp->replay,
                     .replay_fraction = sp->replay_fraction, .penalty = sp->penalty,
                     .extra_passes = sp->extra_passes, .extra_frozen_passes = sp->extra_frozen_passes,
                     .resume_path = resume, .out_path = sp->out_path,
                     .log = &w->log, .progress = &w->progress};
    TrainResult res;
    MODX_TRY(trainer_run(&ts, &ph, &res));
    *stopped = res.interrupted;
    return MODX_OK;
}

/* After a trained phase: evaluations, results, latest.safetensors, then the
 * phase is recorded as done (resume files first: a crash between the two
 * trains the phase again from its start, to the same bytes). */
static ModxStatus finish_phase(Watch *w, const ClipModel *m, int k, const char *out, const char *resume) {
    MODX_TRY(evaluate_all(w, m, w->si->name, k));
    MODX_TRY(publish(w, out));
    trainer_resume_remove(resume);
    w->state.phases[k - 1].done = 1;
    w->state.metrics_bytes = runlog_offset(&w->log);
    return watch_state_save(&w->state, w->run);
}

/* Phase k of the strategy from phase k−1's model, with its hooks. */
static ModxStatus run_phase(Watch *w, int k, int *stopped) {
    const StrategyInst *si = w->si;
    char prev[4096], prev_dir[4096], out[4096], resume[4096], dir[4096];
    if (k == 1) path_of(prev, sizeof prev, w, RUN_PHASE0, 0, RUN_MODEL_FILE);
    else path_of(prev, sizeof prev, w, si->name, k - 1, RUN_MODEL_FILE);
    path_of(prev_dir, sizeof prev_dir, w, si->name, k - 1, "");
    path_of(out, sizeof out, w, si->name, k, RUN_MODEL_FILE);
    path_of(dir, sizeof dir, w, si->name, k, "");
    path_of(resume, sizeof resume, w, si->name, -1, "resume.safetensors");
    MODX_TRY(io_mkdir_p(dir));
    Cache *c = NULL, *pc = NULL;
    ImageList data = {0}, prevd = {0};
    ClipModel *m = NULL, *old = NULL;
    ModxStatus st = phase_images(w, k, &c, &data);
    if (st == MODX_OK && k > 1) st = phase_images(w, k - 1, &pc, &prevd);
    if (st == MODX_OK) st = checkpoint_load(&m, prev, NULL);
    if (st == MODX_OK && (si->desc->flags & STRATEGY_OLD_MODEL)) st = clip_model_clone(&old, m);
    StrategyPhase sp = {.si = si, .phase = k, .model = m, .batch = w->e->hp.batch, .run_seed = w->e->hp.seed,
                        .cache = c, .images = data.images, .n_images = data.n, .seed = phase_seed(w, k),
                        .prev_cache = pc, .prev_images = prevd.images, .n_prev = prevd.n,
                        .prev_seed = phase_seed(w, k - 1), .dir = dir, .prev_dir = k > 1 ? prev_dir : NULL,
                        .out_path = out, .progress = &w->progress};
    if (st == MODX_OK) {
        progress_note(&w->progress, "phase %d: %zu images from %zu shard(s), strategy %s", k, data.n,
                      w->state.phases[k - 1].n_shards, si->name);
        st = strategy_before_phase(&sp);
        if (st == MODX_OK) st = train_phase(w, &sp, old, resume, stopped);
        if (st == MODX_OK && !*stopped) st = strategy_after_phase(&sp);
        if (st == MODX_OK && !*stopped) st = finish_phase(w, m, k, out, resume);
        strategy_end_phase(&sp);
    }
    clip_model_free(old);
    clip_model_free(m);
    free(data.images), free(prevd.images);
    cache_close(c), cache_close(pc);
    return st;
}

/* ---- the run ---- */

static ModxStatus check_experiment(const Experiment *e) {
    if (e->n_strategies != 1)
        return modx_fail(MODX_ERR_INVALID, "%s: 'strategies': modx watch trains one strategy, found %d", e->path,
                         e->n_strategies);
    if (e->strategies[0].desc->flags & STRATEGY_ONCE)
        return modx_fail(MODX_ERR_INVALID, "%s: 'strategies': '%s' trains once on all the data; modx watch needs a "
                         "strategy that trains phase by phase (e.g. finetune, modx)", e->path, e->strategies[0].name);
    if (e->strategies[0].desc->flags & STRATEGY_SHARED_CACHE)
        return modx_fail(MODX_ERR_INVALID, "%s: 'strategies': '%s' keeps past phases' images by their place in one "
                         "cache, but modx watch prepares a cache per phase; choose another strategy (e.g. modx, "
                         "finetune, lwf, ewc)", e->path, e->strategies[0].name);
    if (e->has_phase0)
        return modx_fail(MODX_ERR_INVALID, "%s: 'phase0': modx watch starts from {\"checkpoint\": PATH} or a fresh "
                         "model; it does not train phase 0 on a dataset", e->path);
    if (!e->tokenizer)
        return modx_fail(MODX_ERR_INVALID, "%s: missing key 'tokenizer': modx watch prepares the shards with it", e->path);
    return MODX_OK;
}

/* RUN_DIR/experiment.json: written on the first start; a later start must
 * bring the same experiment (or the phases would not continue one run). */
static ModxStatus check_run_experiment(const Watch *w) {
    char path[4096];
    snprintf(path, sizeof path, "%s/experiment.json", w->run);
    char *json = experiment_to_json(w->e);
    if (!json) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    ModxStatus st;
    if (!io_file_exists(path)) {
        st = io_write_atomic(path, json, strlen(json));
    } else {
        uint8_t *buf;
        size_t n;
        st = io_read_file(path, &buf, &n);
        if (st == MODX_OK && (n != strlen(json) || memcmp(buf, json, n)))
            st = modx_fail(MODX_ERR_INVALID, "%s: this run was started with another experiment (%s holds it); "
                           "use a new --out folder for %s", w->run, path, w->e->path);
        free(buf);
    }
    free(json);
    return st;
}

/* The watched folder (absolute) and the state; a run keeps its folder. */
static ModxStatus open_state(Watch *w) {
    if (!realpath(w->o->dir, w->dir))
        return modx_fail(MODX_ERR_IO, "%s: cannot open the watched folder: %s", w->o->dir, strerror(errno));
    if (!io_dir_exists(w->dir)) return modx_fail(MODX_ERR_INVALID, "%s: not a folder", w->o->dir);
    MODX_TRY(watch_state_load(&w->state, w->run));
    if (w->state.dir && strcmp(w->state.dir, w->dir))
        return modx_fail(MODX_ERR_INVALID, "%s: this run watches %s, not %s (%s)", w->run, w->state.dir, w->dir,
                         WATCH_STATE_FILE);
    if (!w->state.dir && !(w->state.dir = strdup(w->dir))) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    return MODX_OK;
}

static ModxStatus watch_open(Watch *w) {
    if (strlen(w->run) > 3000)
        return modx_fail(MODX_ERR_INVALID, "run directory path is %zu characters long; at most 3000 are supported",
                         strlen(w->run));
    if (w->o->min_shards < 1) return modx_fail(MODX_ERR_INVALID, "min_shards must be at least 1");
    MODX_TRY(check_experiment(w->e));
    MODX_TRY(clip_config_load(&w->cfg, w->e->model));
    MODX_TRY(io_mkdir_p(w->run));
    MODX_TRY(open_state(w));
    MODX_TRY(check_run_experiment(w));
    MODX_TRY(open_tests(w));
    MODX_TRY(runlog_open(&w->log, w->run));
    w->log_open = 1;
    return MODX_OK;
}

/* Sleeps `seconds`, waking early at a stop signal. */
static void pause_for(double seconds) {
    for (double left = seconds; left > 0 && !trainer_stop_requested; left -= 0.1) {
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }
}

static ModxStatus watch_loop(Watch *w, int *stopped) {
    if (!w->state.phase0_done) MODX_TRY(run_phase0(w));
    for (;;) {
        if (trainer_stop_requested) return *stopped = (int)trainer_stop_requested, MODX_OK;
        int have, interrupted = 0;
        MODX_TRY(next_phase(w, &have));
        if (have) {
            MODX_TRY(run_phase(w, w->state.n_phases, &interrupted));
            if (interrupted) return *stopped = (int)trainer_stop_requested, MODX_OK;
            continue;
        }
        if (w->o->once) return MODX_OK;
        pause_for(w->o->interval);
    }
}

ModxStatus watch_run(const Experiment *e, const char *run_dir, const WatchOptions *opt, int *stopped) {
    Watch w;
    memset(&w, 0, sizeof w);
    w.e = e, w.o = opt, w.run = run_dir, w.si = &e->strategies[0];
    *stopped = 0;
    progress_init(&w.progress, opt->quiet);
    ModxStatus st = watch_open(&w);
    if (st == MODX_OK) {
        progress_note(&w.progress, "watching %s: a phase every %d complete new shard(s) (NAME.tar + NAME.tar%s), "
                      "strategy %s, %d phase(s) so far", w.dir, opt->min_shards, WATCH_DONE_SUFFIX, w.si->name,
                      w.state.n_phases);
        st = watch_loop(&w, stopped);
    }
    progress_finish(&w.progress);
    if (w.caches)
        for (int i = 0; i < e->n_datasets; i++) cache_close(w.caches[i]);
    if (w.tests)
        for (int t = 0; t < e->n_tests; t++) free(w.tests[t].images);
    free(w.caches), free(w.tests);
    zs_sets_free(&w.zs);
    if (w.log_open) runlog_close(&w.log);
    watch_state_free(&w.state);
    return st;
}
