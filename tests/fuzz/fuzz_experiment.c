/* Fuzz target: parse an experiment file (experiment_parse, paths resolved from
 * the repository root, where the fuzzers and the seed replay run). An input
 * that parses must survive a round trip through its resolved JSON unchanged;
 * one that fails must say why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "run/experiment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Experiment e;
    ModxStatus st = experiment_parse(&e, (const char *)data, size, "fuzz.json", ".");
    if (st != MODX_OK) {
        CHECK(modx_last_error()[0] != '\0', "a failed parse without a message");
        return 0;
    }
    char *json = experiment_to_json(&e);
    if (json) {
        Experiment f;
        st = experiment_parse(&f, json, strlen(json), "resolved.json", ".");
        CHECK(st == MODX_OK, "the resolved copy does not parse: %s", modx_last_error());
        char *again = experiment_to_json(&f);
        CHECK(!again || !strcmp(json, again), "round trip differs:\n%s\n%s", json, again);
        free(again);
        experiment_free(&f);
        free(json);
    }
    experiment_free(&e);
    return 0;
}
