#include "train/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/dist.h"
#include "data/image.h"
#include "data/loader.h"
#include "io/checkpoint.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "train/optim.h"
#include "train/schedule.h"
#include "train/step.h"

volatile sig_atomic_t trainer_stop_requested = 0;

static void on_signal(int sig) { trainer_stop_requested = sig; }

void trainer_install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    /* The first signal asks for a clean stop after the current step (with a
     * resume checkpoint); the handler then resets, so a second one ends the
     * process at once. */
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* The test hook (trainer.h). */
static long kill_after = -2, steps_done = 0;
static void maybe_kill(void) {
    if (kill_after == -2) {
        const char *v = getenv("MODX_TEST_KILL_AFTER_STEPS");
        kill_after = v && *v ? strtol(v, NULL, 10) : -1;
        const char *r = getenv("MODX_TEST_KILL_RANK"); /* in a job of many ranks: only this one */
        if (r && *r && strtol(r, NULL, 10) != dist_rank()) kill_after = -1;
    }
    if (kill_after >= 0 && ++steps_done >= kill_after) raise(SIGKILL);
}

/* The test hook MODX_TEST_TRACE_BATCHES (trainer.h): cache[j], image[j] of the B samples. */
static void trace_batch(const TrainPhase *ph, int64_t step, const uint32_t *cache, const uint32_t *image, int B) {
    const char *path = getenv("MODX_TEST_TRACE_BATCHES");
    FILE *f = path && *path ? fopen(path, "a") : NULL;
    if (!f) return;
    fprintf(f, "%s %d %lld", ph->label, ph->phase, (long long)step);
    for (int j = 0; j < B; j++) fprintf(f, " %u:%u", cache[j], image[j]);
    fputc('\n', f);
    fclose(f);
}

/* "DIR/resume.safetensors" + what → "DIR/resume<what>.safetensors". */
static void sibling(char *out, size_t n, const char *path, const char *what) {
    size_t len = strlen(path), ext = strlen(".safetensors");
    size_t stem = len > ext && !strcmp(path + len - ext, ".safetensors") ? len - ext : len;
    snprintf(out, n, "%.*s%s.safetensors", (int)stem, path, what);
}

static void resume_paths(const char *p, char model[][4096], char optim[][4096], char replay[][4096]) {
    snprintf(model[0], 4096, "%s", p);
    sibling(model[1], 4096, p, ".next");
    sibling(optim[0], 4096, p, ".optim");
    sibling(optim[1], 4096, p, ".next.optim");
    sibling(replay[0], 4096, p, ".replay");
    sibling(replay[1], 4096, p, ".next.replay");
}

static ModxStatus rename_if(const char *from, const char *to) {
    if (!io_file_exists(from)) return MODX_OK;
    if (rename(from, to) != 0) return modx_fail(MODX_ERR_IO, "cannot rename %s to %s", from, to);
    return MODX_OK;
}

static ModxStatus resume_recover_files(const char *resume_path, int *exists);

/* Rank 0 alone touches the files; every rank learns the outcome from it (a
 * broadcast, so no rank looks before rank 0 is done). */
ModxStatus trainer_resume_recover(const char *resume_path, int *exists) {
    int e[2] = {0, MODX_OK};
    if (dist_is_writer()) e[1] = resume_recover_files(resume_path, &e[0]);
    MODX_TRY(dist_bcast(e, sizeof e, 0));
    *exists = e[0];
    if (e[1] != MODX_OK && !dist_is_writer())
        return modx_fail(MODX_ERR_IO, "%s: rank 0 could not recover the resume checkpoint", resume_path);
    return (ModxStatus)e[1];
}

