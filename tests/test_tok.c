/* Tokenizer tests: golden ids from the Python reference (tools/gen_tok_golden.py),
 * character classes against the regex module, heap BPE against the transcribed
 * loop, truncation, invalid input, corrupt merges files, training. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/rng.h"
#include "harness.h"
#include "tok/bpe.h"
#include "tok/bpe_internal.h"

#define VOCAB "data/bpe_simple_vocab_16e6.txt.gz"
#define GOLDEN "tests/fixtures/tok_golden.jsonl"

static Bpe *real_vocab(void) {
    static Bpe *bpe;
    if (!bpe && bpe_load(&bpe, VOCAB) != MODX_OK) {
        fprintf(stderr, "cannot load %s: %s\n", VOCAB, modx_last_error());
        return NULL;
    }
    return bpe;
}

__attribute__((destructor)) static void free_real_vocab(void) {
    Bpe *b = real_vocab();
    bpe_free(b);
}

typedef struct {
    char *text, *decoded;
    int32_t ids[80];
    int n;
} GoldenRow;

static int load_golden(GoldenRow **rows_out) {
    FILE *f = fopen(GOLDEN, "rb");
    if (!f) return -1;
    int n = 0, cap = 256;
    GoldenRow *rows = calloc((size_t)cap, sizeof *rows);
    char *line = NULL;
    size_t lcap = 0;
    while (getline(&line, &lcap, f) > 0) {
        cJSON *j = cJSON_Parse(line);
        if (!j) break;
        cJSON *ids = cJSON_GetObjectItem(j, "ids");
        GoldenRow *r = &rows[n];
        r->text = strdup(cJSON_GetObjectItem(j, "text")->valuestring);
        r->decoded = strdup(cJSON_GetObjectItem(j, "decoded")->valuestring);
        r->n = cJSON_GetArraySize(ids);
        for (int i = 0; i < r->n && i < 80; i++) r->ids[i] = (int32_t)cJSON_GetArrayItem(ids, i)->valueint;
        cJSON_Delete(j);
        if (++n == cap) break;
    }
    free(line);
    fclose(f);
    *rows_out = rows;
    return n;
}

static void free_golden(GoldenRow *rows, int n) {
    for (int i = 0; i < n; i++) {
        free(rows[i].text);
        free(rows[i].decoded);
    }
    free(rows);
}

TEST(tok_golden_ids_match_reference) {
    Bpe *bpe = real_vocab();
    EXPECT(bpe, "vocab: %s", modx_last_error());
    EXPECT(bpe_vocab_size(bpe) == 49408 && bpe_sot(bpe) == 49406 && bpe_eot(bpe) == 49407, "vocab size %d sot %d eot %d",
           bpe_vocab_size(bpe), bpe_sot(bpe), bpe_eot(bpe));
    GoldenRow *rows;
    int n = load_golden(&rows);
    EXPECT(n >= 150, "golden file %s: %d rows", GOLDEN, n);
    int mismatches = 0, first = -1;
    for (int r = 0; r < n; r++) {
        int32_t ids[77];
        int got;
        ModxStatus st = bpe_encode(bpe, rows[r].text, ids, 77, &got);
        int same = st == MODX_OK && got == rows[r].n;
        for (int i = 0; same && i < got; i++) same = ids[i] == rows[r].ids[i];
        for (int i = got; same && i < 77; i++) same = ids[i] == 0; /* 0 padding */
        if (!same) {
            if (first < 0) {
                first = r;
                fprintf(stderr, "  row %d text '%s': got %d ids (", r + 1, rows[r].text, st == MODX_OK ? got : -1);
                for (int i = 0; st == MODX_OK && i < got; i++) fprintf(stderr, " %d", ids[i]);
                fprintf(stderr, " ) want %d (", rows[r].n);
                for (int i = 0; i < rows[r].n; i++) fprintf(stderr, " %d", rows[r].ids[i]);
                fprintf(stderr, " )\n");
            }
            mismatches++;
        }
    }
    free_golden(rows, n);
    EXPECT(mismatches == 0, "%d of %d golden rows differ, first is row %d", mismatches, n, first + 1);
}

