/* RUN_DIR/watch.json: what `modx watch` (run/watch.h) has taken from the
 * watched folder, phase by phase. This module is its one reader and writer.
 *
 *   {"format": "modx-watch-1",
 *    "dir": "/abs/path/of/the/watched/folder",
 *    "phase0_done": true,          the starting model is saved and evaluated
 *    "metrics_bytes": 4711,        metrics.jsonl's size when the last phase (or phase 0) completed
 *    "phases": [{"phase": 1, "status": "done", "shards": [{"name": "a.tar", "bytes": 10240}, ...]},
 *               {"phase": 2, "status": "training", "shards": [...]}]}
 *
 * A phase is recorded (status "training") once its shards are chosen and
 * prepared, before it trains, and set "done" once its model is published; only
 * the last phase may be "training". Shard names are file names in the watched
 * folder (no '/'), each in at most one phase; "bytes" is the shard's size when
 * it was taken. Written atomically (io/file.h). */
#ifndef MODX_RUN_WATCH_STATE_H
#define MODX_RUN_WATCH_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define WATCH_STATE_FILE "watch.json"
#define WATCH_STATE_FORMAT "modx-watch-1"

typedef struct {
    char *name;     /* file name in the watched folder */
    uint64_t bytes; /* its size when taken */
} WatchShard;

typedef struct {
    WatchShard *shards; /* (n_shards) in name order */
    size_t n_shards;
    int done;           /* 0: chosen and prepared, training or about to */
} WatchPhase;

typedef struct {
    char *dir;              /* the watched folder (absolute) */
    int phase0_done;
    uint64_t metrics_bytes;
    WatchPhase *phases;     /* (n_phases); phases[k - 1] is phase k */
    int n_phases;
} WatchState;

/* Reads RUN_DIR/watch.json; a missing file gives an empty state (dir NULL).
 * Errors (MODX_ERR_FORMAT) name the file and the item: a wrong format, a
 * mistyped field, phases out of order, a "training" phase before the last, a
 * shard name with '/' or taken twice. */
ModxStatus watch_state_load(WatchState *s, const char *run_dir);
/* Writes RUN_DIR/watch.json atomically. */
ModxStatus watch_state_save(const WatchState *s, const char *run_dir);
void watch_state_free(WatchState *s);

/* 1 when a phase has taken the shard called `name`. */
int watch_state_taken(const WatchState *s, const char *name);
/* Appends phase n_phases + 1 (not done) holding copies of shards[0..n). */
ModxStatus watch_state_add_phase(WatchState *s, const WatchShard *shards, size_t n);

#endif
