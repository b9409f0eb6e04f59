/* Learning BPE merges from captions, in OpenAI's merges format.
 *
 * The captions go through the same clean-up and pre-tokenising as encoding;
 * each distinct pre-token is a word of byte symbols (the last one with </w>)
 * weighted by its count. Each step merges the adjacent pair with the highest
 * weighted count; ties go to the pair whose left symbol, then right symbol, is
 * smallest by bytes (strcmp of the vocabulary strings). The special tokens
 * <|startoftext|> / <|endoftext|> written in a caption are not learnt from.
 * Training stops early, with fewer merges, when no adjacent pair is left. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/size.h"
#include "tok/bpe_internal.h"
#include "tok/clean.h"

typedef struct {
    int32_t *sym; /* (len) symbol ids */
    size_t len;
    int64_t freq;
    uint64_t hash; /* of the word's bytes */
} TrainWord;

typedef struct {
    size_t cap, used;
    uint64_t *key; /* (a << 32 | b) + 1; 0 empty */
    int64_t *count;
} PairCounts;

typedef struct {
    size_t cap, used;
    int32_t *slot; /* word index or -1 */
} WordIndex;

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static ModxStatus pc_init(PairCounts *pc, size_t cap) {
    pc->cap = cap;
    pc->used = 0;
    pc->key = calloc(cap, sizeof(uint64_t));
    pc->count = calloc(cap, sizeof(int64_t));
    if (!pc->key || !pc->count) return modx_fail(MODX_ERR_NOMEM, "out of memory for BPE pair counts");
    return MODX_OK;
}

static void pc_free(PairCounts *pc) {
    free(pc->key);
    free(pc->count);
}

static ModxStatus pc_add(PairCounts *pc, int32_t a, int32_t b, int64_t delta) {
    if (2 * (pc->used + 1) > pc->cap) {
        PairCounts big;
        MODX_TRY(pc_init(&big, pc->cap * 2));
        for (size_t i = 0; i < pc->cap; i++)
            if (pc->key[i]) {
                size_t mask = big.cap - 1, j = mix64(pc->key[i]) & mask;
                while (big.key[j]) j = (j + 1) & mask;
                big.key[j] = pc->key[i];
                big.count[j] = pc->count[i];
                big.used++;
            }
        pc_free(pc);
        *pc = big;
    }
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    size_t mask = pc->cap - 1, j = mix64(key) & mask;
    while (pc->key[j] && pc->key[j] != key) j = (j + 1) & mask;
    if (!pc->key[j]) {
        pc->key[j] = key;
        pc->used++;
    }
    pc->count[j] += delta;
    return MODX_OK;
}

static ModxStatus word_pairs(PairCounts *pc, const TrainWord *w, int64_t sign) {
    for (size_t k = 0; k + 1 < w->len; k++) MODX_TRY(pc_add(pc, w->sym[k], w->sym[k + 1], sign * w->freq));
    return MODX_OK;
}

static uint64_t hash_str(const uint8_t *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return mix64(h);
}

/* strcmp order of two symbols, then their ids. */
static int pair_before(char **text, int32_t a1, int32_t b1, int32_t a2, int32_t b2) {
    int c = strcmp(text[a1], text[a2]);
    if (c == 0) c = strcmp(text[b1], text[b2]);
    if (c == 0) c = a1 != a2 ? (a1 < a2 ? -1 : 1) : (b1 < b2 ? -1 : (b1 > b2));
    return c < 0;
}

