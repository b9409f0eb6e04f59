/* Checkpoint namings: OpenCLIP's state-dict names (modx's own, clip/params.h)
 * and Hugging Face `transformers` CLIPModel names. This file is the one owner
 * of the Hugging Face format (names, layout and config.json).
 *
 * HF name                                              modx (OpenCLIP) parameter
 *   vision_model.embeddings.class_embedding            visual.class_embedding
 *   vision_model.embeddings.patch_embedding.weight     visual.conv1.weight
 *   vision_model.embeddings.position_embedding.weight  visual.positional_embedding
 *   vision_model.pre_layrnorm.{weight,bias}            visual.ln_pre.*      ("layrnorm" sic)
 *   vision_model.encoder.layers.i.*                    visual.transformer.resblocks.i.*
 *   vision_model.post_layernorm.{weight,bias}          visual.ln_post.*
 *   visual_projection.weight (E, C)                    visual.proj (C, E), transposed
 *   text_model.embeddings.token_embedding.weight       token_embedding.weight
 *   text_model.embeddings.position_embedding.weight    positional_embedding
 *   text_model.encoder.layers.i.*                      transformer.resblocks.i.*
 *   text_model.final_layer_norm.{weight,bias}          ln_final.*
 *   text_projection.weight (E, C)                      text_projection (C, E), transposed
 *   logit_scale ()                                     logit_scale
 * and inside a layer:
 *   layer_norm1.* / layer_norm2.*                      ln_1.* / ln_2.*
 *   self_attn.{q,k,v}_proj.weight (C, C), .bias (C)    attn.in_proj_weight rows [0,C) [C,2C) [2C,3C),
 *                                                      attn.in_proj_bias likewise (packed on reading)
 *   self_attn.out_proj.*                               attn.out_proj.*
 *   mlp.fc1.* / mlp.fc2.*                              mlp.c_fc.* / mlp.c_proj.*
 * Buffers `*.position_ids` (older hub files carry them) are ignored on reading
 * and not written. The values are the same numbers in another layout, so a
 * conversion there and back is bit-identical. HF has no ModifiedResNet CLIP:
 * an RN model has no HF naming (a clear error).
 *
 * The HF model config (config.json of a hub folder: projection_dim,
 * text_config and vision_config with hidden_size, intermediate_size,
 * num_attention_heads, num_hidden_layers, hidden_act, layer_norm_eps, and
 * max_position_embeddings / vocab_size or image_size / patch_size) is read
 * with transformers' defaults for missing keys. The sizes themselves come
 * from the tensor shapes; config.json adds what shapes do not hold (the
 * attention heads and the activation) and must agree with them. */
#ifndef MODX_IO_HF_NAMES_H
#define MODX_IO_HF_NAMES_H

#include "clip/model.h"
#include "core/error.h"
#include "io/safetensors.h"

typedef enum { CKPT_NAMING_OPENCLIP, CKPT_NAMING_HF } CkptNaming;

/* "openclip" / "hf". */
const char *ckpt_naming_name(CkptNaming n);
/* 1 when s names a naming ("openclip", "hf"), else 0. */
int ckpt_naming_parse(const char *s, CkptNaming *out);
/* The naming of an open file, from its tensor names: HF when any name is an HF
 * CLIP name (vision_model.*, text_model.*, visual_projection.weight,
 * text_projection.weight), OpenCLIP otherwise (and for an empty file). Errors
 * (MODX_ERR_FORMAT, naming the file and tensors): names of both kinds, or
 * tensors none of which is a CLIP name of either kind. */
ModxStatus ckpt_naming_detect(const SafeTensors *st, CkptNaming *out);

/* Reads every parameter of m (a ViT) from an HF-named file into params:
 * unknown tensors, missing ones and wrong shapes are errors naming the file,
 * the HF tensor and the modx parameter. */
ModxStatus hf_read_params(const SafeTensors *st, const ClipModel *m, float *params);
/* Adds m's parameters (params in m's layout) under HF names to w. Transposed
 * projections are copied into *scratch (malloc'd; free it after the writer
 * has saved). An RN model is an error. */
ModxStatus hf_add_params(SafeTensorsWriter *w, const ClipModel *m, const float *params, float **scratch);

/* 1 when the JSON file at path is an HF config (has "vision_config" or
 * "text_config"), 0 otherwise (including unreadable files). */
int hf_config_file_is_hf(const char *path);
/* The model config of an HF-named file from its tensor shapes plus the HF
 * config.json at hf_config_path; with hf_config_path NULL, "config.json"
 * beside the checkpoint is used when it exists, else the error says to pass
 * --config. */
ModxStatus hf_config_derive(ClipConfig *cfg, const SafeTensors *st, const char *hf_config_path);
/* 1 when a "config.json" exists beside the checkpoint, else 0. */
int hf_config_beside_exists(const SafeTensors *st);
/* An HF config.json for cfg (a ViT), malloc'd; NULL with an error for an RN config. */
char *hf_config_to_json(const ClipConfig *cfg);

#endif
