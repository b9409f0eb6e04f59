/* One phase of training for one strategy: a loader over a subset of a cache,
 * warmup + cosine schedule over the phase's steps, AdamW over the model's
 * segments with the logit_scale clamp, the given loss (train/step.h) and
 * extras (a penalty hook, replay batches), a non-finite check every step, step
 * records in metrics.jsonl (and a "compute" record when the phase ends), the
 * progress line, and mid-phase resume checkpoints.
 *
 * Determinism: batch k comes from (seed, k) alone (loader_batch_at), the
 * optimizer is elementwise, replay draws from RNG streams saved with the
 * buffer; so a phase resumed from a checkpoint at step s ends bit-identical to
 * an uninterrupted one (same machine, same thread count).
 *
 * Resume checkpoint (TrainPhase.resume_path = DIR/resume.safetensors), written
 * every checkpoint_every steps, at a stop signal, and after the last step (so
 * a run stopped while the phase is evaluated does not train it again; the
 * caller removes the files once the phase is recorded):
 *   resume.safetensors          the parameters, metadata modx.resume.{strategy, phase, step, steps,
 *                               metrics_bytes, replay_k, seed}
 *   resume.optim.safetensors    AdamW m, v, step
 *   resume.replay.safetensors   the replay buffer (replay strategies)
 * written as resume.next.* files first (each atomically), then renamed over
 * the current ones replay → optim → model; resume.next.safetensors is written
 * last and renamed last, so its presence means a complete set whose renames
 * may be unfinished (trainer_resume_recover completes them).
 *
 * Final checkpoint (TrainPhase.out_path): the weights, and beside them the
 * optimizer state with metadata modx.strategy, modx.phase, modx.step (updates
 * taken), modx.loader_step (the loader's position: the next batch index) and
 * modx.seed (the loader's seed; the loader's RNG state is a function of it). */
#ifndef MODX_TRAIN_TRAINER_H
#define MODX_TRAIN_TRAINER_H

#include <signal.h>
#include <stdint.h>

#include "clip/model.h"
#include "core/error.h"
#include "core/gemm.h"
#include "data/cache.h"
#include "data/cacheset.h"
#include "data/loader.h"
#include "train/progress.h"
#include "train/replay.h"
#include "train/runlog.h"
#include "train/step.h"

typedef struct {
    StepLossTerm loss; /* the step's loss (a strategy's, strategy_loss; zero: contrastive) */
    int epochs, batch;
    int64_t steps; /* > 0: the phase's steps (a strategy's own budget) instead of epochs × batches per epoch */
    double lr, warmup, weight_decay, grad_clip;
    uint64_t seed; /* the loader's seed for this phase */
    int log_every, checkpoint_every;
    /* Distilling losses (needs_old): 0 encodes the old model's features of the
     * phase once (train/featcache.h) when they fit in max_memory beside the
     * model's estimate, else forwards it every step; 1 always forwards it every
     * step (what inputs that change per draw, e.g. augmentation, need). */
    int old_per_step;
    uint64_t max_memory;    /* the --max-memory budget in bytes; 0: half the available memory */
    GemmPrecision precision;/* the models' matrix products (core/gemm.h); GEMM_F32 by default */
} TrainSpec;

typedef struct {
    const char *label; /* strategy name in logs, "phase0" for phase 0 */
    int phase;
    ClipModel *model;      /* trained in place */
    const ClipModel *old;  /* frozen previous model (forward only) for the distilling strategies, else NULL */
    const Cache *cache;
    const uint32_t *images; /* the phase's images (indices into cache) */
    size_t n_images;
    /* Or several (cache, subset) parts (data/loader.h), n_parts > 0: cache and images are then ignored. */
    const LoaderPart *parts;
    int n_parts;
    int proportions;       /* with parts: 1 = each part's share of every batch, 0 = uniform over their images */
    const CacheSet *caches;/* the space of the replay buffer's ids (data/cacheset.h); NULL: `cache`'s own indices */
    ReplayBuffer *replay;  /* a buffer of past pairs to mix into every batch, else NULL */
    double replay_fraction;/* the share of each batch drawn from it */
    StepPenalty penalty;   /* a parameter-space term added after each step (EWC), fn NULL: none */
    int64_t extra_passes;  /* pair forward+backward passes the strategy spent besides the steps (compute line) */
    int64_t extra_frozen_passes; /* pair forwards through frozen models the strategy spent (compute line) */
    const char *resume_path; /* where mid-phase checkpoints go (NULL: none) */
    const char *out_path;    /* the final model checkpoint (+ its .optim file), or NULL */
    RunLog *log;             /* NULL: no records */
    Progress *progress;      /* NULL: quiet */
} TrainPhase;

typedef struct {
    int64_t steps;     /* steps of the phase */
    int64_t start;     /* the step it started (or resumed) at */
    double last_loss;
    int interrupted;   /* 1: stopped by SIGINT/SIGTERM after writing a resume checkpoint */
    double seconds;
} TrainResult;

/* Set (to the signal's number) by the handlers trainer_install_signals installs
 * (SIGINT, SIGTERM): the trainer finishes its step, writes a resume checkpoint
 * and returns; a command then exits with 128 + the signal, as shells expect. */
extern volatile sig_atomic_t trainer_stop_requested;
void trainer_install_signals(void);

/* Trains one phase. Resumes from ph->resume_path when a checkpoint for the same
 * (label, phase) is there; a checkpoint of another strategy or phase is an error.
 * Errors: a phase with fewer images than one batch, a non-finite loss or
 * gradient (naming the step), I/O. */
ModxStatus trainer_run(const TrainSpec *spec, const TrainPhase *ph, TrainResult *res);

/* Completes the renames of an interrupted checkpoint write (see above) and
 * removes an incomplete one. 1 in *exists when a resume checkpoint is there. */
ModxStatus trainer_resume_recover(const char *resume_path, int *exists);
/* Removes the resume checkpoint files (after the phase is recorded as done). */
void trainer_resume_remove(const char *resume_path);

/* Test hook: with MODX_TEST_TRACE_BATCHES=FILE every step appends a line
 * "LABEL PHASE STEP C:I C:I ..." to FILE: each sample's cache (its index in
 * TrainPhase.caches, else 0) and image index there, replayed pairs last.
 *
 * Test hook: with MODX_TEST_KILL_AFTER_STEPS=N in the environment the process
 * sends itself SIGKILL right after its N-th training step (counted over the
 * whole process), wherever that falls relative to checkpoints. */

#endif
