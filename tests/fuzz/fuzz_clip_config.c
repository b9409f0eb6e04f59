/* Fuzz target: parse an OpenCLIP model config; a config that validates must
 * give a consistent parameter table, a training-memory estimate (or an
 * overflow error, never a wrapped size) at a batch taken from the input, and
 * survive a JSON round trip unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clip/config.h"
#include "clip/memory.h"
#include "clip/params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    ClipConfig cfg, again;
    ModxStatus st = clip_config_parse(&cfg, s, "fuzz.json");
    free(s);
    if (st != MODX_OK) {
        if (!modx_last_error()[0]) __builtin_trap(); /* a failure always says why */
        return 0;
    }
    if (cfg.vision.heads * cfg.vision.head_width != (cfg.vision.resnet ? 32 : 1) * cfg.vision.width || cfg.text.width % cfg.text.heads ||
        cfg.vision.grid * cfg.vision.patch_size != cfg.vision.image_size)
        __builtin_trap();
    if ((uint64_t)cfg.vision.tokens != (uint64_t)cfg.vision.grid * (uint64_t)cfg.vision.grid + 1) __builtin_trap();
    int batch = size ? 1 + (int)data[size - 1] * 257 : 1; /* 1 .. 65536 */
    ClipMemoryEstimate est;
    if (clip_memory_estimate(&cfg, batch, &est) == MODX_OK) {
        if (est.total != est.param_bytes + est.act_bytes || est.param_bytes != 16 * est.n_params) __builtin_trap();
    } else if (!modx_last_error()[0]) {
        __builtin_trap();
    }
    ParamTable t;
    if (param_table_build(&t, &cfg) == MODX_OK) {
        size_t sum = 0;
        for (int i = 0; i < t.count; i++) {
            if (t.items[i].offset != sum) __builtin_trap();
            sum += t.items[i].numel;
        }
        if (sum != t.total) __builtin_trap();
        sum = 0;
        for (int i = 0; i < t.state_count; i++) {
            if (t.state_items[i].offset != sum) __builtin_trap();
            sum += t.state_items[i].numel;
        }
        if (sum != t.state_total) __builtin_trap();
        param_table_free(&t);
    }
    char *j = clip_config_to_json(&cfg);
    if (!j) return 0;
    if (clip_config_parse(&again, j, "roundtrip") != MODX_OK || memcmp(&cfg, &again, sizeof cfg)) __builtin_trap();
    free(j);
    return 0;
}
