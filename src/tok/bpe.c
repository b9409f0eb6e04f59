/* OpenAI CLIP's SimpleTokenizer in C: loading the merges file, encoding with
 * the exact clean-up / pattern / merge-by-rank rules, decoding. */
#include "tok/bpe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/hash.h"
#include "core/size.h"
#include "tok/bpe_internal.h"
#include "tok/clean.h"

#define BPE_MAX_FILE_BYTES ((size_t)256 << 20)

struct Bpe {
    int n_vocab;      /* V */
    char **text;      /* (V) vocabulary strings, UTF-8 of the byte symbols */
    int n_merges;
    int32_t *merge_a; /* (n_merges) left symbol id of merge r */
    int32_t *merge_b; /* (n_merges) right symbol id */
    int32_t *merge_id;/* (n_merges) id of the merged symbol */
    /* string -> id (the last id wins, as a Python dict built from the list) */
    size_t str_cap;
    int32_t *str_slot; /* (str_cap) id or -1 */
    /* (a, b) -> rank */
    size_t pair_cap;
    uint64_t *pair_key; /* (pair_cap) (a << 32 | b) + 1, 0 = empty */
    int32_t *pair_rank; /* (pair_cap) */
    int32_t sot, eot;
};

/* ---- bytes_to_unicode ---- */

static int byte_printable(int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); }

uint32_t tok_byte_char(uint8_t b) {
    if (byte_printable(b)) return b;
    uint32_t n = 0;
    for (int k = 0; k < b; k++) n += !byte_printable(k);
    return 256 + n;
}

int tok_byte_id(uint8_t b) {
    int id = 0;
    if (byte_printable(b)) {
        for (int k = 0; k < b; k++) id += byte_printable(k);
        return id;
    }
    id = 188; /* the printable bytes come first */
    for (int k = 0; k < b; k++) id += !byte_printable(k);
    return id;
}

/* The byte that code point cp stands for, or -1. */
static int char_byte(uint32_t cp) {
    if (cp < 256) return byte_printable((int)cp) ? (int)cp : -1;
    if (cp >= 256 + 68) return -1;
    int n = (int)(cp - 256);
    for (int b = 0; b < 256; b++)
        if (!byte_printable(b) && n-- == 0) return b;
    return -1;
}

/* ---- hash maps ---- */

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = hash_fnv1a(s, n);
    return h ^ (h >> 29);
}

static int32_t str_find(const Bpe *bpe, const char *s, size_t n) {
    size_t mask = bpe->str_cap - 1;
    for (size_t i = hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        int32_t id = bpe->str_slot[i];
        if (id < 0) return -1;
        const char *t = bpe->text[id];
        if (strlen(t) == n && memcmp(t, s, n) == 0) return id;
    }
}

static void str_put(Bpe *bpe, int32_t id) {
    const char *s = bpe->text[id];
    size_t n = strlen(s), mask = bpe->str_cap - 1;
    for (size_t i = hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        int32_t old = bpe->str_slot[i];
        if (old < 0 || strcmp(bpe->text[old], s) == 0) {
            bpe->str_slot[i] = id;
            return;
        }
    }
}

static int32_t pair_find(const Bpe *bpe, int32_t a, int32_t b) {
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    size_t mask = bpe->pair_cap - 1;
    for (size_t i = hash_mix64(key) & mask;; i = (i + 1) & mask) {
        if (bpe->pair_key[i] == 0) return -1;
        if (bpe->pair_key[i] == key) return bpe->pair_rank[i];
    }
}

static void pair_put(Bpe *bpe, int32_t a, int32_t b, int32_t rank) {
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    size_t mask = bpe->pair_cap - 1;
    size_t i = hash_mix64(key) & mask;
    while (bpe->pair_key[i] != 0 && bpe->pair_key[i] != key) i = (i + 1) & mask;
    bpe->pair_key[i] = key;
    bpe->pair_rank[i] = rank;
}

/* ---- loading ---- */

