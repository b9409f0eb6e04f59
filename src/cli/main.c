/* modx — continual CLIP training. Dispatches to the subcommands in cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/closest.h"
#include "core/dist.h"
#include "core/error.h"

extern const CliCommand *const cli_commands[]; /* generated, NULL-terminated */

int cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    return 0;
}

int cli_report_error(const char *command) {
    fprintf(stderr, "modx %s: %s\n", command, modx_last_error());
    return 1;
}

static void usage(FILE *f) {
    fprintf(f, "usage: modx <command> [options]   (modx <command> --help for details)\n\ncommands:\n");
    for (int i = 0; cli_commands[i]; i++)
        fprintf(f, "  %-12s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
}

static const CliCommand *find_command(const char *name) {
    for (int i = 0; cli_commands[i]; i++)
        if (!strcmp(name, cli_commands[i]->name)) return cli_commands[i];
    return NULL;
}

static int unknown_command(const char *name) {
    const char *names[128];
    int n = 0;
    for (int i = 0; cli_commands[i] && n < 128; i++) names[n++] = cli_commands[i]->name;
    const char *near = closest_word(name, names, n);
    fprintf(stderr, "modx: unknown command '%s'%s%s%s\n", name, near ? "; did you mean '" : "", near ? near : "",
            near ? "'?" : "");
    usage(stderr);
    return 2;
}

int main(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) argv[1] = "version";
    if (argc == 3 && !strcmp(argv[1], "help")) { /* modx help CMD = modx CMD --help */
        const CliCommand *c = find_command(argv[2]);
        if (!c) return unknown_command(argv[2]);
        char *args[] = {argv[2], "--help", NULL};
        return c->run(2, args);
    }
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const CliCommand *c = find_command(argv[1]);
    if (!c) return unknown_command(argv[1]);
    if (dist_init() != MODX_OK) return cli_report_error(argv[1]);
    int rc = c->run(argc - 1, argv + 1);
    return dist_end(rc); /* a job of several ranks: see core/dist.h */
}

