/* modx analyze: the spatial-disorder analysis (SPEC §6) of two checkpoints'
 * features on the same probe pairs, in three modes:
 *   modx analyze RUN_DIR                            every strategy and phase pair of a run
 *   modx analyze --features A.safetensors B.safetensors   two probe feature files
 *   modx analyze --ckpt A.safetensors B.safetensors --data CACHE   encode the probe pairs with each model */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "analysis/features_file.h"
#include "analysis/run_analysis.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/probe_args.h"
#include "io/file.h"

static void analyze_usage(FILE *f) {
    fprintf(f,
            "usage: modx analyze RUN_DIR [--max-pairs N]\n"
            "       modx analyze --features A.safetensors B.safetensors [--json OUT.json] [--max-pairs N]\n"
            "       modx analyze --ckpt A.safetensors B.safetensors --data CACHE [--split S] [--pairs P]\n"
            "                    [--batch B] [--config CFG.json] [--json OUT.json] [--max-pairs N]\n"
            "\n"
            "Compares two checkpoints a and b through their features on the same probe pairs.\n"
            "Prints, per modality, the rotation angle of each sample between a and b\n"
            "(mean/median/p10/p90), the topology change (mean |S_a - S_b| of the angles\n"
            "between samples, and their Spearman correlation), the change of the image-text\n"
            "pair angle, and the relative rotation between the modalities (angle spectrum\n"
            "of R_V^T R_T from orthogonal Procrustes fits; needs N >= E).\n"
            "\n"
            "  RUN_DIR           a run directory (docs/run-directory.md): compares every strategy's\n"
            "                    consecutive phases (k-1 -> k) and phase 0 -> its last completed phase\n"
            "                    from the probe files, writes RUN_DIR/analysis.json, prints a table\n"
            "  --features A B    probe feature files: 'image_features' and 'text_features', N x E\n"
            "  --ckpt A B        model checkpoints; the probe pairs (the first caption of each of the\n"
            "                    first P images of the split, in cache order) are encoded with each\n"
            "  --data CACHE      the dataset cache for --ckpt\n"
            "  --split S         splits the probe images come from (default test; e.g. train+val, all)\n"
            "  --pairs P         probe pairs (default min(%d, images in the split))\n"
            "  --batch B         encoding batch size (default 64)\n"
            "  --config CFG.json with --ckpt: the model config of checkpoints that carry none (default: theirs)\n"
            "  --json OUT.json   write the full result (histograms, spectrum) as JSON\n"
            "  --max-pairs N     cap on sample pairs for the topology figures (default %d;\n"
            "                    above it, N pairs are drawn with a fixed seed)\n",
            PROBE_DEFAULT_PAIRS, TOPOLOGY_DEFAULT_MAX_PAIRS);
}

