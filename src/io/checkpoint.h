/* Model and optimizer checkpoints as safetensors files.
 *
 * Model file (e.g. run/phase1.safetensors): one F32 tensor per parameter, named
 * by its OpenCLIP state-dict key, in parameter-table order, so a file written by
 * PyTorch/OpenCLIP loads here and ours loads there (torch.load of a dict of
 * tensors via the safetensors format). Metadata:
 *   "modx.format" = "modx-checkpoint-1"
 *   "modx.config" = the OpenCLIP model config as JSON (so `modx inspect` and
 *                   `--ckpt` alone are enough to rebuild the model)
 * plus any caller entries (step, phase, strategy, ...). Reading accepts F32, F16
 * and BF16 tensors; every parameter of the table must be present with its exact
 * shape, and a tensor that is not a parameter is an error naming it (except the
 * non-parameter entries OpenAI state dicts carry: input_resolution,
 * context_length, vocab_size, and attn_mask buffers).
 *
 * A ResNet model's state (BatchNorm running_mean/running_var F32 and
 * num_batches_tracked I64 scalars, OpenCLIP names) is saved beside the
 * parameters and required on reading (checkpoint_read_state); it never appears
 * in the optimizer file.
 *
 * Optimizer file (checkpoint_optim_path: X.safetensors → X.optim.safetensors):
 * "exp_avg.<name>" and "exp_avg_sq.<name>" per parameter (PyTorch's AdamW state
 * names), "step" (I64 scalar), plus caller metadata (RNG state, loader position).
 * Both files are written atomically (tmp + fsync + rename). */
#ifndef MODX_IO_CHECKPOINT_H
#define MODX_IO_CHECKPOINT_H

#include "clip/model.h"
#include "core/error.h"
#include "io/hf_names.h"
#include "io/safetensors.h"

#define CHECKPOINT_FORMAT "modx-checkpoint-1"

typedef struct {
    const char *key, *value;
} CheckpointMeta;

/* Writes the model's parameters (params: the model's flat layout, e.g. m->params). */
ModxStatus checkpoint_save(const char *path, const ClipModel *m, const float *params, const CheckpointMeta *meta,
                           int n_meta);
/* Writes as checkpoint_save with the parameters under `naming`: OpenCLIP (modx's
 * own) or Hugging Face transformers names (io/hf_names.h; a ViT only; the file
 * also carries metadata "format" = "pt", which transformers requires). */
ModxStatus checkpoint_save_named(const char *path, const ClipModel *m, const float *params, const CheckpointMeta *meta,
                                 int n_meta, CkptNaming naming);
/* Opens a checkpoint in either naming (OpenCLIP or Hugging Face, detected from
 * the tensor names) and builds its model: the config comes from `config_path`
 * when given (an OpenCLIP model config, or for an HF-named file also HF's
 * config.json), else from the file's "modx.config" metadata, else for an
 * HF-named file from its tensor shapes and the config.json beside it (error
 * when none). */
ModxStatus checkpoint_load(ClipModel **out, const char *path, const char *config_path);
/* The same, with `fallback_config` (an OpenCLIP model config; NULL for none)
 * used when the file carries no config of its own (no metadata, no HF
 * config.json beside it) and config_path is NULL: e.g. an OpenCLIP hub file
 * started from with the experiment's model config. */
ModxStatus checkpoint_load_default(ClipModel **out, const char *path, const char *config_path,
                                   const char *fallback_config);
/* MODX_OK when the open file may be a model; an optimizer-state file
 * (*.optim.safetensors) or a probe features file is refused saying what it is
 * and which file to give instead. */
ModxStatus checkpoint_check_is_model(const SafeTensors *st, const char *path);
/* Reads every parameter of m's table from an open file into params, in either
 * naming (detected; mixed or unknown names are an error). */
ModxStatus checkpoint_read_params(const SafeTensors *st, const ClipModel *m, float *params);
/* Reads the model state (m->state) from an open file; nothing for a ViT. */
ModxStatus checkpoint_read_state(const SafeTensors *st, const ClipModel *m);

/* "dir/x.safetensors" → "dir/x.optim.safetensors" (malloc'd; "x" → "x.optim.safetensors"). */
char *checkpoint_optim_path(const char *model_path);

/* An Adam-family optimizer's state as plain buffers in m's flat layout
 * (m->table.total floats each): first and second moments and the update
 * count. The optimizer (train/optim.h) owns the buffers. */
typedef struct {
    float *m, *v;
    int64_t step;
} OptimState;

ModxStatus checkpoint_save_optim(const char *path, const ClipModel *m, const OptimState *s, const CheckpointMeta *meta,
                                 int n_meta);
/* Reads the moments into s->m and s->v and the count into s->step; moments
 * that would make the next update non-finite are refused, naming the tensor. */
ModxStatus checkpoint_load_optim(const char *path, const ClipModel *m, OptimState *s);

#endif
