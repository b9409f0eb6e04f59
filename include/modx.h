/* modx — the public C API of the modx library (libmodx).
 *
 * Continual training of CLIP-style vision-language models: load or build a
 * model (OpenCLIP model configs, safetensors checkpoints with OpenCLIP tensor
 * names), tokenize captions with the OpenAI CLIP BPE, preprocess images as
 * CLIP does (Pillow-exact bicubic resize, centre crop, CLIP normalisation),
 * encode both to L2-normalised features, compare them, train one step with a
 * named continual strategy, evaluate retrieval, save.
 *
 *   cc prog.c $(pkg-config --cflags --libs modx)
 *
 * Conventions:
 *   - Every function that can fail returns a modx_status; on failure
 *     modx_last_error() holds a message naming the file, the item, what was
 *     expected and what was found. Nothing in the library exits or prints.
 *   - Handles are opaque; each *_new / *_load / *_init has a *_free, which
 *     accepts NULL. On failure an out-handle is set to NULL.
 *   - Arrays are row-major float32 / int32 buffers owned by the caller:
 *     pixels (n, 3, S, S) already preprocessed (modx_image_preprocess), tokens
 *     (n, T) from modx_tokenize, features (n, E), with S, T, E read from the
 *     model (modx_model_image_size, modx_model_context_length,
 *     modx_model_embed_dim).
 *   - Determinism: the same inputs give bit-identical results for a given
 *     thread count (OpenMP; OMP_NUM_THREADS).
 *   - Threads: the error message is per thread. Several threads may encode
 *     with one model at once; a trainer step changes its model, so nothing
 *     else may use that model during a step.
 *   - Every public name starts with modx_ (types, functions) or MODX_ (macros,
 *     constants); the libraries export nothing else. */
#ifndef MODX_H
#define MODX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MODX_API
#if defined(__GNUC__) || defined(__clang__)
#define MODX_API __attribute__((visibility("default")))
#else
#define MODX_API
#endif
#endif

/* The library version; the shared library's soname carries the major number
 * (libmodx.so.MAJOR). */
#define MODX_VERSION_MAJOR 0
#define MODX_VERSION_MINOR 1
#define MODX_VERSION_PATCH 0
#define MODX_VERSION_STRING "0.1.0"

/* ---- Status and errors ------------------------------------------------ */

typedef enum modx_status {
    MODX_OK = 0,
    MODX_ERR_IO,          /* a file could not be opened, read or written */
    MODX_ERR_FORMAT,      /* a file or value is malformed */
    MODX_ERR_INVALID,     /* an argument or configuration is invalid */
    MODX_ERR_NOMEM,       /* out of memory */
    MODX_ERR_NUMERIC,     /* non-finite loss or gradient */
    MODX_ERR_UNSUPPORTED, /* valid but not implemented */
} modx_status;

/* The calling thread's last failure message; "" when none. Valid until the
 * thread's next failing call. */
MODX_API const char *modx_last_error(void);
/* Empties the calling thread's message. */
MODX_API void modx_clear_error(void);
/* A short constant name for a status ("I/O error", "format error", …). */
MODX_API const char *modx_status_name(modx_status status);
/* The library's version string, MODX_VERSION_STRING of the build ("0.1.0");
 * compare it with the header's to detect a mismatched shared library. */
MODX_API const char *modx_version(void);

/* ---- Models ----------------------------------------------------------- */

typedef struct modx_model modx_model;

/* Loads a checkpoint (safetensors, OpenCLIP state-dict names, F32/F16/BF16).
 * The model config comes from config_path (an OpenCLIP model-config JSON)
 * when not NULL, else from the checkpoint's "modx.config" metadata (files
 * written by modx). Every parameter must be present with its exact shape.
 * Errors: MODX_ERR_IO, MODX_ERR_FORMAT (naming the tensor), MODX_ERR_INVALID,
 * MODX_ERR_UNSUPPORTED (a config feature modx does not implement). */
MODX_API modx_status modx_model_load(modx_model **out, const char *path, const char *config_path);
/* Builds a model from an OpenCLIP model-config JSON and initialises every
 * parameter as OpenAI/OpenCLIP do, deterministically in seed (the same model
 * as `modx init --config CONFIG --seed SEED`). */
