/* Phase streams: how a training set is cut into the sequence of sub-datasets
 * that continual training visits one after the other.
 *
 *   contiguous  the images in the given order cut into N consecutive, nearly equal
 *               parts (sizes differ by at most one; the first n % N parts are the
 *               larger) — the paper's split of Flickr30K into 5 phases
 *   random      a seeded shuffle of the images cut the same way (a random, even split);
 *               each phase lists its images in increasing order
 *   domain      one phase per domain, in the given domain order (default: domain id
 *               order), each with that domain's images in the given order
 *
 * The phases are disjoint and together hold every image exactly once. */
#ifndef MODX_DATA_PHASES_H
#define MODX_DATA_PHASES_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/cache.h"

typedef enum { PHASES_CONTIGUOUS = 0, PHASES_RANDOM, PHASES_DOMAIN } PhaseMode;

typedef struct {
    char name[64];    /* "phase1", ... or the domain name */
    uint32_t *images; /* (n_images) owned */
    size_t n_images;
} Phase;

typedef struct {
    Phase *phases; /* (n_phases) owned */
    size_t n_phases;
} PhaseStream;

/* Parses "contiguous", "random" or "domain". */
ModxStatus phases_parse_mode(const char *text, PhaseMode *mode);

/* Splits images[0..n) into phases. n_phases: the number of parts for contiguous
 * and random (1 ≤ n_phases ≤ n, else MODX_ERR_INVALID); for domain mode it must be
 * 0 or the number of domains used. Domain mode needs image_domain (indexed by image
 * id) and domain_names (n_domains); `order` (n_order names, may be NULL) fixes the
 * domain order and must name every domain present; naming an unknown domain, or a
 * domain with no image, or leaving one out, is an error. */
ModxStatus phases_split(PhaseStream *out, const uint32_t *images, size_t n, PhaseMode mode, size_t n_phases,
                        uint64_t seed, const uint32_t *image_domain, const char *const *domain_names, size_t n_domains,
                        const char *const *order, size_t n_order);
void phases_free(PhaseStream *ps);

/* Indices of the images whose split is in `mask` (1u << DatasetSplit), malloc'd:
 * selection_apply (data/selection.h) with a split mask only. An empty result is an
 * error naming the splits searched and the splits present in the cache. */
ModxStatus phases_subset_by_split(const Cache *c, unsigned mask, uint32_t **images, size_t *n);


#endif
