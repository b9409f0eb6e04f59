/* Fuzz target: the manifest reader from memory, strict and with skip_bad. */
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int skip = 0; skip < 2; skip++) {
        Dataset ds;
        DatasetOptions opt = {.skip_bad = skip};
        dataset_init(&ds);
        ModxStatus st = dataset_parse_manifest(&ds, (const char *)data, size, "fuzz", "root", &opt);
        if (st == MODX_OK) {
            /* Invariants a caller relies on. */
            for (size_t i = 0; i < ds.n_captions; i++)
                if (ds.captions[i].image >= ds.n_images || !ds.captions[i].text[0]) __builtin_trap();
            for (size_t i = 0; i < ds.n_images; i++)
                if (ds.images[i].domain >= ds.n_domains) __builtin_trap();
        }
        dataset_free(&ds);
    }
    return 0;
}
