#include "run/rundist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/dist.h"
#include "io/file.h"

#define FNV_OFFSET 1469598103934665603ull
#define FNV_PRIME 1099511628211ull

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

/* The checksum of this process's executable (0 when it cannot be read). */
static uint64_t binary_checksum(void) {
    uint8_t *buf = NULL;
    size_t n = 0;
    if (io_read_file("/proc/self/exe", &buf, &n) != MODX_OK) return 0;
    uint64_t h = fnv1a(FNV_OFFSET, buf, n);
    free(buf);
    return h;
}

/* Every rank's value against rank 0's: the first rank that differs, or −1. */
static ModxStatus first_differing(uint64_t mine, int *bad) {
    int n = dist_size();
    uint64_t *all = calloc((size_t)n, sizeof *all);
    if (!all) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    ModxStatus st = dist_allgather_u64(mine, all);
    *bad = -1;
    for (int r = 1; st == MODX_OK && r < n && *bad < 0; r++)
        if (all[r] != all[0]) *bad = r;
    free(all);
    return st;
}

static ModxStatus check_same(const Experiment *e) {
    int bad;
    MODX_TRY(first_differing(binary_checksum(), &bad));
    if (bad >= 0)
        return modx_fail(MODX_ERR_INVALID, "rank %d runs a different modx binary than rank 0 (checksums of the "
                         "executables differ): install the same build on every machine", bad);
    char *json = experiment_to_json(e);
    if (!json) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    uint64_t h = fnv1a(FNV_OFFSET, (const uint8_t *)json, strlen(json));
    free(json);
    MODX_TRY(first_differing(h, &bad));
    if (bad >= 0)
        return modx_fail(MODX_ERR_INVALID, "rank %d was started on a different experiment than rank 0 (%s; the "
                         "resolved experiments' checksums differ): start every rank with the same file and options",
                         bad, e->path);
    return MODX_OK;
}

/* Rank 0 writes a nonce into the run directory; every rank reads it back. */
static ModxStatus check_shared_dir(const char *dir) {
    uint64_t nonce = 0;
    if (dist_is_writer()) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        nonce = fnv1a(FNV_OFFSET, (const uint8_t *)&ts, sizeof ts) ^ ((uint64_t)getpid() << 32);
    }
    char path[4200], text[32], want[32];
    snprintf(path, sizeof path, "%s/.modx-ranks-nonce", dir);
    if (dist_is_writer()) {
        snprintf(text, sizeof text, "%016llx", (unsigned long long)nonce);
        MODX_TRY(io_write_atomic(path, text, strlen(text)));
    }
    MODX_TRY(dist_bcast(&nonce, sizeof nonce, 0)); /* after rank 0's write */
    snprintf(want, sizeof want, "%016llx", (unsigned long long)nonce);
    uint8_t *buf = NULL;
    size_t n = 0;
    int ok = io_file_exists(path) && io_read_file(path, &buf, &n) == MODX_OK && n == strlen(want) &&
             !memcmp(buf, want, n);
    free(buf);
    int bad;
    ModxStatus st = first_differing((uint64_t)ok, &bad);
    MODX_TRY(dist_barrier());
    if (dist_is_writer()) unlink(path);
    MODX_TRY(st);
    if (bad >= 0)
        return modx_fail(MODX_ERR_INVALID, "rank %d does not see %s, which rank 0 (host %s) wrote: the run directory "
                         "must be one folder that every machine of the job shares (e.g. over NFS), at the same path",
                         bad, path, dist_host());
    return MODX_OK;
}

ModxStatus run_dist_check(const Experiment *e, const ClipConfig *cfg, const char *run_dir) {
    if (dist_size() == 1) return MODX_OK;
    char what[64];
    snprintf(what, sizeof what, "train.batch");
    ModxStatus st = dist_check_batch(e->hp.batch, what);
    if (st != MODX_OK) {
        modx_error_prefix("%s: ", e->path);
        return st;
    }
    (void)cfg; /* a ResNet tower trains too: its BatchNorm statistics are synchronised (clip/resnet.h) */
    MODX_TRY(check_same(e));
    return check_shared_dir(run_dir);
}
