/* Experience replay for continual CLIP training (SPEC §3 baselines): a
 * reservoir of past (image index, caption index) pairs, mixed into the batches
 * of later phases (alone, or together with Mod-X's distillation).
 *
 * Reservoir sampling, Algorithm R: the first `capacity` pairs offered fill
 * the buffer; the n-th pair offered after that (n counted from 1 over all
 * offers, n > capacity) replaces slot j = uniform[0, n) when j < capacity and
 * is dropped otherwise. After any number of offers every pair offered so far
 * is in the buffer with the same probability, capacity / seen. Indices are
 * whatever the data loader uses to find an image and a caption (e.g. rows of
 * a phase's manifest); the buffer never interprets them.
 *
 * Determinism: two RNG streams derived from the seed (core/rng.h), one for the
 * reservoir's decisions and one for drawing replay batches, so the buffer's
 * contents depend only on the seed and the sequence of offers, not on how
 * many batches were drawn in between. The whole state is the public fields
 * below: a checkpoint saves image[0..size), caption[0..size), size, seen and
 * both Rng states (4 uint64 each), and restores them with replay_restore.
 * replay_save / replay_load do that to a safetensors file. */
#ifndef MODX_TRAIN_REPLAY_H
#define MODX_TRAIN_REPLAY_H

#include <stdint.h>

#include "core/error.h"
#include "core/rng.h"

/* Share of each batch taken from the buffer when the caller does not choose. */
#define REPLAY_FRACTION_DEFAULT 0.5

typedef struct {
    uint32_t *image;   /* (capacity) image index of stored pair k, k < size */
    uint32_t *caption; /* (capacity) caption index of stored pair k */
    uint32_t capacity; /* pairs the buffer can hold (≥ 1) */
    uint32_t size;     /* pairs stored: min(seen, capacity) */
    uint64_t seen;     /* pairs offered since replay_new */
    Rng insert_rng;    /* stream 0 of the seed: reservoir decisions */
    Rng sample_rng;    /* stream 1 of the seed: replay batch draws */
} ReplayBuffer;

/* An empty buffer of `capacity` pairs (1 ≤ capacity ≤ 2³¹; MODX_ERR_INVALID
 * otherwise, MODX_ERR_NOMEM when the arrays cannot be allocated). */
ModxStatus replay_new(ReplayBuffer *rb, uint32_t capacity, uint64_t seed);
void replay_free(ReplayBuffer *rb);

/* Offers one pair (Algorithm R). Returns the slot it was written to, or −1
 * when it was not kept. */
int64_t replay_offer(ReplayBuffer *rb, uint32_t image, uint32_t caption);

/* Replay pairs in a batch of B: round(fraction·B), clamped to [0, B] and to
 * the number of stored pairs. fraction in [0, 1] (CHECKed). */
int replay_batch_count(const ReplayBuffer *rb, int B, double fraction);

/* Draws k = replay_batch_count(rb, B, fraction) DISTINCT stored pairs,
 * uniformly (Floyd's sampling, O(k²)), writes them to image[0..k) and
 * caption[0..k) and returns k; the caller fills the other B − k places of the
 * batch with the current phase's pairs. Distinct slots, not distinct images:
 * when the stream offered several captions of one image, two of them may be
 * drawn together. Only sample_rng advances. */
int replay_fill(ReplayBuffer *rb, uint32_t *image, uint32_t *caption, int B, double fraction);

/* Restores a saved state into a buffer made by replay_new with the same
 * capacity: copies `size` pairs and the counters and RNG states. Errors
 * (naming `source`) when size > capacity or size ≠ min(seen, capacity). */
ModxStatus replay_restore(ReplayBuffer *rb, const uint32_t *image, const uint32_t *caption, uint32_t size,
                          uint64_t seen, const Rng *insert_rng, const Rng *sample_rng, const char *source);

/* The state as a safetensors file: "image", "caption" (I64, size), "seen"
 * (I64 scalar), "rng" (I64, 8: insert then sample state words, as two's
 * complement) and metadata "modx.replay.capacity". */
ModxStatus replay_save(const ReplayBuffer *rb, const char *path);
/* Reads a file written by replay_save into a NEW buffer (replay_new with the
 * file's capacity); errors name the file and the item. */
ModxStatus replay_load(ReplayBuffer *rb, const char *path);

#endif
