/* A seeded train/test split of the images a dataset gives no split, by image
 * or by group (dataset_assign_test_split in dataset.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/dataset.h"

typedef struct {
    const char *group; /* NULL: the image is a unit of its own */
    uint32_t image;
} Member;

static int by_group(const void *a, const void *b) {
    const Member *x = a, *y = b;
    int c = strcmp(x->group, y->group);
    return c ? c : (x->image > y->image) - (x->image < y->image);
}

/* leader[image] for the n members: the first image of its group, or itself. */
static void find_leaders(Member *mem, size_t n, uint32_t *leader) {
    size_t n_grouped = 0;
    for (size_t i = 0; i < n; i++) /* grouped members first, in place */
        if (mem[i].group) {
            Member t = mem[n_grouped];
            mem[n_grouped++] = mem[i];
            mem[i] = t;
        }
    qsort(mem, n_grouped, sizeof *mem, by_group);
    for (size_t i = 0; i < n; i++) leader[mem[i].image] = mem[i].image;
    for (size_t i = 1; i < n_grouped; i++) /* sorted by (group, image): a group's first member leads it */
        if (!strcmp(mem[i].group, mem[i - 1].group)) leader[mem[i].image] = leader[mem[i - 1].image];
}

ModxStatus dataset_assign_test_split(Dataset *ds, double fraction, uint64_t seed, size_t *n_test) {
    *n_test = 0;
    if (!(fraction > 0 && fraction < 1))
        return modx_fail(MODX_ERR_INVALID, "test fraction: expected a value in (0, 1), found %g", fraction);
    size_t N = ds->n_images, n = 0;
    Member *mem = calloc(N ? N : 1, sizeof *mem);
    uint32_t *leader = calloc(N ? N : 1, sizeof *leader), *unit = calloc(N ? N : 1, sizeof *unit);
    uint32_t *order = calloc(N ? N : 1, sizeof *order);
    uint8_t *is_test = calloc(N ? N : 1, 1);
    ModxStatus st = mem && leader && unit && order && is_test ? MODX_OK : modx_fail(MODX_ERR_NOMEM, "out of memory");
    if (st != MODX_OK) goto done;
    for (size_t i = 0; i < N; i++)
        if (ds->images[i].split == DATASET_SPLIT_NONE) mem[n++] = (Member){ds->images[i].group, (uint32_t)i};
    find_leaders(mem, n, leader);
    /* units numbered in the order of their first image */
    uint32_t n_units = 0;
    for (size_t i = 0; i < N; i++) {
        if (ds->images[i].split != DATASET_SPLIT_NONE) continue;
        if (leader[i] == i) unit[i] = n_units++;
        else unit[i] = unit[leader[i]];
    }
    if (n_units == 0) goto done;
    for (uint32_t u = 0; u < n_units; u++) order[u] = u;
    Rng rng;
    rng_seed(&rng, seed);
    rng_shuffle_u32(&rng, order, n_units);
    size_t k = (size_t)llround(fraction * (double)n_units);
    if (k < 1) k = 1;
    if (n_units >= 2 && k > n_units - 1) k = n_units - 1;
    for (size_t j = 0; j < k; j++) is_test[order[j]] = 1;
    for (size_t i = 0; i < N; i++) {
        if (ds->images[i].split != DATASET_SPLIT_NONE) continue;
        ds->images[i].split = is_test[unit[i]] ? DATASET_SPLIT_TEST : DATASET_SPLIT_TRAIN;
        *n_test += is_test[unit[i]];
    }
done:
    free(mem), free(leader), free(unit), free(order), free(is_test);
    return st;
}
