/* modx data prepare / modx data emoji (dispatched from cmd_data.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "io/file.h"
#include "cli/data_read.h"
#include "data/dataset.h"
#include "data/emoji.h"
#include "data/image.h"
#include "data/prepare.h"
#include "train/progress.h"


/* The output folder, with its parents. */
static int make_dir(const char *cmd, const char *dir) {
    if (io_mkdir_p(dir) == MODX_OK) return 0;
    fprintf(stderr, "modx %s: cannot create the output folder %s: %s\n", cmd, dir, modx_last_error());
    return 1;
}

/* An existing cache is replaced only with --force. 1: refused. */
static int refuse_existing(const char *cmd, const char *dir, int force) {
    char path[4096];
    snprintf(path, sizeof path, "%s/dataset.cache", dir);
    if (force || !io_file_exists(path)) return 0;
    fprintf(stderr, "modx %s: %s already holds a prepared cache (%s); pass --force to replace it, or choose "
            "another --out\n", cmd, dir, path);
    return 1;
}

/* The decoding progress line: rewritten in place on a terminal, a plain line
 * every 10 s (and at the end) otherwise; stderr, as the training progress. */
static void prepare_progress(void *ctx, size_t done, size_t total, double seconds) {
    Progress *p = ctx;
    double now = progress_now();
    if (done < total && now - p->last_print < (p->tty ? 0.2 : p->interval)) return;
    p->last_print = now;
    double rate = seconds > 0 ? (double)done / seconds : 0;
    long eta = rate > 0 ? (long)((double)(total - done) / rate + 0.5) : -1;
    char line[160];
    snprintf(line, sizeof line, "prepare: decoded %zu/%zu images (%3d%%)  %.0f images/s  ETA %s%ldm%02lds", done, total,
             total ? (int)(100 * done / total) : 100, rate, eta < 0 ? "?" : "", eta < 0 ? 0 : eta / 60,
             eta < 0 ? 0 : eta % 60);
    if (p->tty) fprintf(p->out, "\r%s\033[K%s", line, done == total ? "\n" : "");
    else fprintf(p->out, "%s\n", line);
    fflush(p->out);
}

/* --max-image-pixels N (absent: the default limit); 1 when the value is invalid. */
static int max_pixels_option(const char *cmd, const char *text, uint64_t *out) {
    long v = 0;
    if (text && cli_int(cmd, "--max-image-pixels", text, 1, IMAGE_MAX_PIXELS, &v)) return 1;
    *out = (uint64_t)v; /* 0: IMAGE_DEFAULT_MAX_PIXELS */
    return 0;
}

static int run_prepare(const char *cmd, const Dataset *ds, const char *vocab, long size, long context, int skip_bad,
                       uint64_t max_pixels, const char *out_dir) {
    if (make_dir(cmd, out_dir)) return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/dataset.cache", out_dir);
    Progress pr;
    progress_init(&pr, 0);
    PrepareOptions po = {.vocab_path = vocab, .image_size = (int)size, .context = (int)context, .skip_bad = skip_bad,
                         .progress = prepare_progress, .progress_ctx = &pr,
                         .max_image_pixels = max_pixels};
    PrepareReport rep;
    if (data_prepare(ds, &po, path, &rep) != MODX_OK) {
        prepare_report_free(&rep);
        return cli_report_error(cmd);
    }
    printf("wrote %s: %zu images, %zu captions, %zu domains, %ld px, context %ld\n", path, rep.n_images, rep.n_captions,
           ds->n_domains, size, context);
    data_print_skips(stdout, " while decoding/tokenizing", rep.skipped, rep.n_skipped);
    prepare_report_free(&rep);
    return 0;
}

/* --test-fraction F (in (0, 1)) and its --seed; --split (a filter at reading)
 * would drop the images without a split before they get one. 2: refused. */
static int test_split_options(const char *cmd, const char *frac, const char *seed_text, const char *split,
                              double *fraction, long *seed) {
    if (seed_text && !frac) return fprintf(stderr, "modx %s: --seed goes with --test-fraction\n", cmd), 2;
    if (!frac) return 0;
    if (cli_double(cmd, "--test-fraction", frac, fraction)) return 2;
    if (!(*fraction > 0 && *fraction < 1))
        return fprintf(stderr, "modx %s: --test-fraction expects a number in (0, 1), got '%s'\n", cmd, frac), 2;
    if (seed_text && cli_int(cmd, "--seed", seed_text, 0, 2147483647L, seed)) return 2;
    if (split) return fprintf(stderr, "modx %s: --split and --test-fraction do not go together\n", cmd), 2;
    return 0;
}