static int write_json(const AnalysisResult *r, const char *ka, const char *a, const char *kb, const char *b,
                      const char *out) {
    cJSON *j = NULL;
    if (analysis_to_json(r, &j) != MODX_OK) return cli_report_error("analyze");
    char *text = NULL;
    if (!cJSON_AddStringToObject(j, ka, a) || !cJSON_AddStringToObject(j, kb, b) || !(text = cJSON_Print(j))) {
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

/* Analyses a against b, prints the summary and writes --json. */
static int analyze_pair(const ProbeFeatures *a, const ProbeFeatures *b, const char *pa, const char *pb, int ckpt,
                        const AnalysisOptions *ao, const char *json) {
    if (a->n != b->n || a->e != b->e) {
        fprintf(stderr, "modx analyze: %s has %d pairs of width %d but %s has %d of width %d; expected the same probe set\n",
                pa, a->n, a->e, pb, b->n, b->e);
        return 1;
    }
    AnalysisResult r;
    if (analysis_compute(&r, a->image, a->text, b->image, b->text, a->n, a->e, ao) != MODX_OK)
        return cli_report_error("analyze");
    printf("a: %s\nb: %s\n", pa, pb);
    analysis_print_summary(stdout, &r);
    int rc = 0;
    if (json) {
        rc = write_json(&r, ckpt ? "checkpoint_a" : "features_a", pa, ckpt ? "checkpoint_b" : "features_b", pb, json);
        if (!rc) printf("wrote %s\n", json);
    }
    analysis_free(&r);
    return rc;
}

static int analyze_features(const char *pa, const char *pb, const AnalysisOptions *ao, const char *json) {
    ProbeFeatures a, b;
    if (probe_features_load(&a, pa) != MODX_OK) return cli_report_error("analyze");
    if (probe_features_load(&b, pb) != MODX_OK) {
        probe_features_free(&a);
        return cli_report_error("analyze");
    }
    int rc = analyze_pair(&a, &b, pa, pb, 0, ao, json);
    probe_features_free(&a);
    probe_features_free(&b);
    return rc;
}

static int analyze_ckpt(const char *pa, const char *pb, const char *config, const char *data, const char *split,
                        const char *pairs, long batch, const AnalysisOptions *ao, const char *json) {
    Cache *c = NULL;
    ProbeSet ps;
    int rc = cli_probe_setup("analyze", data, split, pairs, &c, &ps);
    if (rc) return rc;
    printf("probe: %d pairs from %s (split %s)\n", ps.n, data, split ? split : "test");
    ProbeFeatures a = {0}, b = {0};
    if (probe_encode_checkpoint(&a, pa, config, c, data, &ps, (int)batch) != MODX_OK ||
        probe_encode_checkpoint(&b, pb, config, c, data, &ps, (int)batch) != MODX_OK)
        rc = cli_report_error("analyze");
    else
        rc = analyze_pair(&a, &b, pa, pb, 1, ao, json);
    probe_features_free(&a);
    probe_features_free(&b);
    probe_set_free(&ps);
    cache_close(c);
    return rc;
}

MODX_COMMAND(analyze, "analyze", "rotation/topology/deviation analysis of two checkpoints or a whole run") {
    if (cli_wants_help(argc, argv)) {
        analyze_usage(stdout);
        return 0;
    }
    enum { O_FEATURES, O_CKPT, O_DATA, O_SPLIT, O_PAIRS, O_BATCH, O_JSON, O_MAXP, O_CONFIG, O_N };
    CliOpt opts[O_N] = {{"--features", 1, NULL}, {"--ckpt", 1, NULL}, {"--data", 1, NULL},  {"--split", 1, NULL},
                        {"--pairs", 1, NULL},    {"--batch", 1, NULL}, {"--json", 1, NULL}, {"--max-pairs", 1, NULL},
                        {"--config", 1, NULL}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, opts, O_N, pos, 1, &npos)) return 2;
    AnalysisOptions ao = analysis_default_options();
    if (opts[O_MAXP].value) {
        long v;
        if (cli_int("analyze", "--max-pairs", opts[O_MAXP].value, 1, 1L << 40, &v)) return 2;
        ao.topology_max_pairs = v;
    }
    long batch = 64;
    if (opts[O_BATCH].value && cli_int("analyze", "--batch", opts[O_BATCH].value, 1, 1 << 20, &batch)) return 2;
    const char *feat = opts[O_FEATURES].value, *ckpt = opts[O_CKPT].value;
    int data_opts = opts[O_DATA].value || opts[O_SPLIT].value || opts[O_PAIRS].value || opts[O_BATCH].value ||
                    opts[O_CONFIG].value;
    if (feat && ckpt) {
        fprintf(stderr, "modx analyze: give --features or --ckpt, not both\n");
        return 2;
    }
    if (!feat && !ckpt) {
        if (npos != 1 || data_opts || opts[O_JSON].value) {
            fprintf(stderr, "modx analyze: expected RUN_DIR, --features A B or --ckpt A B --data CACHE "
                            "(--json goes with --features/--ckpt; RUN_DIR writes RUN_DIR/analysis.json)\n");
            analyze_usage(stderr);
            return 2;
        }
        if (!io_dir_exists(pos[0])) {
            fprintf(stderr, "modx analyze: %s: not a directory (expected a run directory holding run.json)\n", pos[0]);
            return 1;
        }
        return run_analyze(pos[0], &ao, stdout) == MODX_OK ? 0 : cli_report_error("analyze");
    }
    if (npos != 1) {
        fprintf(stderr, "modx analyze: expected %s A.safetensors B.safetensors\n", feat ? "--features" : "--ckpt");
        analyze_usage(stderr);
        return 2;
    }
    if (feat) {
        if (data_opts) {
            fprintf(stderr, "modx analyze: --data, --split, --pairs, --batch and --config go with --ckpt\n");
            return 2;
        }
        return analyze_features(feat, pos[0], &ao, opts[O_JSON].value);
    }
    if (!opts[O_DATA].value) {
        fprintf(stderr, "modx analyze: --ckpt needs --data CACHE (the probe pairs are encoded from it)\n");
        return 2;
    }
    return analyze_ckpt(ckpt, pos[0], opts[O_CONFIG].value, opts[O_DATA].value, opts[O_SPLIT].value, opts[O_PAIRS].value, batch, &ao,
                        opts[O_JSON].value);
}
