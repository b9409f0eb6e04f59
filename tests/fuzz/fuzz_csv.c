/* Fuzz target: the CSV reader from memory, strict and with skip_bad, with the
 * default tab separator and with commas. */
#include "data/csv.h"
#include "dataset_reader.h"

static ModxStatus parse_comma(Dataset *ds, const char *text, size_t n, const char *name, const char *root,
                              const DatasetOptions *opt) {
    DatasetSource src = {.csv_separator = ','};
    return csv_parse(ds, text, n, name, root, &src, opt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_dataset_reader(dataset_parse_csv, data, size);
    return fuzz_dataset_reader(parse_comma, data, size);
}
