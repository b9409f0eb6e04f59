#include "train/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "data/image.h"
#include "data/loader.h"
#include "io/checkpoint.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "train/optim.h"
#include "train/schedule.h"
#include "train/step.h"

volatile sig_atomic_t trainer_stop_requested = 0;

static void on_signal(int sig) {
    (void)sig;
    trainer_stop_requested = 1;
}

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
    }
    if (kill_after >= 0 && ++steps_done >= kill_after) raise(SIGKILL);
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

ModxStatus trainer_resume_recover(const char *resume_path, int *exists) {
    char m[2][4096], o[2][4096], r[2][4096];
    resume_paths(resume_path, m, o, r);
    if (io_file_exists(m[1])) { /* a complete set: finish the renames in order */
        MODX_TRY(rename_if(r[1], r[0]));
        MODX_TRY(rename_if(o[1], o[0]));
        MODX_TRY(rename_if(m[1], m[0]));
    } else { /* an incomplete set: drop it */
        unlink(r[1]);
        unlink(o[1]);
    }
    *exists = io_file_exists(m[0]);
    return MODX_OK;
}

void trainer_resume_remove(const char *resume_path) {
    char m[2][4096], o[2][4096], r[2][4096];
    resume_paths(resume_path, m, o, r);
    for (int k = 1; k >= 0; k--) unlink(m[k]), unlink(o[k]), unlink(r[k]);
}

static ModxStatus save_resume(const TrainPhase *ph, const TrainSpec *sp, const AdamW *opt, int64_t step, int64_t steps,
                              int replay_k, uint64_t metrics_bytes) {
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
    return rename_if(m[1], m[0]);
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
 * about 3 forwards), the strategy's own passes (EWC's Fisher), the frozen
 * model's forwards when the loss runs one. */