int data_prepare_cmd(int argc, char **argv) {
    const char *cmd = "data prepare";
    if (cli_wants_help(argc, argv)) {
        printf("usage: modx data prepare --format F --input FILE [--images DIR] [--split S] [--domain NAME]\n"
               "                         [--csv-* / --wds-domain options] --vocab FILE --size S [--context T]\n"
               "                         [--skip-bad] [--force] [--test-fraction F [--seed N]] --out DIR\n"
               "Decodes every image once (resize shorter side to S, bicubic, centre crop), tokenizes every\n"
               "caption (context T, default 77) and writes DIR/dataset.cache (see src/data/cache.h).\n");
        data_print_read_help(stdout);
        printf("  --vocab FILE    BPE merges file; its CRC-32 is stored so a mismatched tokenizer is detected\n"
               "  --size S        image size in pixels\n"
               "  --context T     caption context length in tokens (default 77)\n"
               "  --out DIR       output folder (DIR/dataset.cache; created with its parents)\n"
               "  --force         replace a cache already in DIR (refused otherwise)\n"
               "  --test-fraction F  put this fraction of the images that have no split (a manifest line without\n"
               "                  \"split\") in test, the rest in train: a seeded shuffle of images, or of groups\n"
               "                  when lines give \"group\" (a group's images never straddle train and test);\n"
               "                  default: none, such images keep the split 'none'\n"
               "  --seed N        the --test-fraction shuffle's seed (default 0)\n"
               "  --max-image-pixels N  refuse an image whose header declares more than N pixels (width x\n"
               "                  height; default %llu = 8192^2, at most %u); decoding holds 4 bytes per pixel\n",
               (unsigned long long)IMAGE_DEFAULT_MAX_PIXELS, IMAGE_MAX_PIXELS);
        return 0;
    }
    CliOpt o[] = {READ_OPTS, {"--vocab", 1, NULL}, {"--size", 1, NULL}, {"--context", 1, NULL}, {"--out", 1, NULL},
                  {"--max-image-pixels", 1, NULL}, {"--force", 0, NULL}, {"--test-fraction", 1, NULL},
                  {"--seed", 1, NULL}};
    enum { O_VOCAB = N_READ_OPTS, O_SIZE, O_CONTEXT, O_OUT, O_MAX_PIXELS, O_FORCE, O_TEST, O_SEED, O_COUNT };
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, o, O_COUNT, pos, 0, &npos)) return 2;
    long size = 0, context = 77;
    uint64_t max_pixels;
    if (max_pixels_option(cmd, o[O_MAX_PIXELS].value, &max_pixels)) return 2;
    if (cli_require(cmd, &o[O_VOCAB]) || cli_require(cmd, &o[O_SIZE]) || cli_require(cmd, &o[O_OUT])) return 2;
    if (cli_int(cmd, "--size", o[O_SIZE].value, 1, 4096, &size)) return 2;
    if (o[O_CONTEXT].value && cli_int(cmd, "--context", o[O_CONTEXT].value, 2, 4096, &context)) return 2;
    double test_fraction = 0;
    long seed = 0;
    if (test_split_options(cmd, o[O_TEST].value, o[O_SEED].value, o[3].value, &test_fraction, &seed)) return 2;
    if (refuse_existing(cmd, o[O_OUT].value, o[O_FORCE].value != NULL)) return 1;
    Dataset ds;
    int rc = data_read_dataset(cmd, o, argc, argv, &ds);
    if (rc) return rc;
    size_t n_test = 0;
    if (test_fraction > 0 && dataset_assign_test_split(&ds, test_fraction, (uint64_t)seed, &n_test) != MODX_OK) {
        dataset_free(&ds);
        return cli_report_error(cmd);
    }
    if (test_fraction > 0) printf("test split: %zu images put in test (fraction %g, seed %ld)\n", n_test, test_fraction, seed);
    data_print_skips(stdout, " while reading", ds.skipped, ds.n_skipped);
    rc = run_prepare(cmd, &ds, o[O_VOCAB].value, size, context, o[5].value != NULL, max_pixels, o[O_OUT].value);
    dataset_free(&ds);
    return rc;
}

