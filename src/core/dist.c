#include "core/dist.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int joined, rank, size = 1;
static char host[MPI_MAX_PROCESSOR_NAME + 1];
static float *scratch; /* dist_sum_f32's receive buffer */
static size_t scratch_n;
static int *counts, *displs, *rcounts, *rdispls; /* (size) each */
static DistStats stats;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static ModxStatus mpi_fail(const char *what, int rc) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "error %d", rc);
    return modx_fail(MODX_ERR_IO, "rank %d (%s): %s failed: %s", rank, host, what, msg);
}
#define MPI_TRY(what, call)                      \
    do {                                         \
        int rc_ = (call);                        \
        if (rc_ != MPI_SUCCESS) return mpi_fail(what, rc_); \
    } while (0)

ModxStatus dist_init(void) {
    if (joined) return MODX_OK;
    const char *ws = getenv("OMPI_COMM_WORLD_SIZE");
    if (!ws || !*ws) return MODX_OK; /* not started by mpirun: a job of one */
    int provided = 0;
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return modx_fail(MODX_ERR_IO, "MPI_Init failed (error %d) in a process started by mpirun", rc);
    joined = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int len = 0;
    MPI_Get_processor_name(host, &len);
    host[len < 0 ? 0 : len] = 0;
    counts = calloc((size_t)size, sizeof *counts);
    displs = calloc((size_t)size, sizeof *displs);
    rcounts = calloc((size_t)size, sizeof *rcounts);
    rdispls = calloc((size_t)size, sizeof *rdispls);
    if (!counts || !displs || !rcounts || !rdispls) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    return MODX_OK;
}

void dist_finalize(void) {
    if (!joined) return;
    free(scratch), free(counts), free(displs), free(rcounts), free(rdispls);
    scratch = NULL, counts = displs = rcounts = rdispls = NULL, scratch_n = 0;
    MPI_Finalize();
    joined = 0;
}

/* Every rank reaches here within a few seconds when they failed alike (a bad
 * experiment, a stop signal); a rank still inside a collective never does. */
static int all_ranks_arrive(double seconds) {
    MPI_Request req;
    if (MPI_Ibarrier(MPI_COMM_WORLD, &req) != MPI_SUCCESS) return 0;
    double until = now_s() + seconds;
    int done = 0;
    while (!done && now_s() < until) {
        if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return 0;
        if (!done) nanosleep(&(struct timespec){0, 2000000}, NULL);
    }
    return done;
}

int dist_end(int rc) {
    if (rc != 0 && joined && size > 1 && !all_ranks_arrive(DIST_END_WAIT_S)) {
        fprintf(stderr, "modx: rank %d of %d (host %s) failed (exit %d) while other ranks still work; ending the "
                "job\n", rank, size, host, rc);
        fflush(stderr);
        dist_abort(rc);
    }
    dist_finalize();
    return rc;
}

void dist_abort(int code) {
    if (joined) MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
}

int dist_rank(void) { return rank; }
int dist_size(void) { return size; }
int dist_is_writer(void) { return rank == 0; }
const char *dist_host(void) { return host; }

void dist_slice(int B, int *lo, int *n) {
    *n = B / size;
    *lo = rank * *n;
}

ModxStatus dist_check_batch(int B, const char *what) {
    if (B % size == 0) return MODX_OK;
    return modx_fail(MODX_ERR_INVALID, "%s = %d is not divisible by the %d ranks of the job: every rank takes an "
                     "equal slice of each batch; use a multiple of %d (or another rank count)", what, B, size, size);
}

ModxStatus dist_barrier(void) {
    if (joined && size > 1) MPI_TRY("MPI_Barrier", MPI_Barrier(MPI_COMM_WORLD));
    return MODX_OK;
}

ModxStatus dist_allgather_f32(float *buf, size_t count) {
    if (!joined || size == 1) return MODX_OK;
    if (count > (size_t)INT32_MAX) return modx_fail(MODX_ERR_INVALID, "all-gather of %zu floats per rank: too many", count);
    double t0 = now_s();
    MPI_TRY("MPI_Allgather", MPI_Allgather(MPI_IN_PLACE, 0, MPI_FLOAT, buf, (int)count, MPI_FLOAT, MPI_COMM_WORLD));
    stats.gather_s += now_s() - t0;
    stats.gather_bytes += (uint64_t)count * sizeof(float);
    stats.gathers++;
    return MODX_OK;
}