static ModxStatus resume_recover_files(const char *resume_path, int *exists) {
    char m[2][4096], o[2][4096], r[2][4096];
    resume_paths(resume_path, m, o, r);
    if (io_file_exists(m[1])) { /* a complete set: finish the renames in order */
        MODX_TRY(rename_if(r[1], r[0]));
        MODX_TRY(rename_if(o[1], o[0]));
        MODX_TRY(rename_if(m[1], m[0]));
        MODX_TRY(io_sync_parent_dir(m[0]));
    } else { /* an incomplete set: drop it */
        unlink(r[1]);
        unlink(o[1]);
    }
    *exists = io_file_exists(m[0]);
    return MODX_OK;
}

void trainer_resume_remove(const char *resume_path) {
    if (!dist_is_writer()) return;
    char m[2][4096], o[2][4096], r[2][4096];
    resume_paths(resume_path, m, o, r);
    for (int k = 1; k >= 0; k--) unlink(m[k]), unlink(o[k]), unlink(r[k]);
}

static ModxStatus save_resume(const TrainPhase *ph, const TrainSpec *sp, const AdamW *opt, int64_t step, int64_t steps,
                              int replay_k, uint64_t metrics_bytes) {
    if (!dist_is_writer()) return MODX_OK; /* rank 0 writes; the others hold the same state */
    char m[2][4096], o[2][4096], r[2][4096];
    resume_paths(ph->resume_path, m, o, r);
    char phase[32], st[32], sts[32], mb[32], rk[32], seed[32];
    snprintf(phase, sizeof phase, "%d", ph->phase);
    snprintf(st, sizeof st, "%lld", (long long)step);
    snprintf(sts, sizeof sts, "%lld", (long long)steps);
    snprintf(mb, sizeof mb, "%llu", (unsigned long long)metrics_bytes);
    snprintf(rk, sizeof rk, "%d", replay_k);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)sp->seed);
    CheckpointMeta meta[] = {{"modx.resume.strategy", ph->label}, {"modx.resume.phase", phase},
                             {"modx.resume.step", st},            {"modx.resume.steps", sts},
                             {"modx.resume.metrics_bytes", mb},   {"modx.resume.replay_k", rk},
                             {"modx.resume.seed", seed}};
    int nm = (int)(sizeof meta / sizeof *meta);
    if (ph->replay) MODX_TRY(replay_save(ph->replay, r[1]));
    OptimState os = {opt->m, opt->v, opt->step};
    MODX_TRY(checkpoint_save_optim(o[1], ph->model, &os, meta, nm));
    MODX_TRY(checkpoint_save(m[1], ph->model, ph->model->params, meta, nm));
    if (ph->replay) MODX_TRY(rename_if(r[1], r[0]));
    MODX_TRY(rename_if(o[1], o[0]));
    MODX_TRY(rename_if(m[1], m[0]));
    return io_sync_parent_dir(m[0]); /* the renames survive a power cut */
}

static ModxStatus meta_int(const SafeTensors *st, const char *key, long long *out) {
    const char *v = safetensors_metadata(st, key);
    char *end;
    if (!v) return modx_fail(MODX_ERR_FORMAT, "%s: missing metadata '%s'", safetensors_path(st), key);
    *out = strtoll(v, &end, 10);
    if (end == v || *end) return modx_fail(MODX_ERR_FORMAT, "%s: metadata '%s' = '%s', expected an integer",
                                           safetensors_path(st), key, v);
    return MODX_OK;
}

/* Loads a resume checkpoint of (label, phase) into the model, optimizer and
 * replay buffer. */
