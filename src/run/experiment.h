/* Experiment files: what `modx run` trains and compares, as JSON.
 *
 *   {"name": "emoji",
 *    "model": "../configs/tiny.json",                 OpenCLIP model config
 *    "tokenizer": "../data/emoji/bpe.txt",            BPE merges the captions were tokenized with
 *    "datasets": {                                    name → a prepared cache, or a source to prepare
 *       "emoji": {"cache": "../data/emoji/dataset.cache"},
 *       "coco":  {"format": "karpathy", "input": "dataset_coco.json", "images": "coco/images"}},
 *    "phase0": {"dataset": "emoji", "split": "train", "domains": ["apple"], "epochs": 8},
 *    "stream": {"dataset": "emoji", "split": "train", "mode": "domain",
 *               "domains": ["google", "twitter", "facebook"]},     or mode contiguous|random + "phases": N
 *    "test_sets": [{"name": "apple", "dataset": "emoji", "split": "test", "domains": ["apple"]},
 *                  {"name": "fit", "dataset": "emoji", "split": "train", "sample": 400, "role": "train_sample"}],
 *    "strategies": ["joint", "finetune", "modx",         names, or variants of a strategy:
 *                   {"name": "modx-a5", "strategy": "modx", "alpha": 5},
 *                   {"name": "modx-a{alpha}", "strategy": "modx", "alpha": [2, 5, 10]}],
 *                                                     a list-valued key: one variant per value, the name's
 *                                                     {key} filled in; several lists: their cartesian product
 *    "seeds": [0, 1, 2],                              optional: the whole run once per seed
 *    "probe": {"test_set": "apple", "pairs": 200},
 *    "shares": {"coco": 1, "flickr30k": 1},           optional: each dataset's share of joint's batches
 *                                                     when phase 0 and the stream differ (default: uniform)
 *    "train": {"epochs": 2, "batch": 64, "lr": 5e-4, "warmup": 0.2, "weight_decay": 0.1,
 *              "joint_weight_decay": 0.01, "alpha": 1.0, "seed": 0, ...}}
 *              (a strategy hyperparameter's "train" key sets its default for every
 *              strategy that has it; a variant's own key overrides it)
 *
 * Paths are relative to the experiment file's folder; the loaded experiment
 * holds them absolute (experiment_to_json writes that resolved copy).
 * "phase0" is optional: without it phase 0 is the freshly initialised model
 * ("phase0": {"checkpoint": PATH} starts from a given model instead).
 * Every key is checked: an unknown key, a wrong type, a value out of range,
 * an unknown strategy, a dataset name not defined under "datasets", a file
 * that does not exist — each is an error naming the file, the key, what was
 * expected and what was found. Checks that need the data (a domain the cache
 * does not hold, more phases than images) run in the driver before any
 * training (continual.h). */
#ifndef MODX_RUN_EXPERIMENT_H
#define MODX_RUN_EXPERIMENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/phases.h"
#include "strategy/strategy.h"

typedef enum { TESTSET_DOMAIN = 0, TESTSET_HELDOUT, TESTSET_TRAIN_SAMPLE, TESTSET_ZEROSHOT } TestSetRole;
const char *testset_role_name(TestSetRole r);

#define EXP_NAME_MAX 64
#define EXP_MAX_DOMAINS 64
#define EXP_MAX_STRATEGY_KEYS 32
#define EXP_MAX_STRATEGIES 64 /* after list-valued variants are expanded */
#define EXP_MAX_SEEDS 64
#define EXP_MAX_LIST_KEYS 8    /* list-valued keys of one variant object */

typedef struct {
    char name[EXP_NAME_MAX];
    char *cache;  /* absolute path of a prepared cache, or NULL with a source */
    char *format; /* source: a format of the registry (data/formats.h) */
    char *input, *images;
    char *splits; /* source: splits to keep when preparing (NULL = all) */
} ExpDataset;

/* A set of images: a dataset's images whose split is in split_mask and, when
 * domains are given, whose domain is one of them (in that order for streams). */
#define EXP_DEFAULT_PROBE_PAIRS 500 /* "probe": {"pairs"} when not given */

typedef struct {
    int dataset; /* index into Experiment.datasets */
    unsigned split_mask;
    char *domains[EXP_MAX_DOMAINS];
    int n_domains;
} ExpSelection;

/* A zero-shot test set's classes (docs/experiment.md): where an image's label
 * comes from (ZsLabelSource of eval/zeroshot_labels.h: 0 its domain, 1 its
 * first caption, 2 labels_file), the class names and the prompt templates
 * (files; NULL = the default). Paths absolute. */
typedef struct {
    int labels;
    char *labels_file, *classes, *templates;
} ExpZeroShot;

