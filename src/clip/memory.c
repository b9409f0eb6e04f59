#include "clip/memory.h"

#include <stdio.h>

#include "clip/model.h"
#include "clip/params.h"
#include "core/size.h"

ModxStatus clip_memory_estimate(const ClipConfig *cfg, int batch, ClipMemoryEstimate *est) {
    ClipConfig c = *cfg;
    MODX_TRY(clip_config_validate(&c, "model config"));
    ParamTable t;
    MODX_TRY(param_table_build(&t, &c));
    uint64_t n = t.total;
    param_table_free(&t);
    ClipMemoryEstimate e = {.n_params = n};
    MODX_TRY(clip_acts_size(&c, batch, 1, &e.act_bytes));
    if (!u64_mul(n, 4 * sizeof(float), &e.param_bytes) || !u64_add(e.param_bytes, e.act_bytes, &e.total))
        return modx_fail(MODX_ERR_INVALID, "model config: %llu parameters at batch %d: memory size overflows",
                         (unsigned long long)n, batch);
    *est = e;
    return MODX_OK;
}

/* "12.3 GiB", "4.0 MiB", "812 bytes" */
static const char *fmt_bytes(char *buf, size_t n, uint64_t b) {
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (b < 1024) {
        snprintf(buf, n, "%llu bytes", (unsigned long long)b);
        return buf;
    }
    double v = (double)b / 1024.0;
    int u = 0;
    while (v >= 1024.0 && u < 5) v /= 1024.0, u++;
    snprintf(buf, n, "%.1f %s", v, units[u]);
    return buf;
}

ModxStatus clip_memory_check(const ClipConfig *cfg, int batch, uint64_t budget, const char *source) {
    ClipMemoryEstimate e;
    ModxStatus st = clip_memory_estimate(cfg, batch, &e);
    if (st != MODX_OK) {
        modx_error_prefix("%s: ", source);
        return st;
    }
    if (budget == 0 || e.total <= budget) return MODX_OK;
    char total[32], params[32], acts[32], limit[32];
    return modx_fail(MODX_ERR_INVALID,
                     "%s: training this model (%llu parameters) at batch %d needs about %s (%s of weights, gradients "
                     "and AdamW moments + %s of activations), more than the memory budget of %s (--max-memory; "
                     "default: the available memory). Use a smaller model or batch",
                     source, (unsigned long long)e.n_params, batch, fmt_bytes(total, sizeof total, e.total),
                     fmt_bytes(params, sizeof params, e.param_bytes), fmt_bytes(acts, sizeof acts, e.act_bytes),
                     fmt_bytes(limit, sizeof limit, budget));
}