static ModxStatus read_all(const char *path, char **out, size_t *n_out) {
    gzFile f = gzopen(path, "rb");
    if (!f) return modx_fail(MODX_ERR_IO, "%s: cannot open merges file: %s", path, errno ? strerror(errno) : "out of memory");
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        gzclose(f);
        return modx_fail(MODX_ERR_NOMEM, "%s: out of memory reading the merges file", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap >= BPE_MAX_FILE_BYTES) {
                free(buf);
                gzclose(f);
                return modx_fail(MODX_ERR_FORMAT, "%s: merges file is larger than %zu bytes (uncompressed); not a merges file?",
                                 path, BPE_MAX_FILE_BYTES);
            }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                gzclose(f);
                return modx_fail(MODX_ERR_NOMEM, "%s: out of memory reading the merges file", path);
            }
            buf = nb;
        }
        int r = gzread(f, buf + n, (unsigned)(cap - n));
        if (r < 0) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            modx_fail(MODX_ERR_FORMAT, "%s: cannot read merges file (corrupt gzip?): %s", path, msg);
            free(buf);
            gzclose(f);
            return MODX_ERR_FORMAT;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    int zerr = Z_OK;
    const char *msg = gzerror(f, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        modx_fail(MODX_ERR_FORMAT, "%s: cannot read merges file (corrupt gzip?): %s", path, msg);
        free(buf);
        gzclose(f);
        return MODX_ERR_FORMAT;
    }
    gzclose(f);
    buf[n] = 0;
    *out = buf;
    *n_out = n;
    return MODX_OK;
}

void bpe_free(Bpe *bpe) {
    if (!bpe) return;
    if (bpe->text)
        for (int i = 0; i < bpe->n_vocab; i++) free(bpe->text[i]);
    free(bpe->text);
    free(bpe->merge_a);
    free(bpe->merge_b);
    free(bpe->merge_id);
    free(bpe->str_slot);
    free(bpe->pair_key);
    free(bpe->pair_rank);
    free(bpe);
}

/* s[0..n) quoted for a message: whole when short, else its first bytes (cut at
 * a UTF-8 character boundary) and "... (N bytes)", so that a huge symbol never
 * pushes the rest of a message out. Returns buf. */
static const char *quote_item(char *buf, size_t nbuf, const char *s, size_t n) {
    const size_t keep = 48;
    if (n <= keep) {
        snprintf(buf, nbuf, "'%.*s'", (int)n, s);
        return buf;
    }
    size_t k = keep;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--; /* not inside a character */
    snprintf(buf, nbuf, "'%.*s...' (%zu bytes)", (int)k, s, n);
    return buf;
}

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static size_t pow2_at_least(size_t n) {
    size_t c = 16;
    while (c < n) c *= 2;
    return c;
}

/* Whitespace as Python's str.split() sees it, for the ASCII and byte-symbol
 * text of a merges line (the byte symbols themselves are never whitespace). */
static size_t py_space_len(const char *p) {
    uint32_t cp = (uint8_t)p[0];
    size_t len = 1;
    if (cp >= 0x80) {
        TokCps one = {0};
        size_t k = (cp >= 0xF0) ? 4 : (cp >= 0xE0) ? 3 : 2;
        if (tok_utf8_decode(p, k, &one) != MODX_OK || one.n != 1) {
            tok_cps_free(&one);
            return 0;
        }
        cp = one.v[0];
        len = k;
        tok_cps_free(&one);
    }
    return tok_is_py_space(cp) ? len : 0;
}

/* The whole merges text must be UTF-8 without NUL bytes and open with a
 * '#version' header line; *header_end is that line's newline or NULL. */
static ModxStatus bpe_check_text(const char *path, const char *buf, size_t n, char **header_end) {
    size_t bad_at;
    if (!tok_utf8_check(buf, n, &bad_at)) {
        size_t line = 1;
        for (size_t i = 0; i < bad_at; i++) line += buf[i] == '\n';
        return modx_fail(MODX_ERR_FORMAT, "%s:%zu: merges file is not valid UTF-8 (byte offset %zu)", path, line, bad_at);
    }
    for (size_t i = 0; i < n; i++)
        if (buf[i] == 0)
            return modx_fail(MODX_ERR_FORMAT, "%s: merges file contains a NUL byte at offset %zu; not a text merges file", path, i);
    *header_end = strchr(buf, '\n');
    size_t header_len = *header_end ? (size_t)(*header_end - buf) : n;
    if (!memmem(buf, header_len, "#version", 8)) {
        modx_fail(MODX_ERR_FORMAT, "%s:1: expected a version header line such as '#version: 0.2', found '%.*s'", path,
                  (int)(header_len > 60 ? 60 : header_len), buf);
        return MODX_ERR_FORMAT;
    }
    return MODX_OK;
}

