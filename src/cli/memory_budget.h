/* --max-memory for the training commands (modx train, run, continual): the
 * budget that a model's estimated training memory (clip/memory.h) must fit in,
 * checked before the model or its activations are allocated.
 *
 *   uint64_t budget;
 *   if (cli_memory_budget("train", opt_value, &budget)) return 2;   // NULL: available memory
 *   if (cli_check_model_memory("train", &cfg, batch, budget, cfg_path)) return 1;
 */
#ifndef MODX_CLI_MEMORY_BUDGET_H
#define MODX_CLI_MEMORY_BUDGET_H

#include <stdint.h>

#include "clip/config.h"

#define CLI_MAX_MEMORY_HELP \
    "  --max-memory SIZE  refuse a model whose weights, gradients, AdamW moments and activations\n" \
    "                     for the batch would need more (bytes, or with K, M, G, T: powers of 1024;\n" \
    "                     default: the machine's available memory)\n"

/* Parses SIZE ("123", "512M", "8G", "1.5T"); NULL gives the available memory
 * (0 = unknown: no limit). Prints a message and returns 2 when SIZE is invalid. */
int cli_memory_budget(const char *command, const char *text, uint64_t *budget);
/* 0 when the config at this batch fits the budget, else prints why and returns 1. */
int cli_check_model_memory(const char *command, const ClipConfig *cfg, int batch, uint64_t budget, const char *source);

#endif
