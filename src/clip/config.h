/* Model size of a CLIP model, read from an OpenCLIP model-config JSON:
 *
 *   {"embed_dim": 512, "quick_gelu": true,
 *    "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 32,
 *                   "head_width": 64, "mlp_ratio": 4.0},
 *    "text_cfg":   {"context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8,
 *                   "layers": 12, "mlp_ratio": 4.0}}
 *
 * Required: embed_dim; vision_cfg.{image_size, layers, width, patch_size};
 * text_cfg.{context_length, vocab_size, width, heads, layers}.
 * Optional with OpenCLIP defaults: vision_cfg.head_width (64; heads = width /
 * head_width), mlp_ratio (4.0 in both towers; MLP width = int(width·ratio)),
 * quick_gelu (false = exact erf GELU, as OpenCLIP; our own configs set true).
 * ModifiedResNet image tower (OpenCLIP's RN configs): vision_cfg.layers given as a
 * list of the four stage depths, e.g. {"image_size": 224, "layers": [3, 4, 6, 3],
 * "width": 64} for RN50; patch_size is then not read (the tower's total stride
 * is 32, which `patch_size` holds internally: grid = image_size / 32), width is
 * the stem width (even), head_width (64) sets the attention-pool heads
 * width·32 / head_width, image_size must be a multiple of 32, mlp_ratio is unused.
 * Unknown keys are ignored, except keys that would change the maths we do not
 * implement, which are refused as unsupported: timm/HF towers (timm_model_name, hf_model_name), layer
 * scale, attentional pooling, non-default pooling, patch dropout, text class
 * token, missing causal mask, projection bias, logit bias. */
#ifndef MODX_CLIP_CONFIG_H
#define MODX_CLIP_CONFIG_H

#include "core/error.h"

#define CLIP_MAX_LAYERS 64
#define CLIP_MAX_DIM 65536

#define CLIP_RN_STAGES 4
#define CLIP_RN_STRIDE 32 /* total stride of the ModifiedResNet: stem 4 × stages 8 */

typedef struct {
    int image_size; /* S: input images are (3, S, S) */
    int resnet;     /* 1: ModifiedResNet tower (layers was a list), 0: ViT */
    int stage_layers[CLIP_RN_STAGES]; /* ResNet only: blocks per stage */
    int layers;     /* L (ResNet: the total number of blocks) */
    int width;      /* C */
    int patch_size; /* P; S % P == 0 (ResNet: CLIP_RN_STRIDE) */
    int head_width; /* HS; C % HS == 0 (ResNet: 32·C % HS == 0) */
    int heads;      /* NH = C / HS (ResNet: 32·C / HS, the attention pool's heads) */
    double mlp_ratio;
    int mlp_width;  /* int(C · mlp_ratio) */
    int grid;       /* G = S / P */
    int tokens;     /* N = G² + 1 (class token first; ResNet: the pooled mean token first) */
} ClipVisionConfig;

typedef struct {
    int context_length; /* T */
    int vocab_size;     /* V */
    int width;          /* C */
    int heads;          /* NH; C % NH == 0 */
    int layers;         /* L */
    double mlp_ratio;
    int mlp_width;
} ClipTextConfig;

typedef struct {
    int embed_dim; /* E */
    int quick_gelu;
    ClipVisionConfig vision;
    ClipTextConfig text;
} ClipConfig;

/* Reads and validates the config file at `path`. Errors name the file, the key
 * (e.g. "vision_cfg.patch_size"), what was expected and what was found. */
ModxStatus clip_config_load(ClipConfig *cfg, const char *path);
/* Same from a JSON string; `source` names it in error messages. */
ModxStatus clip_config_parse(ClipConfig *cfg, const char *json, const char *source);
/* Checks the invariants of an already filled config (derived fields are recomputed). */
ModxStatus clip_config_validate(ClipConfig *cfg, const char *source);
/* The config as OpenCLIP JSON (all keys explicit, compact), malloc'd; the caller
 * frees it. NULL with MODX_ERR_NOMEM recorded on allocation failure. */
char *clip_config_to_json(const ClipConfig *cfg);

#endif
