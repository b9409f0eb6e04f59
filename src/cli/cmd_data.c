/* modx data <sub>: dataset formats, the binary cache and the emoji data.
 *   prepare  decode + tokenize a dataset into a binary cache (cmd_data_build.c)
 *   emoji    build the embedded emoji data (cmd_data_build.c)
 *   check    read a dataset's annotations and report counts and skipped items
 *   info     validate a cache and print what it holds
 *   phases   print how a cache's images are cut into phases */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/data_read.h"
#include "data/cache.h"
#include "data/cache_paths.h"
#include "data/dataset.h"
#include "data/formats.h"
#include "data/phases.h"

void data_print_read_help(FILE *f) {
    fprintf(f, "  --format F      the dataset's format, one of:\n");
    for (size_t k = 0; k < DATASET_N_FORMATS; k++)
        fprintf(f, "                    %-9s %s\n", DATASET_FORMATS[k].name, DATASET_FORMATS[k].summary);
    fputs("  --input FILE    the manifest .jsonl, dataset_coco.json / dataset_flickr30k.json, captions_*.json, the\n"
          "                  CSV file, or wds shard patterns ('train-{0000..0127}.tar', '{a,b}.tar'; the\n"
          "                  option given several times, or patterns joined by '::', are read in order)\n"
          "  --images DIR    image root (karpathy: DIR/filepath/filename or DIR/filename; coco: DIR/file_name;\n"
          "                  csv: paths relative to DIR, default the CSV's folder); manifests resolve paths\n"
          "                  against their own folder\n"
          "  --split S       keep these splits, e.g. train+restval (default: all)\n"
          "  --domain NAME   domain of items that name none (default: manifest, wds, csv 'default', karpathy the\n"
          "                  file's \"dataset\", coco 'coco')\n"
          "  --skip-bad      leave bad items out and list them, instead of failing on the first\n"
          "  --csv-img-key K      csv: the image path column (default filepath)\n"
          "  --csv-caption-key K  csv: the caption column (default title)\n"
          "  --csv-separator C    csv: the field separator: tab (default), ',', ';', ...\n"
          "  --csv-domain-key K   csv: the domain column (default: 'domain' when the header has it)\n"
          "  --csv-split-key K    csv: the split column (default: 'split' when the header has it)\n"
          "  --wds-domain D  wds: a sample's domain: 'shard' (the shard's name) or 'json:FIELD' (default: the\n"
          "                  .json's \"domain\" when present, else --domain)\n",
          f);
}

/* --csv-separator: one character, or "tab" / "\\t". */
static int parse_separator(const char *cmd, const char *text, char *sep) {
    if (!strcmp(text, "tab") || !strcmp(text, "\\t") || !strcmp(text, "\t")) *sep = '\t';
    else if (strlen(text) == 1 && text[0] != '"' && text[0] != '\n' && text[0] != '\r') *sep = text[0];
    else return fprintf(stderr, "modx %s: --csv-separator: expected one character or 'tab', found '%s'\n", cmd, text), 2;
    return 0;
}

int data_read_dataset(const char *cmd, const CliOpt *o, int argc, char **argv, Dataset *ds) {
    const char *format = o[0].value;
    DatasetOptions opt = {.skip_bad = o[5].value != NULL, .domain = o[4].value};
    dataset_init(ds);
    if (!format || !o[1].value) {
        fprintf(stderr, "modx %s: --format and --input are required (see modx %s --help)\n", cmd, cmd);
        return 2;
    }
    if (o[3].value && dataset_parse_splits(o[3].value, &opt.splits) != MODX_OK) return cli_report_error(cmd);
    const char *inputs[256];
    size_t n_inputs = 0;
    for (int i = 1; i < argc && n_inputs < 256; i++) {
        if (!strcmp(argv[i], "--input") && i + 1 < argc) inputs[n_inputs++] = argv[++i];
        else if (!strncmp(argv[i], "--input=", 8)) inputs[n_inputs++] = argv[i] + 8;
    }
    DatasetSource src = {.inputs = inputs, .n_inputs = n_inputs, .images = o[2].value, .csv_img_key = o[6].value,
                         .csv_caption_key = o[7].value, .csv_domain_key = o[9].value, .csv_split_key = o[10].value,
                         .wds_domain = o[11].value};
    if (o[8].value && parse_separator(cmd, o[8].value, &src.csv_separator)) return 2;
    ModxStatus st = dataset_read_source(ds, format, &src, &opt);
    if (st != MODX_OK) {
        dataset_free(ds);
        fprintf(stderr, "modx %s: %s\n", cmd, modx_last_error());
        return st == MODX_ERR_INVALID ? 2 : 1;
    }
    return 0;
}

