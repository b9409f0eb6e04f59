#include "train/replay.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"

#define REPLAY_MAX_CAPACITY (UINT32_C(1) << 31)

ModxStatus replay_new(ReplayBuffer *rb, uint32_t capacity, uint64_t seed) {
    memset(rb, 0, sizeof *rb);
    if (capacity < 1 || capacity > REPLAY_MAX_CAPACITY)
        return modx_fail(MODX_ERR_INVALID, "replay buffer: capacity %" PRIu32 " pairs, expected 1 to %" PRIu32,
                         capacity, REPLAY_MAX_CAPACITY);
    rb->image = modx_calloc(capacity, sizeof *rb->image, "replay buffer images");
    rb->caption = rb->image ? modx_calloc(capacity, sizeof *rb->caption, "replay buffer captions") : NULL;
    if (!rb->caption) {
        replay_free(rb);
        return MODX_ERR_NOMEM;
    }
    rb->capacity = capacity;
    rng_seed_stream(&rb->insert_rng, seed, 0);
    rng_seed_stream(&rb->sample_rng, seed, 1);
    return MODX_OK;
}

void replay_free(ReplayBuffer *rb) {
    free(rb->image);
    free(rb->caption);
    memset(rb, 0, sizeof *rb);
}

int64_t replay_offer(ReplayBuffer *rb, uint32_t image, uint32_t caption) {
    CHECK(rb->image && rb->capacity >= 1, "replay_offer on a buffer not made by replay_new");
    uint64_t slot;
    if (rb->seen < rb->capacity) {
        slot = rb->seen;
        rb->size++;
    } else {
        slot = rng_below(&rb->insert_rng, rb->seen + 1);
    }
    rb->seen++;
    if (slot >= rb->capacity) return -1;
    rb->image[slot] = image;
    rb->caption[slot] = caption;
    return (int64_t)slot;
}

int replay_batch_count(const ReplayBuffer *rb, int B, double fraction) {
    CHECK(B >= 0 && fraction >= 0.0 && fraction <= 1.0, "replay: batch %d, fraction %g", B, fraction);
    long k = lround(fraction * B);
    if (k > B) k = B;
    if (k > (long)rb->size) k = (long)rb->size;
    return (int)k;
}

int replay_fill(ReplayBuffer *rb, uint32_t *image, uint32_t *caption, int B, double fraction) {
    const int k = replay_batch_count(rb, B, fraction);
    const uint32_t n = rb->size;
    /* Floyd: for j = n−k .. n−1 draw t in [0, j]; take t unless already
     * taken, else take j. Every k-subset is equally likely. The chosen slots
     * are kept in image[] (as slot numbers) until the end. */
    uint32_t *slots = image;
    for (int c = 0; c < k; c++) {
        const uint32_t j = n - (uint32_t)k + (uint32_t)c;
        uint32_t t = (uint32_t)rng_below(&rb->sample_rng, (uint64_t)j + 1);
        for (int d = 0; d < c; d++)
            if (slots[d] == t) {
                t = j;
                break;
            }
        slots[c] = t;
    }
    for (int c = 0; c < k; c++) {
        caption[c] = rb->caption[slots[c]];
        image[c] = rb->image[slots[c]];
    }
    return k;
}

ModxStatus replay_restore(ReplayBuffer *rb, const uint32_t *image, const uint32_t *caption, uint32_t size,
                          uint64_t seen, const Rng *insert_rng, const Rng *sample_rng, const char *source) {
    const uint64_t want = seen < rb->capacity ? seen : rb->capacity;
    if (size > rb->capacity || size != want)
        return modx_fail(MODX_ERR_FORMAT,
                         "%s: replay state holds %" PRIu32 " pairs after %" PRIu64
                         " offers; a buffer of capacity %" PRIu32 " holds %" PRIu64,
                         source, size, seen, rb->capacity, want);
    for (int r = 0; r < 2; r++) {
        const Rng *g = r ? sample_rng : insert_rng;
        if (!(g->s[0] | g->s[1] | g->s[2] | g->s[3]))
            return modx_fail(MODX_ERR_FORMAT, "%s: replay %s RNG state is all zero (not a state rng_seed makes)",
                             source, r ? "sample" : "insert");
    }
    if (size) { /* memmove: replay_load restores from the buffer's own arrays */
        memmove(rb->image, image, size * sizeof *image);
        memmove(rb->caption, caption, size * sizeof *caption);
    }
    rb->size = size;
    rb->seen = seen;
    rb->insert_rng = *insert_rng;
    rb->sample_rng = *sample_rng;
    return MODX_OK;
}

