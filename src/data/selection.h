/* Image selection: which images of an open dataset cache a command, a phase or
 * a test set works on. The one place that turns "these splits, these domains,
 * a seeded sample of K" into an image index list.
 *
 *   splits   a mask of 1u << DatasetSplit (dataset_parse_splits); an image is
 *            kept when its split is in the mask
 *   domains  names of domains (any of them); none = every domain. Every name
 *            must be a domain of the cache: an unknown one is an error listing
 *            the domains present
 *   sample   > 0 and below the number selected: keep a seeded sample of that
 *            many images — the list shuffled with rng_seed_stream(seed, stream)
 *            + rng_shuffle_u32, cut to `sample`, sorted back into cache order
 *
 * The result is in cache order (increasing indices). An empty result is an
 * error naming the splits and domains searched and the splits (with counts)
 * and domains the cache has. */
#ifndef MODX_DATA_SELECTION_H
#define MODX_DATA_SELECTION_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/cache.h"

typedef struct {
    unsigned splits;             /* mask of 1u << DatasetSplit */
    const char *const *domains;  /* (n_domains) names; n_domains = 0: every domain */
    size_t n_domains;
    size_t sample;               /* 0: keep all */
    uint64_t seed, stream;       /* the sample's random stream */
} Selection;

/* The index of the domain called `name` in the cache; an unknown name is
 * MODX_ERR_INVALID "unknown domain 'x' (the dataset has: a, b, c)". */
ModxStatus selection_domain_id(const Cache *c, const char *name, uint32_t *id);

/* The images of `s`, malloc'd into *images (n of them; free with free()). */
ModxStatus selection_apply(const Cache *c, const Selection *s, uint32_t **images, size_t *n);

/* Keeps a seeded sample of `sample` of images[0..*n) in place (sorted), when
 * 0 < sample < *n; otherwise leaves the list as it is. */
void selection_sample(uint32_t *images, size_t *n, size_t sample, uint64_t seed, uint64_t stream);

/* 1 when at least one of images[0..n) has one of the named domains (names the
 * cache does not have match nothing); 1 when n_domains = 0 and n > 0. */
int selection_any_in_domains(const Cache *c, const char *const *domains, size_t n_domains, const uint32_t *images,
                          size_t n);

/* "train+restval" for a split mask ("all" for every split, "nothing" for 0). */
void selection_splits_text(unsigned mask, char *out, size_t n);

/* Splits a comma list ("a,b,c") into at most max names pointing into `buf`
 * (modified in place); empty names are an error. */
ModxStatus selection_parse_domain_list(char *buf, const char **names, size_t max, size_t *n);

#endif