ModxStatus dist_allgather_f64(double *buf, size_t count) {
    if (!joined || size == 1) return MODX_OK;
    if (count > (size_t)INT32_MAX) return modx_fail(MODX_ERR_INVALID, "all-gather of %zu doubles per rank: too many", count);
    double t0 = now_s();
    MPI_TRY("MPI_Allgather", MPI_Allgather(MPI_IN_PLACE, 0, MPI_DOUBLE, buf, (int)count, MPI_DOUBLE, MPI_COMM_WORLD));
    stats.small_s += now_s() - t0;
    stats.small_bytes += (uint64_t)count * sizeof(double);
    stats.smalls++;
    return MODX_OK;
}

/* Rank r owns elements [n·r/N, n·(r+1)/N). */
static size_t part(size_t n, int r) { return (size_t)((unsigned __int128)n * (unsigned)r / (unsigned)size); }

static ModxStatus ensure_scratch(size_t n) {
    if (scratch_n >= n) return MODX_OK;
    float *p = realloc(scratch, n * sizeof(float));
    if (!p) return modx_fail(MODX_ERR_NOMEM, "out of memory (gradient sum buffer of %zu floats)", n);
    scratch = p, scratch_n = n;
    return MODX_OK;
}

/* Reduce-scatter by hand: every rank sends the owner of each part its values
 * of that part (all-to-all); the owner adds them in rank order. */
static ModxStatus sum_owned(float *buf, size_t n, size_t *lo, size_t *len) {
    *lo = part(n, rank), *len = part(n, rank + 1) - *lo;
    for (int r = 0; r < size; r++) {
        displs[r] = (int)part(n, r), counts[r] = (int)(part(n, r + 1) - part(n, r));
        rdispls[r] = (int)(*len * (size_t)r), rcounts[r] = (int)*len;
    }
    MODX_TRY(ensure_scratch(*len * (size_t)size + 1));
    MPI_TRY("MPI_Alltoallv", MPI_Alltoallv(buf, counts, displs, MPI_FLOAT, scratch, rcounts, rdispls, MPI_FLOAT, MPI_COMM_WORLD));
    float *out = buf + *lo;
    memcpy(out, scratch, *len * sizeof(float));
    for (int r = 1; r < size; r++) {
        const float *x = scratch + *len * (size_t)r;
        for (size_t i = 0; i < *len; i++) out[i] += x[i];
    }
    return MODX_OK;
}

ModxStatus dist_sum_f32(float *buf, size_t n) {
    if (!joined || size == 1) return MODX_OK;
    if (n > (size_t)INT32_MAX) return modx_fail(MODX_ERR_INVALID, "sum of %zu floats: too many for one call", n);
    double t0 = now_s();
    size_t lo, len;
    MODX_TRY(sum_owned(buf, n, &lo, &len)); /* counts, displs: every rank's part */
    MPI_TRY("MPI_Allgatherv",
            MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, buf, counts, displs, MPI_FLOAT, MPI_COMM_WORLD));
    stats.sum_s += now_s() - t0;
    stats.sum_bytes += (uint64_t)(n - len) * 2 * sizeof(float);
    stats.sums++;
    return MODX_OK;
}

int dist_max_int(int v) {
    if (!joined || size == 1) return v;
    int out = v;
    if (MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS) return v;
    return out;
}

ModxStatus dist_bcast(void *buf, size_t bytes, int root) {
    if (!joined || size == 1) return MODX_OK;
    if (bytes > (size_t)INT32_MAX) return modx_fail(MODX_ERR_INVALID, "broadcast of %zu bytes: too many", bytes);
    MPI_TRY("MPI_Bcast", MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD));
    return MODX_OK;
}

ModxStatus dist_allgather_u64(uint64_t v, uint64_t *out) {
    if (!joined || size == 1) {
        out[0] = v;
        return MODX_OK;
    }
    MPI_TRY("MPI_Allgather", MPI_Allgather(&v, 1, MPI_UINT64_T, out, 1, MPI_UINT64_T, MPI_COMM_WORLD));
    return MODX_OK;
}

void dist_stats(DistStats *out) { *out = stats; }
