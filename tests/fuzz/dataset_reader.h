/* The body shared by the dataset-reader fuzz targets: parse from memory,
 * strict and with skip_bad, and check the invariants a caller relies on. */
#ifndef MODX_FUZZ_DATASET_READER_H
#define MODX_FUZZ_DATASET_READER_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"

static inline int fuzz_dataset_reader(DatasetParseFn parse, const uint8_t *data, size_t size) {
    for (int skip = 0; skip < 2; skip++) {
        Dataset ds;
        DatasetOptions opt = {.skip_bad = skip};
        dataset_init(&ds);
        if (parse(&ds, (const char *)data, size, "fuzz", "root", &opt) == MODX_OK) {
            for (size_t i = 0; i < ds.n_captions; i++)
                if (ds.captions[i].image >= ds.n_images || !ds.captions[i].text[0]) __builtin_trap();
            for (size_t i = 0; i < ds.n_images; i++)
                if (ds.images[i].domain >= ds.n_domains) __builtin_trap();
        }
        dataset_free(&ds);
    }
    return 0;
}

#endif