void data_print_skips(FILE *f, const char *when, char *const *msgs, size_t n) {
    if (!n) return;
    fprintf(f, "skipped %zu item(s)%s:\n", n, when);
    for (size_t i = 0; i < n; i++) fprintf(f, "  %s\n", msgs[i]);
}

static void print_dataset(const Dataset *ds) {
    size_t per_split[5] = {0};
    for (size_t i = 0; i < ds->n_images; i++) per_split[ds->images[i].split]++;
    printf("images %zu, captions %zu, domains %zu, skipped %zu, not in the selected splits %zu\n", ds->n_images,
           ds->n_captions, ds->n_domains, ds->n_skipped, ds->n_filtered);
    for (int s = 0; s < 5; s++)
        if (per_split[s]) printf("  split %-8s %zu images\n", dataset_split_name(s), per_split[s]);
    for (size_t d = 0; d < ds->n_domains; d++) {
        size_t ni = 0;
        for (size_t i = 0; i < ds->n_images; i++) ni += ds->images[i].domain == d;
        printf("  domain %-16s %zu images\n", ds->domains[d], ni);
    }
}

static int data_check(int argc, char **argv) {
    const char *cmd = "data check";
    if (cli_wants_help(argc, argv)) {
        printf("usage: modx data check --format F --input FILE [--images DIR] [--split S] [--domain NAME] [--skip-bad]\n"
               "                       [--csv-* / --wds-domain options]\n"
               "Reads a dataset's annotations (no images are opened) and prints its counts;\n"
               "with --skip-bad, lists every item that was left out and why.\n");
        data_print_read_help(stdout);
        return 0;
    }
    CliOpt o[] = {READ_OPTS};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, o, N_READ_OPTS, pos, 0, &npos)) return 2;
    Dataset ds;
    int rc = data_read_dataset(cmd, o, argc, argv, &ds);
    if (rc) return rc;
    print_dataset(&ds);
    data_print_skips(stdout, "", ds.skipped, ds.n_skipped);
    dataset_free(&ds);
    return 0;
}

/* data info --list: index, path, split, domain of every image. */
static int list_images(const char *cmd, const Cache *c, const char *path) {
    char **paths = NULL;
    if (cache_paths_read(path, c->n_images, &paths) != MODX_OK) return cli_report_error(cmd);
    printf("index\tpath\tsplit\tdomain\n");
    for (uint64_t i = 0; i < c->n_images; i++)
        printf("%llu\t%s\t%s\t%s\n", (unsigned long long)i, paths ? paths[i] : "-",
               dataset_split_name(c->image_split[i]), c->domain_names[c->image_domain[i]]);
    cache_paths_free(paths, c->n_images);
    return 0;
}

static int data_info(int argc, char **argv) {
    const char *cmd = "data info";
    if (cli_wants_help(argc, argv)) {
        printf("usage: modx data info CACHE [--no-crc] [--list]\n"
               "Validates a dataset cache (structure, every index, and the section checksums unless --no-crc)\n"
               "and prints its counts, sizes, domains and splits.\n"
               "  --no-crc  skip the section checksums (default: checked)\n"
               "  --list    also print one line per image: index, path, split, domain (tab-separated; the\n"
               "            path as the annotations gave it, '-' for a cache written without its paths)\n");
        return 0;
    }
    CliOpt o[] = {{"--no-crc", 0, NULL}, {"--list", 0, NULL}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, o, 2, pos, 1, &npos)) return 2;
    if (npos != 1) {
        fprintf(stderr, "modx %s: expected one cache file (see --help)\n", cmd);
        return 2;
    }
    Cache *c;
    if (cache_open(&c, pos[0], o[0].value == NULL) != MODX_OK) return cli_report_error(cmd);
    printf("%s: images %llu, captions %llu, domains %llu, image size %d, context %d, vocab size %d, vocab crc %08x\n",
           pos[0], (unsigned long long)c->n_images, (unsigned long long)c->n_captions, (unsigned long long)c->n_domains,
           c->image_size, c->context, c->vocab_size, c->vocab_crc);
    for (uint64_t d = 0; d < c->n_domains; d++) {
        size_t per[5] = {0}, caps = 0;
        for (uint64_t i = 0; i < c->n_images; i++)
            if (c->image_domain[i] == d) per[c->image_split[i]]++;
        for (uint64_t k = 0; k < c->n_captions; k++) caps += c->image_domain[c->caption_image[k]] == d;
        printf("  domain %-12s images: train %zu, val %zu, test %zu, restval %zu, none %zu; captions %zu\n",
               c->domain_names[d], per[1], per[2], per[3], per[4], per[0], caps);
    }
    int rc = o[1].value ? list_images(cmd, c, pos[0]) : 0;
    cache_close(c);
    return rc;
}