MODX_API modx_status modx_model_init(modx_model **out, const char *config_path, uint64_t seed);
/* Writes the model's current parameters to path as a modx checkpoint (F32,
 * OpenCLIP names, the config in the metadata; a model from modx_model_init
 * also records its seed as "modx.seed", as `modx init` does). The write is
 * atomic: a temporary file, fsync, rename. */
MODX_API modx_status modx_model_save(const modx_model *model, const char *path);
MODX_API void modx_model_free(modx_model *model);
/* S: encode inputs are (3, S, S) images. */
MODX_API int modx_model_image_size(const modx_model *model);
/* T: token rows hold T ids. */
MODX_API int modx_model_context_length(const modx_model *model);
/* V: token ids must lie in [0, V). */
MODX_API int modx_model_vocab_size(const modx_model *model);
/* E: the feature dimension. */
MODX_API int modx_model_embed_dim(const modx_model *model);
MODX_API size_t modx_model_num_params(const modx_model *model);

/* ---- Tokenizer -------------------------------------------------------- */

typedef struct modx_tokenizer modx_tokenizer;

/* Loads an OpenAI CLIP BPE merges file, plain or gzip-compressed
 * (bpe_simple_vocab_16e6.txt.gz, or one written by `modx tokenizer train`).
 * A tokenizer is read-only once loaded: any number of threads may use it. */
MODX_API modx_status modx_tokenizer_load(modx_tokenizer **out, const char *path);
MODX_API void modx_tokenizer_free(modx_tokenizer *tokenizer);
/* Number of ids the tokenizer produces (ids lie in [0, size)); a model can
 * take its tokens when this is at most modx_model_vocab_size. */
MODX_API int modx_tokenizer_vocab_size(const modx_tokenizer *tokenizer);
/* Tokenizes one caption exactly as OpenAI's SimpleTokenizer + OpenCLIP's
 * tokenize: ids[0] = <start_of_text>, the text's tokens, <end_of_text>, cut
 * to `context` ids with <end_of_text> kept last, the rest of ids[0..context)
 * set to 0. *n_used (may be NULL) receives the ids used. context >= 2.
 * Text that is not valid UTF-8 is MODX_ERR_FORMAT. */
MODX_API modx_status modx_tokenize(const modx_tokenizer *tokenizer, const char *text, int32_t *ids, int context,
                                   int *n_used);

/* ---- Images ----------------------------------------------------------- */

/* Reads a JPEG or PNG file (format detected from its bytes) and writes the
 * CLIP input tensor of it into chw (3 × size × size floats): transparent
 * pixels composited over white, the shorter side resized to `size` with
 * bicubic interpolation exactly as Pillow's, a centre crop, then
 * (v / 255 − mean) / std with the CLIP mean and std — what `modx preprocess`
 * writes. size in [1, 4096]; use modx_model_image_size. Errors name the file. */
MODX_API modx_status modx_image_preprocess(const char *path, int size, float *chw);

/* ---- Features --------------------------------------------------------- */

/* Image tower: pixels (n, 3, S, S) → features (n, E), each row L2-normalised.
 * n >= 1; rows are encoded in batches of 64 (a row's features depend on the
 * batch it falls in only through the last bits of the matrix products). */
MODX_API modx_status modx_encode_images(const modx_model *model, const float *pixels, int n, float *features);
/* Text tower: tokens (n, T) → features (n, E), each row L2-normalised, taken
 * at the <end_of_text> position (the largest id of the row). Every id must lie
 * in [0, V) (MODX_ERR_INVALID naming the row, position and id). n >= 1;
 * batches of 64 as above. */
MODX_API modx_status modx_encode_texts(const modx_model *model, const int32_t *tokens, int n, float *features);
/* out (n, m) = a · bᵀ for a (n, dim) and b (m, dim): cosine similarities
 * when the rows are L2-normalised features. Each entry is summed in double
 * in index order and rounded once to float. n, m, dim >= 1. */
MODX_API modx_status modx_similarity(const float *a, int n, const float *b, int m, int dim, float *out);

/* ---- Training --------------------------------------------------------- */

typedef struct modx_trainer modx_trainer;

