/* Reading a run directory's run.json (docs/run-directory.md), shared by
 * `modx analyze RUN_DIR` and `modx report RUN_DIR`, and the paths of the
 * probe feature files inside a run. */
#ifndef MODX_ANALYSIS_RUNDIR_H
#define MODX_ANALYSIS_RUNDIR_H

#include <stddef.h>

#include "core/error.h"

#define RUN_FORMAT "modx-run-1"
#define RUN_JOINT "joint"    /* trained once on the union; one checkpoint, at phase N */
#define RUN_PHASE0 "phase0"  /* the strategy name of phase-0 evaluations in metrics.jsonl */

typedef enum { RUN_SET_DOMAIN = 0, RUN_SET_HELDOUT = 1, RUN_SET_TRAIN_SAMPLE = 2 } RunSetRole;

typedef struct {
    char *name;
    RunSetRole role;
    int first_phase; /* RUN_SET_DOMAIN: the first phase that trains this domain; else -1 */
} RunTestSet;

typedef struct {
    char *name;
    double seed;               /* NaN when absent */
    char **strategies;         /* (nstrategies) */
    int nstrategies;
    int phases;                /* N continual phases after phase 0 */
    char **phase_names;        /* (nphase_names) may be 0 */
    int nphase_names;
    RunTestSet *test_sets;     /* (ntest_sets) */
    int ntest_sets;
    char *probe_test_set;      /* NULL when run.json has no "probe" */
    int probe_pairs;           /* 0 when absent */
    char *status;              /* "running" or "done" */
    int *completed;            /* (nstrategies) last completed phase; see run_info_load */
} RunInfo;

/* Reads DIR/run.json. Errors (MODX_ERR_FORMAT, MODX_ERR_IO) name the file and
 * the item: a missing or mistyped field, an unknown format, a test-set role
 * other than domain/heldout/train_sample, a strategy repeated, a completed
 * phase outside [0, phases]. "completed" may be absent or partial: a strategy
 * it does not list has completed every phase when status is "done", none
 * otherwise. Free with run_info_free. */
ModxStatus run_info_load(RunInfo *out, const char *dir);
void run_info_free(RunInfo *r);

/* The last phase whose checkpoint (and probe) a strategy has: completed[s]
 * for continual strategies; for "joint", phases when it completed (>= 1),
 * else 0 (nothing). */
int run_info_last_phase(const RunInfo *r, int s);

/* Relative path of the probe features of strategy s at `phase` (phase 0 is
 * the shared "phase0/probe.safetensors") into buf; 0 when it does not fit. */
int run_probe_relpath(char *buf, size_t cap, const RunInfo *r, int s, int phase);

#endif