TEST(tok_decode_matches_reference) {
    Bpe *bpe = real_vocab();
    EXPECT(bpe, "vocab");
    GoldenRow *rows;
    int n = load_golden(&rows);
    EXPECT(n > 0, "golden");
    int bad = -1;
    for (int r = 0; r < n && bad < 0; r++) {
        char *text;
        if (bpe_decode(bpe, rows[r].ids, (size_t)rows[r].n, &text) != MODX_OK || strcmp(text, rows[r].decoded)) bad = r;
        if (bad >= 0) fprintf(stderr, "  row %d: got '%s' want '%s'\n", r + 1, text ? text : "(error)", rows[r].decoded);
        free(text);
    }
    free_golden(rows, n);
    EXPECT(bad < 0, "decode differs on golden row %d", bad + 1);
}

TEST(tok_decode_round_trip) {
    Bpe *bpe = real_vocab();
    EXPECT(bpe, "vocab");
    const char *texts[] = {"a photo of a cat", "Café crème, naïve 東京 🐈‍⬛!", "it's 2024"};
    const char *want[] = {"a photo of a cat ", "café crème , naïve 東京 🐈‍⬛! ", "it 's 2 0 2 4 "};
    for (int t = 0; t < 3; t++) {
        int32_t ids[77];
        int n;
        EXPECT(bpe_encode(bpe, texts[t], ids, 77, &n) == MODX_OK, "encode: %s", modx_last_error());
        char *out;
        EXPECT(bpe_decode(bpe, ids, 77, &out) == MODX_OK, "decode: %s", modx_last_error()); /* padding included */
        int same = strcmp(out, want[t]) == 0;
        if (!same) fprintf(stderr, "  got '%s' want '%s'\n", out, want[t]);
        /* re-encoding the decoded text gives the same ids */
        int32_t again[77];
        int n2;
        ModxStatus st = bpe_encode(bpe, out, again, 77, &n2);
        free(out);
        EXPECT(same, "decode of '%s'", texts[t]);
        EXPECT(st == MODX_OK && n2 == n && memcmp(ids, again, sizeof ids) == 0, "re-encode of '%s' differs", texts[t]);
    }
    int32_t bad = 49408;
    char *out = NULL;
    EXPECT(bpe_decode(bpe, &bad, 1, &out) == MODX_ERR_INVALID, "id past the vocabulary accepted");
    EXPECT(strstr(modx_last_error(), "49408"), "message: %s", modx_last_error());
}

TEST(tok_truncation_keeps_eot_last) {
    Bpe *bpe = real_vocab();
    EXPECT(bpe, "vocab");
    int32_t ids[77];
    int n;
    char longtext[4000] = "";
    for (int i = 0; i < 100; i++) strcat(longtext, "word ");
    EXPECT(bpe_encode(bpe, longtext, ids, 77, &n) == MODX_OK, "%s", modx_last_error());
    EXPECT(n == 77 && ids[0] == 49406 && ids[76] == 49407 && ids[75] == 2653, "n %d first %d last %d before %d", n, ids[0],
           ids[76], ids[75]);
    int32_t small[8];
    EXPECT(bpe_encode(bpe, "a photo of a cat", small, 5, &n) == MODX_OK, "%s", modx_last_error());
    int32_t want5[5] = {49406, 320, 1125, 539, 49407};
    EXPECT(n == 5 && memcmp(small, want5, sizeof want5) == 0, "context 5: n %d ids %d %d %d %d %d", n, small[0], small[1],
           small[2], small[3], small[4]);
    EXPECT(bpe_encode(bpe, "hello world", small, 8, &n) == MODX_OK, "%s", modx_last_error());
    int32_t want8[8] = {49406, 3306, 1002, 49407, 0, 0, 0, 0};
    EXPECT(n == 4 && memcmp(small, want8, sizeof want8) == 0, "padding: n %d", n);
    EXPECT(bpe_encode(bpe, "a b c", small, 2, &n) == MODX_OK && n == 2 && small[0] == 49406 && small[1] == 49407,
           "context 2");
    EXPECT(bpe_encode(bpe, "a", small, 1, &n) == MODX_ERR_INVALID, "context 1 accepted");
}