/* A trainer runs single training steps of `model` (changed in place) with a
 * named continual strategy and AdamW (β 0.9/0.999, ε 1e-8, decoupled
 * weight_decay on the weights only — OpenCLIP's exclusions: gains, biases,
 * logit_scale — and logit_scale clamped to [0, ln 100] after each update).
 *   strategy: a registered strategy's name (`modx run` lists them); a step runs
 *     its loss term: "finetune", "joint", "wiseft", "merge", "replay" optimise
 *     the contrastive CLIP loss (a replay batch is the caller's mix of new and
 *     stored pairs; weight merges come after a phase); "modx" and
 *     "modx+replay" add α·L_kl (Mod-X, with selection), "modx-noselect" the
 *     same without selection, "lwf" adds λ·L_lwf — these four need `old`, the
 *     frozen model of the previous phase (same image size, context length and
 *     embed_dim), which must outlive the trainer and is only read. "ewc" is
 *     refused (MODX_ERR_UNSUPPORTED: it needs the previous phase's Fisher
 *     information).
 *   old: ignored (may be NULL) for the strategies that do not use it.
 *   lr: the learning rate of every step (modx_trainer_set "lr" changes it, so
 *     a caller can run a schedule); weight_decay >= 0; max_batch >= 1 bounds B.
 * The trainer keeps AdamW's moments and step count; `model` must outlive it.
 * Memory for a batch of max_batch is allocated here, none in a step. */
MODX_API modx_status modx_trainer_new(modx_trainer **out, modx_model *model, const modx_model *old,
                                      const char *strategy, double lr, double weight_decay, int max_batch);
/* Sets a hyperparameter by name: "lr" (>= 0) for every strategy, or one of
 * the strategy's own, by its key in an experiment's variant object or its
 * "train" key: "alpha" (Mod-X α in [0, 1e6], default 1; src/loss/modx.h's
 * batch rule suggests 20·280/B) for the modx strategies; "lambda" /
 * "lwf_lambda" ([0, 1e6], default 1) and "tau" / "lwf_tau" ([1e-3, 1e3],
 * default 1) for lwf. A name the strategy does not have, or a
 * value out of range, is MODX_ERR_INVALID naming the strategy and the key. */
MODX_API modx_status modx_trainer_set(modx_trainer *trainer, const char *key, double value);
/* One step on B pairs (1 <= B <= max_batch): pixels (B, 3, S, S), tokens
 * (B, T), pair i = (image i, caption i); forward, the strategy's loss,
 * backward, one AdamW update. *loss (may be NULL) receives the loss the step
 * differentiated. A non-finite loss or gradient is MODX_ERR_NUMERIC naming
 * the step, and leaves the model unchanged. */
MODX_API modx_status modx_trainer_step(modx_trainer *trainer, const float *pixels, const int32_t *tokens, int B,
                                       float *loss);
/* Updates taken so far. */
MODX_API int64_t modx_trainer_steps(const modx_trainer *trainer);
MODX_API void modx_trainer_free(modx_trainer *trainer);

/* ---- Evaluation ------------------------------------------------------- */

/* Retrieval figures (percent; ranks 1-based). */
typedef struct modx_retrieval {
    int n_images, n_texts;
    double i2t_r1, i2t_r5, i2t_r10; /* image→text R@1/5/10 */
    double t2i_r1, t2i_r5, t2i_r10; /* text→image R@1/5/10 */
    double rsum;                    /* the sum of the six */
    double i2t_median_rank, i2t_mean_rank;
    double t2i_median_rank, t2i_mean_rank;
} modx_retrieval;

/* Image↔text retrieval on features: images (n_images, dim), texts
 * (n_texts, dim), text_image[j] = the image of text j (several texts may share
 * an image; every image needs one), or NULL when text j belongs to image j
 * (n_texts == n_images). Scores are dot products; an image's rank is the best
 * among its own texts; ties rank the lower index first (COCO/Flickr30K
 * protocol). Errors: sizes not positive, a text mapped outside [0, n_images),
 * an image without texts, a non-finite value (MODX_ERR_INVALID). */
MODX_API modx_status modx_retrieval_evaluate(modx_retrieval *out, const float *images, int n_images,
                                             const float *texts, int n_texts, int dim, const int32_t *text_image);

#ifdef __cplusplus
}
#endif

#endif
