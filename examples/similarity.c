/* similarity — encode a few images and captions with a modx model and print
 * their cosine-similarity matrix and the caption each image picks.
 *
 *   similarity CKPT VOCAB IMAGE... -- CAPTION...
 *
 * Uses only the installed public header; build with
 *   cc similarity.c -o similarity $(pkg-config --cflags --libs modx)
 * (add --static to pkg-config and link libmodx.a for a static build). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modx.h>

static int fail(const char *what) {
    fprintf(stderr, "similarity: %s: %s\n", what, modx_last_error());
    return 1;
}

/* Preprocesses and encodes the n image files into features (n, E). */
static modx_status encode_images(const modx_model *m, char **paths, int n, float *features) {
    int S = modx_model_image_size(m);
    size_t px = (size_t)3 * S * S;
    float *pixels = malloc((size_t)n * px * sizeof *pixels);
    if (!pixels) return MODX_ERR_NOMEM;
    modx_status st = MODX_OK;
    for (int i = 0; i < n && st == MODX_OK; i++) st = modx_image_preprocess(paths[i], S, pixels + (size_t)i * px);
    if (st == MODX_OK) st = modx_encode_images(m, pixels, n, features);
    free(pixels);
    return st;
}

/* Tokenizes and encodes the m captions into features (m, E). */
static modx_status encode_texts(const modx_model *m, const modx_tokenizer *tok, char **texts, int n, float *features) {
    int T = modx_model_context_length(m);
    int32_t *tokens = malloc((size_t)n * T * sizeof *tokens);
    if (!tokens) return MODX_ERR_NOMEM;
    modx_status st = MODX_OK;
    for (int j = 0; j < n && st == MODX_OK; j++) st = modx_tokenize(tok, texts[j], tokens + (size_t)j * T, T, NULL);
    if (st == MODX_OK) st = modx_encode_texts(m, tokens, n, features);
    free(tokens);
    return st;
}

static void print_matrix(char **images, int n, char **captions, int m, const float *sim) {
    printf("similarity: %d images x %d captions (cosine of the L2-normalised features)\n", n, m);
    for (int j = 0; j < m; j++) printf("caption %d: %s\n", j, captions[j]);
    for (int i = 0; i < n; i++) {
        printf("image %d (%s):", i, images[i]);
        for (int j = 0; j < m; j++) printf(" %+.4f", sim[(size_t)i * m + j]);
        printf("\n");
    }
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int j = 1; j < m; j++)
            if (sim[(size_t)i * m + j] > sim[(size_t)i * m + best]) best = j;
        printf("image %d picks caption %d (%+.4f): %s\n", i, best, sim[(size_t)i * m + best], captions[best]);
    }
}

int main(int argc, char **argv) {
    int sep = 0;
    for (int k = 3; k < argc && !sep; k++)
        if (!strcmp(argv[k], "--")) sep = k;
    if (argc < 6 || sep < 4 || sep == argc - 1) {
        fprintf(stderr, "usage: %s CKPT VOCAB IMAGE... -- CAPTION...\n", argv[0]);
        return 2;
    }
    if (strcmp(modx_version(), MODX_VERSION_STRING))
        fprintf(stderr, "similarity: header %s, library %s\n", MODX_VERSION_STRING, modx_version());
    char **images = argv + 3, **captions = argv + sep + 1;
    int n = sep - 3, m = argc - sep - 1, rc = 1;
    modx_model *model = NULL;
    modx_tokenizer *tok = NULL;
    float *img = NULL, *txt = NULL, *sim = NULL;
    if (modx_model_load(&model, argv[1], NULL) != MODX_OK) return fail(argv[1]);
    if (modx_tokenizer_load(&tok, argv[2]) != MODX_OK) {
        rc = fail(argv[2]);
        goto done;
    }
    int E = modx_model_embed_dim(model);
    img = malloc((size_t)n * E * sizeof *img), txt = malloc((size_t)m * E * sizeof *txt);
    sim = malloc((size_t)n * m * sizeof *sim);
    if (!img || !txt || !sim) {
        fprintf(stderr, "similarity: out of memory\n");
        goto done;
    }
    if (encode_images(model, images, n, img) != MODX_OK) {
        rc = fail("images");
        goto done;
    }
    if (encode_texts(model, tok, captions, m, txt) != MODX_OK) {
        rc = fail("captions");
        goto done;
    }
    if (modx_similarity(img, n, txt, m, E, sim) != MODX_OK) {
        rc = fail("similarity");
        goto done;
    }
    print_matrix(images, n, captions, m, sim);
    rc = 0;
done:
    free(img), free(txt), free(sim);
    modx_tokenizer_free(tok);
    modx_model_free(model);
    return rc;
}
