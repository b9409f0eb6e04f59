#include "cli/args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/closest.h"

int cli_parse(int argc, char **argv, CliOpt *opts, int nopts, const char **pos, int max_pos, int *npos) {
    *npos = 0;
    for (int k = 0; k < nopts; k++) opts[k].value = NULL;
    if (getenv(CLI_LIST_OPTIONS_ENV)) {
        for (int k = 0; k < nopts; k++) printf("%s\n", opts[k].name);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            const char *eq = strchr(a, '=');
            size_t len = eq ? (size_t)(eq - a) : strlen(a);
            int found = 0;
            for (int k = 0; k < nopts; k++) {
                if (strlen(opts[k].name) != len || strncmp(opts[k].name, a, len)) continue;
                found = 1;
                if (!opts[k].takes_value) {
                    if (eq) {
                        fprintf(stderr, "modx %s: option %s takes no value\n", argv[0], opts[k].name);
                        return 2;
                    }
                    opts[k].value = "";
                } else if (eq) {
                    opts[k].value = eq + 1;
                } else if (i + 1 < argc) {
                    opts[k].value = argv[++i];
                } else {
                    fprintf(stderr, "modx %s: option %s needs a value\n", argv[0], opts[k].name);
                    return 2;
                }
                break;
            }
            if (!found) {
                char word[64];
                snprintf(word, sizeof word, "%.*s", (int)(len < 63 ? len : 63), a);
                const char *names[64];
                int nn = 0;
                for (int k = 0; k < nopts && nn < 64; k++) names[nn++] = opts[k].name;
                const char *near = closest_word(word, names, nn);
                fprintf(stderr, "modx %s: unknown option '%s'%s%s%s (see modx %s --help)\n", argv[0], word,
                        near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "", argv[0]);
                return 2;
            }
        } else {
            if (*npos >= max_pos) {
                fprintf(stderr, "modx %s: unexpected argument '%s' (see modx %s --help)\n", argv[0], a, argv[0]);
                return 2;
            }
            pos[(*npos)++] = a;
        }
    }
    return 0;
}

int cli_require(const char *command, const CliOpt *opt) {
    if (opt->value) return 0;
    fprintf(stderr, "modx %s: missing required option %s (see modx %s --help)\n", command, opt->name, command);
    return 2;
}

int cli_int(const char *command, const char *opt, const char *text, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        fprintf(stderr, "modx %s: %s expects an integer in [%ld, %ld], got '%s'\n", command, opt, lo, hi, text);
        return 2;
    }
    *out = v;
    return 0;
}

int cli_precision(const char *command, const char *text, int *out) {
    if (!strcmp(text, "fp32") || !strcmp(text, "bf16")) return *out = !strcmp(text, "bf16"), 0;
    fprintf(stderr, "modx %s: --precision expects fp32 or bf16, got '%s'\n", command, text);
    return 2;
}

int cli_double(const char *command, const char *opt, const char *text, double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || v != v) {
        fprintf(stderr, "modx %s: %s expects a number, got '%s'\n", command, opt, text);
        return 2;
    }
    *out = v;
    return 0;
}

void cli_command_line(char *buf, size_t cap, const char *command, int argc, char **argv) {
    size_t k = (size_t)snprintf(buf, cap, "modx %s", command);
    for (int i = 1; i < argc && k + 1 < cap; i++) k += (size_t)snprintf(buf + k, cap - k, " %s", argv[i]);
    if (k >= cap && cap > 4) memcpy(buf + cap - 4, "...", 4);
}

