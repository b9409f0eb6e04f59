/* Subcommand registry. Each src/cli/cmd_*.c defines its commands with
 * MODX_COMMAND; the build collects them into the table that main() dispatches
 * on (build/gen/commands.c), so adding a command touches no shared file.
 * Only src/cli may exit(); commands return the process exit status. */
#ifndef MODX_CLI_H
#define MODX_CLI_H

#include <stdio.h>

typedef struct {
    const char *name;    /* first word after `modx` */
    const char *summary; /* one line for `modx --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} CliCommand;

#define MODX_COMMAND(ident, name, summary)                                   \
    int cmd_##ident(int argc, char **argv);                                  \
    const CliCommand cli_command_##ident = {name, summary, cmd_##ident};     \
    int cmd_##ident(int argc, char **argv)

/* True when argv holds -h or --help. */
int cli_wants_help(int argc, char **argv);
/* Prints "modx: <command>: <last error>" to stderr and returns exit status 1. */
int cli_report_error(const char *command);

#endif