static ModxStatus load_resume(const TrainPhase *ph, const TrainSpec *sp, AdamW *opt, int64_t *step, int64_t steps,
                              int *replay_k, uint64_t *metrics_bytes) {
    char m[2][4096], o[2][4096], r[2][4096];
    resume_paths(ph->resume_path, m, o, r);
    SafeTensors *st = NULL;
    MODX_TRY(safetensors_open(&st, m[0]));
    ModxStatus s = MODX_OK;
    const char *label = safetensors_metadata(st, "modx.resume.strategy");
    long long phase = 0, stp = 0, tot = 0, mb = 0, rk = 0, seed = 0;
    if (!label || strcmp(label, ph->label))
        s = modx_fail(MODX_ERR_INVALID, "%s: a resume checkpoint of strategy '%s', expected '%s'", m[0],
                      label ? label : "(none)", ph->label);
    if (s == MODX_OK) s = meta_int(st, "modx.resume.phase", &phase);
    if (s == MODX_OK && phase != ph->phase)
        s = modx_fail(MODX_ERR_INVALID, "%s: a resume checkpoint of phase %lld, expected phase %d", m[0], phase, ph->phase);
    if (s == MODX_OK) s = meta_int(st, "modx.resume.step", &stp);
    if (s == MODX_OK) s = meta_int(st, "modx.resume.steps", &tot);
    if (s == MODX_OK) s = meta_int(st, "modx.resume.metrics_bytes", &mb);
    if (s == MODX_OK) s = meta_int(st, "modx.resume.replay_k", &rk);
    const char *seed_text = safetensors_metadata(st, "modx.resume.seed");
    unsigned long long useed = seed_text ? strtoull(seed_text, NULL, 10) : 0;
    (void)seed;
    if (s == MODX_OK && !seed_text) s = modx_fail(MODX_ERR_FORMAT, "%s: missing metadata 'modx.resume.seed'", m[0]);
    if (s == MODX_OK && (tot != steps || (uint64_t)useed != sp->seed || stp < 0 || stp > steps))
        s = modx_fail(MODX_ERR_INVALID, "%s: checkpoint of a phase of %lld steps (seed %llu) at step %lld; this phase has "
                      "%lld steps (seed %llu) — was the experiment changed?", m[0], tot, useed, stp, (long long)steps,
                      (unsigned long long)sp->seed);
    if (s == MODX_OK) s = checkpoint_read_params(st, ph->model, ph->model->params);
    if (s == MODX_OK) s = checkpoint_read_state(st, ph->model);
    safetensors_close(st);
    OptimState os = {opt->m, opt->v, opt->step};
    if (s == MODX_OK) s = checkpoint_load_optim(o[0], ph->model, &os);
    if (s == MODX_OK) opt->step = os.step;
    if (s == MODX_OK && opt->step != stp)
        s = modx_fail(MODX_ERR_FORMAT, "%s: optimizer at step %lld but the model checkpoint at step %lld", o[0],
                      (long long)opt->step, stp);
    if (s == MODX_OK && ph->replay) {
        ReplayBuffer tmp;
        s = replay_load(&tmp, r[0]);
        if (s == MODX_OK) {
            if (tmp.capacity != ph->replay->capacity)
                s = modx_fail(MODX_ERR_INVALID, "%s: replay buffer of %u pairs, expected %u", r[0], tmp.capacity,
                              ph->replay->capacity);
            else
                s = replay_restore(ph->replay, tmp.image, tmp.caption, tmp.size, tmp.seen, &tmp.insert_rng,
                                   &tmp.sample_rng, r[0]);
            replay_free(&tmp);
        }
    }
    *step = stp, *replay_k = (int)rk, *metrics_bytes = (uint64_t)mb;
    return s;
}

/* The phase's "compute" line (runlog.h, docs/metrics.md): pair-level passes
 * and matrix-product FLOPs from the phase's step count (a training step costs
 * about 3 forwards), the strategy's own passes (EWC's Fisher, ZSCL's
 * reference batches), the frozen models' forwards (the loss's old model,
 * ZSCL's starting model). */
