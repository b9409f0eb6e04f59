/* modx zeroshot: zero-shot classification of a cache's images with a model
 * (src/eval/zeroshot_run.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "data/cache.h"
#include "data/cache_paths.h"
#include "data/dataset.h"
#include "data/phases.h"
#include "eval/zeroshot_labels.h"
#include "eval/zeroshot_run.h"
#include "io/checkpoint.h"
#include "io/file.h"
#include "tok/bpe.h"

static const char zs_usage[] =
    "usage: modx zeroshot --ckpt CKPT --data CACHE --vocab FILE --labels domain|caption|LABELS.jsonl\n"
    "                     [--classes FILE] [--templates FILE] [--split S] [--batch B] [--config CFG.json]\n"
    "Zero-shot classification: each class's prompts (default \"" ZEROSHOT_DEFAULT_TEMPLATE "\") are encoded\n"
    "with the text tower and averaged; each image gets the class of highest cosine. Prints top-1\n"
    "and top-5 accuracy (%).\n"
    "  --ckpt CKPT            the model (required)\n"
    "  --data CACHE           the dataset cache, or the folder `modx data prepare` wrote (required)\n"
    "  --labels SOURCE        (required) where an image's class name comes from: 'domain', its domain\n"
    "                         in the cache, or 'caption', its first caption (e.g. the emoji data's\n"
    "                         name), for the images of --split; or FILE.jsonl, one labelled image a\n"
    "                         line: {\"image\": INDEX or \"PATH\", \"label\": \"name\"}, INDEX = the image's\n"
    "                         index in the cache, PATH = its path as the manifest gave it (`modx data\n"
    "                         info CACHE --list` prints both); the images listed are the ones\n"
    "                         classified (--split does not apply)\n"
    "  --split S              with --labels domain or caption: the splits classified (default test)\n"
    "  --config CFG.json      the model config, used only when CKPT carries none (default: CKPT's)\n"
    "  --classes FILE         class names, one per line (blank lines ignored); default: the cache's\n"
    "                         domain names (--labels domain) or the labels in order of first use\n"
    "                         (the images' order).\n"
    "                         A label that is not a class is an error\n"
    "  --templates FILE       prompt templates, one per line, each with {} for the class name\n"
    "                         (default: the one above)\n"
    "  --vocab FILE           the CLIP BPE merges file the model was trained with\n"
    "  --batch B              encoding batch size (default 64)\n";

MODX_COMMAND(zeroshot, "zeroshot", "zero-shot classification of a cache's images with a model") {
    if (cli_wants_help(argc, argv)) return fputs(zs_usage, stdout), 0;
    enum { O_CKPT, O_DATA, O_VOCAB, O_LABELS, O_CLASSES, O_TEMPLATES, O_SPLIT, O_BATCH, O_CONFIG, O_N };
    CliOpt o[O_N] = {{"--ckpt", 1, 0},    {"--data", 1, 0},      {"--vocab", 1, 0}, {"--labels", 1, 0},
                     {"--classes", 1, 0}, {"--templates", 1, 0}, {"--split", 1, 0}, {"--batch", 1, 0},
                     {"--config", 1, 0}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, o, O_N, pos, 0, &npos)) return 2;
    for (int k = O_CKPT; k <= O_LABELS; k++)
        if (cli_require("zeroshot", &o[k])) return 2;
    int by_domain = !strcmp(o[O_LABELS].value, "domain"), by_caption = !strcmp(o[O_LABELS].value, "caption");
    if (!by_domain && !by_caption && o[O_SPLIT].value) {
        fputs("modx zeroshot: --split goes with --labels domain or caption (a labels file lists its images)\n", stderr);
        return 2;
    }
    long batch = 64;
    if (o[O_BATCH].value && cli_int("zeroshot", "--batch", o[O_BATCH].value, 1, 1 << 20, &batch)) return 2;
    unsigned mask = 0;
    if ((by_domain || by_caption) &&
        dataset_parse_splits(o[O_SPLIT].value ? o[O_SPLIT].value : "test", &mask) != MODX_OK) {
        fprintf(stderr, "modx zeroshot: --split: %s\n", modx_last_error());
        return 2;
    }
    ZsNames classes = {0}, templates = {0};
    ZsLabelled z = {0};
    Cache *c = NULL;
    Bpe *bpe = NULL;
    ClipModel *m = NULL;
    uint32_t *images = NULL;
    int32_t *labels = NULL;
    size_t n = 0;
    ModxStatus st = zs_read_templates(o[O_TEMPLATES].value, &templates);
    if (!st && o[O_CLASSES].value) st = zs_read_lines(o[O_CLASSES].value, "class names", &classes);
    if (!st) st = cache_open(&c, o[O_DATA].value, 1);
    if (!st && (by_domain || by_caption)) st = phases_subset_by_split(c, mask, &images, &n);
    if (!st && (by_domain || by_caption))
        st = zs_label_images(&z, c, by_domain ? ZS_LABELS_DOMAIN : ZS_LABELS_CAPTION, images, n);
    else if (!st) st = zs_label_file(&z, c, o[O_DATA].value, o[O_LABELS].value);
    ZsNames *cls = classes.n ? &classes : &z.seen;
    if (!st) st = zs_class_labels(cls, &z, o[O_CLASSES].value, &labels);
    if (!st) st = bpe_load(&bpe, o[O_VOCAB].value);
    if (!st) st = checkpoint_load_default(&m, o[O_CKPT].value, NULL, o[O_CONFIG].value);
    if (!st) st = clip_model_check_finite(m, o[O_CKPT].value);
    ZeroShotResult r;
    if (!st)
        st = zeroshot_run(&r, m, bpe, c, o[O_DATA].value, z.images, labels, z.n, (const char *const *)cls->items,
                          cls->n, (const char *const *)templates.items, templates.n, (int)batch, NULL);
    int rc = st ? cli_report_error("zeroshot") : 0;
    if (!st)
        printf("zero-shot: %d images, %d classes, %d template%s: top-1 %.2f%%  top-5 %.2f%%\n", r.n, cls->n,
               templates.n, templates.n == 1 ? "" : "s", r.top1, r.top5);
    zs_names_free(&classes), zs_names_free(&templates), zs_labelled_free(&z);
    free(images), free(labels);
    clip_model_free(m);
    bpe_free(bpe);
    cache_close(c);
    return rc;
}
