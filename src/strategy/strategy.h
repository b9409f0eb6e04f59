/* A continual strategy is one unit: a descriptor (name, needs, hyperparameters,
 * loss term, hooks) in one file of src/strategy/, listed once in registry.c.
 * The trainer and the continual driver only call what a descriptor gives them;
 * they never ask which strategy they run.
 *
 * Life of one phase k ≥ 1 of a per-phase strategy (the driver, train/continual.c):
 *   model ← phase k−1's checkpoint; old ← a frozen copy when STRATEGY_OLD_MODEL;
 *   desc->before_phase(sp)   e.g. EWC's Fisher, a replay buffer loaded or seeded,
 *                            WiSE-FT keeping θ_{k−1}; it may hand the trainer a
 *                            replay buffer and a per-step penalty through sp;
 *   the trainer runs the phase with strategy_loss(si) as the step's loss;
 *   desc->after_phase(sp)    e.g. WiSE-FT's merge, the buffer offered this
 *                            phase's pairs and saved; runs only when the phase
 *                            trained to its end;
 *   desc->end_phase(sp)      frees what before_phase made (always called).
 * A STRATEGY_ONCE strategy (joint) trains one phase, k = N, on the union of
 * all the data (whatever caches it comes from) from phase 0's model, with train.joint_epochs and
 * train.joint_weight_decay.
 *
 * Hyperparameters: each has a key (used in a variant object of the
 * experiment's "strategies" list), the "train" key that sets its default for
 * every strategy that has it (several strategies may share one, e.g. alpha),
 * a default and a range. An instance (StrategyInst) is a strategy with its
 * values resolved: variant value, else the "train" value, else the default.
 *
 * Adding a strategy: one file here defining `const StrategyDesc strategy_X`,
 * one line in registry.c, one test file (docs/architecture.md walks through one). */
#ifndef MODX_STRATEGY_STRATEGY_H
#define MODX_STRATEGY_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

#include "clip/model.h"
#include "core/error.h"
#include "data/cache.h"
#include "data/cacheset.h"
#include "data/loader.h"
#include "train/progress.h"
#include "train/replay.h"
#include "train/step.h"

#define STRATEGY_NAME_MAX 64
#define STRATEGY_MAX_HYPERS 8

enum {
    STRATEGY_OLD_MODEL = 1u << 0, /* needs the previous phase's frozen model (forward only) */
    STRATEGY_ONCE = 1u << 1,      /* trains once on the union of all the data (joint) */
    STRATEGY_PHASE_STATE = 1u << 2, /* its steps need state before_phase builds (EWC's Fisher): no single steps */
    STRATEGY_SHARED_CACHE = 1u << 3, /* keeps image indices of past phases (a replay buffer): every phase must
                                       * come from one cache (modx watch prepares a cache per phase) */
    STRATEGY_FROM_START = 1u << 4,  /* every phase starts from phase 0's model, not the previous phase's (oracle) */
};

/* A hyperparameter's `def` when it has no default: an experiment must give it (zscl's reference). */
#define STRATEGY_REQUIRED (-1.0)

typedef struct {
    const char *key;       /* variant key, e.g. "alpha" */
    const char *train_key; /* the experiment's "train" key giving the default, e.g. "lwf_lambda" */
    double def, lo, hi;    /* default (or STRATEGY_REQUIRED) and closed range */
    int integer;           /* 1: an integer */
    const char *doc;       /* one line for docs and errors */
} StrategyHyper;

typedef struct StrategyPhase StrategyPhase;
typedef struct StrategyInst StrategyInst;

typedef struct {
    const char *name;
    const char *summary; /* one line */
    unsigned flags;      /* STRATEGY_OLD_MODEL, STRATEGY_ONCE */
    const StrategyHyper *hypers;
    int n_hypers;
    /* The step's loss on the features; NULL: the contrastive loss alone. */
    ModxStatus (*loss)(const StrategyInst *si, const StepLossIO *io, StepLoss *out);
    /* Per hyperparameter (n_hypers) a NULL-terminated list of names, or NULL:
     * a hyperparameter with names takes one of them in an experiment and its
     * value is the name's index. NULL: none has names. */
    const char *const *const *choices;
    /* Phase hooks; each may be NULL. */
    ModxStatus (*before_phase)(StrategyPhase *sp);
    ModxStatus (*after_phase)(StrategyPhase *sp);
    void (*end_phase)(StrategyPhase *sp);
} StrategyDesc;

/* A strategy with its hyperparameters resolved; `name` is what the run calls
 * it (the strategy's name, or a variant's), unique within an experiment. */
