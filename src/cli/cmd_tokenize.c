/* modx tokenize: captions on stdin -> CLIP token ids, one line per caption. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "tok/bpe.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: modx tokenize --vocab FILE [--context N]\n"
            "\n"
            "Reads captions from stdin, one per line (UTF-8), and prints for each the\n"
            "space-separated token ids: <|startoftext|>, the text's tokens, <|endoftext|>,\n"
            "cut to the context length with <|endoftext|> kept last (no padding).\n"
            "\n"
            "  --vocab FILE    merges file (plain or .gz), e.g. data/bpe_simple_vocab_16e6.txt.gz\n"
            "  --context N     context length, 2..1000000 (default 77)\n");
}

MODX_COMMAND(tokenize, "tokenize", "print CLIP BPE token ids of captions read from stdin") {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    CliOpt opts[] = {{"--vocab", 1, NULL}, {"--context", 1, NULL}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, opts, 2, pos, 0, &npos)) return 2;
    if (!opts[0].value) {
        fprintf(stderr, "modx tokenize: --vocab FILE is required (see modx tokenize --help)\n");
        return 2;
    }
    long context = 77;
    if (opts[1].value && cli_int("tokenize", "--context", opts[1].value, 2, 1000000, &context)) return 2;
    Bpe *bpe;
    if (bpe_load(&bpe, opts[0].value) != MODX_OK) return cli_report_error("tokenize");
    int32_t *ids = malloc((size_t)context * sizeof(int32_t));
    if (!ids) {
        bpe_free(bpe);
        fprintf(stderr, "modx tokenize: out of memory\n");
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n') line[--len] = 0;
        if (strlen(line) != (size_t)len) {
            fprintf(stderr, "modx tokenize: stdin line %ld: contains a NUL byte; expected UTF-8 text\n", lineno);
            rc = 1;
            break;
        }
        int n;
        if (bpe_encode(bpe, line, ids, (int)context, &n) != MODX_OK) {
            modx_error_prefix("stdin line %ld: ", lineno);
            rc = cli_report_error("tokenize");
            break;
        }
        for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        putchar('\n');
    }
    if (ferror(stdin) && rc == 0) {
        fprintf(stderr, "modx tokenize: error reading stdin\n");
        rc = 1;
    }
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "modx tokenize: error writing stdout\n");
        rc = 1;
    }
    free(line);
    free(ids);
    bpe_free(bpe);
    return rc;
}
