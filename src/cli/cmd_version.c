#include <stdio.h>

#include "cli/cli.h"
#include "modx.h"

MODX_COMMAND(version, "version", "print the version") {
    (void)argc;
    (void)argv;
    printf("modx %s\n", modx_version());
    return 0;
}
