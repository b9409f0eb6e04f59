/* Fuzz target: the karpathy reader from memory, strict and with skip_bad. */
#include "dataset_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_dataset_reader(dataset_parse_karpathy, data, size); }
