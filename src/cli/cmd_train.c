/* modx train: one model trained jointly on one dataset (the building block of
 * phase 0 and the joint baseline), and modx eval: retrieval metrics of a
 * checkpoint on a dataset cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/memory_budget.h"
#include "core/dist.h"
#include "data/cache.h"
#include "data/dataset.h"
#include "data/selection.h"
#include "eval/encode.h"
#include "io/checkpoint.h"
#include "io/file.h"
#include "train/runlog.h"
#include "train/trainer.h"

/* The images of a cache whose split is in `splits` and domain in the comma list `domains` (NULL = any). */
static int select_images(const char *cmd, const Cache *c, const char *splits, const char *domains, uint32_t **out,
                         size_t *n) {
    Selection sel = {0};
    if (dataset_parse_splits(splits, &sel.splits) != MODX_OK) return cli_report_error(cmd);
    char *copy = domains ? strdup(domains) : NULL;
    const char *names[4096];
    if (domains && !copy) return fprintf(stderr, "modx %s: out of memory\n", cmd), 1;
    int rc = 0;
    if (copy && selection_parse_domain_list(copy, names, 4096, &sel.n_domains) != MODX_OK) rc = 2;
    sel.domains = names;
    if (!rc && selection_apply(c, &sel, out, n) != MODX_OK) rc = 2;
    if (rc) fprintf(stderr, "modx %s: %s\n", cmd, modx_last_error());
    free(copy);
    return rc;
}

/* The model to train: a fresh one of `config` (seeded) or the checkpoint `init`
 * (either naming; `config` then only for a file that carries none),
 * refused before allocation when its training memory at `batch` exceeds `budget`. */
static int train_model(const char *cmd, const char *config, const char *init, int batch, uint64_t budget, uint64_t seed,
                       ClipModel **m) {
    if (init) { /* --config: the config of a checkpoint that carries none, or an HF config.json */
        if (checkpoint_load(m, init, config) != MODX_OK) return cli_report_error(cmd);
        return cli_check_model_memory(cmd, &(*m)->cfg, batch, budget, init);
    }
    ClipConfig cfg;
    if (clip_config_load(&cfg, config) != MODX_OK) return cli_report_error(cmd);
    if (cli_check_model_memory(cmd, &cfg, batch, budget, config)) return 1;
    if (clip_model_new(m, &cfg) != MODX_OK) return cli_report_error(cmd);
    clip_model_init(*m, seed);
    return 0;
}

static const char train_usage[] =
    "usage: modx train --data CACHE (--config CFG.json | --init CKPT [--config CFG.json]) --out DIR [--split S]\n"
    "                  [--domains a,b]\n"
    "                  [--epochs E] [--batch B] [--lr X] [--warmup F] [--weight-decay W] [--seed N]\n"
    "                  [--checkpoint-every K] [--max-memory SIZE] [--precision fp32|bf16] [--quiet]\n"
    "Trains one model with the contrastive loss on the selected images of a cache (default split train):\n"
    "from a fresh initialisation (--config, seeded) or from a checkpoint (--init; OpenCLIP or Hugging Face names,\n"
    "--config only for a file that carries no config, e.g. an OpenCLIP hub file). Writes DIR/model.safetensors\n"
    "(+ model.optim.safetensors) and DIR/metrics.jsonl. With --checkpoint-every K a resume checkpoint is\n"
    "written every K steps (and on SIGINT/SIGTERM); running the same command again continues from it.\n"
    "  --data CACHE          the dataset cache, or the folder `modx data prepare` wrote (required)\n"
    "  --config CFG.json     start from a fresh model of this config (this or --init is required);\n"
    "                        with --init: the config of a checkpoint that carries none\n"
    "  --init CKPT           start from this checkpoint's weights\n"
    "  --out DIR             the output folder, created with its parents (required)\n"
    "  --split S             the splits trained on (default train)\n"
    "  --domains a,b         only images of these domains (default: all)\n"
    "  --epochs E            passes over the images (default 1)\n"
    "  --batch B             pairs per step (default 32)\n"
    "  --lr X                peak learning rate (default 5e-4)\n"
    "  --warmup F            linear warmup as a fraction of the steps, cosine after (default 0.2)\n"
    "  --weight-decay W      AdamW's weight decay (default 0.01)\n"
    "  --seed N              initialisation and loader order (default 0)\n"
    "  --precision P         fp32 or bf16: bf16 runs the model's matrix products on bf16 operands\n"
    "                        with fp32 accumulation (weights, optimizer, losses stay fp32; default fp32)\n"
    "  --checkpoint-every K  steps between resume checkpoints (default 0: only at a signal)\n"
    "  --quiet               no progress line\n" CLI_MAX_MEMORY_HELP;

/* A finished training (its model there, no resume checkpoint) is not trained
 * again into the same folder: its log would get the steps twice. 1: refused. */
