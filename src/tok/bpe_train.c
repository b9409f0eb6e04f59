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

#include "core/hash.h"
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
                size_t mask = big.cap - 1, j = hash_mix64(pc->key[i]) & mask;
                while (big.key[j]) j = (j + 1) & mask;
                big.key[j] = pc->key[i];
                big.count[j] = pc->count[i];
                big.used++;
            }
        pc_free(pc);
        *pc = big;
    }
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    size_t mask = pc->cap - 1, j = hash_mix64(key) & mask;
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

static uint64_t hash_str(const uint8_t *s, size_t n) { return hash_mix64(hash_fnv1a(s, n)); }

/* strcmp order of two symbols, then their ids. */
static int pair_before(char **text, int32_t a1, int32_t b1, int32_t a2, int32_t b2) {
    int c = strcmp(text[a1], text[a2]);
    if (c == 0) c = strcmp(text[b1], text[b2]);
    if (c == 0) c = a1 != a2 ? (a1 < a2 ? -1 : 1) : (b1 < b2 ? -1 : (b1 > b2));
    return c < 0;
}

/* Training state: the distinct words, their hash index, the symbol strings
 * and the merges learnt so far. Owned by bpe_train. */
typedef struct {
    TrainWord *words;
    size_t n_words, cap_words;
    WordIndex wi;
    char **text;     /* (vocab_size) symbol strings */
    int32_t *part_a; /* (merges) left part of merge r */
    int32_t *part_b; /* (merges) right part */
    int n_merges;
    PairCounts pc;
} BpeTrain;

/* The 512 byte symbols: ids 0..255 alone, 256..511 ending a word (</w>). */
static ModxStatus init_byte_symbols(char **text) {
    for (int id = 0; id < 512; id++) {
        char tmp[16];
        int b = 0;
        while (tok_byte_id((uint8_t)b) != id % 256) b++;
        int len = tok_utf8_put(tok_byte_char((uint8_t)b), tmp);
        if (id >= 256) memcpy(tmp + len, "</w>", 4), len += 4;
        tmp[len] = 0;
        if (!(text[id] = strdup(tmp))) return modx_fail(MODX_ERR_NOMEM, "out of memory for BPE training");
    }
    return MODX_OK;
}

/* Rebuilds the word index at twice its size. */
static ModxStatus grow_word_index(BpeTrain *b) {
    size_t nc = b->wi.cap * 2;
    int32_t *ns2 = malloc(nc * sizeof(int32_t));
    if (!ns2) return modx_fail(MODX_ERR_NOMEM, "out of memory for BPE training");
    memset(ns2, 0xff, nc * sizeof(int32_t));
    for (size_t q = 0; q < b->n_words; q++) {
        size_t m2 = nc - 1, jj = b->words[q].hash & m2;
        while (ns2[jj] >= 0) jj = (jj + 1) & m2;
        ns2[jj] = (int32_t)q;
    }
    free(b->wi.slot);
    b->wi.slot = ns2;
    b->wi.cap = nc;
    return MODX_OK;
}

/* Counts one occurrence of the pre-token u (len bytes): a known word's
 * count goes up, a new one is added with count 1. */