static ModxStatus log_compute(const TrainSpec *sp, const TrainPhase *ph, int64_t steps, double seconds,
                              int64_t cached) {
    if (!ph->log) return MODX_OK;
    int64_t pairs = steps * sp->batch, own = pairs + ph->extra_passes, frozen = sp->loss.needs_old ? pairs : 0;
    if (sp->loss.needs_old && cached >= 0) frozen = cached;
    frozen += ph->extra_frozen_passes;
    double f = clip_forward_flops_per_pair(&ph->model->cfg);
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    getrusage(RUSAGE_SELF, &ru);
    ComputeRecord r = {.strategy = ph->label, .phase = ph->phase, .samples = pairs, .forward_passes = own,
                       .backward_passes = own, .frozen_forward_passes = frozen,
                       .matmul_flops = 3.0 * f * (double)own + f * (double)frozen, .train_s = seconds,
                       .peak_rss_bytes = (int64_t)ru.ru_maxrss * 1024};
    return runlog_compute(ph->log, &r);
}

/* One phase's training state (trainer_run's), set up by training_open. */
typedef struct {
    const TrainSpec *sp;
    const TrainPhase *ph;
    int B, S, T;
    size_t n;          /* parameters */
    int replay_k;      /* replayed pairs per batch (fixed for the phase) */
    int have_resume;
    int64_t steps, start, warmup;
    uint64_t metrics_bytes;
    AdamW opt;
    OptimSegment *segs;
    DataLoader *ld;
    ClipStep *step;
    float *grads;
    Batch mixed;       /* new + replayed pairs (replay_k > 0) */
    OldFeatCache oldfeat; /* the old model's features of the phase (empty: per-step forwards) */
    int64_t frozen_cached;/* pair-equivalents the cache encoded ((images + captions) / 2), −1: none */
    uint32_t *rimg, *rcap;
    uint32_t *tcache, *timage; /* (B) the trace hook's view of the batch */
    double t0, t_win;  /* start of the phase, of the current logging window */
    int64_t win_samples;
} Training;

static void training_close(Training *t) {
    oldfeat_free(&t->oldfeat);
    batch_free(&t->mixed);
    free(t->grads);
    free(t->rimg), free(t->rcap);
    free(t->tcache), free(t->timage);
    clip_step_free(t->step);
    loader_free(t->ld);
    adamw_free(&t->opt);
    free(t->segs);
}

/* The replay share a resume checkpoint recorded: the loader's batch (and so
 * the step count) depends on it. */
static ModxStatus peek_replay_k(const TrainPhase *ph, int B, int *k) {
    SafeTensors *peek = NULL;
    MODX_TRY(safetensors_open(&peek, ph->resume_path));
    long long rk = 0;
    ModxStatus st = meta_int(peek, "modx.resume.replay_k", &rk);
    safetensors_close(peek);
    if (st == MODX_OK && (rk < 0 || rk >= B))
        st = modx_fail(MODX_ERR_FORMAT, "%s: replay_k %lld outside [0, %d)", ph->resume_path, rk, B);
    *k = (int)rk;
    return st;
}

/* The cache of a pair of the replay buffer's ids, and their indices there. */
static const Cache *replay_pair(const TrainPhase *ph, uint32_t image, uint32_t caption, uint32_t *im, uint32_t *cap) {
    *im = image, *cap = caption;
    if (!ph->caches) return ph->cache;
    int ci = cacheset_image(ph->caches, image, im);
    return ph->caches->caches[ci] == ph->caches->caches[cacheset_caption(ph->caches, caption, cap)] ? ph->caches->caches[ci]
                                                                                                    : NULL;
}

/* Every stored pair names an image and one of its captions of the id space
 * (a buffer saved for other data is refused before any step). */
static ModxStatus check_replay_ids(const TrainPhase *ph) {
    const ReplayBuffer *rb = ph->replay;
    uint64_t ni = ph->caches ? ph->caches->image_base[ph->caches->n] : ph->cache->n_images;
    uint64_t nc = ph->caches ? ph->caches->caption_base[ph->caches->n] : ph->cache->n_captions;
    for (uint32_t k = 0; k < rb->size; k++) {
        uint32_t im, cap;
        const Cache *c = rb->image[k] < ni && rb->caption[k] < nc ? replay_pair(ph, rb->image[k], rb->caption[k], &im, &cap)
                                                                 : NULL;
        if (!c || c->caption_image[cap] != im)
            return modx_fail(MODX_ERR_INVALID, "%s phase %d: replay pair %u (image %u, caption %u) is not an image and "
                             "one of its captions of the run's data (%llu images, %llu captions)", ph->label, ph->phase,
                             k, rb->image[k], rb->caption[k], (unsigned long long)ni, (unsigned long long)nc);
    }
    return MODX_OK;
}

