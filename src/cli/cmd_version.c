#include <stdio.h>

#include "cli/cli.h"

#ifndef MODX_VERSION
#define MODX_VERSION "0.1.0"
#endif

MODX_COMMAND(version, "version", "print the version") {
    (void)argc;
    (void)argv;
    printf("modx %s\n", MODX_VERSION);
    return 0;
}
