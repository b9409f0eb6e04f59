/* modx init — a freshly initialised model checkpoint. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "clip/model.h"
#include "io/checkpoint.h"

static const char usage[] =
    "usage: modx init --config CFG.json --out CKPT.safetensors [--seed S]\n"
    "Writes a model initialised as OpenAI/OpenCLIP do (see src/clip/params.h), deterministic in S.\n"
    "The config is stored in the checkpoint's metadata.\n"
    "  --config CFG.json  the OpenCLIP model config (required)\n"
    "  --out CKPT         the checkpoint to write (required)\n"
    "  --seed S           initialisation seed, 0..2^31-1 (default 0)\n";

MODX_COMMAND(init, "init", "write a freshly initialised model checkpoint") {
    if (cli_wants_help(argc, argv)) return fputs(usage, stdout), 0;
    CliOpt o[] = {{"--config", 1, 0}, {"--seed", 1, 0}, {"--out", 1, 0}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, o, 3, pos, 0, &npos)) return 2;
    if (cli_require("init", &o[0]) || cli_require("init", &o[2])) return 2;
    long seed = 0;
    if (o[1].value && cli_int("init", "--seed", o[1].value, 0, 0x7fffffffL, &seed)) return 2;
    ClipConfig cfg;
    ClipModel *m = NULL;
    if (clip_config_load(&cfg, o[0].value) || clip_model_new(&m, &cfg)) return cli_report_error("init");
    clip_model_init(m, (uint64_t)seed);
    char seed_text[32];
    snprintf(seed_text, sizeof seed_text, "%ld", seed);
    CheckpointMeta meta[] = {{"modx.seed", seed_text}};
    ModxStatus st = checkpoint_save(o[2].value, m, m->params, meta, 1);
    if (st == MODX_OK)
        printf("wrote %s: %zu parameters, seed %ld\n", o[2].value, clip_model_num_params(m), seed);
    clip_model_free(m);
    return st == MODX_OK ? 0 : cli_report_error("init");
}