static int data_phases(int argc, char **argv) {
    const char *cmd = "data phases";
    if (cli_wants_help(argc, argv)) {
        printf("usage: modx data phases CACHE --mode contiguous|random|domain [--phases N] [--seed S] [--split S]\n"
               "                        [--order a,b,...]\n"
               "Prints how the cache's images (of the selected splits) are cut into phases.\n"
               "  --mode M       (required) contiguous: N consecutive, nearly equal parts (the paper's split);\n"
               "                 random: a seeded random even split into N parts; domain: one phase per domain\n"
               "  --phases N     the number of phases (required for contiguous and random)\n"
               "  --seed S       the shuffle's seed for random (default 0)\n"
               "  --split S      the splits cut into phases (default train)\n"
               "  --order a,b    domain mode: the domains' order (default: the cache's)\n");
        return 0;
    }
    CliOpt o[] = {{"--mode", 1, NULL}, {"--phases", 1, NULL}, {"--seed", 1, NULL}, {"--split", 1, NULL}, {"--order", 1, NULL}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, o, 5, pos, 1, &npos)) return 2;
    if (npos != 1 || !o[0].value) {
        fprintf(stderr, "modx %s: expected a cache file and --mode (see --help)\n", cmd);
        return 2;
    }
    PhaseMode mode;
    if (phases_parse_mode(o[0].value, &mode) != MODX_OK) return cli_report_error(cmd);
    long n_phases = 0, seed = 0;
    if (o[1].value && cli_int(cmd, "--phases", o[1].value, 1, 1000000, &n_phases)) return 2;
    if (o[2].value && cli_int(cmd, "--seed", o[2].value, 0, 2147483647L, &seed)) return 2;
    if (mode != PHASES_DOMAIN && !o[1].value) {
        fprintf(stderr, "modx %s: --mode %s needs --phases N\n", cmd, o[0].value);
        return 2;
    }
    unsigned mask = 1u << DATASET_SPLIT_TRAIN;
    if (o[3].value && dataset_parse_splits(o[3].value, &mask) != MODX_OK) return cli_report_error(cmd);
    char *order_buf = o[4].value ? strdup(o[4].value) : NULL;
    const char *order[256];
    size_t n_order = 0;
    for (char *tok = order_buf ? strtok(order_buf, ",") : NULL; tok && n_order < 256; tok = strtok(NULL, ","))
        order[n_order++] = tok;
    Cache *c = NULL;
    uint32_t *images = NULL;
    size_t n = 0;
    PhaseStream ps = {0};
    int rc = 0;
    if (cache_open(&c, pos[0], 0) != MODX_OK || phases_subset_by_split(c, mask, &images, &n) != MODX_OK ||
        phases_split(&ps, images, n, mode, (size_t)n_phases, (uint64_t)seed, c->image_domain, c->domain_names,
                     (size_t)c->n_domains, n_order ? order : NULL, n_order) != MODX_OK) {
        rc = cli_report_error(cmd);
    } else {
        for (size_t k = 0; k < ps.n_phases; k++)
            printf("%-12s %zu images (first %u, last %u)\n", ps.phases[k].name, ps.phases[k].n_images,
                   ps.phases[k].images[0], ps.phases[k].images[ps.phases[k].n_images - 1]);
    }
    phases_free(&ps);
    free(images);
    cache_close(c);
    free(order_buf);
    return rc;
}

typedef struct {
    const char *name, *summary;
    int (*run)(int argc, char **argv);
} DataSub;

int data_prepare_cmd(int argc, char **argv); /* cmd_data_build.c */
int data_emoji_cmd(int argc, char **argv);

static const DataSub SUBS[] = {
    {"prepare", "decode + tokenize a dataset into a binary cache", data_prepare_cmd},
    {"emoji", "build the embedded emoji data (one domain per vendor)", data_emoji_cmd},
    {"check", "read a dataset's annotations, print counts and skipped items", data_check},
    {"info", "validate a dataset cache and print what it holds", data_info},
    {"phases", "print how a cache's images are cut into phases", data_phases},
};

MODX_COMMAND(data, "data", "datasets: prepare, emoji, check, info, phases") {
    size_t n_subs = sizeof SUBS / sizeof *SUBS;
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: modx data <command> [options]   (modx data <command> --help for its options)\n");
        for (size_t k = 0; k < n_subs; k++) printf("  %-9s %s\n", SUBS[k].name, SUBS[k].summary);
        return argc < 2 ? 2 : 0;
    }
    for (size_t k = 0; k < n_subs; k++)
        if (!strcmp(argv[1], SUBS[k].name)) {
            /* The subcommand sees "data <sub>" as its name. */
            char name[64];
            snprintf(name, sizeof name, "data %s", SUBS[k].name);
            argv[1] = name;
            return SUBS[k].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "modx data: unknown command '%s' (see modx data --help)\n", argv[1]);
    return 2;
}
