#include "data/selection.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/dataset.h"

/* Appends s to out[0..n) (truncating, always NUL-terminated). */
static void append(char *out, size_t n, const char *s) {
    size_t len = strlen(out);
    if (len + 1 < n) snprintf(out + len, n - len, "%s", s);
}

static void domain_list_text(const Cache *c, char *out, size_t n) {
    out[0] = 0;
    for (uint64_t d = 0; d < c->n_domains; d++) {
        if (d) append(out, n, ", ");
        append(out, n, c->domain_names[d]);
    }
}

void selection_splits_text(unsigned mask, char *out, size_t n) {
    out[0] = 0;
    if ((mask & DATASET_SPLITS_ALL) == DATASET_SPLITS_ALL) return (void)snprintf(out, n, "all");
    for (int s = 0; s < 5; s++)
        if (mask & (1u << s)) {
            if (out[0]) append(out, n, "+");
            append(out, n, dataset_split_name(s));
        }
    if (!out[0]) snprintf(out, n, "nothing");
}

ModxStatus selection_domain_id(const Cache *c, const char *name, uint32_t *id) {
    for (uint64_t d = 0; d < c->n_domains; d++)
        if (!strcmp(c->domain_names[d], name)) {
            *id = (uint32_t)d;
            return MODX_OK;
        }
    char list[1024];
    domain_list_text(c, list, sizeof list);
    return modx_fail(MODX_ERR_INVALID, "unknown domain '%s' (the dataset has: %s)", name, list);
}

ModxStatus selection_parse_domain_list(char *buf, const char **names, size_t max, size_t *n) {
    *n = 0;
    for (char *p = buf;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        if (!*p) return modx_fail(MODX_ERR_INVALID, "domain list: expected names separated by commas, found an empty name");
        if (*n == max) return modx_fail(MODX_ERR_INVALID, "domain list: more than %zu names", max);
        names[(*n)++] = p;
        if (!comma) return MODX_OK;
        p = comma + 1;
    }
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void selection_sample(uint32_t *images, size_t *n, size_t sample, uint64_t seed, uint64_t stream) {
    if (!sample || sample >= *n) return;
    Rng g;
    rng_seed_stream(&g, seed, stream);
    rng_shuffle_u32(&g, images, *n);
    *n = sample;
    qsort(images, *n, sizeof(uint32_t), cmp_u32);
}

/* The "nothing matched" error: what was searched and what the cache holds. */
static ModxStatus fail_empty(const Cache *c, const Selection *s) {
    size_t count[5] = {0};
    for (uint64_t i = 0; i < c->n_images; i++) count[c->image_split[i] < 5 ? c->image_split[i] : 0]++;
    char splits[64], present[256] = "", wanted[1024] = "", domains[1024];
    selection_splits_text(s->splits, splits, sizeof splits);
    for (int k = 0; k < 5; k++)
        if (count[k]) {
            char item[64];
            snprintf(item, sizeof item, "%s%s=%zu", present[0] ? " " : "", dataset_split_name(k), count[k]);
            append(present, sizeof present, item);
        }
    for (size_t k = 0; k < s->n_domains; k++) {
        if (k) append(wanted, sizeof wanted, ", ");
        append(wanted, sizeof wanted, s->domains[k]);
    }
    domain_list_text(c, domains, sizeof domains);
    return modx_fail(MODX_ERR_INVALID, "no image in split %s%s%s (the dataset has splits: %s; domains: %s)", splits,
                     s->n_domains ? " and domains " : "", wanted, present[0] ? present : "no images", domains);
}

ModxStatus selection_apply(const Cache *c, const Selection *s, uint32_t **images, size_t *n) {
    *images = NULL;
    *n = 0;
    uint8_t *want = NULL;
    uint32_t *out = NULL;
    ModxStatus st = MODX_OK;
    if (s->n_domains) {
        if (!(want = modx_calloc(c->n_domains, 1, "domain flags"))) return MODX_ERR_NOMEM;
        for (size_t k = 0; k < s->n_domains; k++) {
            uint32_t id = 0;
            if ((st = selection_domain_id(c, s->domains[k], &id)) != MODX_OK) goto fail;
            want[id] = 1;
        }
    }
    if (!(out = modx_calloc(c->n_images ? c->n_images : 1, sizeof *out, "selected images"))) {
        st = MODX_ERR_NOMEM;
        goto fail;
    }
    size_t m = 0;
    for (uint64_t i = 0; i < c->n_images; i++)
        if ((s->splits & (1u << c->image_split[i])) && (!want || want[c->image_domain[i]])) out[m++] = (uint32_t)i;
    if (!m) {
        st = fail_empty(c, s);
        goto fail;
    }
    selection_sample(out, &m, s->sample, s->seed, s->stream);
    free(want);
    *images = out;
    *n = m;
    return MODX_OK;
fail:
    free(want);
    free(out);
    return st;
}

int selection_any_in_domains(const Cache *c, const char *const *domains, size_t n_domains, const uint32_t *images,
                          size_t n) {
    if (!n_domains) return n > 0;
    for (size_t k = 0; k < n_domains; k++)
        for (uint64_t d = 0; d < c->n_domains; d++) {
            if (strcmp(c->domain_names[d], domains[k])) continue;
            for (size_t i = 0; i < n; i++)
                if (c->image_domain[images[i]] == d) return 1;
        }
    return 0;
}