/* The old model's features of the phase, encoded once when the spec allows
 * and they fit (train/featcache.h; recomputed on resume from the same model). */
static ModxStatus open_oldfeat(Training *t) {
    const TrainSpec *sp = t->sp;
    const TrainPhase *ph = t->ph;
    t->frozen_cached = -1;
    if (!sp->loss.needs_old || !ph->old || !ph->images || sp->old_per_step) return MODX_OK;
    /* the cache's rows are ph->cache's indices, which are the batch's ids only
     * when it heads the run's cache set (replay pairs of other caches miss the
     * cache and their batches run the old model) */
    if (ph->caches && ph->caches->n > 1 && ph->caches->caches[0] != ph->cache) return MODX_OK;
    /* the captions the phase's batches draw: (epoch, image) → caption is known in advance */
    size_t nd = (size_t)sp->epochs * ph->n_images;
    uint32_t *drawn = malloc((nd + 1) * sizeof *drawn);
    if (!drawn) return modx_fail(MODX_ERR_NOMEM, "out of memory for the phase's caption draws");
    for (int e = 0; e < sp->epochs; e++)
        for (size_t i = 0; i < ph->n_images; i++)
            drawn[(size_t)e * ph->n_images + i] = loader_caption_for(t->ld, (uint64_t)e, ph->images[i]);
    /* chunks of the rows one rank forwards per step (all of B in a job of one): the arena's size */
    OldFeatPlan p = {.old = ph->old, .acts = t->step->old_acts, .B = t->step->local_B, .cache = ph->cache,
                     .images = ph->images,
                     .n_images = ph->n_images, .captions = drawn, .n_captions = nd, .replay = ph->replay};
    int built = 0;
    ModxStatus st = oldfeat_room(&ph->model->cfg, t->B, sp->max_memory, &p.room);
    if (st == MODX_OK) st = oldfeat_build(&t->oldfeat, &p, &built);
    free(drawn);
    MODX_TRY(st);
    if (built) t->frozen_cached = (int64_t)((t->oldfeat.n_img + t->oldfeat.n_cap + 1) / 2);
    else if (ph->progress)
        progress_note(ph->progress, "%s phase %d: the old model's features do not fit in %.0f MiB; it runs every step",
                      ph->label, ph->phase, (double)p.room / 1048576.0);
    return MODX_OK;
}