/* The tables sized for n_merge_lines merges; on failure the caller frees
 * bpe with n_vocab set to max_vocab. */
static ModxStatus bpe_alloc_tables(Bpe *bpe, const char *path, size_t n_merge_lines, size_t max_vocab) {
    bpe->text = modx_calloc(max_vocab, sizeof(char *), "tokenizer vocabulary");
    bpe->merge_a = modx_calloc(n_merge_lines + 1, sizeof(int32_t), "tokenizer merges");
    bpe->merge_b = modx_calloc(n_merge_lines + 1, sizeof(int32_t), "tokenizer merges");
    bpe->merge_id = modx_calloc(n_merge_lines + 1, sizeof(int32_t), "tokenizer merges");
    bpe->str_cap = pow2_at_least(2 * max_vocab);
    bpe->str_slot = malloc(bpe->str_cap * sizeof(int32_t));
    bpe->pair_cap = pow2_at_least(2 * n_merge_lines + 2);
    bpe->pair_key = modx_calloc(bpe->pair_cap, sizeof(uint64_t), "tokenizer merge table");
    bpe->pair_rank = modx_calloc(bpe->pair_cap, sizeof(int32_t), "tokenizer merge table");
    if (!bpe->text || !bpe->merge_a || !bpe->merge_b || !bpe->merge_id || !bpe->str_slot || !bpe->pair_key ||
        !bpe->pair_rank)
        return modx_fail(MODX_ERR_NOMEM, "%s: out of memory for the tokenizer tables", path);
    memset(bpe->str_slot, 0xff, bpe->str_cap * sizeof(int32_t));
    return MODX_OK;
}

/* 256 byte symbols, then the same with </w>; *V counts the entries made. */
static ModxStatus bpe_add_byte_symbols(Bpe *bpe, int *V) {
    for (int half = 0; half < 2; half++)
        for (int k = 0; k < 256; k++) {
            int b = -1;
            for (int x = 0; x < 256; x++)
                if (tok_byte_id((uint8_t)x) == k) { b = x; break; }
            char tmp[16];
            int len = tok_utf8_put(tok_byte_char((uint8_t)b), tmp);
            if (half) memcpy(tmp + len, "</w>", 4), len += 4;
            if (!(bpe->text[*V] = dup_n(tmp, (size_t)len))) return modx_fail(MODX_ERR_NOMEM, "out of memory");
            str_put(bpe, *V);
            (*V)++;
        }
    return MODX_OK;
}

/* Split line[0..len) on whitespace as Python's str.split() does; the first
 * three fields land in field/flen; returns the number of fields. */
static int split_fields(const char *line, size_t len, const char *field[3], size_t flen[3]) {
    int nf = 0;
    size_t i = 0;
    while (i < len) {
        size_t sp;
        while (i < len && (sp = py_space_len(line + i)) > 0) i += sp;
        if (i >= len) break;
        size_t s0 = i;
        while (i < len && py_space_len(line + i) == 0) i++;
        if (nf < 3) field[nf] = line + s0, flen[nf] = i - s0;
        nf++;
    }
    return nf;
}

/* One merge line of two fields: check it and add the merged symbol as
 * vocabulary entry *V. */
