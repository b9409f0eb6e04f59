#include "data/phases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/selection.h"

ModxStatus phases_parse_mode(const char *text, PhaseMode *mode) {
    if (!strcmp(text, "contiguous")) *mode = PHASES_CONTIGUOUS;
    else if (!strcmp(text, "random")) *mode = PHASES_RANDOM;
    else if (!strcmp(text, "domain")) *mode = PHASES_DOMAIN;
    else return modx_fail(MODX_ERR_INVALID, "phase split '%s': expected contiguous, random or domain", text);
    return MODX_OK;
}

void phases_free(PhaseStream *ps) {
    if (!ps) return;
    for (size_t k = 0; k < ps->n_phases; k++) free(ps->phases[k].images);
    free(ps->phases);
    ps->phases = NULL;
    ps->n_phases = 0;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static ModxStatus alloc_phases(PhaseStream *out, size_t n_phases) {
    out->phases = modx_calloc(n_phases, sizeof *out->phases, "phases");
    if (!out->phases) return MODX_ERR_NOMEM;
    out->n_phases = n_phases;
    return MODX_OK;
}

static ModxStatus cut_even(PhaseStream *out, const uint32_t *src, size_t n, size_t n_phases, int sort) {
    MODX_TRY(alloc_phases(out, n_phases));
    size_t base = n / n_phases, extra = n % n_phases, pos = 0;
    for (size_t k = 0; k < n_phases; k++) {
        Phase *p = &out->phases[k];
        p->n_images = base + (k < extra ? 1 : 0);
        snprintf(p->name, sizeof p->name, "phase%zu", k + 1);
        p->images = modx_calloc(p->n_images, sizeof *p->images, "phase images");
        if (!p->images) return MODX_ERR_NOMEM;
        memcpy(p->images, src + pos, p->n_images * sizeof *p->images);
        if (sort) qsort(p->images, p->n_images, sizeof *p->images, cmp_u32);
        pos += p->n_images;
    }
    return MODX_OK;
}

static ModxStatus split_domain(PhaseStream *out, const uint32_t *images, size_t n, size_t n_phases,
                               const uint32_t *image_domain, const char *const *names, size_t n_domains,
                               const char *const *order, size_t n_order) {
    if (!image_domain || !names || n_domains == 0)
        return modx_fail(MODX_ERR_INVALID, "phase split by domain: the data has no domain table");
    size_t *count = modx_calloc(n_domains, sizeof *count, "domain counts");
    size_t *seq = modx_calloc(n_domains, sizeof *seq, "domain order");
    ModxStatus st = MODX_OK;
    if (!count || !seq) {
        st = MODX_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t d = image_domain[images[i]];
        CHECK(d < n_domains, "image %u: domain %u out of range", images[i], d);
        count[d]++;
    }
    size_t np = 0;
    if (order && n_order) {
        for (size_t k = 0; k < n_order; k++) {
            size_t d = n_domains;
            for (size_t j = 0; j < n_domains; j++)
                if (!strcmp(names[j], order[k])) d = j;
            if (d == n_domains) {
                st = modx_fail(MODX_ERR_INVALID, "phase order: domain '%s' is not in the data (it has %zu domains, the "
                                                 "first '%s')", order[k], n_domains, names[0]);
                goto done;
            }
            for (size_t j = 0; j < np; j++)
                if (seq[j] == d) {
                    st = modx_fail(MODX_ERR_INVALID, "phase order: domain '%s' named twice", order[k]);
                    goto done;
                }
            if (count[d] == 0) {
                st = modx_fail(MODX_ERR_INVALID, "phase order: domain '%s' has no image in this subset", order[k]);
                goto done;
            }
            seq[np++] = d;
        }
        /* the phases hold every image exactly once: an order must name every domain present */
        for (size_t d = 0; d < n_domains; d++) {
            int listed = 0;
            for (size_t j = 0; j < np; j++) listed |= seq[j] == d;
            if (count[d] && !listed) {
                st = modx_fail(MODX_ERR_INVALID,
                               "phase order: domain '%s' (%zu images) is not named; name every domain of the data, "
                               "or select the domains first",
                               names[d], count[d]);
                goto done;
            }
        }
    } else {
        for (size_t d = 0; d < n_domains; d++)
            if (count[d]) seq[np++] = d;
    }
    if (n_phases != 0 && n_phases != np) {
        st = modx_fail(MODX_ERR_INVALID, "phase split by domain: %zu phases asked, the data gives %zu domain phases",
                       n_phases, np);
        goto done;
    }
    if ((st = alloc_phases(out, np)) != MODX_OK) goto done;
    for (size_t k = 0; k < np; k++) {
        Phase *p = &out->phases[k];
        snprintf(p->name, sizeof p->name, "%s", names[seq[k]]);
        p->images = modx_calloc(count[seq[k]], sizeof *p->images, "phase images");
        if (!p->images) {
            st = MODX_ERR_NOMEM;
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            if (image_domain[images[i]] == seq[k]) p->images[p->n_images++] = images[i];
    }
done:
    free(count);
    free(seq);
    return st;
}

ModxStatus phases_split(PhaseStream *out, const uint32_t *images, size_t n, PhaseMode mode, size_t n_phases,
                        uint64_t seed, const uint32_t *image_domain, const char *const *domain_names, size_t n_domains,
                        const char *const *order, size_t n_order) {
    memset(out, 0, sizeof *out);
    if (n == 0) return modx_fail(MODX_ERR_INVALID, "phase split: expected at least one image, found none");
    ModxStatus st;
    if (mode == PHASES_DOMAIN) {
        st = split_domain(out, images, n, n_phases, image_domain, domain_names, n_domains, order, n_order);
    } else {
        if (n_phases == 0 || n_phases > n)
            return modx_fail(MODX_ERR_INVALID, "phase split: %zu phases asked for %zu images; expected 1 .. %zu", n_phases,
                             n, n);
        if (mode == PHASES_CONTIGUOUS) {
            st = cut_even(out, images, n, n_phases, 0);
        } else {
            uint32_t *tmp = modx_calloc(n, sizeof *tmp, "phase shuffle");
            if (!tmp) return MODX_ERR_NOMEM;
            memcpy(tmp, images, n * sizeof *tmp);
            Rng r;
            rng_seed_stream(&r, seed, 0x7068617365ull);
            rng_shuffle_u32(&r, tmp, n);
            st = cut_even(out, tmp, n, n_phases, 1);
            free(tmp);
        }
    }
    if (st != MODX_OK) phases_free(out);
    return st;
}

ModxStatus phases_subset_by_split(const Cache *c, unsigned mask, uint32_t **images, size_t *n) {
    Selection s = {.splits = mask};
    return selection_apply(c, &s, images, n);
}
