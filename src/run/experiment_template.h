/* A complete experiment file with every default written out: what
 * `modx run --print-defaults` prints. Its paths (configs/starter.json: tiny with the CLIP vocabulary; the
 * bundled tokenizer, my.jsonl) are relative to the file's folder, as every
 * experiment path is (docs/experiment.md); the values of "train" are the
 * parser's own defaults (experiment_default_hyper and each strategy's
 * hyperparameters), so the file means the same with any of them left out. */
#ifndef MODX_RUN_EXPERIMENT_TEMPLATE_H
#define MODX_RUN_EXPERIMENT_TEMPLATE_H

/* The JSON text (malloc'd; NULL on out of memory). */
char *experiment_template_json(void);

#endif