static ModxStatus add_word(BpeTrain *b, const uint8_t *u, size_t len) {
    uint64_t hash = hash_str(u, len);
    size_t mask = b->wi.cap - 1, j = hash & mask;
    while (b->wi.slot[j] >= 0) {
        TrainWord *w = &b->words[b->wi.slot[j]];
        if (w->len == len) { /* compare initial symbols */
            size_t k = 0;
            while (k < len && w->sym[k] == (int32_t)(tok_byte_id(u[k]) + (k + 1 == len ? 256 : 0))) k++;
            if (k == len) {
                w->freq++;
                return MODX_OK;
            }
        }
        j = (j + 1) & mask;
    }
    if (b->n_words == b->cap_words) {
        size_t nc = b->cap_words ? 2 * b->cap_words : 256;
        TrainWord *nw = realloc(b->words, nc * sizeof *nw);
        if (!nw) return modx_fail(MODX_ERR_NOMEM, "out of memory for BPE training");
        b->words = nw;
        b->cap_words = nc;
    }
    TrainWord *w = &b->words[b->n_words];
    w->sym = malloc(len * sizeof(int32_t));
    if (!w->sym) return modx_fail(MODX_ERR_NOMEM, "out of memory for BPE training");
    for (size_t k = 0; k < len; k++) w->sym[k] = tok_byte_id(u[k]);
    w->sym[len - 1] += 256;
    w->len = len;
    w->freq = 1;
    w->hash = hash;
    b->wi.slot[j] = (int32_t)b->n_words++;
    if (2 * b->n_words > b->wi.cap) return grow_word_index(b); /* grow the index */
    return MODX_OK;
}

/* Adds the pre-tokens of caption t (0-based, for messages) to the words. */
static ModxStatus add_caption(BpeTrain *b, const char *caption, size_t t) {
    size_t n = strlen(caption), bad_at;
    if (!tok_utf8_check(caption, n, &bad_at))
        return modx_fail(MODX_ERR_FORMAT, "caption %zu: not valid UTF-8 (bad byte 0x%02X at offset %zu)", t + 1,
                         (unsigned)(uint8_t)caption[bad_at], bad_at);
    TokCps clean = {0};
    TokSpan *spans = NULL;
    size_t ns = 0;
    ModxStatus st = tok_clean(caption, n, &clean);
    if (st == MODX_OK) st = tok_pretokenize(&clean, &spans, &ns);
    for (size_t s = 0; s < ns && st == MODX_OK; s++) {
        char *buf;
        size_t len;
        st = tok_utf8_encode(clean.v + spans[s].start, spans[s].end - spans[s].start, &buf, &len);
        if (st != MODX_OK) break;
        if (strcmp(buf, "<|startoftext|>") && strcmp(buf, "<|endoftext|>")) st = add_word(b, (const uint8_t *)buf, len);
        free(buf);
    }
    free(spans);
    tok_cps_free(&clean);
    return st;
}

/* The pair with the highest count (ties by pair_before); *best 0 when none is left. */
static void best_pair(const BpeTrain *b, int64_t *best, int32_t *ba, int32_t *bb) {
    const PairCounts *pc = &b->pc;
    *best = 0;
    *ba = -1;
    *bb = -1;
    for (size_t i = 0; i < pc->cap; i++) {
        if (!pc->key[i] || pc->count[i] <= 0) continue;
        int32_t a = (int32_t)((pc->key[i] - 1) >> 32), c = (int32_t)((pc->key[i] - 1) & 0xffffffffu);
        if (pc->count[i] > *best || (pc->count[i] == *best && pair_before(b->text, a, c, *ba, *bb))) {
            *best = pc->count[i];
            *ba = a;
            *bb = c;
        }
    }
}

/* Replaces every (ba, bb) in every word by symbol m, keeping the pair counts current. */
static ModxStatus apply_merge(BpeTrain *b, int32_t ba, int32_t bb, int32_t m) {
    ModxStatus st = MODX_OK;
    for (size_t w = 0; w < b->n_words && st == MODX_OK; w++) {
        TrainWord *tw = &b->words[w];
        size_t k = 0;
        while (k + 1 < tw->len && !(tw->sym[k] == ba && tw->sym[k + 1] == bb)) k++;
        if (k + 1 >= tw->len) continue;
        st = word_pairs(&b->pc, tw, -1);
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
        if (st == MODX_OK) st = word_pairs(&b->pc, tw, 1);
    }
    return st;
}