static ModxStatus log_compute(const TrainSpec *sp, const TrainPhase *ph, int64_t steps, double seconds) {
    if (!ph->log) return MODX_OK;
    int64_t pairs = steps * sp->batch, own = pairs + ph->extra_passes, frozen = sp->loss.needs_old ? pairs : 0;
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

ModxStatus trainer_run(const TrainSpec *sp, const TrainPhase *ph, TrainResult *res) {
    memset(res, 0, sizeof *res);
    ClipModel *model = ph->model;
    const Cache *c = ph->cache;
    int B = sp->batch, S = c->image_size, T = c->context;
    size_t n = model->table.total;
    int have_resume = 0;
    if (ph->resume_path) MODX_TRY(trainer_resume_recover(ph->resume_path, &have_resume));

    /* Replay share of each batch: fixed for the phase (the buffer only grows). */
    int replay_k = 0;
    if (ph->replay) {
        replay_k = replay_batch_count(ph->replay, B, ph->replay_fraction);
        if (replay_k > B - 1) replay_k = B - 1;
    }
    int64_t start = 0;
    uint64_t metrics_bytes = 0;
    AdamW opt;
    memset(&opt, 0, sizeof opt);
    OptimSegment *segs = NULL;
    int nseg = 0;
    DataLoader *ld = NULL;
    ClipStep *step = NULL;
    float *grads = NULL;
    Batch mixed;
    memset(&mixed, 0, sizeof mixed);
    ModxStatus st = clip_optim_segments(model, &segs, &nseg);
    AdamWConfig ac = adamw_default_config();
    ac.weight_decay = sp->weight_decay, ac.grad_clip = sp->grad_clip;
    if (st == MODX_OK) st = adamw_init(&opt, &ac, n, segs, nseg);
    if (st == MODX_OK) st = adamw_set_clamp(&opt, clip_logit_scale_index(model), 0.0f, OPTIM_LOGIT_SCALE_MAX);

    int64_t steps = 0;
    /* The loader's batch size depends on replay_k, which a resume checkpoint restores. */
    int resumed_k = replay_k;
    if (st == MODX_OK && have_resume) {
        /* Peek at replay_k first: the step count depends on it. */
        SafeTensors *peek = NULL;
        st = safetensors_open(&peek, ph->resume_path);
        long long rk = 0;
        if (st == MODX_OK) st = meta_int(peek, "modx.resume.replay_k", &rk);
        safetensors_close(peek);
        if (st == MODX_OK && (rk < 0 || rk >= B))
            st = modx_fail(MODX_ERR_FORMAT, "%s: replay_k %lld outside [0, %d)", ph->resume_path, rk, B);
        resumed_k = (int)rk;
    }
    if (st == MODX_OK) {
        LoaderConfig lc = {.cache = c, .images = ph->images, .n_images = ph->n_images, .batch = B - resumed_k,
                           .seed = sp->seed, .drop_last = 1, .shuffle = 1, .prefetch = 1};
        if ((size_t)(B - resumed_k) > ph->n_images)
            st = modx_fail(MODX_ERR_INVALID, "phase %d (%s) has %zu images, fewer than one batch of %d", ph->phase,
                           ph->label, ph->n_images, B - resumed_k);
        else
            st = loader_create(&ld, &lc);
    }
    if (st == MODX_OK) {
        steps = (int64_t)sp->epochs * (int64_t)loader_batches_per_epoch(ld);
        if (have_resume) st = load_resume(ph, sp, &opt, &start, steps, &replay_k, &metrics_bytes);
    }
    if (st == MODX_OK && have_resume && ph->log) st = runlog_truncate(ph->log, metrics_bytes);
    if (st == MODX_OK) st = clip_step_new(&step, model, ph->old, B);
    if (st == MODX_OK && !(grads = modx_calloc(n, sizeof(float), "gradients"))) st = MODX_ERR_NOMEM;
    if (st == MODX_OK && replay_k > 0) st = batch_alloc(&mixed, B, S, T);
    if (st != MODX_OK) goto done;

    int64_t warmup = (int64_t)llround(sp->warmup * (double)steps);
    res->steps = steps, res->start = start;
    if (ph->progress && have_resume)
        progress_note(ph->progress, "%s phase %d: resuming at step %lld of %lld", ph->label, ph->phase,
                      (long long)start, (long long)steps);
    double t0 = progress_now(), t_win = t0;
    int64_t win_samples = 0;
    double rate = 0;
    loader_seek(ld, (uint64_t)start);
    uint32_t *rimg = replay_k ? malloc((size_t)replay_k * sizeof *rimg) : NULL;
    uint32_t *rcap = replay_k ? malloc((size_t)replay_k * sizeof *rcap) : NULL;
    if (replay_k && (!rimg || !rcap)) {
        free(rimg), free(rcap);
        st = modx_fail(MODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t s = start; s < steps; s++) {
        const Batch *b = loader_next(ld);
        const float *pix = b->pixels;
        const int32_t *tok = b->tokens;
        if (replay_k > 0) {
            int nb = B - replay_k;
            size_t px = (size_t)3 * S * S;
            memcpy(mixed.pixels, b->pixels, (size_t)nb * px * sizeof(float));
            memcpy(mixed.tokens, b->tokens, (size_t)nb * T * sizeof(int32_t));
            int got = replay_fill(ph->replay, rimg, rcap, B, (double)replay_k / B);
            CHECK(got == replay_k, "replay drew %d pairs, expected %d", got, replay_k);
            for (int j = 0; j < replay_k; j++) {
                image_normalize(cache_image_pixels(c, rimg[j]), S, mixed.pixels + (size_t)(nb + j) * px);
                memcpy(mixed.tokens + (size_t)(nb + j) * T, cache_caption_tokens(c, rcap[j]), (size_t)T * sizeof(int32_t));
            }
            pix = mixed.pixels, tok = mixed.tokens;
        }
        StepLoss sl;
        st = clip_step_run(step, pix, tok, B, &sp->loss, grads, &sl);
        if (st != MODX_OK) break;
        double loss = sl.loss, reg = sl.loss_kl;
        if (ph->penalty.fn) {
            reg = ph->penalty.fn(ph->penalty.ctx, grads, model->params, n);
            loss += reg;
        }
        if ((st = optim_check_finite(loss, 0, s)) != MODX_OK) break;
        double lr = schedule_cosine_lr(sp->lr, s, warmup, steps);
        if ((st = adamw_step(&opt, model->params, grads, lr, NULL)) != MODX_OK) break;
        res->last_loss = loss;
        win_samples += B;
        int last = s + 1 == steps;
        if (ph->log && ((s + 1) % sp->log_every == 0 || last)) {
            double now = progress_now();
            rate = now > t_win ? (double)win_samples / (now - t_win) : 0;
            t_win = now, win_samples = 0;
            StepRecord r = {ph->label, ph->phase, s + 1, steps, loss, sl.loss_con, reg, lr, rate};
            if ((st = runlog_step(ph->log, &r)) != MODX_OK) break;
        }
        if (ph->progress) {
            double el = progress_now() - t0;
            double sps = el > 0 ? (double)(s + 1 - start) * B / el : 0;
            double eta = s + 1 > start && el > 0 ? el / (double)(s + 1 - start) * (double)(steps - s - 1) : -1;
            progress_update(ph->progress, ph->label, ph->phase, s + 1, steps, loss, sps, eta, last);
        }
        int stop = trainer_stop_requested && !last;
        if (ph->resume_path && !last && (stop || (sp->checkpoint_every > 0 && (s + 1) % sp->checkpoint_every == 0))) {
            uint64_t off = ph->log ? runlog_offset(ph->log) : 0;
            if ((st = save_resume(ph, sp, &opt, s + 1, steps, replay_k, off)) != MODX_OK) break;
        }
        maybe_kill();
        if (stop) {
            res->interrupted = 1;
            break;
        }
    }
    free(rimg), free(rcap);
    res->seconds = progress_now() - t0;
    if (st == MODX_OK && !res->interrupted) st = log_compute(sp, ph, steps, res->seconds);
    if (st == MODX_OK && !res->interrupted && ph->out_path) {
        char phase[32], stp[32], seed[32];
        snprintf(phase, sizeof phase, "%d", ph->phase);
        snprintf(stp, sizeof stp, "%lld", (long long)steps);
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)sp->seed);
        CheckpointMeta meta[] = {{"modx.strategy", ph->label}, {"modx.phase", phase}, {"modx.step", stp},
                                 {"modx.loader_step", stp}, {"modx.seed", seed}};
        char *op = checkpoint_optim_path(ph->out_path);
        OptimState os = {opt.m, opt.v, opt.step};
        st = op ? checkpoint_save_optim(op, model, &os, meta, 5) : MODX_ERR_NOMEM;
        if (st == MODX_OK) st = checkpoint_save(ph->out_path, model, model->params, meta, 5);
        free(op);
    }
    if (ph->progress) progress_finish(ph->progress);
done:
    batch_free(&mixed);
    free(grads);
    clip_step_free(step);
    loader_free(ld);
    adamw_free(&opt);
    free(segs);
    return st;
}