ModxStatus bpe_train(const char *const *texts, size_t n_texts, int vocab_size, const char *out_path) {
    if (vocab_size < 514 || vocab_size > 512 + TOK_MAX_MERGES + 2)
        return modx_fail(MODX_ERR_INVALID, "vocabulary size %d: expected 514 (no merges) .. %d (512 byte symbols + merges + 2 specials)",
                         vocab_size, 512 + TOK_MAX_MERGES + 2);
    int n_merges_wanted = vocab_size - 514;
    ModxStatus st = MODX_OK;
    TrainWord *words = NULL;
    size_t n_words = 0, cap_words = 0;
    WordIndex wi = {1024, 0, malloc(1024 * sizeof(int32_t))};
    char **text = calloc((size_t)vocab_size, sizeof(char *)); /* symbol strings */
    int32_t *part_a = malloc((size_t)vocab_size * sizeof(int32_t)); /* (merges) left part of merge r */
    int32_t *part_b = malloc((size_t)vocab_size * sizeof(int32_t)); /* (merges) right part */
    PairCounts pc = {0};
    int n_merges = 0;
    FILE *f = NULL;
    if (!wi.slot || !text || !part_a || !part_b) {
        st = modx_fail(MODX_ERR_NOMEM, "out of memory for BPE training");
        goto done;
    }
    memset(wi.slot, 0xff, wi.cap * sizeof(int32_t));
    for (int id = 0; id < 512; id++) {
        char tmp[16];
        int b = 0;
        while (tok_byte_id((uint8_t)b) != id % 256) b++;
        int len = tok_utf8_put(tok_byte_char((uint8_t)b), tmp);
        if (id >= 256) memcpy(tmp + len, "</w>", 4), len += 4;
        tmp[len] = 0;
        if (!(text[id] = strdup(tmp))) {
            st = modx_fail(MODX_ERR_NOMEM, "out of memory for BPE training");
            goto done;
        }
    }

    /* distinct words and their counts */
    for (size_t t = 0; t < n_texts && st == MODX_OK; t++) {
        size_t n = strlen(texts[t]), bad_at;
        if (!tok_utf8_check(texts[t], n, &bad_at)) {
            st = modx_fail(MODX_ERR_FORMAT, "caption %zu: not valid UTF-8 (bad byte 0x%02X at offset %zu)", t + 1,
                           (unsigned)(uint8_t)texts[t][bad_at], bad_at);
            break;
        }
        TokCps clean = {0};
        TokSpan *spans = NULL;
        size_t ns = 0;
        st = tok_clean(texts[t], n, &clean);
        if (st == MODX_OK) st = tok_pretokenize(&clean, &spans, &ns);
        for (size_t s = 0; s < ns && st == MODX_OK; s++) {
            char *buf;
            size_t len;
            st = tok_utf8_encode(clean.v + spans[s].start, spans[s].end - spans[s].start, &buf, &len);
            if (st != MODX_OK) break;
            if (!strcmp(buf, "<|startoftext|>") || !strcmp(buf, "<|endoftext|>")) {
                free(buf);
                continue;
            }
            const uint8_t *u = (const uint8_t *)buf;
            uint64_t hash = hash_str(u, len);
            size_t mask = wi.cap - 1, j = hash & mask;
            int found = 0;
            while (wi.slot[j] >= 0) {
                TrainWord *w = &words[wi.slot[j]];
                if (w->len == len) { /* compare initial symbols */
                    size_t k = 0;
                    while (k < len && w->sym[k] == (int32_t)(tok_byte_id(u[k]) + (k + 1 == len ? 256 : 0))) k++;
                    if (k == len) {
                        w->freq++;
                        found = 1;
                        break;
                    }
                }
                j = (j + 1) & mask;
            }
            if (!found) {
                if (n_words == cap_words) {
                    size_t nc = cap_words ? 2 * cap_words : 256;
                    TrainWord *nw = realloc(words, nc * sizeof *words);
                    if (!nw) { st = modx_fail(MODX_ERR_NOMEM, "out of memory for BPE training"); free(buf); break; }
                    words = nw;
                    cap_words = nc;
                }
                TrainWord *w = &words[n_words];
                w->sym = malloc(len * sizeof(int32_t));
                if (!w->sym) { st = modx_fail(MODX_ERR_NOMEM, "out of memory for BPE training"); free(buf); break; }
                for (size_t k = 0; k < len; k++) w->sym[k] = tok_byte_id(u[k]);
                w->sym[len - 1] += 256;
                w->len = len;
                w->freq = 1;
                w->hash = hash;
                wi.slot[j] = (int32_t)n_words++;
                if (2 * n_words > wi.cap) { /* grow the index */
                    size_t nc = wi.cap * 2;
                    int32_t *ns2 = malloc(nc * sizeof(int32_t));
                    if (!ns2) { st = modx_fail(MODX_ERR_NOMEM, "out of memory for BPE training"); free(buf); break; }
                    memset(ns2, 0xff, nc * sizeof(int32_t));
                    for (size_t q = 0; q < n_words; q++) {
                        size_t m2 = nc - 1, jj = words[q].hash & m2;
                        while (ns2[jj] >= 0) jj = (jj + 1) & m2;
                        ns2[jj] = (int32_t)q;
                    }
                    free(wi.slot);
                    wi.slot = ns2;
                    wi.cap = nc;
                }
            }
            free(buf);
        }
        free(spans);
        tok_cps_free(&clean);
    }
    if (st != MODX_OK) goto done;

    st = pc_init(&pc, 1 << 12);
    for (size_t w = 0; w < n_words && st == MODX_OK; w++) st = word_pairs(&pc, &words[w], 1);
    while (st == MODX_OK && n_merges < n_merges_wanted) {
        int64_t best = 0;
        int32_t ba = -1, bb = -1;
        for (size_t i = 0; i < pc.cap; i++) {
            if (!pc.key[i] || pc.count[i] <= 0) continue;
            int32_t a = (int32_t)((pc.key[i] - 1) >> 32), b = (int32_t)((pc.key[i] - 1) & 0xffffffffu);
            if (pc.count[i] > best || (pc.count[i] == best && pair_before(text, a, b, ba, bb))) {
                best = pc.count[i];
                ba = a;
                bb = b;
            }
        }
        if (best <= 0) break;
        int32_t m = 512 + n_merges;
        size_t la = strlen(text[ba]), lb = strlen(text[bb]);
        if (!(text[m] = malloc(la + lb + 1))) {
            st = modx_fail(MODX_ERR_NOMEM, "out of memory for BPE training");
            break;
        }
        memcpy(text[m], text[ba], la);
        memcpy(text[m] + la, text[bb], lb + 1);
        part_a[n_merges] = ba;
        part_b[n_merges] = bb;
        n_merges++;
        for (size_t w = 0; w < n_words && st == MODX_OK; w++) {
            TrainWord *tw = &words[w];
            size_t k = 0;
            while (k + 1 < tw->len && !(tw->sym[k] == ba && tw->sym[k + 1] == bb)) k++;
            if (k + 1 >= tw->len) continue;
            st = word_pairs(&pc, tw, -1);
            size_t j = 0;
            for (size_t q = 0; q < tw->len;) {
                if (q + 1 < tw->len && tw->sym[q] == ba && tw->sym[q + 1] == bb) {
                    tw->sym[j++] = m;
                    q += 2;
                } else {
                    tw->sym[j++] = tw->sym[q++];
                }
            }
            tw->len = j;
            if (st == MODX_OK) st = word_pairs(&pc, tw, 1);
        }
    }
    if (st != MODX_OK) goto done;

    f = fopen(out_path, "wb");
    if (!f) {
        st = modx_fail(MODX_ERR_IO, "%s: cannot create merges file", out_path);
        goto done;
    }
    /* no newline after the last merge: SimpleTokenizer would read a trailing
     * empty line as one more (empty) vocabulary entry */
    fputs("#version: 0.2 - trained by modx tokenizer train", f);
    for (int r = 0; r < n_merges; r++) fprintf(f, "\n%s %s", text[part_a[r]], text[part_b[r]]);
    if (ferror(f)) st = modx_fail(MODX_ERR_IO, "%s: cannot write merges file", out_path);
done:
    if (f && fclose(f) != 0 && st == MODX_OK) st = modx_fail(MODX_ERR_IO, "%s: cannot write merges file", out_path);
    for (size_t w = 0; w < n_words; w++) free(words[w].sym);
    free(words);
    free(wi.slot);
    if (text)
        for (int i = 0; i < vocab_size; i++) free(text[i]);
    free(text);
    free(part_a);
    free(part_b);
    pc_free(&pc);
    return st;
}
