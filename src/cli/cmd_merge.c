/* modx merge — weight-space ensemble of two checkpoints (WiSE-FT). */
#include <stdio.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "train/merge.h"

static const char usage[] =
    "usage: modx merge A.safetensors B.safetensors --mix T --out C.safetensors [--config CFG.json]\n"
    "  Writes C with every parameter = (1 - T) * A + T * B, T in [0, 1]: T = 0 copies A,\n"
    "  T = 1 copies B (e.g. A = the model before a phase, B = after it).\n"
    "  A and B must have the same config.\n"
    "  --mix T           the weight of B, 0..1 (required)\n"
    "  --out C           the checkpoint to write (required)\n"
    "  --config CFG.json  the model config, needed only when A and B carry none (default: theirs)\n";

MODX_COMMAND(merge, "merge", "weight-space ensemble of two checkpoints: (1-t)*A + t*B") {
    if (cli_wants_help(argc, argv)) return fputs(usage, stdout), 0;
    CliOpt o[] = {{"--mix", 1, 0}, {"--out", 1, 0}, {"--config", 1, 0}};
    const char *pos[2];
    int npos;
    if (cli_parse(argc, argv, o, 3, pos, 2, &npos)) return 2;
    if (cli_require("merge", &o[0]) || cli_require("merge", &o[1])) return 2;
    if (npos != 2) return fputs(usage, stderr), 2;
    double t = 0;
    if (cli_double("merge", "--mix", o[0].value, &t)) return 2;
    if (merge_check_mix(t) != MODX_OK) return cli_report_error("merge");
    if (merge_checkpoints(pos[0], pos[1], t, o[1].value, o[2].value) != MODX_OK) return cli_report_error("merge");
    printf("wrote %s = %.6g * %s + %.6g * %s\n", o[1].value, 1.0 - t, pos[0], t, pos[1]);
    return 0;
}