TEST(tok_invalid_utf8_is_an_error) {
    Bpe *bpe = real_vocab();
    EXPECT(bpe, "vocab");
    const char *bad[] = {"abc\xff", "over\xC0\xAFlong", "surrogate \xED\xA0\x80", "cut \xE2\x82", "big \xF4\x90\x80\x80", "\x80"};
    for (int i = 0; i < 6; i++) {
        int32_t ids[77];
        int n;
        EXPECT(bpe_encode(bpe, bad[i], ids, 77, &n) == MODX_ERR_FORMAT, "case %d accepted", i);
        EXPECT(strstr(modx_last_error(), "UTF-8") && strstr(modx_last_error(), "offset"), "message: %s", modx_last_error());
    }
}

TEST(tok_char_classes_match_regex_module) {
    FILE *f = fopen("tests/fixtures/tok_classes.txt", "r");
    EXPECT(f, "cannot open tests/fixtures/tok_classes.txt");
    uint32_t starts[4096];
    char cls[4096];
    int n = 0;
    char line[128];
    while (fgets(line, sizeof line, f) && n < 4096) {
        unsigned cp;
        char c;
        if (line[0] == '#' || sscanf(line, "%x %c", &cp, &c) != 2) continue;
        starts[n] = cp;
        cls[n] = c;
        n++;
    }
    fclose(f);
    EXPECT(n > 1000, "only %d runs read", n);
    int r = 0, diffs = 0;
    uint32_t first = 0;
    for (uint32_t cp = 0; cp < 0x110000; cp++) {
        if (cp >= 0xD800 && cp < 0xE000) continue;
        while (r + 1 < n && starts[r + 1] <= cp) r++;
        TokClass c = tok_char_class(cp);
        char got = c == TOK_CLASS_LETTER ? 'L' : c == TOK_CLASS_NUMBER ? 'N' : c == TOK_CLASS_SPACE ? 'S' : c == TOK_CLASS_OTHER ? 'P' : 'X';
        if (got != cls[r]) {
            if (!diffs) first = cp;
            diffs++;
        }
    }
    EXPECT(diffs == 0, "%d code points classed differently from the regex module, first U+%04X", diffs, first);
}

TEST(tok_heap_bpe_matches_naive_loop) {
    Bpe *bpe = real_vocab();
    EXPECT(bpe, "vocab");
    Rng rng;
    rng_seed(&rng, 99);
    const char *alpha[] = {"abcdefghijklmnopqrstuvwxyz", "aeiouaeiou", "ab", "é中🐈x"};
    for (int t = 0; t < 3000; t++) {
        uint8_t w[400];
        size_t n = 1 + rng_below(&rng, t < 2900 ? 24 : 390);
        const char *al = alpha[rng_below(&rng, 4)];
        size_t al_n = strlen(al);
        for (size_t k = 0; k < n; k++) w[k] = (uint8_t)(t % 7 == 0 ? rng_below(&rng, 256) : (unsigned)al[rng_below(&rng, al_n)]);
        TokIds a = {0}, b = {0};
        EXPECT(tok_bpe_word(bpe, w, n, &a) == MODX_OK && tok_bpe_word_naive(bpe, w, n, &b) == MODX_OK, "bpe failed");
        int same = a.n == b.n && memcmp(a.v, b.v, a.n * sizeof(int32_t)) == 0;
        free(a.v);
        free(b.v);
        EXPECT(same, "word %d (%zu bytes): heap and loop differ", t, n);
    }
}