static ModxStatus bpe_add_merge(Bpe *bpe, int *V, const char *path, size_t lineno, const char *field[3],
                                const size_t flen[3]) {
    char q1[96], q2[96];
    int32_t a = str_find(bpe, field[0], flen[0]);
    int32_t b = str_find(bpe, field[1], flen[1]);
    if (a < 0 || b < 0) {
        int which = a < 0 ? 0 : 1;
        return modx_fail(MODX_ERR_FORMAT,
                         "%s:%zu: %s merge symbol is neither a byte symbol nor made by an earlier merge line: %s", path,
                         lineno, which ? "right" : "left", quote_item(q1, sizeof q1, field[which], flen[which]));
    }
    size_t al = strlen(bpe->text[a]);
    if (al >= 4 && memcmp(bpe->text[a] + al - 4, "</w>", 4) == 0)
        return modx_fail(MODX_ERR_FORMAT, "%s:%zu: the left symbol ends a word (</w>), so nothing can follow it: %s",
                         path, lineno, quote_item(q1, sizeof q1, bpe->text[a], al));
    int32_t prev = pair_find(bpe, a, b);
    if (prev >= 0)
        return modx_fail(MODX_ERR_FORMAT, "%s:%zu: the merge repeats line %d: %s %s", path, lineno, prev + 2,
                         quote_item(q1, sizeof q1, bpe->text[a], strlen(bpe->text[a])),
                         quote_item(q2, sizeof q2, bpe->text[b], strlen(bpe->text[b])));
    char *m = malloc(flen[0] + flen[1] + 1);
    if (!m) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    memcpy(m, field[0], flen[0]);
    memcpy(m + flen[0], field[1], flen[1]);
    m[flen[0] + flen[1]] = 0;
    int r = bpe->n_merges++;
    bpe->text[*V] = m;
    str_put(bpe, *V);
    pair_put(bpe, a, b, r);
    bpe->merge_a[r] = a;
    bpe->merge_b[r] = b;
    (*V)++;
    return MODX_OK;
}

/* The merge lines after the header, at most n_merge_lines of the file's
 * n_lines lines. */
static ModxStatus bpe_add_merges(Bpe *bpe, int *V, const char *path, char *line, size_t n_merge_lines,
                                 size_t n_lines) {
    for (size_t li = 0; li < n_merge_lines; li++) {
        size_t lineno = li + 2;
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *field[3];
        size_t flen[3];
        int nf = split_fields(line, len, field, flen);
        if (nf == 0) {
            if (li + 1 == n_lines - 1) {
                /* a trailing empty line: SimpleTokenizer turns it into an
                 * empty vocabulary entry (never produced by encode) */
                if (!(bpe->text[*V] = dup_n("", 0))) return modx_fail(MODX_ERR_NOMEM, "out of memory");
                (*V)++;
                break;
            }
            return modx_fail(MODX_ERR_FORMAT, "%s:%zu: empty line among the merges (expected 'left right')", path,
                             lineno);
        }
        if (nf != 2) {
            char q1[96];
            return modx_fail(MODX_ERR_FORMAT, "%s:%zu: expected a merge 'left right' (2 symbols), found %d fields: %s",
                             path, lineno, nf, quote_item(q1, sizeof q1, line, len));
        }
        MODX_TRY(bpe_add_merge(bpe, V, path, lineno, field, flen));
        if (!end) break;
        line = end + 1;
    }
    return MODX_OK;
}

/* Merged ids and pair keys by each string's final id. */
static ModxStatus bpe_final_ids(Bpe *bpe) {
    /* merged ids: the string's final id (a later duplicate string wins) */
    for (int r = 0; r < bpe->n_merges; r++) {
        char *tmp = NULL;
        size_t la = strlen(bpe->text[bpe->merge_a[r]]), lb = strlen(bpe->text[bpe->merge_b[r]]);
        tmp = malloc(la + lb + 1);
        if (!tmp) return modx_fail(MODX_ERR_NOMEM, "out of memory");
        memcpy(tmp, bpe->text[bpe->merge_a[r]], la);
        memcpy(tmp + la, bpe->text[bpe->merge_b[r]], lb);
        bpe->merge_id[r] = str_find(bpe, tmp, la + lb);
        free(tmp);
    }
    /* Pairs keyed by each symbol's final id: SimpleTokenizer keys its ranks by
     * strings, so when two merge lines build the same string, the later id is
     * the one encode produces and a merge line written with the earlier one
     * must still match it (a repeated string pair keeps its last rank). */
    memset(bpe->pair_key, 0, bpe->pair_cap * sizeof *bpe->pair_key);
    for (int r = 0; r < bpe->n_merges; r++) {
        const char *ta = bpe->text[bpe->merge_a[r]], *tb = bpe->text[bpe->merge_b[r]];
        bpe->merge_a[r] = str_find(bpe, ta, strlen(ta));
        bpe->merge_b[r] = str_find(bpe, tb, strlen(tb));
        pair_put(bpe, bpe->merge_a[r], bpe->merge_b[r], r);
    }
    return MODX_OK;
}

