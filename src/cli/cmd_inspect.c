/* modx inspect FILE.safetensors: metadata (the "modx.config" entry shown as the
 * model config), one line per tensor and the total parameter count. */
#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/size.h"
#include "io/safetensors.h"

static void inspect_usage(FILE *f) {
    fprintf(f,
            "usage: modx inspect FILE.safetensors\n"
            "\n"
            "Validates a safetensors file and prints its metadata (the \"modx.config\"\n"
            "entry as the model config), then one line per tensor in file order:\n"
            "name, dtype, shape and element count, and the total parameter count.\n"
            "Exits 1 with a message naming the file and the item if it is malformed.\n");
}

/* Prints the model config pretty-printed when it is JSON, verbatim otherwise. */
static void print_config(const char *text) {
    cJSON *j = cJSON_Parse(text);
    char *pretty = j ? cJSON_Print(j) : NULL;
    printf("model config (modx.config):\n%s\n", pretty ? pretty : text);
    free(pretty);
    cJSON_Delete(j);
}

MODX_COMMAND(inspect, "inspect", "list the metadata and tensors of a safetensors file") {
    if (cli_wants_help(argc, argv)) {
        inspect_usage(stdout);
        return 0;
    }
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, NULL, 0, pos, 1, &npos)) return 2;
    if (npos != 1) {
        inspect_usage(stderr);
        return 2;
    }
    SafeTensors *st;
    if (safetensors_open(&st, pos[0]) != MODX_OK) return cli_report_error("inspect");

    printf("file: %s\n", safetensors_path(st));
    const char *config = safetensors_metadata(st, "modx.config");
    if (config) print_config(config);
    int nmeta = safetensors_metadata_count(st);
    if (nmeta > (config ? 1 : 0)) {
        printf("metadata:\n");
        for (int i = 0; i < nmeta; i++) {
            const char *k, *v;
            safetensors_metadata_at(st, i, &k, &v);
            if (!strcmp(k, "modx.config")) continue;
            printf("  %s: %s\n", k, v);
        }
    }
    int n = safetensors_count(st);
    size_t width = 4;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(safetensors_at(st, i)->name);
        if (len > width) width = len;
    }
    if (width > 60) width = 60;
    printf("%-*s  %-5s  %-24s  %s\n", (int)width, "name", "dtype", "shape", "numel");
    uint64_t total = 0;
    int overflow = 0;
    for (int i = 0; i < n; i++) {
        const StTensorInfo *t = safetensors_at(st, i);
        char shape[256];
        size_t k = (size_t)snprintf(shape, sizeof shape, "[");
        for (int d = 0; d < t->ndim && k < sizeof shape; d++)
            k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%" PRId64, d ? ", " : "", t->shape[d]);
        if (k < sizeof shape) snprintf(shape + k, sizeof shape - k, "]");
        printf("%-*s  %-5s  %-24s  %" PRIu64 "\n", (int)width, t->name, st_dtype_name(t->dtype), shape, t->numel);
        if (!u64_add(total, t->numel, &total)) overflow = 1;
    }
    if (overflow)
        printf("%d tensors, more than 2^64 parameters\n", n);
    else
        printf("%d tensors, %" PRIu64 " parameters\n", n, total);
    safetensors_close(st);
    return 0;
}