TEST(tok_encode_is_thread_safe) {
    Bpe *bpe = real_vocab();
    EXPECT(bpe, "vocab");
    GoldenRow *rows;
    int n = load_golden(&rows);
    int bad = 0;
#pragma omp parallel for num_threads(4) reduction(+ : bad) schedule(dynamic)
    for (int k = 0; k < 4 * n; k++) {
        GoldenRow *r = &rows[k % n];
        int32_t ids[77];
        int got;
        if (bpe_encode(bpe, r->text, ids, 77, &got) != MODX_OK || got != r->n || memcmp(ids, r->ids, (size_t)got * 4)) bad++;
    }
    free_golden(rows, n);
    EXPECT(bad == 0, "%d encodes differed under threads", bad);
}

static const char *write_file(const char *name, const char *content) {
    static char path[8][512];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 512, "%s/%s", harness_tmpdir(), name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs(content, f);
        fclose(f);
    }
    return p;
}

/* A 50 MB symbol: the message gives its reason first and quotes the symbol
 * cut short with its length (the message buffer holds 2 kB). */
TEST(tok_merges_huge_symbol_message) {
    const size_t big = 50000000;
    const char *heads[] = {"#version: 0.2\n", "#version: 0.2\nx y z"};
    const char *needles[] = {"left merge symbol is neither a byte symbol nor made by an earlier merge line: 'aaa",
                             "expected a merge 'left right' (2 symbols), found 4 fields: 'x y zaaa"};
    for (int c = 0; c < 2; c++) {
        char p[512];
        snprintf(p, sizeof p, "%s/huge_symbol_%d.txt", harness_tmpdir(), c);
        FILE *f = fopen(p, "wb");
        EXPECT(f, "cannot write %s", p);
        static char chunk[1 << 16];
        memset(chunk, 'a', sizeof chunk);
        fputs(heads[c], f);
        for (size_t done = 0; done < big; done += sizeof chunk)
            fwrite(chunk, 1, big - done < sizeof chunk ? big - done : sizeof chunk, f);
        fputs(" b\n", f);
        EXPECT(fclose(f) == 0, "write %s", p);
        Bpe *bpe = NULL;
        EXPECT(bpe_load(&bpe, p) == MODX_ERR_FORMAT, "accepted");
        const char *msg = modx_last_error();
        EXPECT(strstr(msg, p) && strstr(msg, needles[c]) && strlen(msg) < 400, "message (%zu bytes) '%.300s' lacks '%s'",
               strlen(msg), msg, needles[c]);
        EXPECT(strstr(msg, c ? "...' (50000007 bytes)" : "...' (50000000 bytes)"), "message '%.300s' lacks the length", msg);
        remove(p);
    }
}