static int refuse_finished(const char *cmd, const char *dir) {
    char model[4096], r0[4096], r1[4096];
    snprintf(model, sizeof model, "%s/model.safetensors", dir);
    snprintf(r0, sizeof r0, "%s/resume.safetensors", dir);
    snprintf(r1, sizeof r1, "%s/resume.next.safetensors", dir);
    if (!io_file_exists(model) || io_file_exists(r0) || io_file_exists(r1)) return 0;
    fprintf(stderr, "modx %s: %s already holds a finished training (%s); choose another --out, or remove the folder "
            "to train again\n", cmd, dir, model);
    return 1;
}

/* Trains ph with sp and says what it wrote; a stop by a signal leaves the resume file. */
static int train_and_report(const char *cmd, const TrainSpec *sp, TrainPhase *ph) {
    TrainResult res;
    trainer_install_signals();
    if (trainer_run(sp, ph, &res) != MODX_OK) return cli_report_error(cmd);
    if (res.interrupted) {
        fprintf(stderr, "modx train: interrupted at a resume checkpoint; run the same command again to continue\n");
        return 128 + (int)trainer_stop_requested;
    }
    if (!dist_is_writer()) return 0;
    trainer_resume_remove(ph->resume_path);
    if (res.start == res.steps) /* resumed at its last step: nothing left to train */
        printf("wrote %s: %lld steps on %zu images (all trained before the resume)\n", ph->out_path,
               (long long)res.steps, ph->n_images);
    else
        printf("wrote %s: %lld steps on %zu images, final loss %.4f, %.1f s\n", ph->out_path, (long long)res.steps,
               ph->n_images, res.last_loss, res.seconds);
    return 0;
}

MODX_COMMAND(train, "train", "train one model jointly on one dataset") {
    const char *cmd = "train";
    if (cli_wants_help(argc, argv)) return fputs(train_usage, stdout), 0;
    CliOpt o[] = {{"--data", 1, 0},   {"--config", 1, 0}, {"--init", 1, 0},        {"--out", 1, 0},
                  {"--split", 1, 0},  {"--domains", 1, 0}, {"--epochs", 1, 0},     {"--batch", 1, 0},
                  {"--lr", 1, 0},     {"--warmup", 1, 0}, {"--weight-decay", 1, 0}, {"--seed", 1, 0},
                  {"--checkpoint-every", 1, 0}, {"--quiet", 0, 0}, {"--max-memory", 1, 0},
                  {"--precision", 1, 0}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, o, 16, pos, 0, &npos)) return 2;
    if (cli_require(cmd, &o[0]) || cli_require(cmd, &o[3])) return 2;
    if (!o[1].value && !o[2].value) {
        fprintf(stderr, "modx train: missing required option --config or --init (see modx train --help)\n");
        return 2;
    }
    long epochs = 1, batch = 32, seed = 0, ckpt_every = 0;
    double lr = 5e-4, warmup = 0.2, wd = 0.01;
    if ((o[6].value && cli_int(cmd, "--epochs", o[6].value, 1, 100000, &epochs)) ||
        (o[7].value && cli_int(cmd, "--batch", o[7].value, 2, 65536, &batch)) ||
        (o[8].value && cli_double(cmd, "--lr", o[8].value, &lr)) ||
        (o[9].value && cli_double(cmd, "--warmup", o[9].value, &warmup)) ||
        (o[10].value && cli_double(cmd, "--weight-decay", o[10].value, &wd)) ||
        (o[11].value && cli_int(cmd, "--seed", o[11].value, 0, 2147483647L, &seed)) ||
        (o[12].value && cli_int(cmd, "--checkpoint-every", o[12].value, 0, 2147483647L, &ckpt_every)))
        return 2;
    uint64_t budget;
    if (cli_memory_budget(cmd, o[14].value, &budget)) return 2;
    int precision = 0;
    if (o[15].value && cli_precision(cmd, o[15].value, &precision)) return 2;
    if (!(lr > 0) || !(warmup >= 0 && warmup <= 1) || !(wd >= 0)) {
        fprintf(stderr, "modx train: expected --lr > 0, --warmup in [0, 1], --weight-decay >= 0\n");
        return 2;
    }
    Cache *c = NULL;
    ClipModel *m = NULL;
    uint32_t *images = NULL;
    size_t n = 0;
    RunLog log;
    memset(&log, 0, sizeof log);
    int rc = 0;
    if (cache_open(&c, o[0].value, 1) != MODX_OK) return cli_report_error(cmd);
    rc = train_model(cmd, o[1].value, o[2].value, (int)batch, budget, (uint64_t)seed, &m);
    if (!rc && cache_check_compat(c, o[0].value, m->cfg.vision.image_size, m->cfg.text.context_length, c->vocab_crc) != MODX_OK)
        rc = cli_report_error(cmd);
    if (!rc && c->vocab_size > m->cfg.text.vocab_size) {
        fprintf(stderr, "modx train: %s: the tokenizer has %d ids but the model's vocab_size is %d; set the model "
                "config's \"text_cfg\": {\"vocab_size\": %d} (or more)\n", o[0].value, c->vocab_size,
                m->cfg.text.vocab_size, c->vocab_size);
        rc = 2;
    }
    if (!rc && strlen(o[3].value) > 3000) {
        fprintf(stderr, "modx train: --out path is %zu characters long; at most 3000 are supported\n", strlen(o[3].value));
        rc = 2;
    }
    if (!rc) rc = select_images(cmd, c, o[4].value ? o[4].value : "train", o[5].value, &images, &n);
    if (!rc) rc = refuse_finished(cmd, o[3].value);
    if (!rc && (io_mkdir_p(o[3].value) != MODX_OK || runlog_open(&log, o[3].value) != MODX_OK)) rc = cli_report_error(cmd);
    if (!rc) {
        char out[4096], resume[4096];
        snprintf(out, sizeof out, "%s/model.safetensors", o[3].value);
        snprintf(resume, sizeof resume, "%s/resume.safetensors", o[3].value);
        Progress pr;
        progress_init(&pr, o[13].value != NULL || !dist_is_writer()); /* rank 0 of a job reports */
        TrainSpec sp = {.epochs = (int)epochs, .batch = (int)batch, .lr = lr, .warmup = warmup,
                        .weight_decay = wd, .seed = (uint64_t)seed, .log_every = 10, .checkpoint_every = (int)ckpt_every,
                        .max_memory = budget, .precision = (GemmPrecision)precision};
        TrainPhase ph = {.label = "train", .phase = 0, .model = m, .cache = c, .images = images, .n_images = n,
                         .resume_path = resume, .out_path = out, .log = &log, .progress = &pr};
        rc = train_and_report(cmd, &sp, &ph);
    }
    runlog_close(&log);
    free(images);
    clip_model_free(m);
    cache_close(c);
    return rc;
}

