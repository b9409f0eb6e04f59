#include "cli/memory_budget.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "clip/memory.h"
#include "core/meminfo.h"

int cli_memory_budget(const char *command, const char *text, uint64_t *budget) {
    if (!text) {
        *budget = modx_available_memory();
        return 0;
    }
    char *end;
    double v = strtod(text, &end);
    double unit = 1;
    switch (*end) {
    case 'K': case 'k': unit = 1024.0, end++; break;
    case 'M': case 'm': unit = 1048576.0, end++; break;
    case 'G': case 'g': unit = 1073741824.0, end++; break;
    case 'T': case 't': unit = 1099511627776.0, end++; break;
    default: break;
    }
    if (*end == 'B' || *end == 'b') end++;
    if (end == text || *end || !isfinite(v) || v * unit < 1 || v * unit >= 18446744073709551616.0) {
        fprintf(stderr, "modx %s: --max-memory: expected a size in bytes >= 1 (e.g. 8G, 512M), found '%s'\n", command,
                text);
        return 2;
    }
    *budget = (uint64_t)(v * unit);
    return 0;
}

int cli_check_model_memory(const char *command, const ClipConfig *cfg, int batch, uint64_t budget, const char *source) {
    if (clip_memory_check(cfg, batch, budget, source) != MODX_OK) return cli_report_error(command);
    return 0;
}