struct StrategyInst {
    char name[STRATEGY_NAME_MAX];
    const StrategyDesc *desc;
    double hp[STRATEGY_MAX_HYPERS]; /* (desc->n_hypers) in desc->hypers order */
    int variant;                    /* 1: given as a variant object */
};

/* What a phase hook sees and may set. The driver fills the inputs. */
struct StrategyPhase {
    const StrategyInst *si;
    int phase;            /* k ≥ 1 */
    ClipModel *model;     /* the previous phase's weights, trained in place */
    int batch;            /* train.batch */
    uint64_t run_seed;    /* train.seed */
    /* This phase's data and loader seed. */
    const Cache *cache;
    const uint32_t *images;
    size_t n_images;
    uint64_t seed;
    /* The previous phase's data and seed: phase 0's set for k = 1 (n_prev 0
     * when phase 0 trained on nothing), else phase k−1's. */
    const Cache *prev_cache;
    const uint32_t *prev_images;
    size_t n_prev;
    uint64_t prev_seed;
    /* The run's caches: the id space of replay buffers (data/cacheset.h), so
     * a buffer holds pairs of any cache; NULL: `cache`'s own indices. */
    const CacheSet *caches;
    /* Every earlier phase's data, phases 0 … k−1 (n_history = k; phase 0's
     * set may come from another cache, and holds no images when phase 0
     * trained on nothing), and train.epochs. */
    const LoaderPart *history;
    int n_history;
    int epochs;
    /* The experiment's test sets (n_tests, in its order) and phase 0's model checkpoint. */
    const LoaderPart *tests;
    int n_tests;
    const char *start_path;
    const char *dir;      /* RUN_DIR/<name>/phase<k>, exists */
    const char *prev_dir; /* RUN_DIR/<name>/phase<k−1>, NULL for k = 1 */
    const char *out_path; /* this phase's model checkpoint */
    Progress *progress;
    /* Set by before_phase for the trainer (zero: none). */
    ReplayBuffer *replay;
    double replay_fraction;
    StepPenalty penalty;
    /* Set by before_phase to train on a mix of data instead of this phase's
     * images: loader parts (data/loader.h; the hook owns them, in sp->state)
     * mixed uniformly (proportions 0) or by their shares; steps > 0: the
     * phase's steps instead of epochs × batches per epoch. */
    const LoaderPart *parts;
    int n_parts, proportions;
    int64_t steps;
    int64_t extra_passes; /* pair forward+backward passes the strategy spends (EWC's Fisher, ZSCL's reference
                           * batches), for the compute record */
    int64_t extra_frozen_passes; /* pair forwards through frozen models the strategy spends (ZSCL's start model) */
    void *state; /* the strategy's own */
};

/* The choices of a hyperparameter that names one of the experiment's test
 * sets (given in a variant; its value is the test set's index). */
extern const char *const STRATEGY_TEST_SET[];

/* ---- registry ---- */

/* The registered strategies, in registry order; *n set to their count. */
const StrategyDesc *const *strategy_all(int *n);
/* The descriptor called `name`, NULL when none. */
const StrategyDesc *strategy_find(const char *name);
/* MODX_ERR_INVALID "unknown strategy 'x' (expected one of …)" when unknown. */
ModxStatus strategy_lookup(const char *name, const StrategyDesc **out);
/* The names hyperparameter h of d takes (NULL-terminated), NULL when it is a plain number. */
const char *const *strategy_hyper_choices(const StrategyDesc *d, int h);
/* The same for a hyperparameter of any registered strategy, found by address. */
const char *const *strategy_hyper_choices_of(const StrategyHyper *h);
/* The hyperparameter index of `key` in d, −1 when none. */
int strategy_hyper_index(const StrategyDesc *d, const char *key);

/* ---- instances ---- */

/* d with every hyperparameter at its default and name = d->name. */
void strategy_inst_init(StrategyInst *si, const StrategyDesc *d);
/* A named strategy at its defaults (MODX_ERR_INVALID when unknown). */
ModxStatus strategy_inst_named(StrategyInst *si, const char *name);
/* Sets hyperparameter `key` (checked against its range; `where` names the
 * source in messages). */
ModxStatus strategy_inst_set(StrategyInst *si, const char *key, double v, const char *where);
/* The value of hyperparameter `key` (CHECKs that the strategy has it). */
double strategy_hp(const StrategyInst *si, const char *key);
/* The loss term the trainer's step runs for si. */
StepLossTerm strategy_loss(const StrategyInst *si);

/* ---- hooks, as the driver calls them ---- */

ModxStatus strategy_before_phase(StrategyPhase *sp);
ModxStatus strategy_after_phase(StrategyPhase *sp);
void strategy_end_phase(StrategyPhase *sp);

#endif