int data_emoji_cmd(int argc, char **argv) {
    const char *cmd = "data emoji";
    if (cli_wants_help(argc, argv)) {
        printf("usage: modx data emoji --out DIR [--npm DIR] [--vocab FILE --size S] [--context T] [--seed N]\n"
               "                       [--test-fraction F]\n"
               "Builds the embedded emoji data: one domain per vendor (apple, google, twitter, facebook)\n"
               "from the npm packages in DIR (default third_party/npm; install with scripts/setup_npm.sh),\n"
               "four caption templates per image (see src/data/emoji.h), a train/test split by emoji\n"
               "(seeded, default seed 0, 10%% test, the same for every vendor). Writes DIR/dataset.cache and\n"
               "DIR/captions.txt (one line per caption, e.g. to train a tokenizer). Re-running gives\n"
               "byte-identical files. Without --vocab only captions.txt is written.\n"
               "  --npm DIR          the npm packages' folder (default third_party/npm)\n"
               "  --vocab FILE       BPE merges file to tokenize with (default: none, captions.txt only)\n"
               "  --size S           image size in pixels (required with --vocab)\n"
               "  --context T        caption context length in tokens (default 77)\n"
               "  --seed N           the train/test split's seed (default 0)\n"
               "  --test-fraction F  the fraction of base emoji held out for test (default 0.1)\n"
               "  --out DIR          output folder (required)\n");
        return 0;
    }
    CliOpt o[] = {{"--npm", 1, NULL}, {"--vocab", 1, NULL}, {"--size", 1, NULL}, {"--context", 1, NULL},
                  {"--seed", 1, NULL}, {"--test-fraction", 1, NULL}, {"--out", 1, NULL}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, o, 7, pos, 0, &npos)) return 2;
    if (!o[6].value || (o[1].value && !o[2].value)) {
        fprintf(stderr, "modx %s: --out is required, and --size with --vocab (see --help)\n", cmd);
        return 2;
    }
    long size = 0, context = 77, seed = 0;
    double frac = 0.1;
    if (o[2].value && cli_int(cmd, "--size", o[2].value, 1, 4096, &size)) return 2;
    if (o[3].value && cli_int(cmd, "--context", o[3].value, 2, 4096, &context)) return 2;
    if (o[4].value && cli_int(cmd, "--seed", o[4].value, 0, 2147483647L, &seed)) return 2;
    if (o[5].value && cli_double(cmd, "--test-fraction", o[5].value, &frac)) return 2;
    Dataset ds;
    dataset_init(&ds);
    EmojiOptions eo = {.seed = (uint64_t)seed, .test_fraction = frac};
    EmojiReport er;
    if (emoji_build_dataset(&ds, o[0].value ? o[0].value : "third_party/npm", &eo, &er) != MODX_OK) {
        dataset_free(&ds);
        return cli_report_error(cmd);
    }
    printf("emoji: %zu base emojis, %zu of them test (seed %ld)\n", er.n_base_emoji, er.n_test_base_emoji, seed);
    for (int v = 0; v < EMOJI_N_VENDORS; v++) {
        printf("  %-9s train %zu images / %zu captions, test %zu images / %zu captions", EMOJI_VENDORS[v], er.images[v][0],
               er.captions[v][0], er.images[v][1], er.captions[v][1]);
        if (er.unlabelled[v]) printf(", %zu images without a label left out (e.g. %s)", er.unlabelled[v], er.first_unlabelled[v]);
        printf("\n");
    }
    int rc = make_dir(cmd, o[6].value);
    if (!rc) {
        char path[4096];
        snprintf(path, sizeof path, "%s/captions.txt", o[6].value);
        FILE *f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, "modx %s: cannot write %s\n", cmd, path);
            rc = 1;
        } else {
            for (size_t i = 0; i < ds.n_captions; i++) fprintf(f, "%s\n", ds.captions[i].text);
            if (fclose(f) != 0) {
                fprintf(stderr, "modx %s: cannot write %s\n", cmd, path);
                rc = 1;
            }
        }
    }
    if (!rc && o[1].value) rc = run_prepare(cmd, &ds, o[1].value, size, context, 0, 0, o[6].value);
    else if (!rc) printf("no --vocab: wrote only %s/captions.txt (train a tokenizer on it, then run again with --vocab)\n",
                         o[6].value);
    dataset_free(&ds);
    return rc;
}