TEST(tok_corrupt_merges_file_errors) {
    struct {
        const char *name, *content, *needle;
    } cases[] = {
        {"noheader.txt", "a b\nc d", ":1:"},
        {"fields.txt", "#version: 0.2\na b\nc d e", ":3:"},
        {"unknown.txt", "#version: 0.2\nab c</w>", ":2:"},
        {"later.txt", "#version: 0.2\nab c</w>\na b", ":2:"},
        {"repeat.txt", "#version: 0.2\na b\nc d\na b", "repeats line 2"},
        {"wordend.txt", "#version: 0.2\na</w> b", "ends a word"},
        {"emptymid.txt", "#version: 0.2\na b\n\nc d", ":3:"},
        {"badutf8.txt", "#version: 0.2\na \xff", ":2:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = write_file(cases[i].name, cases[i].content);
        Bpe *bpe = NULL;
        EXPECT(bpe_load(&bpe, p) == MODX_ERR_FORMAT, "%s accepted", cases[i].name);
        const char *msg = modx_last_error();
        EXPECT(strstr(msg, p) && strstr(msg, cases[i].needle), "%s: message '%s' lacks '%s'", cases[i].name, msg,
               cases[i].needle);
    }
    Bpe *bpe = NULL;
    char missing[512];
    snprintf(missing, sizeof missing, "%s/no-such-file.gz", harness_tmpdir());
    EXPECT(bpe_load(&bpe, missing) == MODX_ERR_IO && strstr(modx_last_error(), missing), "missing file: %s", modx_last_error());
    /* a gzip stream cut in half */
    char gzpath[512];
    snprintf(gzpath, sizeof gzpath, "%s/cut.gz", harness_tmpdir());
    FILE *in = fopen(VOCAB, "rb");
    EXPECT(in, "open vocab");
    static char buf[200000];
    size_t got = fread(buf, 1, sizeof buf, in);
    fclose(in);
    FILE *out = fopen(gzpath, "wb");
    fwrite(buf, 1, got, out);
    fclose(out);
    EXPECT(bpe_load(&bpe, gzpath) == MODX_ERR_FORMAT && strstr(modx_last_error(), gzpath), "cut gzip: %s", modx_last_error());
}

TEST(tok_trailing_empty_line_is_an_entry_like_simpletokenizer) {
    /* SimpleTokenizer reads "a b\n" as the merge plus one empty merge: the
     * specials move up by one. Without the newline they do not. */
    Bpe *bpe;
    EXPECT(bpe_load(&bpe, write_file("nl.txt", "#version: 0.2\na b\n")) == MODX_OK, "%s", modx_last_error());
    EXPECT(bpe_vocab_size(bpe) == 516 && bpe_sot(bpe) == 514, "vocab %d sot %d", bpe_vocab_size(bpe), bpe_sot(bpe));
    bpe_free(bpe);
    EXPECT(bpe_load(&bpe, write_file("nonl.txt", "#version: 0.2\na b")) == MODX_OK, "%s", modx_last_error());
    EXPECT(bpe_vocab_size(bpe) == 515 && bpe_sot(bpe) == 513, "vocab %d sot %d", bpe_vocab_size(bpe), bpe_sot(bpe));
    int32_t ids[8];
    int n;
    EXPECT(bpe_encode(bpe, "ab abc", ids, 8, &n) == MODX_OK, "%s", modx_last_error());
    /* "ab" -> a b</w> (no merge for b</w>); "abc" -> ab c</w> */
    int32_t want[6] = {513, 64, 256 + 65, 512, 256 + 66, 514};
    EXPECT(n == 6 && memcmp(ids, want, sizeof want) == 0, "n %d ids %d %d %d %d %d", n, ids[0], ids[1], ids[2], ids[3], ids[4]);
    bpe_free(bpe);
}

/* Two merge lines that build the same string ("ab c" and "a bc" both make
 * "abc"): as in SimpleTokenizer, the later id is the string's id, and the merge
 * "abc d</w>" written before it must still apply. Expected ids from
 * tools/clip_tokenizer.py on the same file. */
TEST(tok_duplicate_merged_string_like_simpletokenizer) {
    Bpe *bpe;
    EXPECT(bpe_load(&bpe, write_file("dup.txt", "#version: 0.2\na b\nab c\nabc d</w>\nb c\na bc")) == MODX_OK, "%s",
           modx_last_error());
    int32_t ids[12];
    int n;
    EXPECT(bpe_encode(bpe, "abcd", ids, 12, &n) == MODX_OK, "%s", modx_last_error());
    int32_t want[3] = {517, 514, 518};
    EXPECT(n == 3 && !memcmp(ids, want, sizeof want), "n %d ids %d %d %d", n, ids[0], ids[1], ids[2]);
    EXPECT(bpe_encode(bpe, "abc bc xabc", ids, 12, &n) == MODX_OK, "%s", modx_last_error());
    int32_t want2[9] = {517, 512, 322, 65, 322, 87, 512, 322, 518};
    EXPECT(n == 9 && !memcmp(ids, want2, sizeof want2), "n %d ids %d %d %d", n, ids[0], ids[1], ids[2]);
    bpe_free(bpe);
}

static char *read_text(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 20];
    *n = fread(buf, 1, sizeof buf - 1, f);
    buf[*n] = 0;
    fclose(f);
    char *s = malloc(*n + 1);
    memcpy(s, buf, *n + 1);
    return s;
}

