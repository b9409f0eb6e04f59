/* modx probe: a checkpoint's features of the analysis probe pairs, written as
 * a probe features file (the format of RUN_DIR/.../probe.safetensors). */
#include <stdio.h>

#include "analysis/features_file.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/probe_args.h"

static const char probe_usage[] =
    "usage: modx probe --ckpt CKPT.safetensors --data CACHE [--split S] [--pairs P] [--batch B] [--config CFG] --out FILE\n"
    "Encodes the probe pairs (the first caption of each of the first P images of the split, in\n"
    "cache order; default split test, default P = min(1000, images in the split)) with the model\n"
    "and writes FILE with 'image_features' and 'text_features' (P x E, F32, L2-normalised),\n"
    "the format `modx analyze --features` and run directories use.\n"
    "  --ckpt CKPT   the model (required)\n"
    "  --data CACHE  the dataset cache (or the folder `modx data prepare` wrote; required)\n"
    "  --split S     the splits the probe images come from (default test)\n"
    "  --pairs P     probe pairs (default min(1000, images in the split))\n"
    "  --batch B     encoding batch size (default 64)\n"
    "  --out FILE    the features file to write (required)\n"
    "  --config CFG  the model config, used only when CKPT carries none (default: CKPT's)\n";

MODX_COMMAND(probe, "probe", "write a checkpoint's features of the analysis probe pairs") {
    if (cli_wants_help(argc, argv)) return fputs(probe_usage, stdout), 0;
    CliOpt o[] = {{"--ckpt", 1, 0}, {"--data", 1, 0}, {"--split", 1, 0}, {"--pairs", 1, 0}, {"--batch", 1, 0},
                  {"--out", 1, 0},  {"--config", 1, 0}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, o, 7, pos, 0, &npos)) return 2;
    if (cli_require("probe", &o[0]) || cli_require("probe", &o[1]) || cli_require("probe", &o[5])) return 2;
    long batch = 64;
    if (o[4].value && cli_int("probe", "--batch", o[4].value, 1, 1 << 20, &batch)) return 2;
    Cache *c = NULL;
    ProbeSet ps;
    int rc = cli_probe_setup("probe", o[1].value, o[2].value, o[3].value, &c, &ps);
    if (rc) return rc;
    ProbeFeatures f = {0};
    char pairs[32];
    snprintf(pairs, sizeof pairs, "%d", ps.n);
    const char *meta[][2] = {{"modx.probe.checkpoint", o[0].value}, {"modx.probe.data", o[1].value},
                             {"modx.probe.split", o[2].value ? o[2].value : "test"}, {"modx.probe.pairs", pairs}};
    if (probe_encode_checkpoint(&f, o[0].value, o[6].value, c, o[1].value, &ps, (int)batch) != MODX_OK ||
        probe_features_save(&f, o[5].value, meta, 4) != MODX_OK)
        rc = cli_report_error("probe");
    else
        printf("wrote %s: %d pairs, width %d\n", o[5].value, f.n, f.e);
    probe_features_free(&f);
    probe_set_free(&ps);
    cache_close(c);
    return rc;
}