ModxStatus replay_save(const ReplayBuffer *rb, const char *path) {
    SafeTensorsWriter *w = NULL;
    int64_t *buf = malloc(((size_t)rb->size * 2 + 9) * sizeof *buf);
    if (!buf) return modx_fail(MODX_ERR_NOMEM, "writing replay state %s: out of memory", path);
    int64_t *im = buf, *cap = buf + rb->size, *rng = cap + rb->size, *seen = rng + 8;
    for (uint32_t k = 0; k < rb->size; k++) im[k] = rb->image[k], cap[k] = rb->caption[k];
    for (int k = 0; k < 4; k++) {
        rng[k] = (int64_t)rb->insert_rng.s[k];
        rng[4 + k] = (int64_t)rb->sample_rng.s[k];
    }
    *seen = (int64_t)rb->seen;
    char capacity[32];
    snprintf(capacity, sizeof capacity, "%" PRIu32, rb->capacity);
    int64_t n = rb->size, eight = 8;
    ModxStatus st = safetensors_writer_new(&w);
    if (st == MODX_OK) st = safetensors_writer_metadata(w, "modx.replay.capacity", capacity);
    if (st == MODX_OK) st = safetensors_writer_add(w, "image", ST_I64, 1, &n, im);
    if (st == MODX_OK) st = safetensors_writer_add(w, "caption", ST_I64, 1, &n, cap);
    if (st == MODX_OK) st = safetensors_writer_add(w, "seen", ST_I64, 0, NULL, seen);
    if (st == MODX_OK) st = safetensors_writer_add(w, "rng", ST_I64, 1, &eight, rng);
    if (st == MODX_OK) st = safetensors_writer_save(w, path);
    if (st != MODX_OK) modx_error_prefix("writing replay state %s: ", path);
    safetensors_writer_free(w);
    free(buf);
    return st;
}

/* Tensor `name` as I64 with n elements (ndim 0 when scalar), copied into out. */
static ModxStatus read_i64(const SafeTensors *st, const char *name, int scalar, uint64_t n, int64_t *out) {
    const char *path = safetensors_path(st);
    const StTensorInfo *t = safetensors_find(st, name);
    if (!t) return modx_fail(MODX_ERR_FORMAT, "%s: missing tensor '%s' (a replay state file)", path, name);
    if (t->dtype != ST_I64 || t->ndim != (scalar ? 0 : 1) || t->numel != n)
        return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s' is %s with %d dims and %" PRIu64
                         " elements, expected I64 %s of %" PRIu64, path, name, st_dtype_name(t->dtype), t->ndim,
                         t->numel, scalar ? "scalar" : "vector", n);
    if (n) memcpy(out, safetensors_data(st, t), n * sizeof *out);
    return MODX_OK;
}

ModxStatus replay_load(ReplayBuffer *rb, const char *path) {
    memset(rb, 0, sizeof *rb);
    SafeTensors *st = NULL;
    MODX_TRY(safetensors_open(&st, path));
    ModxStatus s = MODX_OK;
    int64_t *buf = NULL;
    const char *cap_text = safetensors_metadata(st, "modx.replay.capacity");
    char *end = NULL;
    unsigned long long capacity = cap_text ? strtoull(cap_text, &end, 10) : 0;
    if (!cap_text || !*cap_text || *end || capacity < 1 || capacity > REPLAY_MAX_CAPACITY)
        s = modx_fail(MODX_ERR_FORMAT, "%s: metadata 'modx.replay.capacity' is %s%s%s, expected 1 to %" PRIu32, path,
                      cap_text ? "'" : "", cap_text ? cap_text : "missing", cap_text ? "'" : "", REPLAY_MAX_CAPACITY);
    const StTensorInfo *ti = s == MODX_OK ? safetensors_find(st, "image") : NULL;
    uint64_t n = ti ? ti->numel : 0;
    if (s == MODX_OK && n > capacity)
        s = modx_fail(MODX_ERR_FORMAT, "%s: tensor 'image' holds %" PRIu64 " pairs, more than the capacity %llu",
                      path, n, capacity);
    if (s == MODX_OK && !(buf = malloc(((size_t)n * 2 + 9) * sizeof *buf)))
        s = modx_fail(MODX_ERR_NOMEM, "%s: out of memory for %" PRIu64 " replay pairs", path, n);
    int64_t *im = buf, *cap = buf ? buf + n : NULL, *rng = cap ? cap + n : NULL, *seen = rng ? rng + 8 : NULL;
    if (s == MODX_OK) s = read_i64(st, "image", 0, n, im);
    if (s == MODX_OK) s = read_i64(st, "caption", 0, n, cap);
    if (s == MODX_OK) s = read_i64(st, "seen", 1, 1, seen);
    if (s == MODX_OK) s = read_i64(st, "rng", 0, 8, rng);
    for (uint64_t k = 0; s == MODX_OK && k < 2 * n; k++)
        if (buf[k] < 0 || buf[k] > (int64_t)UINT32_MAX)
            s = modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s' entry %" PRIu64 " is %" PRId64 ", expected 0 to %" PRIu32,
                          path, k < n ? "image" : "caption", k % n, buf[k], UINT32_MAX);
    if (s == MODX_OK && *seen < 0)
        s = modx_fail(MODX_ERR_FORMAT, "%s: tensor 'seen' is %" PRId64 ", expected >= 0", path, *seen);
    if (s == MODX_OK) s = replay_new(rb, (uint32_t)capacity, 0);
    if (s == MODX_OK) {
        Rng ins, smp;
        for (int k = 0; k < 4; k++) ins.s[k] = (uint64_t)rng[k], smp.s[k] = (uint64_t)rng[4 + k];
        for (uint64_t k = 0; k < n; k++) rb->image[k] = (uint32_t)im[k], rb->caption[k] = (uint32_t)cap[k];
        s = replay_restore(rb, rb->image, rb->caption, (uint32_t)n, (uint64_t)*seen, &ins, &smp, path);
    }
    if (s != MODX_OK) replay_free(rb);
    free(buf);
    safetensors_close(st);
    return s;
}
