/* The checks a job of several ranks (core/dist.h) passes before it trains,
 * each failing on every rank with the same message:
 *   - the global batch (train.batch) divisible by the rank count (each rank
 *     takes an equal slice of every batch);
 *   - every rank runs the same binary on the same experiment (checksums of
 *     /proc/self/exe and of the resolved experiment, exchanged);
 *   - the run directory is one folder every rank sees: rank 0 writes a file
 *     with a random nonce into it and every rank must read that nonce back.
 * In a job of one it checks nothing. */
#ifndef MODX_RUN_RUNDIST_H
#define MODX_RUN_RUNDIST_H

#include "clip/config.h"
#include "core/error.h"
#include "run/experiment.h"

ModxStatus run_dist_check(const Experiment *e, const ClipConfig *cfg, const char *run_dir);

#endif