/* Learns up to n_merges_wanted merges into b->text / part_a / part_b. */
static ModxStatus learn_merges(BpeTrain *b, int n_merges_wanted) {
    ModxStatus st = pc_init(&b->pc, 1 << 12);
    for (size_t w = 0; w < b->n_words && st == MODX_OK; w++) st = word_pairs(&b->pc, &b->words[w], 1);
    while (st == MODX_OK && b->n_merges < n_merges_wanted) {
        int64_t best;
        int32_t ba, bb;
        best_pair(b, &best, &ba, &bb);
        if (best <= 0) break;
        int32_t m = 512 + b->n_merges;
        size_t la = strlen(b->text[ba]), lb = strlen(b->text[bb]);
        if (!(b->text[m] = malloc(la + lb + 1))) return modx_fail(MODX_ERR_NOMEM, "out of memory for BPE training");
        memcpy(b->text[m], b->text[ba], la);
        memcpy(b->text[m] + la, b->text[bb], lb + 1);
        b->part_a[b->n_merges] = ba;
        b->part_b[b->n_merges] = bb;
        b->n_merges++;
        st = apply_merge(b, ba, bb, m);
    }
    return st;
}

static ModxStatus write_merges(const BpeTrain *b, const char *out_path) {
    FILE *f = fopen(out_path, "wb");
    if (!f) return modx_fail(MODX_ERR_IO, "%s: cannot create merges file", out_path);
    ModxStatus st = MODX_OK;
    /* no newline after the last merge: SimpleTokenizer would read a trailing
     * empty line as one more (empty) vocabulary entry */
    fputs("#version: 0.2 - trained by modx tokenizer train", f);
    for (int r = 0; r < b->n_merges; r++) fprintf(f, "\n%s %s", b->text[b->part_a[r]], b->text[b->part_b[r]]);
    if (ferror(f)) st = modx_fail(MODX_ERR_IO, "%s: cannot write merges file", out_path);
    if (fclose(f) != 0 && st == MODX_OK) st = modx_fail(MODX_ERR_IO, "%s: cannot write merges file", out_path);
    return st;
}

ModxStatus bpe_train(const char *const *texts, size_t n_texts, int vocab_size, const char *out_path) {
    if (vocab_size < 514 || vocab_size > 512 + TOK_MAX_MERGES + 2)
        return modx_fail(MODX_ERR_INVALID, "vocabulary size %d: expected 514 (no merges) .. %d (512 byte symbols + merges + 2 specials)",
                         vocab_size, 512 + TOK_MAX_MERGES + 2);
    ModxStatus st = MODX_OK;
    BpeTrain b = {0};
    b.wi = (WordIndex){1024, 0, malloc(1024 * sizeof(int32_t))};
    b.text = calloc((size_t)vocab_size, sizeof(char *));
    b.part_a = malloc((size_t)vocab_size * sizeof(int32_t));
    b.part_b = malloc((size_t)vocab_size * sizeof(int32_t));
    if (!b.wi.slot || !b.text || !b.part_a || !b.part_b) {
        st = modx_fail(MODX_ERR_NOMEM, "out of memory for BPE training");
        goto done;
    }
    memset(b.wi.slot, 0xff, b.wi.cap * sizeof(int32_t));
    if ((st = init_byte_symbols(b.text)) != MODX_OK) goto done;
    /* distinct words and their counts */
    for (size_t t = 0; t < n_texts && st == MODX_OK; t++) st = add_caption(&b, texts[t], t);
    if (st != MODX_OK) goto done;
    if ((st = learn_merges(&b, vocab_size - 514)) != MODX_OK) goto done;
    st = write_merges(&b, out_path);
done:
    for (size_t w = 0; w < b.n_words; w++) free(b.words[w].sym);
    free(b.words);
    free(b.wi.slot);
    if (b.text)
        for (int i = 0; i < vocab_size; i++) free(b.text[i]);
    free(b.text);
    free(b.part_a);
    free(b.part_b);
    pc_free(&b.pc);
    return st;
}
