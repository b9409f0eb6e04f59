/* modx convert — a checkpoint from one naming to the other (OpenCLIP <-> Hugging Face). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "io/checkpoint.h"
#include "io/file.h"
#include "io/hf_names.h"

static const char usage[] =
    "usage: modx convert IN.safetensors OUT.safetensors [--to openclip|hf] [--config CFG.json]\n"
    "                    [--hf-config OUT_CONFIG.json]\n"
    "  Rewrites a CLIP checkpoint under the other naming: OpenCLIP names (modx's own, OpenCLIP's\n"
    "  open_clip_model.safetensors) or Hugging Face transformers names (model.safetensors of a\n"
    "  CLIPModel). The input's naming is detected from its tensor names; --to defaults to the other\n"
    "  one. The values are copied exactly (q/k/v packed or split, projections transposed), so\n"
    "  converting there and back gives the same tensors bit for bit. OUT carries the model config\n"
    "  (metadata modx.config) and the input's other metadata; it is written atomically.\n"
    "  --to openclip|hf       the naming of OUT (default: the one IN does not have)\n"
    "  --config CFG.json      the model config when IN carries none (an OpenCLIP model config, or for\n"
    "                         a Hugging Face file its config.json; a config.json beside a Hugging Face\n"
    "                         IN is read by itself; default: none)\n"
    "  --hf-config FILE       also write a transformers config.json for the model there (with --to hf;\n"
    "                         default: none)\n"
    "  Hugging Face CLIP has ViT image towers only: an RN model cannot be converted to it.\n";

/* The input's metadata, less what the writer sets itself (the array and its strings point into st). */
static CheckpointMeta *pass_meta(const SafeTensors *st, int *n) {
    int cap = safetensors_metadata_count(st);
    CheckpointMeta *meta = modx_calloc((size_t)cap + 1, sizeof *meta, "checkpoint metadata");
    *n = 0;
    for (int i = 0; meta && i < cap; i++) {
        const char *k, *v;
        safetensors_metadata_at(st, i, &k, &v);
        if (strcmp(k, "format") && strcmp(k, "modx.format") && strcmp(k, "modx.config"))
            meta[(*n)++] = (CheckpointMeta){k, v};
    }
    return meta;
}

static ModxStatus convert(const char *in, const char *out, const char *to, const char *config, const char *hf_config,
                          CkptNaming *from_out, CkptNaming *to_out) {
    SafeTensors *st = NULL;
    ClipModel *m = NULL;
    CkptNaming from = CKPT_NAMING_OPENCLIP, dest = CKPT_NAMING_OPENCLIP;
    MODX_TRY(safetensors_open(&st, in));
    ModxStatus s = ckpt_naming_detect(st, &from);
    if (s == MODX_OK && to && !ckpt_naming_parse(to, &dest))
        s = modx_fail(MODX_ERR_INVALID, "--to '%s': expected openclip or hf", to);
    if (s == MODX_OK && !to) dest = from == CKPT_NAMING_HF ? CKPT_NAMING_OPENCLIP : CKPT_NAMING_HF;
    if (s == MODX_OK && hf_config && dest != CKPT_NAMING_HF)
        s = modx_fail(MODX_ERR_INVALID, "--hf-config is for --to hf; the output naming is %s", ckpt_naming_name(dest));
    if (s == MODX_OK) s = checkpoint_load(&m, in, config);
    int n_meta = 0;
    CheckpointMeta *meta = s == MODX_OK ? pass_meta(st, &n_meta) : NULL;
    if (s == MODX_OK && !meta) s = MODX_ERR_NOMEM;
    if (s == MODX_OK) s = checkpoint_save_named(out, m, m->params, meta, n_meta, dest);
    if (s == MODX_OK && hf_config) {
        char *json = hf_config_to_json(&m->cfg);
        s = json ? io_write_atomic(hf_config, json, strlen(json)) : MODX_ERR_NOMEM;
        free(json);
    }
    free(meta);
    clip_model_free(m);
    safetensors_close(st);
    *from_out = from, *to_out = dest;
    return s;
}

MODX_COMMAND(convert, "convert", "rewrite a checkpoint with OpenCLIP or Hugging Face tensor names") {
    if (cli_wants_help(argc, argv)) return fputs(usage, stdout), 0;
    CliOpt o[] = {{"--to", 1, 0}, {"--config", 1, 0}, {"--hf-config", 1, 0}};
    const char *pos[2];
    int npos;
    if (cli_parse(argc, argv, o, 3, pos, 2, &npos)) return 2;
    if (npos != 2) return fputs(usage, stderr), 2;
    if (o[0].value && strcmp(o[0].value, "openclip") && strcmp(o[0].value, "hf")) {
        fprintf(stderr, "modx convert: --to '%s': expected openclip or hf\n", o[0].value);
        return 2;
    }
    if (!strcmp(pos[0], pos[1])) {
        fprintf(stderr, "modx convert: IN and OUT are the same file (%s); write to another path\n", pos[0]);
        return 2;
    }
    CkptNaming from = CKPT_NAMING_OPENCLIP, to = CKPT_NAMING_OPENCLIP;
    if (convert(pos[0], pos[1], o[0].value, o[1].value, o[2].value, &from, &to) != MODX_OK)
        return cli_report_error("convert");
    printf("wrote %s (%s names) from %s (%s names)\n", pos[1], ckpt_naming_name(to), pos[0], ckpt_naming_name(from));
    return 0;
}
