#include "run/seeds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "run/rundir.h"

int seeds_of_run(const char *run_dir, int *seeds, int *n) {
    char path[4096];
    *n = 0;
    if (snprintf(path, sizeof path, "%s/run.json", run_dir) >= (int)sizeof path || io_file_exists(path)) return 0;
    snprintf(path, sizeof path, "%s/experiment.json", run_dir);
    if (!io_file_exists(path)) return 0;
    if (experiment_file_seeds(path, seeds, n) != MODX_OK) {
        modx_clear_error();
        *n = 0;
    }
    return *n > 0;
}

/* RUN_DIR/experiment.json of a new run (a folder holding a run is refused). */
static ModxStatus seeds_start(const Experiment *e, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/experiment.json", dir);
    char rj[4096];
    snprintf(rj, sizeof rj, "%s/run.json", dir);
    if (io_file_exists(path) || io_file_exists(rj))
        return modx_fail(MODX_ERR_INVALID, "%s already holds a run (%s); continue it with --resume %s or choose "
                         "another --out folder", dir, io_file_exists(rj) ? "run.json" : "experiment.json", dir);
    MODX_TRY(io_mkdir_p(dir));
    char *json = experiment_to_json(e);
    ModxStatus st = json ? io_write_atomic(path, json, strlen(json)) : modx_fail(MODX_ERR_NOMEM, "out of memory");
    free(json);
    return st;
}

/* Seed k's run into its folder, under that folder's lock. */
static ModxStatus seed_one(const Experiment *e, const char *dir, int k, const char *const *prepared,
                           const RunOptions *opt) {
    char sub[3072], rj[4096];
    CHECK(run_seed_dir(sub, sizeof sub, dir, e->seeds[k]), "run path too long");
    snprintf(rj, sizeof rj, "%s/run.json", sub);
    Experiment se;
    MODX_TRY(experiment_seed_copy(e, e->seeds[k], prepared, &se));
    RunOptions so = *opt;
    so.resume = io_file_exists(rj);
    if (!opt->quiet) fprintf(stderr, "modx run: seed %d (%d of %d) into %s\n", e->seeds[k], k + 1, e->n_seeds, sub);
    RunLock lock = {-1};
    ModxStatus st = io_mkdir_p(sub);
    if (st == MODX_OK) st = run_lock(&lock, sub, "modx run (one seed of the run with seeds in the folder above)");
    if (st == MODX_OK) st = continual_run(&se, sub, &so);
    run_unlock(&lock);
    experiment_free(&se);
    if (st != MODX_OK) modx_error_prefix("seed %d (%s): ", e->seeds[k], sub);
    return st;
}

ModxStatus seeds_run(const Experiment *e, const char *dir, const RunOptions *opt) {
    if (opt->only_strategy)
        return modx_fail(MODX_ERR_INVALID, "%s lists \"seeds\": run one strategy of one seed with modx continual "
                         "--resume RUN_DIR/" RUN_SEED_PREFIX "S --strategy %s, or every seed with modx run", e->path,
                         opt->only_strategy);
    if (strlen(dir) > 2900)
        return modx_fail(MODX_ERR_INVALID, "run directory path is %zu characters long; at most 2900 are supported "
                         "with \"seeds\"", strlen(dir));
    if (!opt->resume) MODX_TRY(seeds_start(e, dir));
    /* the datasets the first seed's run prepares, read by the others */
    char first[4096];
    CHECK(run_seed_dir(first, sizeof first, dir, e->seeds[0]), "run path too long");
    char **prepared = calloc((size_t)e->n_datasets + 1, sizeof *prepared);
    if (!prepared) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    ModxStatus st = MODX_OK;
    for (int i = 0; i < e->n_datasets && st == MODX_OK; i++) {
        if (e->datasets[i].cache) continue;
        if (!(prepared[i] = malloc(4096))) st = modx_fail(MODX_ERR_NOMEM, "out of memory");
        else CHECK(run_data_cache_path(prepared[i], 4096, first, e->datasets[i].name), "run path too long");
    }
    for (int k = 0; k < e->n_seeds && st == MODX_OK; k++)
        st = seed_one(e, dir, k, k ? (const char *const *)prepared : NULL, opt);
    for (int i = 0; i < e->n_datasets; i++) free(prepared[i]);
    free(prepared);
    return st;
}
