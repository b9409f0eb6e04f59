/* modx analyze --features A.safetensors B.safetensors [--json OUT.json]:
 * the spatial-disorder analysis (SPEC §6) of two checkpoints' features on the
 * same probe pairs. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "analysis/features_file.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "io/file.h"

static void analyze_usage(FILE *f) {
    fprintf(f,
            "usage: modx analyze --features A.safetensors B.safetensors [--json OUT.json] [--max-pairs N]\n"
            "\n"
            "Compares two checkpoints a and b through their features on the same probe pairs.\n"
            "Each file holds 'image_features' and 'text_features', both N x E (row i = pair i).\n"
            "Prints, per modality, the rotation angle of each sample between a and b\n"
            "(mean/median/p10/p90), the topology change (mean |S_a - S_b| of the angles\n"
            "between samples, and their Spearman correlation), the change of the image-text\n"
            "pair angle, and the relative rotation between the modalities (angle spectrum\n"
            "of R_V^T R_T from orthogonal Procrustes fits; needs N >= E).\n"
            "\n"
            "  --json OUT.json   write the full result (histograms, spectrum) as JSON\n"
            "  --max-pairs N     cap on sample pairs for the topology figures (default %d;\n"
            "                    above it, N pairs are drawn with a fixed seed)\n",
            TOPOLOGY_DEFAULT_MAX_PAIRS);
}

static int write_json(const AnalysisResult *r, const char *a, const char *b, const char *out) {
    cJSON *j = NULL;
    if (analysis_to_json(r, &j) != MODX_OK) return cli_report_error("analyze");
    char *text = NULL;
    if (!cJSON_AddStringToObject(j, "features_a", a) || !cJSON_AddStringToObject(j, "features_b", b) ||
        !(text = cJSON_Print(j))) {
        cJSON_Delete(j);
        fprintf(stderr, "modx analyze: out of memory while writing %s\n", out);
        return 1;
    }
    cJSON_Delete(j);
    size_t n = strlen(text);
    text[n] = '\n'; /* overwrite the terminator with a final newline; written by length */
    ModxStatus st = io_write_atomic(out, text, n + 1);
    free(text);
    if (st != MODX_OK) return cli_report_error("analyze");
    return 0;
}

MODX_COMMAND(analyze, "analyze", "rotation/topology/deviation analysis of two checkpoints' features") {
    if (cli_wants_help(argc, argv)) {
        analyze_usage(stdout);
        return 0;
    }
    CliOpt opts[] = {{"--features", 1, NULL}, {"--json", 1, NULL}, {"--max-pairs", 1, NULL}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, opts, 3, pos, 1, &npos)) return 2;
    if (!opts[0].value || npos != 1) {
        fprintf(stderr, "modx analyze: expected --features A.safetensors B.safetensors\n");
        analyze_usage(stderr);
        return 2;
    }
    AnalysisOptions ao = analysis_default_options();
    if (opts[2].value) {
        long v;
        if (cli_int("analyze", "--max-pairs", opts[2].value, 1, 1L << 40, &v)) return 2;
        ao.topology_max_pairs = v;
    }
    const char *pa = opts[0].value, *pb = pos[0];
    ProbeFeatures a, b;
    if (probe_features_load(&a, pa) != MODX_OK) return cli_report_error("analyze");
    if (probe_features_load(&b, pb) != MODX_OK) {
        probe_features_free(&a);
        return cli_report_error("analyze");
    }
    int rc = 0;
    if (a.n != b.n || a.e != b.e) {
        fprintf(stderr, "modx analyze: %s has %d pairs of width %d but %s has %d of width %d; expected the same probe set\n",
                pa, a.n, a.e, pb, b.n, b.e);
        rc = 1;
        goto done;
    }
    AnalysisResult r;
    if (analysis_compute(&r, a.image, a.text, b.image, b.text, a.n, a.e, &ao) != MODX_OK) {
        rc = cli_report_error("analyze");
        goto done;
    }
    printf("a: %s\nb: %s\n", pa, pb);
    analysis_print_summary(stdout, &r);
    if (opts[1].value) {
        rc = write_json(&r, pa, pb, opts[1].value);
        if (!rc) printf("wrote %s\n", opts[1].value);
    }
    analysis_free(&r);
done:
    probe_features_free(&a);
    probe_features_free(&b);
    return rc;
}