typedef struct {
    char name[EXP_NAME_MAX];
    ExpSelection sel;
    TestSetRole role;
    ExpZeroShot zs;  /* role TESTSET_ZEROSHOT */
    int first_phase; /* domain sets: the phase that first trains on it (−1 = derive from the data) */
    int sample;      /* > 0: a fixed seeded sample of this many images */
} ExpTestSet;

typedef struct {
    int epochs;          /* per continual phase */
    int phase0_epochs;
    int joint_epochs;    /* joint sees the union this many times (default: epochs) */
    int batch;
    double lr, warmup;   /* warmup: fraction of a phase's steps */
    double weight_decay, joint_weight_decay; /* continual phases; phase 0 and joint */
    double grad_clip;    /* ≤ 0: none */
    uint64_t seed;
    int log_every;       /* steps between metrics lines */
    int checkpoint_every;/* steps between mid-phase resume checkpoints (0 = only at signals) */
    int eval_batch;
    int precision;       /* train.precision: GEMM_F32 (0, "fp32") or GEMM_BF16 (1, "bf16"), core/gemm.h */
    int old_per_step;    /* train.old_features: 0 "cache" (default), 1 "per_step" (train/trainer.h) */
    /* Strategy hyperparameter defaults given under "train" (keys are the
     * registry's train_key strings: alpha, lwf_lambda, buffer, …). */
    struct {
        const char *key;
        double value;
    } strategy_keys[EXP_MAX_STRATEGY_KEYS];
    int n_strategy_keys;
} ExpHyper;

typedef struct {
    char *path; /* the file as given */
    char name[EXP_NAME_MAX];
    char *model;     /* absolute path of the model config */
    char *tokenizer; /* absolute path of the BPE merges, or NULL (caches only) */
    ExpDataset *datasets;
    int n_datasets;
    int has_phase0;       /* 1: train phase 0 on phase0 */
    char *phase0_checkpoint; /* or start from this checkpoint (absolute), or NULL */
    ExpSelection phase0;
    int has_stream;       /* "stream" given (always, but for experiment_load_watch) */
    ExpSelection stream;
    double *shares;       /* (n_datasets) "shares": shares of joint's batches by dataset (0: none), NULL: uniform */
    PhaseMode mode;
    int n_phases;         /* contiguous/random: the phase count; domain: the domains (or 0 = all) */
    ExpTestSet *tests;
    int n_tests;
    StrategyInst *strategies; /* (n_strategies) resolved, in the experiment's order; names unique */
    int n_strategies;
    char probe_test[EXP_NAME_MAX];
    int probe_pairs;
    ExpHyper hp;
    /* "seeds": [S, ...] (n_seeds 0: the key is absent): every strategy runs once per
     * seed (train.seed = S, phase 0 included), each into RUN_DIR/seed-S (src/run/seeds.h). */
    int seeds[EXP_MAX_SEEDS];
    int n_seeds;
    void *json; /* cJSON of the resolved copy */
} Experiment;

/* Reads and validates an experiment file. */
ModxStatus experiment_load(Experiment *e, const char *path);
/* The same for `modx watch` (run/watch.h): "datasets" and "stream" may be left
 * out and "test_sets" may be empty (the watched shards are the stream). */
ModxStatus experiment_load_watch(Experiment *e, const char *path);
/* The same from text; `name` names it in messages and `base_dir` resolves relative paths. */
ModxStatus experiment_parse(Experiment *e, const char *text, size_t n, const char *name, const char *base_dir);
void experiment_free(Experiment *e);
/* The experiment with every path absolute, as a malloc'd JSON text (the run's copy). */
char *experiment_to_json(const Experiment *e);
ExpHyper experiment_default_hyper(void);
/* Overrides train.seed (model init, loader order, samples, replay), in the resolved copy too. */
void experiment_set_seed(Experiment *e, uint64_t seed);
/* The experiment of one seed of a run with "seeds": e's resolved copy without "seeds" and with
 * train.seed = seed. prepared (NULL, or n_datasets entries, each NULL or a cache path) replaces
 * the datasets the run prepares by caches already prepared (by the first seed's run). */
ModxStatus experiment_seed_copy(const Experiment *e, int seed, const char *const *prepared, Experiment *out);
/* The "seeds" of the experiment file at path (*n = 0 when it has none), read without checking
 * anything else (a run folder's experiment.json: is it a run with seeds?). */
ModxStatus experiment_file_seeds(const char *path, int *seeds, int *n);
/* Index of a test set by name, −1 when absent. */
int experiment_find_test(const Experiment *e, const char *name);
/* Index of a strategy (or variant) by its name, −1 when absent. */
int experiment_find_strategy(const Experiment *e, const char *name);

/* The spellings of train.precision and train.old_features, by value. */
extern const char *const experiment_precision_names[];
extern const char *const experiment_old_feature_names[];

/* Sets train.precision (GEMM_F32 / GEMM_BF16), in the resolved JSON too (--precision). */
void experiment_set_precision(Experiment *e, int precision);

#endif