static const char eval_usage[] =
    "usage: modx eval --ckpt CKPT --data CACHE [--split S] [--domains a,b] [--batch N] [--config CFG.json]\n"
    "Image-text retrieval of a checkpoint on the selected images of a cache (default split test) and all\n"
    "their captions: R@1/5/10 image->text and text->image, rsum, median and mean rank (SPEC §5).\n"
    "  --ckpt CKPT        the model (required)\n"
    "  --data CACHE       the dataset cache, or the folder `modx data prepare` wrote (required)\n"
    "  --split S          the splits evaluated, e.g. test or val+test (default test)\n"
    "  --domains a,b      only images of these domains (default: all)\n"
    "  --batch N          encoding batch size (default 128)\n"
    "  --config CFG.json  the model config, needed only when CKPT carries no modx.config metadata\n";

MODX_COMMAND(eval, "eval", "retrieval metrics of a checkpoint on a dataset cache") {
    const char *cmd = "eval";
    if (cli_wants_help(argc, argv)) return fputs(eval_usage, stdout), 0;
    CliOpt o[] = {{"--ckpt", 1, 0}, {"--data", 1, 0}, {"--split", 1, 0}, {"--domains", 1, 0}, {"--batch", 1, 0},
                  {"--config", 1, 0}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, o, 6, pos, 0, &npos)) return 2;
    if (cli_require(cmd, &o[0]) || cli_require(cmd, &o[1])) return 2;
    long batch = 128;
    if (o[4].value && cli_int(cmd, "--batch", o[4].value, 1, 65536, &batch)) return 2;
    Cache *c = NULL;
    ClipModel *m = NULL;
    uint32_t *images = NULL;
    size_t n = 0;
    int rc = 0;
    if (checkpoint_load(&m, o[0].value, o[5].value) != MODX_OK || clip_model_check_finite(m, o[0].value) != MODX_OK ||
        cache_open(&c, o[1].value, 1) != MODX_OK)
        rc = cli_report_error(cmd);
    if (!rc) rc = select_images(cmd, c, o[2].value ? o[2].value : "test", o[3].value, &images, &n);
    if (!rc) {
        EncodedSet es;
        RetrievalMetrics r;
        if (eval_encode(&es, m, c, o[1].value, images, n, (int)batch) != MODX_OK) {
            modx_error_prefix("checkpoint %s: ", o[0].value);
            rc = cli_report_error(cmd);
        } else {
            if (eval_retrieval(&r, &es) != MODX_OK) {
                modx_error_prefix("checkpoint %s: ", o[0].value); /* e.g. features overflowing to inf */
                rc = cli_report_error(cmd);
            } else {
                printf("%d images, %d captions\n", r.n_images, r.n_captions);
                printf("image->text  R@1 %6.2f  R@5 %6.2f  R@10 %6.2f  median rank %g  mean rank %.2f\n", r.i2t_r1,
                       r.i2t_r5, r.i2t_r10, r.i2t_median_rank, r.i2t_mean_rank);
                printf("text->image  R@1 %6.2f  R@5 %6.2f  R@10 %6.2f  median rank %g  mean rank %.2f\n", r.t2i_r1,
                       r.t2i_r5, r.t2i_r10, r.t2i_median_rank, r.t2i_mean_rank);
                printf("rsum %.2f\n", r.rsum);
            }
            encoded_set_free(&es);
        }
    }
    free(images);
    clip_model_free(m);
    cache_close(c);
    return rc;
}