ModxStatus bpe_load(Bpe **out, const char *path) {
    *out = NULL;
    char *buf = NULL;
    size_t n = 0;
    MODX_TRY(read_all(path, &buf, &n));
    char *header_end = NULL;
    ModxStatus st = bpe_check_text(path, buf, n, &header_end);
    if (st != MODX_OK) {
        free(buf);
        return st;
    }
    /* count lines (Python's split('\n')) */
    size_t n_lines = 1;
    for (size_t i = 0; i < n; i++) n_lines += buf[i] == '\n';
    size_t n_merge_lines = n_lines - 1 > TOK_MAX_MERGES ? TOK_MAX_MERGES : n_lines - 1;

    Bpe *bpe = modx_calloc(1, sizeof *bpe, "tokenizer");
    if (!bpe) {
        free(buf);
        return MODX_ERR_NOMEM;
    }
    size_t max_vocab = 512 + n_merge_lines + 2;
    int V = 0;
    if ((st = bpe_alloc_tables(bpe, path, n_merge_lines, max_vocab)) != MODX_OK) goto fail;
    if ((st = bpe_add_byte_symbols(bpe, &V)) != MODX_OK) goto fail;
    char *line = header_end ? header_end + 1 : buf + n;
    if ((st = bpe_add_merges(bpe, &V, path, line, n_merge_lines, n_lines)) != MODX_OK) goto fail;
    if ((st = bpe_final_ids(bpe)) != MODX_OK) goto fail;
    bpe->text[V] = dup_n("<|startoftext|>", 15);
    bpe->text[V + 1] = dup_n("<|endoftext|>", 13);
    if (!bpe->text[V] || !bpe->text[V + 1]) { st = modx_fail(MODX_ERR_NOMEM, "out of memory"); goto fail; }
    bpe->sot = V;
    bpe->eot = V + 1;
    bpe->n_vocab = V + 2;
    free(buf);
    *out = bpe;
    return MODX_OK;
fail:
    bpe->n_vocab = (int)max_vocab;
    free(buf);
    bpe_free(bpe);
    return st;
}

int bpe_vocab_size(const Bpe *bpe) { return bpe->n_vocab; }
int32_t bpe_sot(const Bpe *bpe) { return bpe->sot; }
int32_t bpe_eot(const Bpe *bpe) { return bpe->eot; }

const char *bpe_token_text(const Bpe *bpe, int32_t id) {
    return (id >= 0 && id < bpe->n_vocab) ? bpe->text[id] : NULL;
}

/* ---- pre-tokenising: findall of the CLIP pattern ---- */

/* Does the pattern literal character `want` (lower-case ASCII) match cp under
 * IGNORECASE? ('s' also matches U+017F LONG S.) */
static int lit_match(char want, uint32_t cp) {
    if (cp == (uint32_t)want) return 1;
    if (want >= 'a' && want <= 'z' && cp == (uint32_t)(want - 32)) return 1;
    return want == 's' && cp == 0x17F;
}

static size_t lit_len(const uint32_t *v, size_t n, const char *lit) {
    size_t k = 0;
    for (; lit[k]; k++)
        if (k >= n || !lit_match(lit[k], v[k])) return 0;
    return k;
}

