/* Minimal option parsing shared by all subcommands.
 *
 *   CliOpt opts[] = {{"--vocab", 1}, {"--context", 1}, {"--skip-bad", 0}};
 *   const char *pos[4]; int npos;
 *   if (cli_parse(argc, argv, opts, 3, pos, 4, &npos)) return 2;   // message already printed
 *   const char *vocab = opts[0].value;   // NULL when absent
 *
 * Accepts "--name value" and "--name=value". Unknown options, a missing value
 * or too many positionals print a message naming the command and return 2. */
#ifndef MODX_CLI_ARGS_H
#define MODX_CLI_ARGS_H

#include <stddef.h>

typedef struct {
    const char *name;  /* "--vocab" */
    int takes_value;   /* 1: "--vocab FILE"; 0: a flag */
    const char *value; /* out: the value, or "" for a present flag, NULL when absent */
} CliOpt;

int cli_parse(int argc, char **argv, CliOpt *opts, int nopts, const char **pos, int max_pos, int *npos);

/* With MODX_LIST_OPTIONS set in the environment, cli_parse prints the names of
 * the options it accepts, one a line, and returns 2: the suite checks that
 * every command's --help describes each of them exactly once. */
#define CLI_LIST_OPTIONS_ENV "MODX_LIST_OPTIONS"

/* A required option: 0 when given; otherwise prints "modx COMMAND: missing
 * required option NAME (see modx COMMAND --help)" and returns 2. */
int cli_require(const char *command, const CliOpt *opt);

/* Parses an integer/double option value; prints a clear error and returns 2 on failure. */
int cli_int(const char *command, const char *opt, const char *text, long lo, long hi, long *out);
int cli_double(const char *command, const char *opt, const char *text, double *out);
/* --precision fp32|bf16 → 0 (GEMM_F32) or 1 (GEMM_BF16); prints an error and returns 2 otherwise. */
int cli_precision(const char *command, const char *text, int *out);
/* "modx COMMAND ARGS…" (a command's argv: argv[0] is its name), cut with "..." to fit cap. */
void cli_command_line(char *buf, size_t cap, const char *command, int argc, char **argv);

#endif
