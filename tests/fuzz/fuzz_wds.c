/* Fuzz target: one webdataset shard (a tar) from memory, strict and with skip_bad;
 * every image kept must carry its encoded bytes. */
#include "dataset_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_dataset_reader(dataset_parse_wds, data, size);
    Dataset ds;
    dataset_init(&ds);
    DatasetOptions opt = {.skip_bad = 1};
    if (dataset_parse_wds(&ds, (const char *)data, size, "fuzz", "", &opt) == MODX_OK)
        for (size_t i = 0; i < ds.n_images; i++)
            if (!ds.images[i].bytes) __builtin_trap();
    dataset_free(&ds);
    return 0;
}
