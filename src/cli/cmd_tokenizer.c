/* modx tokenizer train: learn BPE merges from a caption corpus. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "tok/bpe.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: modx tokenizer train --corpus FILE --size N --out FILE\n"
            "\n"
            "Learns byte-level BPE merges from captions (one per line, UTF-8) after\n"
            "CLIP's text clean-up and pre-tokenising, and writes them in OpenAI's\n"
            "merges format (readable by `modx tokenize --vocab`). Deterministic:\n"
            "ties between equally frequent pairs go to the bytewise smallest pair.\n"
            "\n"
            "  --corpus FILE   captions, one per line\n"
            "  --size N        total vocabulary size: 512 byte symbols + merges + 2\n"
            "                  specials, 514..49408 (fewer merges if the corpus runs out)\n"
            "  --out FILE      merges file to write\n");
}

static int train(int argc, char **argv) {
    CliOpt opts[] = {{"--corpus", 1, NULL}, {"--size", 1, NULL}, {"--out", 1, NULL}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, opts, 3, pos, 0, &npos)) return 2;
    for (int k = 0; k < 3; k++)
        if (!opts[k].value) {
            fprintf(stderr, "modx tokenizer train: %s is required (see modx tokenizer train --help)\n", opts[k].name);
            return 2;
        }
    long size;
    if (cli_int("tokenizer train", "--size", opts[1].value, 514, 49408, &size)) return 2;
    FILE *f = fopen(opts[0].value, "rb");
    if (!f) {
        fprintf(stderr, "modx tokenizer train: cannot open corpus %s\n", opts[0].value);
        return 1;
    }
    char **texts = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n') line[--len] = 0;
        if (strlen(line) != (size_t)len) {
            fprintf(stderr, "modx tokenizer train: %s:%zu: contains a NUL byte; expected UTF-8 text\n", opts[0].value, n + 1);
            rc = 1;
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            char **nt = realloc(texts, cap * sizeof(char *));
            if (!nt) { rc = 1; fprintf(stderr, "modx tokenizer train: out of memory\n"); break; }
            texts = nt;
        }
        if (!(texts[n] = strdup(line))) { rc = 1; fprintf(stderr, "modx tokenizer train: out of memory\n"); break; }
        n++;
    }
    if (!rc && ferror(f)) {
        fprintf(stderr, "modx tokenizer train: error reading %s\n", opts[0].value);
        rc = 1;
    }
    fclose(f);
    free(line);
    if (!rc) {
        if (bpe_train((const char *const *)texts, n, (int)size, opts[2].value) != MODX_OK) {
            modx_error_prefix("%s: ", opts[0].value);
            rc = cli_report_error("tokenizer train");
        } else {
            Bpe *bpe;
            if (bpe_load(&bpe, opts[2].value) != MODX_OK) {
                rc = cli_report_error("tokenizer train");
            } else {
                printf("wrote %s: %d merges, vocabulary size %d (from %zu captions)\n", opts[2].value,
                       bpe_vocab_size(bpe) - 514, bpe_vocab_size(bpe), n);
                /* the model config must hold every id: say the exact value (fewer merges than asked happen) */
                printf("model config: set \"text_cfg\": {\"vocab_size\": %d} (or more)\n", bpe_vocab_size(bpe));
                bpe_free(bpe);
            }
        }
    }
    for (size_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    return rc;
}

MODX_COMMAND(tokenizer, "tokenizer", "tokenizer tools: train BPE merges on captions") {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "train")) {
        if (cli_wants_help(argc - 1, argv + 1)) {
            usage(stdout);
            return 0;
        }
        argv[1] = "tokenizer train";
        return train(argc - 1, argv + 1);
    }
    fprintf(stderr, "modx tokenizer: unknown action '%s' (expected: train)\n", argv[1]);
    return 2;
}