TEST(tok_train_small_known_merges) {
    const char *corpus[] = {"ab ab AB cd", "ef"};
    char path[512];
    snprintf(path, sizeof path, "%s/small.bpe", harness_tmpdir());
    EXPECT(bpe_train(corpus, 2, 520, path) == MODX_OK, "%s", modx_last_error());
    size_t n;
    char *s = read_text(path, &n);
    EXPECT(s, "read back");
    /* "ab" x3 first; then cd and ef tie at 1: bytewise smallest left symbol */
    const char *want = "#version: 0.2 - trained by modx tokenizer train\na b</w>\nc d</w>\ne f</w>";
    int same = strcmp(s, want) == 0;
    if (!same) fprintf(stderr, "  got:\n%s\n", s);
    free(s);
    EXPECT(same, "trained merges differ");
    Bpe *bpe;
    EXPECT(bpe_load(&bpe, path) == MODX_OK, "%s", modx_last_error());
    EXPECT(bpe_vocab_size(bpe) == 517, "vocab %d (corpus has only 3 merges)", bpe_vocab_size(bpe));
    int32_t ids[8];
    int k;
    EXPECT(bpe_encode(bpe, "AB ef", ids, 8, &k) == MODX_OK && k == 4 && ids[1] == 512 && ids[2] == 514 && ids[3] == 516,
           "encode with trained merges");
    bpe_free(bpe);
    EXPECT(bpe_train(corpus, 2, 513, path) == MODX_ERR_INVALID, "size 513 accepted");
    const char *bad[] = {"fine", "bad \xC3"};
    EXPECT(bpe_train(bad, 2, 600, path) == MODX_ERR_FORMAT && strstr(modx_last_error(), "caption 2"), "invalid caption: %s",
           modx_last_error());
}

TEST(tok_train_deterministic_and_round_trips) {
    Bpe *real = real_vocab();
    EXPECT(real, "vocab");
    GoldenRow *rows;
    int n = load_golden(&rows);
    const char **texts = malloc((size_t)n * sizeof(char *));
    for (int i = 0; i < n; i++) texts[i] = rows[i].text;
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/t1.bpe", harness_tmpdir());
    snprintf(p2, sizeof p2, "%s/t2.bpe", harness_tmpdir());
    EXPECT(bpe_train(texts, (size_t)n, 1200, p1) == MODX_OK, "%s", modx_last_error());
    EXPECT(bpe_train(texts, (size_t)n, 1200, p2) == MODX_OK, "%s", modx_last_error());
    size_t n1, n2;
    char *a = read_text(p1, &n1), *b = read_text(p2, &n2);
    int same = a && b && n1 == n2 && memcmp(a, b, n1) == 0;
    free(a);
    free(b);
    EXPECT(same, "two trainings gave different files (%zu vs %zu bytes)", n1, n2);
    Bpe *bpe;
    EXPECT(bpe_load(&bpe, p1) == MODX_OK, "%s", modx_last_error());
    EXPECT(bpe_vocab_size(bpe) == 1200, "vocab %d", bpe_vocab_size(bpe));
    int bad = -1;
    size_t total_trained = 0, total_bytes = 0;
    for (int i = 0; i < n && bad < 0; i++) {
        int32_t *ids, *ref;
        size_t k, kr;
        char *d1 = NULL, *d2 = NULL;
        if (bpe_tokenize(bpe, texts[i], &ids, &k) != MODX_OK || bpe_tokenize(real, texts[i], &ref, &kr) != MODX_OK) {
            bad = i;
            break;
        }
        bpe_decode(bpe, ids, k, &d1);
        bpe_decode(real, ref, kr, &d2);
        if (!d1 || !d2 || strcmp(d1, d2)) bad = i;
        for (size_t q = 0; q < k; q++)
            if (ids[q] < 0 || ids[q] >= 1200) bad = i;
        total_trained += k;
        total_bytes += strlen(d2 ? d2 : "");
        free(ids);
        free(ref);
        free(d1);
        free(d2);
    }
    bpe_free(bpe);
    free(texts);
    free_golden(rows, n);
    EXPECT(bad < 0, "caption %d does not round-trip through the trained vocabulary", bad + 1);
    EXPECT(total_trained * 2 < total_bytes, "trained merges barely compress: %zu tokens for %zu bytes", total_trained, total_bytes);
}