/* Optimizer, loader (and its step count), resume state, step buffers. */
static ModxStatus training_open(Training *t) {
    const TrainSpec *sp = t->sp;
    const TrainPhase *ph = t->ph;
    ClipModel *model = ph->model;
    if (ph->resume_path) MODX_TRY(trainer_resume_recover(ph->resume_path, &t->have_resume));
    /* Replay share of each batch: fixed for the phase (the buffer only grows). */
    if (ph->replay) {
        t->replay_k = replay_batch_count(ph->replay, t->B, ph->replay_fraction);
        if (t->replay_k > t->B - 1) t->replay_k = t->B - 1;
    }
    int nseg = 0;
    MODX_TRY(clip_optim_segments(model, &t->segs, &nseg));
    AdamWConfig ac = adamw_default_config();
    ac.weight_decay = sp->weight_decay, ac.grad_clip = sp->grad_clip;
    MODX_TRY(adamw_init(&t->opt, &ac, t->n, t->segs, nseg));
    MODX_TRY(adamw_set_clamp(&t->opt, clip_logit_scale_index(model), 0.0f, OPTIM_LOGIT_SCALE_MAX));
    int resumed_k = t->replay_k;
    if (t->have_resume) MODX_TRY(peek_replay_k(ph, t->B, &resumed_k));
    LoaderConfig lc = {.cache = ph->cache, .images = ph->images, .n_images = ph->n_images, .batch = t->B - resumed_k,
                       .seed = sp->seed, .drop_last = 1, .shuffle = 1, .prefetch = 1, .parts = ph->parts,
                       .n_parts = ph->n_parts, .proportions = ph->n_parts > 0 && ph->proportions};
    size_t n_images = ph->n_images;
    if (ph->n_parts > 0) n_images = 0;
    for (int p = 0; p < ph->n_parts; p++)
        n_images += ph->parts[p].images ? ph->parts[p].n_images : (size_t)ph->parts[p].cache->n_images;
    if ((size_t)(t->B - resumed_k) > n_images)
        return modx_fail(MODX_ERR_INVALID, "phase %d (%s) has %zu images, fewer than one batch of %d", ph->phase,
                         ph->label, n_images, t->B - resumed_k);
    MODX_TRY(loader_create(&t->ld, &lc));
    t->steps = sp->steps > 0 ? sp->steps : (int64_t)sp->epochs * (int64_t)loader_batches_per_epoch(t->ld);
    if (t->have_resume) MODX_TRY(load_resume(ph, sp, &t->opt, &t->start, t->steps, &t->replay_k, &t->metrics_bytes));
    if (ph->replay) MODX_TRY(check_replay_ids(ph)); /* as the phase starts, or as the resume checkpoint holds it */
    if (t->have_resume && ph->log) MODX_TRY(runlog_truncate(ph->log, t->metrics_bytes));
    MODX_TRY(clip_step_new(&t->step, model, ph->old, t->B));
    t->step->replay_rows = t->replay_k;
    MODX_TRY(open_oldfeat(t));
    if (!(t->grads = modx_calloc(t->n, sizeof(float), "gradients"))) return MODX_ERR_NOMEM;
    if (t->replay_k > 0) {
        MODX_TRY(batch_alloc(&t->mixed, t->B, t->S, t->T));
        t->rimg = malloc((size_t)t->replay_k * sizeof *t->rimg);
        t->rcap = malloc((size_t)t->replay_k * sizeof *t->rcap);
        if (!t->rimg || !t->rcap) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    }
    t->tcache = malloc((size_t)t->B * sizeof *t->tcache);
    t->timage = malloc((size_t)t->B * sizeof *t->timage);
    if (!t->tcache || !t->timage) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    t->warmup = (int64_t)llround(sp->warmup * (double)t->steps);
    return MODX_OK;
}

/* The loader's batch with replay_k pairs drawn from the replay buffer after it. */
static const Batch *mix_replay(Training *t, const Batch *b) {
    int B = t->B, S = t->S, T = t->T, nb = B - t->replay_k;
    size_t px = (size_t)3 * S * S;
    memcpy(t->mixed.pixels, b->pixels, (size_t)nb * px * sizeof(float));
    memcpy(t->mixed.tokens, b->tokens, (size_t)nb * T * sizeof(int32_t));
    memcpy(t->mixed.image_index, b->image_index, (size_t)nb * sizeof(uint32_t));
    memcpy(t->mixed.caption_index, b->caption_index, (size_t)nb * sizeof(uint32_t));
    int got = replay_fill(t->ph->replay, t->rimg, t->rcap, B, (double)t->replay_k / B);
    CHECK(got == t->replay_k, "replay drew %d pairs, expected %d", got, t->replay_k);
    memcpy(t->mixed.image_index + nb, t->rimg, (size_t)got * sizeof(uint32_t));
    memcpy(t->mixed.caption_index + nb, t->rcap, (size_t)got * sizeof(uint32_t));
    for (int j = 0; j < t->replay_k; j++) {
        uint32_t im, cap;
        const Cache *c = replay_pair(t->ph, t->rimg[j], t->rcap[j], &im, &cap);
        CHECK(c, "replay pair checked at the phase's start");
        image_normalize(cache_image_pixels(c, im), S, t->mixed.pixels + (size_t)(nb + j) * px);
        memcpy(t->mixed.tokens + (size_t)(nb + j) * T, cache_caption_tokens(c, cap), (size_t)T * sizeof(int32_t));
        t->tcache[nb + j] = t->ph->caches ? (uint32_t)cacheset_find(t->ph->caches, c) : 0;
        t->timage[nb + j] = im;
    }
    return &t->mixed;
}

