/* modx — continual CLIP training. Dispatches to the subcommands in cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
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

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 0; cli_commands[i]; i++)
        if (!strcmp(argv[1], cli_commands[i]->name)) return cli_commands[i]->run(argc - 1, argv + 1);
    fprintf(stderr, "modx: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