ModxStatus tok_pretokenize(const TokCps *text, TokSpan **spans_out, size_t *n_out) {
    static const char *const LITS[] = {"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    const uint32_t *v = text->v;
    size_t n = text->n, cap = 16, ns = 0;
    TokSpan *spans = malloc(cap * sizeof *spans);
    if (!spans) return modx_fail(MODX_ERR_NOMEM, "out of memory splitting text");
    size_t i = 0;
    while (i < n) {
        size_t len = 0;
        for (size_t k = 0; k < sizeof LITS / sizeof LITS[0] && !len; k++) len = lit_len(v + i, n - i, LITS[k]);
        if (!len) {
            TokClass c = tok_char_class(v[i]);
            if (c == TOK_CLASS_LETTER || c == TOK_CLASS_OTHER) {
                len = 1;
                while (i + len < n && tok_char_class(v[i + len]) == c) len++;
            } else if (c == TOK_CLASS_NUMBER) {
                len = 1;
            } else { /* whitespace, or a code point no branch matches: skipped */
                i++;
                continue;
            }
        }
        if (ns == cap) {
            TokSpan *ns2 = realloc(spans, 2 * cap * sizeof *spans);
            if (!ns2) {
                free(spans);
                return modx_fail(MODX_ERR_NOMEM, "out of memory splitting text");
            }
            spans = ns2;
            cap *= 2;
        }
        spans[ns].start = i;
        spans[ns].end = i + len;
        ns++;
        i += len;
    }
    *spans_out = spans;
    *n_out = ns;
    return MODX_OK;
}

/* ---- BPE of one word ---- */

ModxStatus tok_ids_push(TokIds *ids, int32_t id) {
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? 2 * ids->cap : 64;
        int32_t *v = realloc(ids->v, cap * sizeof(int32_t));
        if (!v) return modx_fail(MODX_ERR_NOMEM, "out of memory for %zu token ids", cap);
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return MODX_OK;
}

/* Initial symbols of a word: one per byte, the last one with </w>. */
static void word_init(const uint8_t *bytes, size_t n, int32_t *sym) {
    for (size_t k = 0; k < n; k++) sym[k] = tok_byte_id(bytes[k]) + (k + 1 == n ? 256 : 0);
}

/* OpenAI's bpe() loop, transcribed: repeatedly take the lowest-ranked adjacent
 * pair and merge all its occurrences left to right. O(n^2); the reference. */
ModxStatus tok_bpe_word_naive(const Bpe *bpe, const uint8_t *bytes, size_t n, TokIds *out) {
    if (n == 0) return MODX_OK;
    int32_t *w = malloc(n * sizeof(int32_t));
    if (!w) return modx_fail(MODX_ERR_NOMEM, "out of memory for a word of %zu bytes", n);
    word_init(bytes, n, w);
    size_t len = n;
    while (len > 1) {
        int32_t best = -1;
        for (size_t k = 0; k + 1 < len; k++) {
            int32_t r = pair_find(bpe, w[k], w[k + 1]);
            if (r >= 0 && (best < 0 || r < best)) best = r;
        }
        if (best < 0) break;
        int32_t a = bpe->merge_a[best], b = bpe->merge_b[best];
        size_t j = 0;
        for (size_t k = 0; k < len;) {
            if (k + 1 < len && w[k] == a && w[k + 1] == b) {
                w[j++] = bpe->merge_id[best];
                k += 2;
            } else {
                w[j++] = w[k++];
            }
        }
        len = j;
    }
    ModxStatus st = MODX_OK;
    for (size_t k = 0; k < len && st == MODX_OK; k++) st = tok_ids_push(out, w[k]);
    free(w);
    return st;
}

typedef struct {
    int32_t rank;
    int32_t pos; /* the left symbol's original index */
} PairItem;

static int item_less(PairItem x, PairItem y) { return x.rank < y.rank || (x.rank == y.rank && x.pos < y.pos); }

static void heap_push(PairItem *h, size_t *n, PairItem it) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!item_less(it, h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = it;
}

static PairItem heap_pop(PairItem *h, size_t *n) {
    PairItem top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && item_less(h[c + 1], h[c])) c++;
        if (!item_less(h[c], last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = last;
    return top;
}

/* The same result as tok_bpe_word_naive in O(n log n): a heap of (rank,
 * position) pairs over a linked list of symbols. Each round takes every entry
 * of the lowest rank at once (all are the same pair) and merges the ones still
 * present, left to right, exactly as one iteration of bpe()'s loop; pairs made
 * by a round can never be that round's pair (a merged symbol is longer than
 * either part), so they wait for later rounds. */
ModxStatus tok_bpe_word(const Bpe *bpe, const uint8_t *bytes, size_t n, TokIds *out) {
    if (n == 0) return MODX_OK;
    if (n == 1) return tok_ids_push(out, tok_byte_id(bytes[0]) + 256);
    size_t heap_cap;
    if (n > INT32_MAX / 4 || !size_mul(n, 3, &heap_cap))
        return modx_fail(MODX_ERR_INVALID, "word of %zu bytes is too long to tokenize", n);
    int32_t *sym = malloc(n * sizeof(int32_t));
    int32_t *prev = malloc(n * sizeof(int32_t));
    int32_t *next = malloc(n * sizeof(int32_t));
    PairItem *heap = malloc(heap_cap * sizeof(PairItem));
    PairItem *round = malloc(n * sizeof(PairItem));
    ModxStatus st = MODX_OK;
    if (!sym || !prev || !next || !heap || !round) {
        st = modx_fail(MODX_ERR_NOMEM, "out of memory for a word of %zu bytes", n);
        goto done;
    }
    word_init(bytes, n, sym);
    size_t hn = 0;
    for (size_t k = 0; k < n; k++) {
        prev[k] = (int32_t)k - 1;
        next[k] = k + 1 < n ? (int32_t)k + 1 : -1;
        if (k + 1 < n) {
            int32_t r = pair_find(bpe, sym[k], sym[k + 1]);
            if (r >= 0) heap_push(heap, &hn, (PairItem){r, (int32_t)k});
        }
    }
    /* n - 1 pairs at the start and at most 2 per merge (n - 1 merges at most):
     * the heap never holds more than 3n entries */
    while (hn > 0) {
        int32_t r = heap[0].rank;
        size_t nr = 0;
        while (hn > 0 && heap[0].rank == r) round[nr++] = heap_pop(heap, &hn);
        int32_t a = bpe->merge_a[r], b = bpe->merge_b[r], m = bpe->merge_id[r];
        for (size_t t = 0; t < nr; t++) {
            int32_t p = round[t].pos, q = next[p];
            if (sym[p] != a || q < 0 || sym[q] != b) continue; /* gone or changed */
            sym[p] = m;
            sym[q] = -1;
            next[p] = next[q];
            if (next[q] >= 0) prev[next[q]] = p;
            if (hn + 2 > heap_cap) {
                st = modx_fail(MODX_ERR_INVALID, "internal: merge heap overflow on a word of %zu bytes", n);
                goto done;
            }
            if (prev[p] >= 0) {
                int32_t r2 = pair_find(bpe, sym[prev[p]], m);
                if (r2 >= 0) heap_push(heap, &hn, (PairItem){r2, prev[p]});
            }
            if (next[p] >= 0) {
                int32_t r2 = pair_find(bpe, m, sym[next[p]]);
                if (r2 >= 0) heap_push(heap, &hn, (PairItem){r2, p});
            }
        }
    }
    for (int32_t k = 0; k >= 0 && st == MODX_OK; k = next[k]) st = tok_ids_push(out, sym[k]);
done:
    free(sym);
    free(prev);
    free(next);
    free(heap);
    free(round);
    return st;
}

/* ---- encode / decode ---- */

ModxStatus bpe_tokenize(const Bpe *bpe, const char *text, int32_t **ids_out, size_t *n_out) {
    *ids_out = NULL;
    *n_out = 0;
    size_t n = strlen(text), bad_at;
    if (!tok_utf8_check(text, n, &bad_at))
        return modx_fail(MODX_ERR_FORMAT, "text is not valid UTF-8: bad byte 0x%02X at offset %zu",
                         (unsigned)(uint8_t)text[bad_at], bad_at);
    TokCps clean = {0};
    TokSpan *spans = NULL;
    size_t n_spans = 0;
    TokIds ids = {0};
    char *buf = NULL;
    ModxStatus st = tok_clean(text, n, &clean);
    if (st == MODX_OK) st = tok_pretokenize(&clean, &spans, &n_spans);
    for (size_t s = 0; s < n_spans && st == MODX_OK; s++) {
        size_t len;
        free(buf);
        buf = NULL;
        st = tok_utf8_encode(clean.v + spans[s].start, spans[s].end - spans[s].start, &buf, &len);
        if (st != MODX_OK) break;
        if (strcmp(buf, "<|startoftext|>") == 0) st = tok_ids_push(&ids, bpe->sot);
        else if (strcmp(buf, "<|endoftext|>") == 0) st = tok_ids_push(&ids, bpe->eot);
        else st = tok_bpe_word(bpe, (const uint8_t *)buf, len, &ids);
    }
    free(buf);
    free(spans);
    tok_cps_free(&clean);
    if (st != MODX_OK) {
        free(ids.v);
        return st;
    }
    if (!ids.v) {
        ids.v = malloc(sizeof(int32_t));
        if (!ids.v) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    }
    *ids_out = ids.v;
    *n_out = ids.n;
    return MODX_OK;
}

ModxStatus bpe_encode(const Bpe *bpe, const char *text, int32_t *ids, int context, int *n_out) {
    if (context < 2) return modx_fail(MODX_ERR_INVALID, "context length %d is too short: needs room for SOT and EOT", context);
    int32_t *tok;
    size_t n;
    MODX_TRY(bpe_tokenize(bpe, text, &tok, &n));
    memset(ids, 0, (size_t)context * sizeof(int32_t));
    ids[0] = bpe->sot;
    size_t keep = n < (size_t)context - 2 ? n : (size_t)context - 2;
    if (keep) memcpy(ids + 1, tok, keep * sizeof(int32_t));
    ids[keep + 1] = bpe->eot;
    *n_out = (int)keep + 2;
    free(tok);
    return MODX_OK;
}

ModxStatus bpe_decode(const Bpe *bpe, const int32_t *ids, size_t n, char **text_out) {
    *text_out = NULL;
    size_t cap = 64, len = 0;
    uint8_t *bytes = malloc(cap);
    if (!bytes) return modx_fail(MODX_ERR_NOMEM, "out of memory decoding");
    ModxStatus st = MODX_OK;
    for (size_t i = 0; i < n && st == MODX_OK; i++) {
        int32_t id = ids[i];
        if (id == bpe->eot) break; /* what follows is padding */
        if (id == bpe->sot) continue;
        if (id < 0 || id >= bpe->n_vocab) {
            st = modx_fail(MODX_ERR_INVALID, "token %zu: id %d is outside the vocabulary [0, %d)", i, id, bpe->n_vocab);
            break;
        }
        TokCps sym = {0};
        st = tok_cps_push_utf8(&sym, bpe->text[id]);
        for (size_t k = 0; k < sym.n && st == MODX_OK; k++) {
            int b = char_byte(sym.v[k]);
            if (b < 0) {
                st = modx_fail(MODX_ERR_INVALID, "token %zu: id %d is not a byte-level symbol", i, id);
                break;
            }
            if (len == cap) {
                uint8_t *nb = realloc(bytes, 2 * cap);
                if (!nb) {
                    st = modx_fail(MODX_ERR_NOMEM, "out of memory decoding");
                    break;
                }
                bytes = nb;
                cap *= 2;
            }
            bytes[len++] = (uint8_t)b;
        }
        tok_cps_free(&sym);
    }
    TokCps cps = {0};
    char *utf8 = NULL;
    size_t ulen = 0;
    if (st == MODX_OK) st = tok_utf8_decode_replace(bytes, len, &cps);
    if (st == MODX_OK) st = tok_utf8_encode(cps.v, cps.n, &utf8, &ulen);
    free(bytes);
    tok_cps_free(&cps);
    if (st != MODX_OK) {
        free(utf8);
        return st;
    }
    /* "</w>" -> " " in place */
    size_t j = 0;
    for (size_t i = 0; i < ulen;) {
        if (i + 4 <= ulen && memcmp(utf8 + i, "</w>", 4) == 0) {
            utf8[j++] = ' ';
            i += 4;
        } else {
            utf8[j++] = utf8[i++];
        }
    }
    utf8[j] = 0;
    *text_out = utf8;
    return MODX_OK;
}