/* The trace hook's view of the loader's part of batch b. */
static void trace_loader_part(Training *t, const Batch *b) {
    const TrainPhase *ph = t->ph;
    for (int j = 0; j < t->B - t->replay_k; j++) {
        const Cache *c = ph->n_parts > 0 ? ph->parts[b->part[j]].cache : ph->cache;
        t->tcache[j] = ph->caches ? (uint32_t)cacheset_find(ph->caches, c) : 0;
        t->timage[j] = b->image_index[j];
    }
}

/* One step s: loss and gradients, the penalty hook, the update. */
static ModxStatus train_step(Training *t, int64_t s, StepLoss *sl, double *loss, double *reg, double *lr) {
    const TrainPhase *ph = t->ph;
    const Batch *b = loader_next(t->ld);
    trace_loader_part(t, b);
    if (t->replay_k > 0) b = mix_replay(t, b);
    trace_batch(ph, s, t->tcache, t->timage, t->B);
    if (t->oldfeat.V) clip_step_old_rows(t->step, &t->oldfeat, b->image_index, b->caption_index);
    MODX_TRY(clip_step_run(t->step, b->pixels, b->tokens, t->B, &t->sp->loss, t->grads, sl));
    *loss = sl->loss, *reg = sl->loss_kl;
    if (ph->penalty.fn) {
        if (ph->penalty.step) *ph->penalty.step = s;
        *reg = ph->penalty.fn(ph->penalty.ctx, t->grads, ph->model->params, t->n);
        *loss += *reg;
    }
    MODX_TRY(optim_check_finite(*loss, 0, s));
    *lr = schedule_cosine_lr(t->sp->lr, s, t->warmup, t->steps);
    return adamw_step(&t->opt, ph->model->params, t->grads, *lr, NULL);
}

/* The fractional epoch reached after `steps` steps. */
static double epoch_of(const Training *t, int64_t steps) {
    uint64_t per = loader_batches_per_epoch(t->ld);
    return per ? (double)steps / (double)per : 0;
}

/* After step s: the metrics line, the progress line, a resume checkpoint when
 * due or when a stop was asked for (*stop = 1: the phase stops here). */
static ModxStatus after_step(Training *t, int64_t s, const StepLoss *sl, double loss, double reg, double lr, int *stop) {
    const TrainSpec *sp = t->sp;
    const TrainPhase *ph = t->ph;
    t->win_samples += t->B;
    int last = s + 1 == t->steps;
    if (ph->log && ((s + 1) % sp->log_every == 0 || last)) {
        double now = progress_now();
        double rate = now > t->t_win ? (double)t->win_samples / (now - t->t_win) : 0;
        t->t_win = now, t->win_samples = 0;
        StepRecord r = {ph->label, ph->phase, s + 1, t->steps, loss, sl->loss_con, reg, lr, rate,
                        epoch_of(t, s + 1), clip_logit_scale(ph->model)};
        MODX_TRY(runlog_step(ph->log, &r));
    }
    if (ph->progress) {
        double el = progress_now() - t->t0;
        double sps = el > 0 ? (double)(s + 1 - t->start) * t->B / el : 0;
        double eta = s + 1 > t->start && el > 0 ? el / (double)(s + 1 - t->start) * (double)(t->steps - s - 1) : -1;
        ProgressStep ps = {ph->label, ph->phase, s + 1, t->steps, epoch_of(t, s + 1), sp->epochs, loss, lr, sps, eta};
        progress_update(ph->progress, &ps, last);
    }
    *stop = dist_max_int(trainer_stop_requested) && !last; /* every rank stops at the same step */
    /* The last step always leaves a resume point: a run stopped while the phase
     * is evaluated resumes there instead of training the phase again. */
    if (ph->resume_path && (last || *stop || (sp->checkpoint_every > 0 && (s + 1) % sp->checkpoint_every == 0))) {
        uint64_t off = ph->log ? runlog_offset(ph->log) : 0;
        MODX_TRY(save_resume(ph, sp, &t->opt, s + 1, t->steps, t->replay_k, off));
    }
    return MODX_OK;
}

