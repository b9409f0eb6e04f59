/* Data-parallel processes (Open MPI): the one place that talks to MPI; the
 * rest of modx calls dist_* only.
 *
 * A process started by mpirun (OMPI_COMM_WORLD_SIZE in its environment) joins
 * the job in dist_init; any other process is a job of one rank and never
 * initialises MPI, so modx without mpirun behaves exactly as a build without
 * MPI would: every collective below is then a no-op (or a copy).
 *
 * Rank 0 is the only writer of files (dist_is_writer); every rank holds the
 * full model and optimizer state and computes its slice of each batch
 * (train/step.h). Reductions are deterministic: dist_sum_f32 adds the ranks'
 * contributions in rank order, whatever the timing, so a run with N ranks is
 * bit-identical to another run with N ranks. A ResNet tower's training-mode
 * BatchNorm exchanges its per-channel partials through dist_allgather_f64 and
 * adds them in rank order likewise (nn/batchnorm.h, clip/resnet.h). */
#ifndef MODX_CORE_DIST_H
#define MODX_CORE_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Joins the job when started by mpirun; idempotent. Errors: MPI_Init failed. */
ModxStatus dist_init(void);
/* Leaves the job (MPI_Finalize) when dist_init joined one. */
void dist_finalize(void);
/* The end of a process (the CLI's exit code rc): leaves the job. A rank that
 * failed waits up to DIST_END_WAIT_S for the others to end too (they failed
 * alike, or stopped at the same step: rank 0 may still be writing its resume
 * checkpoint); if they do not, it ends the whole job (dist_abort) saying so.
 * Returns rc. */
#define DIST_END_WAIT_S 10.0
int dist_end(int rc);
/* Ends every rank of the job at once (MPI_Abort) with code; returns only in a
 * job of one rank. */
void dist_abort(int code);

int dist_rank(void);
int dist_size(void);
/* 1 on rank 0: the only rank that writes files. */
int dist_is_writer(void);
/* This rank's host name ("" before dist_init of a job). */
const char *dist_host(void);

/* Rank r's slice of a batch of B: rows [*lo, *lo + *n). B must be divisible by
 * the rank count (dist_check_batch). */
void dist_slice(int B, int *lo, int *n);
/* MODX_ERR_INVALID naming the key when B is not divisible by the rank count. */
ModxStatus dist_check_batch(int B, const char *what);

ModxStatus dist_barrier(void);
/* buf holds dist_size() slots of `count` floats; this rank's slot
 * (buf + rank·count) is sent, every other slot is filled from its rank. */
ModxStatus dist_allgather_f32(float *buf, size_t count);
/* As dist_allgather_f32 for doubles (small exchanges, e.g. BatchNorm's
 * per-channel partial sums, which every rank then adds in rank order). */
ModxStatus dist_allgather_f64(double *buf, size_t count);
/* buf (n floats) becomes the sum over ranks of every rank's buf, added in rank
 * order (r0 + r1 + … in floats): deterministic and the same on every rank.
 * Bytes moved per rank: about 2·4·n·(N−1)/N (a reduce-scatter and an
 * all-gather). */
ModxStatus dist_sum_f32(float *buf, size_t n);
/* The largest of every rank's v (e.g. "did any rank get a stop signal"). */
int dist_max_int(int v);
/* bytes from root's buf into every rank's. */
ModxStatus dist_bcast(void *buf, size_t bytes, int root);
/* Every rank's value (out: dist_size() entries, in rank order). */
ModxStatus dist_allgather_u64(uint64_t v, uint64_t *out);

/* Traffic counters of this rank since the start (for benchmarks). */
typedef struct {
    double gather_s, sum_s, small_s;               /* seconds in feature gathers, gradient sums and
                                                      small gathers (BatchNorm statistics) */
    uint64_t gather_bytes, sum_bytes, small_bytes; /* bytes this rank contributed to them */
    uint64_t gathers, sums, smalls;
} DistStats;
void dist_stats(DistStats *out);

#endif