/* The phase's final checkpoint: weights and optimizer state (trainer.h). */
static ModxStatus save_final(const Training *t) {
    const TrainPhase *ph = t->ph;
    char phase[32], stp[32], seed[32];
    snprintf(phase, sizeof phase, "%d", ph->phase);
    snprintf(stp, sizeof stp, "%lld", (long long)t->steps);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)t->sp->seed);
    CheckpointMeta meta[] = {{"modx.strategy", ph->label}, {"modx.phase", phase}, {"modx.step", stp},
                             {"modx.loader_step", stp}, {"modx.seed", seed}};
    char *op = checkpoint_optim_path(ph->out_path);
    OptimState os = {t->opt.m, t->opt.v, t->opt.step};
    ModxStatus st = op ? checkpoint_save_optim(op, ph->model, &os, meta, 5) : MODX_ERR_NOMEM;
    if (st == MODX_OK) st = checkpoint_save(ph->out_path, ph->model, ph->model->params, meta, 5);
    free(op);
    return st;
}

ModxStatus trainer_run(const TrainSpec *sp, const TrainPhase *ph, TrainResult *res) {
    memset(res, 0, sizeof *res);
    const Cache *c0 = ph->n_parts > 0 ? ph->parts[0].cache : ph->cache;
    Training t = {.sp = sp, .ph = ph, .B = sp->batch, .S = c0->image_size, .T = c0->context,
                  .n = ph->model->table.total};
    GemmPrecision prec = gemm_set_layer_precision(sp->precision); /* the cache's encoding and every step */
    ModxStatus st = training_open(&t);
    if (st != MODX_OK) {
        training_close(&t);
        gemm_set_layer_precision(prec);
        return st;
    }
    res->steps = t.steps, res->start = t.start;
    if (ph->progress && t.have_resume)
        progress_note(ph->progress, "%s phase %d: resuming at step %lld of %lld", ph->label, ph->phase,
                      (long long)t.start, (long long)t.steps);
    t.t0 = t.t_win = progress_now();
    loader_seek(t.ld, (uint64_t)t.start);
    for (int64_t s = t.start; s < t.steps; s++) {
        StepLoss sl;
        double loss, reg, lr;
        if ((st = train_step(&t, s, &sl, &loss, &reg, &lr)) != MODX_OK) break;
        res->last_loss = loss;
        int stop = 0;
        if ((st = after_step(&t, s, &sl, loss, reg, lr, &stop)) != MODX_OK) break;
        maybe_kill();
        if (stop) {
            res->interrupted = 1;
            break;
        }
    }
    res->seconds = progress_now() - t.t0;
    if (st == MODX_OK && !res->interrupted) st = log_compute(sp, ph, t.steps, res->seconds, t.frozen_cached);
    if (st == MODX_OK && !res->interrupted && ph->out_path) st = save_final(&t);
    if (ph->progress) progress_finish(ph->progress);
    training_close(&t);
    gemm_set_layer_precision(prec);
    return st;
}
