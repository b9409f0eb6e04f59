/* safetensors reader/writer and io/file helpers: round trips, half/bfloat16
 * decoding, the committed cross-implementation fixtures, and a corrupt-file
 * suite in which every case must fail with a message naming the file and the
 * offending tensor or item. */
#include <errno.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "io/file.h"
#include "io/safetensors.h"

static char *tmp_path(const char *name) {
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 512, "%s/%s", harness_tmpdir(), name);
    return p;
}

static int bits_equal_f32(float a, float b) { return memcmp(&a, &b, 4) == 0; }

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* Writes 8-byte length + header + data to a scratch file; returns its path. */
static const char *write_raw(const char *name, uint64_t hlen, const char *header, const void *data, size_t ndata) {
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");
    if (!f) return path;
    fwrite(&hlen, 8, 1, f);
    if (header) fwrite(header, 1, strlen(header), f);
    if (ndata) fwrite(data, 1, ndata, f);
    fclose(f);
    return path;
}

static const char *write_st(const char *name, const char *header, const void *data, size_t ndata) {
    return write_raw(name, strlen(header), header, data, ndata);
}

/* 1 when opening `path` fails and the message names the path and contains each of up to 3 needles. */
static int open_fails_with(const char *path, const char *n1, const char *n2, const char *n3) {
    SafeTensors *st = NULL;
    modx_clear_error();
    ModxStatus rc = safetensors_open(&st, path);
    if (rc == MODX_OK) {
        fprintf(stderr, "    %s: opened although corrupt\n", path);
        safetensors_close(st);
        return 0;
    }
    const char *msg = modx_last_error();
    const char *needles[4] = {path, n1, n2, n3};
    for (int i = 0; i < 4; i++) {
        if (needles[i] && !strstr(msg, needles[i])) {
            fprintf(stderr, "    message lacks '%s': %s\n", needles[i], msg);
            return 0;
        }
    }
    if (st) {
        fprintf(stderr, "    %s: handle not NULL after failure\n", path);
        return 0;
    }
    return 1;
}

/* ---- helpers and dtypes ---------------------------------------------------- */

TEST(io_st_dtype_names_and_sizes) {
    const char *names[] = {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"};
    const size_t sizes[] = {4, 2, 2, 8, 8, 4, 2, 1, 1, 1};
    for (int i = 0; i < 10; i++) {
        StDtype dt;
        EXPECT(st_dtype_parse(names[i], &dt) && (int)dt == i, "parse %s", names[i]);
        EXPECT(!strcmp(st_dtype_name(dt), names[i]), "name of %d is %s", i, st_dtype_name(dt));
        EXPECT(st_dtype_size(dt) == sizes[i], "size of %s is %zu", names[i], st_dtype_size(dt));
    }
    StDtype dt;
    EXPECT(!st_dtype_parse("f32", &dt) && !st_dtype_parse("F8_E4M3", &dt) && !st_dtype_parse("", &dt),
           "unknown dtype names accepted");
}

TEST(io_st_f16_bf16_decoding) {
    /* IEEE half: 1, -2, max normal, min normal, min subnormal, max subnormal, -0, inf, -inf, nan */
    const uint16_t h[] = {0x3C00, 0xC000, 0x7BFF, 0x0400, 0x0001, 0x03FF, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0x3555};
    const float want[] = {1.0f, -2.0f, 65504.0f, 6.103515625e-05f, 5.9604644775390625e-08f,
                          6.097555160522461e-05f, -0.0f, INFINITY, -INFINITY, NAN, 0.333251953125f};
    for (int i = 0; i < 11; i++) {
        float got = st_f16_to_f32(h[i]);
        if (isnan(want[i])) {
            EXPECT(isnan(got), "F16 0x%04x -> %g, want nan", h[i], got);
        } else {
            EXPECT(bits_equal_f32(got, want[i]), "F16 0x%04x -> %.9g (0x%08x), want %.9g (0x%08x)", h[i], got,
                   f32_bits(got), want[i], f32_bits(want[i]));
        }
    }
    /* All 2048 negative/positive subnormals and normals agree with value = mant * 2^(e-25) formula. */
    for (uint32_t b = 0; b < 0x7C00; b++) {
        uint32_t e = b >> 10, m = b & 0x3FF;
        double v = e == 0 ? ldexp((double)m, -24) : ldexp(1024.0 + m, (int)e - 25);
        EXPECT(st_f16_to_f32((uint16_t)b) == (float)v && st_f16_to_f32((uint16_t)(b | 0x8000)) == -(float)v,
               "F16 0x%04x -> %.9g, want %.9g", b, st_f16_to_f32((uint16_t)b), v);
    }
    const uint16_t bf[] = {0x3F80, 0xC040, 0x4049, 0x0001, 0xFF80, 0x7FC0, 0x8000};
    const float bwant[] = {1.0f, -3.0f, 3.140625f, 9.18354961579912e-41f, -INFINITY, NAN, -0.0f};
    for (int i = 0; i < 7; i++) {
        float got = st_bf16_to_f32(bf[i]);
        if (isnan(bwant[i])) {
            EXPECT(isnan(got), "BF16 0x%04x -> %g, want nan", bf[i], got);
        } else {
            EXPECT(bits_equal_f32(got, bwant[i]), "BF16 0x%04x -> %.9g, want %.9g", bf[i], got, bwant[i]);
        }
    }
}

/* ---- round trip ---------------------------------------------------------------- */

TEST(io_st_round_trip_bit_exact) {
    float w[2][3] = {{0.5f, -1.25f, 3.0f}, {1e-8f, -0.0f, NAN}};
    int32_t ids[4] = {0, -1, INT32_MAX, INT32_MIN};
    uint8_t mask[3] = {0, 1, 255};
    float scale = 2.6592600345611572f;
    int64_t sw[2] = {2, 3}, sid[1] = {4}, sm[1] = {3}, se[2] = {0, 3};
    SafeTensorsWriter *wr;
    EXPECT(safetensors_writer_new(&wr) == MODX_OK, "new");
    EXPECT(safetensors_writer_add(wr, "visual.proj", ST_F32, 2, sw, w) == MODX_OK, "%s", modx_last_error());
    EXPECT(safetensors_writer_add(wr, "ids", ST_I32, 1, sid, ids) == MODX_OK, "%s", modx_last_error());
    EXPECT(safetensors_writer_add(wr, "mask", ST_U8, 1, sm, mask) == MODX_OK, "%s", modx_last_error());
    EXPECT(safetensors_writer_add(wr, "logit_scale", ST_F32, 0, NULL, &scale) == MODX_OK, "%s", modx_last_error());
    EXPECT(safetensors_writer_add(wr, "empty", ST_F32, 2, se, NULL) == MODX_OK, "%s", modx_last_error());
    EXPECT(safetensors_writer_metadata(wr, "modx.config", "{\"embed_dim\": 8, \"q\": \"a\\\\b\"}") == MODX_OK, "meta");
    EXPECT(safetensors_writer_metadata(wr, "format", "pt") == MODX_OK, "meta");
    const char *path = tmp_path("roundtrip.safetensors");
    EXPECT(safetensors_writer_save(wr, path) == MODX_OK, "save: %s", modx_last_error());
    safetensors_writer_free(wr);

    /* Header length is a multiple of 8 and the data starts right after it. */
    uint8_t *raw;
    size_t nraw;
    EXPECT(io_read_file(path, &raw, &nraw) == MODX_OK, "%s", modx_last_error());
    uint64_t hlen;
    memcpy(&hlen, raw, 8);
    EXPECT(hlen % 8 == 0, "header length %llu not a multiple of 8", (unsigned long long)hlen);
    EXPECT(nraw == 8 + hlen + 24 + 16 + 3 + 4, "file is %zu bytes, header %llu", nraw, (unsigned long long)hlen);
    size_t close_at = 8 + (size_t)hlen - 1;
    while (close_at > 8 && raw[close_at] == ' ') close_at--;
    int padded = raw[8] == '{' && raw[close_at] == '}' && 8 + hlen - 1 - close_at < 8;
    free(raw);
    EXPECT(padded, "header is not a JSON object padded with fewer than 8 spaces");

    SafeTensors *st;
    EXPECT(safetensors_open(&st, path) == MODX_OK, "open: %s", modx_last_error());
    EXPECT(!strcmp(safetensors_path(st), path), "path %s", safetensors_path(st));
    EXPECT(safetensors_count(st) == 5, "count %d", safetensors_count(st));
    const char *order[5] = {"visual.proj", "ids", "mask", "logit_scale", "empty"};
    uint64_t prev_end = 0;
    for (int i = 0; i < 5; i++) {
        const StTensorInfo *t = safetensors_at(st, i);
        EXPECT(!strcmp(t->name, order[i]), "tensor %d is '%s', want '%s'", i, t->name, order[i]);
        EXPECT(t->begin == prev_end, "tensor '%s' begins at %llu, want %llu (contiguous)", t->name,
               (unsigned long long)t->begin, (unsigned long long)prev_end);
        prev_end = t->end;
    }
    const StTensorInfo *ls = safetensors_find(st, "logit_scale");
    EXPECT(ls && ls->ndim == 0 && ls->numel == 1 && ls->dtype == ST_F32, "scalar info wrong");
    const StTensorInfo *em = safetensors_find(st, "empty");
    EXPECT(em && em->ndim == 2 && em->numel == 0 && em->shape[1] == 3, "empty info wrong");
    EXPECT(safetensors_find(st, "nope") == NULL, "found a missing tensor");
    EXPECT(!strcmp(safetensors_metadata(st, "modx.config"), "{\"embed_dim\": 8, \"q\": \"a\\\\b\"}"), "meta %s",
           safetensors_metadata(st, "modx.config"));
    EXPECT(!strcmp(safetensors_metadata(st, "format"), "pt") && !safetensors_metadata(st, "x"), "meta");
    EXPECT(safetensors_metadata_count(st) == 2, "meta count %d", safetensors_metadata_count(st));
    const char *k, *v;
    safetensors_metadata_at(st, 1, &k, &v);
    EXPECT(!strcmp(k, "format") && !strcmp(v, "pt"), "meta order");

    float w2[6];
    EXPECT(safetensors_read_f32(st, "visual.proj", 2, sw, w2) == MODX_OK, "%s", modx_last_error());
    EXPECT(memcmp(w2, w, sizeof w2) == 0, "F32 not bit-exact (incl. -0 and NaN)");
    int32_t ids2[4];
    EXPECT(safetensors_read_i32(st, "ids", 1, sid, ids2) == MODX_OK, "%s", modx_last_error());
    EXPECT(memcmp(ids2, ids, sizeof ids) == 0, "I32 not exact");
    int32_t mask2[3];
    EXPECT(safetensors_read_i32(st, "mask", 1, sm, mask2) == MODX_OK, "%s", modx_last_error());
    EXPECT(mask2[0] == 0 && mask2[1] == 1 && mask2[2] == 255, "U8 -> %d %d %d", mask2[0], mask2[1], mask2[2]);
    EXPECT(memcmp(safetensors_data(st, safetensors_find(st, "mask")), mask, 3) == 0, "raw U8 bytes");
    float s2 = 0;
    EXPECT(safetensors_read_f32(st, "logit_scale", 0, NULL, &s2) == MODX_OK, "%s", modx_last_error());
    EXPECT(bits_equal_f32(s2, scale), "scalar %.9g want %.9g", s2, scale);
    float dummy;
    EXPECT(safetensors_read_f32(st, "empty", 2, se, &dummy) == MODX_OK, "%s", modx_last_error());
    /* Wrong dtype family is an error naming the tensor. */
    EXPECT(safetensors_read_f32(st, "ids", 1, sid, w2) == MODX_ERR_FORMAT && strstr(modx_last_error(), "'ids'") &&
               strstr(modx_last_error(), "I32"),
           "I32 read as f32: %s", modx_last_error());
    EXPECT(safetensors_read_i32(st, "visual.proj", 2, sw, ids2) == MODX_ERR_FORMAT &&
               strstr(modx_last_error(), "F32"),
           "F32 read as i32: %s", modx_last_error());
    safetensors_close(st);

    /* Saving again over an existing file replaces it. */
    SafeTensorsWriter *w3;
    EXPECT(safetensors_writer_new(&w3) == MODX_OK, "new");
    EXPECT(safetensors_writer_add(w3, "x", ST_U8, 1, sm, mask) == MODX_OK, "add");
    EXPECT(safetensors_writer_save(w3, path) == MODX_OK, "%s", modx_last_error());
    safetensors_writer_free(w3);
    EXPECT(safetensors_open(&st, path) == MODX_OK && safetensors_count(st) == 1, "replaced file wrong");
    safetensors_close(st);
    EXPECT(!io_file_exists(tmp_path("roundtrip.safetensors.tmp")), "tmp file left behind");
}

/* The C writer's bytes are pinned by a committed fixture that tools/st_check.py
 * loads in Python (same values as c_tensors() there). */
TEST(io_st_c_writer_matches_fixture) {
    float w[6] = {0.5f, -1.25f, 3.0f, 1e-8f, -0.0f, 65504.0f};
    int32_t ids[4] = {0, -1, INT32_MAX, INT32_MIN};
    uint8_t mask[3] = {0, 1, 255};
    float scale = 2.659260034561157f;
    uint16_t h[2] = {0x3C00, 0x8001}, b[2] = {0x3F80, 0xC040};
    int8_t q = 7;
    int64_t sw[2] = {2, 3}, s4[1] = {4}, s3[1] = {3}, s2[1] = {2}, se[2] = {0, 3}, s1[1] = {1};
    SafeTensorsWriter *wr;
    EXPECT(safetensors_writer_new(&wr) == MODX_OK, "new");
    EXPECT(safetensors_writer_add(wr, "w", ST_F32, 2, sw, w) == MODX_OK, "%s", modx_last_error());
    EXPECT(safetensors_writer_add(wr, "ids", ST_I32, 1, s4, ids) == MODX_OK, "%s", modx_last_error());
    EXPECT(safetensors_writer_add(wr, "mask", ST_U8, 1, s3, mask) == MODX_OK, "%s", modx_last_error());
    EXPECT(safetensors_writer_add(wr, "logit_scale", ST_F32, 0, NULL, &scale) == MODX_OK, "%s", modx_last_error());
    EXPECT(safetensors_writer_add(wr, "h", ST_F16, 1, s2, h) == MODX_OK, "%s", modx_last_error());
    EXPECT(safetensors_writer_add(wr, "b", ST_BF16, 1, s2, b) == MODX_OK, "%s", modx_last_error());
    EXPECT(safetensors_writer_add(wr, "empty", ST_F32, 2, se, NULL) == MODX_OK, "%s", modx_last_error());
    EXPECT(safetensors_writer_add(wr, "name \"quoted\"\\x", ST_I8, 1, s1, &q) == MODX_OK, "%s", modx_last_error());
    EXPECT(safetensors_writer_metadata(wr, "modx.config", "{\"embed_dim\": 8}") == MODX_OK, "meta");
    EXPECT(safetensors_writer_metadata(wr, "format", "pt") == MODX_OK, "meta");
    const char *fixture = "tests/fixtures/st_c_written.safetensors";
    const char *env = getenv("MODX_UPDATE_FIXTURES");
    const char *path = env && env[0] == '1' ? fixture : tmp_path("c_written.safetensors");
    EXPECT(safetensors_writer_save(wr, path) == MODX_OK, "save: %s", modx_last_error());
    safetensors_writer_free(wr);
    uint8_t *got, *want;
    size_t ngot, nwant;
    EXPECT(io_read_file(path, &got, &ngot) == MODX_OK, "%s", modx_last_error());
    ModxStatus rc = io_read_file(fixture, &want, &nwant);
    if (rc != MODX_OK) free(got);
    EXPECT(rc == MODX_OK, "%s", modx_last_error());
    size_t first = 0;
    while (first < ngot && first < nwant && got[first] == want[first]) first++;
    int same = ngot == nwant && first == ngot;
    free(got);
    free(want);
    EXPECT(same, "C writer output (%zu bytes) differs from %s (%zu bytes) at byte %zu", ngot, fixture, nwant, first);
    /* And it reads back with the quoted name intact. */
    SafeTensors *st;
    EXPECT(safetensors_open(&st, path) == MODX_OK, "%s", modx_last_error());
    int32_t q2 = 0;
    ModxStatus r2 = safetensors_read_i32(st, "name \"quoted\"\\x", 1, s1, &q2);
    safetensors_close(st);
    EXPECT(r2 == MODX_OK && q2 == 7, "escaped name: %s", modx_last_error());
}

/* A file written by tools/safetensors_py.py (torch) with F16/BF16/F64/I64 tensors. */
TEST(io_st_reads_python_fixture) {
    SafeTensors *st;
    EXPECT(safetensors_open(&st, "tests/fixtures/st_python_written.safetensors") == MODX_OK, "%s",
           modx_last_error());
    EXPECT(safetensors_count(st) == 7, "count %d", safetensors_count(st));
    EXPECT(!strcmp(safetensors_metadata(st, "modx.config"), "{\"embed_dim\": 4}"), "config");
    EXPECT(!strcmp(safetensors_metadata(st, "source"), "python"), "source");
    float f16[10];
    int64_t s25[2] = {2, 5};
    ModxStatus rc = safetensors_read_f32(st, "f16", 2, s25, f16);
    if (rc != MODX_OK) safetensors_close(st);
    EXPECT(rc == MODX_OK, "%s", modx_last_error());
    const float want16[10] = {1.0f, -2.0f, 65504.0f, 6.103515625e-05f, 5.9604644775390625e-08f,
                              6.097555160522461e-05f, -0.0f, INFINITY, -INFINITY, NAN};
    float bf16[6], f64[3], proj[4], scale = 0;
    int32_t ids[3], mask[3];
    int64_t s6[1] = {6}, s3[1] = {3}, s22[2] = {2, 2};
    int ok = safetensors_read_f32(st, "bf16", 1, s6, bf16) == MODX_OK &&
             safetensors_read_f32(st, "f64", 1, s3, f64) == MODX_OK &&
             safetensors_read_i32(st, "ids64", 1, s3, ids) == MODX_OK &&
             safetensors_read_f32(st, "proj", 2, s22, proj) == MODX_OK &&
             safetensors_read_i32(st, "mask", 1, s3, mask) == MODX_OK &&
             safetensors_read_f32(st, "logit_scale", 0, NULL, &scale) == MODX_OK;
    safetensors_close(st);
    EXPECT(ok, "%s", modx_last_error());
    for (int i = 0; i < 9; i++)
        EXPECT(bits_equal_f32(f16[i], want16[i]), "f16[%d] = %.9g want %.9g", i, f16[i], want16[i]);
    EXPECT(isnan(f16[9]), "f16[9] = %g, want nan", f16[9]);
    const float wantb[5] = {1.0f, -3.0f, 3.140625f, 9.18354961579912e-41f, -INFINITY};
    for (int i = 0; i < 5; i++) EXPECT(bits_equal_f32(bf16[i], wantb[i]), "bf16[%d] = %.9g", i, bf16[i]);
    EXPECT(isnan(bf16[5]), "bf16[5] = %g, want nan", bf16[5]);
    EXPECT(f64[0] == 0.1f && f64[1] == -INFINITY && f64[2] == 1.5f, "f64 -> %.9g %g %g", f64[0], f64[1], f64[2]);
    EXPECT(ids[0] == 5 && ids[1] == -7 && ids[2] == 49407, "ids64 -> %d %d %d", ids[0], ids[1], ids[2]);
    EXPECT(proj[0] == 1 && proj[1] == 2 && proj[2] == 3 && proj[3] == 4, "proj");
    EXPECT(mask[0] == 0 && mask[1] == 1 && mask[2] == 255, "mask");
    EXPECT(scale == 2.5f, "logit_scale %g", scale);
}

/* ---- writer argument checks and atomic save ------------------------------------ */

TEST(io_st_writer_rejects_bad_arguments) {
    SafeTensorsWriter *w;
    float x[4] = {1, 2, 3, 4};
    int64_t s4[1] = {4}, neg[1] = {-1}, big[2] = {INT64_C(1) << 40, INT64_C(1) << 40};
    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    EXPECT(safetensors_writer_new(&w) == MODX_OK, "new");
    EXPECT(safetensors_writer_add(w, "a", ST_F32, 1, s4, x) == MODX_OK, "%s", modx_last_error());
    EXPECT(safetensors_writer_add(w, "a", ST_F32, 1, s4, x) == MODX_ERR_INVALID &&
               strstr(modx_last_error(), "'a'"),
           "duplicate accepted: %s", modx_last_error());
    EXPECT(safetensors_writer_add(w, "", ST_F32, 1, s4, x) == MODX_ERR_INVALID, "empty name accepted");
    EXPECT(safetensors_writer_add(w, NULL, ST_F32, 1, s4, x) == MODX_ERR_INVALID, "NULL name accepted");
    EXPECT(safetensors_writer_add(w, "__metadata__", ST_F32, 1, s4, x) == MODX_ERR_INVALID, "reserved accepted");
    EXPECT(safetensors_writer_add(w, "b", (StDtype)42, 1, s4, x) == MODX_ERR_INVALID, "bad dtype accepted");
    EXPECT(safetensors_writer_add(w, "b", ST_F32, 1, neg, x) == MODX_ERR_INVALID &&
               strstr(modx_last_error(), "'b'"),
           "negative dim accepted");
    EXPECT(safetensors_writer_add(w, "b", ST_F32, 9, nine, x) == MODX_ERR_INVALID, "9 dims accepted");
    EXPECT(safetensors_writer_add(w, "b", ST_F32, -1, s4, x) == MODX_ERR_INVALID, "-1 dims accepted");
    EXPECT(safetensors_writer_add(w, "b", ST_F32, 2, big, x) == MODX_ERR_INVALID, "overflowing size accepted");
    EXPECT(safetensors_writer_add(w, "b", ST_F32, 1, s4, NULL) == MODX_ERR_INVALID, "NULL data accepted");
    EXPECT(safetensors_writer_metadata(w, "k", "v") == MODX_OK, "meta");
    EXPECT(safetensors_writer_metadata(w, "k", "w") == MODX_ERR_INVALID && strstr(modx_last_error(), "'k'"),
           "duplicate metadata accepted");
    EXPECT(safetensors_writer_metadata(w, "k2", NULL) == MODX_ERR_INVALID, "NULL metadata value accepted");
    EXPECT(safetensors_writer_save(w, "") == MODX_ERR_INVALID, "empty path accepted");
    /* Only "a" made it in. */
    const char *path = tmp_path("writer_args.safetensors");
    EXPECT(safetensors_writer_save(w, path) == MODX_OK, "%s", modx_last_error());
    safetensors_writer_free(w);
    SafeTensors *st;
    EXPECT(safetensors_open(&st, path) == MODX_OK, "%s", modx_last_error());
    int n = safetensors_count(st);
    safetensors_close(st);
    EXPECT(n == 1, "%d tensors written", n);
}

TEST(io_st_failed_save_leaves_nothing) {
    float x[2] = {1, 2};
    int64_t s2[1] = {2};
    SafeTensorsWriter *w;
    EXPECT(safetensors_writer_new(&w) == MODX_OK, "new");
    EXPECT(safetensors_writer_add(w, "x", ST_F32, 1, s2, x) == MODX_OK, "add");
    char bad[512];
    snprintf(bad, sizeof bad, "%s/no/such/dir/m.safetensors", harness_tmpdir());
    ModxStatus rc = safetensors_writer_save(w, bad);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", bad);
    int msg_ok = strstr(modx_last_error(), bad) != NULL;
    /* Existing target, a save whose rename fails (a non-empty directory sits at the
     * target's place is covered by io_atomic_abort_and_failed_rename); here: a save into
     * a path whose folder vanished keeps nothing, and an existing file stays intact
     * when a second writer of it aborts. */
    const char *path = tmp_path("keep.safetensors");
    const char keep[] = "original contents";
    int wrote = io_write_atomic(path, keep, sizeof keep) == MODX_OK;
    IoAtomicFile *other = NULL;
    ModxStatus rc2 = io_atomic_open(&other, path) == MODX_OK && io_atomic_write(other, "torn", 4) == MODX_OK
                         ? MODX_ERR_IO
                         : MODX_OK;
    if (other) io_atomic_abort(other);
    safetensors_writer_free(w);
    EXPECT(rc == MODX_ERR_IO, "save into a missing directory returned %d", rc);
    EXPECT(msg_ok, "message does not name the path: %s", modx_last_error());
    EXPECT(!io_file_exists(bad) && !io_file_exists(tmp), "failed save left a file");
    EXPECT(wrote, "%s", modx_last_error());
    EXPECT(rc2 == MODX_ERR_IO, "a second writer could not be opened");
    uint8_t *buf;
    size_t n;
    EXPECT(io_read_file(path, &buf, &n) == MODX_OK, "%s", modx_last_error());
    int intact = n == sizeof keep && !memcmp(buf, keep, n);
    free(buf);
    EXPECT(intact, "existing file changed by a failed save");
}

/* ---- io/file helpers ---------------------------------------------------------------- */

/* Files in harness_tmpdir() whose name starts with `prefix`. */
static int count_prefixed(const char *prefix) {
    DIR *d = opendir(harness_tmpdir());
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) n += !strncmp(e->d_name, prefix, strlen(prefix));
    if (d) closedir(d);
    return n;
}

TEST(io_atomic_abort_and_failed_rename) {
    /* Abort removes the partial tmp file and leaves the target alone. */
    const char *path = tmp_path("atomic.bin");
    IoAtomicFile *f;
    EXPECT(io_atomic_open(&f, path) == MODX_OK, "%s", modx_last_error());
    EXPECT(io_atomic_write(f, "partial", 7) == MODX_OK, "%s", modx_last_error());
    int tmp_seen = count_prefixed("atomic.bin.tmp.") == 1;
    io_atomic_abort(f);
    EXPECT(tmp_seen && count_prefixed("atomic.bin.tmp.") == 0 && !io_file_exists(path), "abort left files behind");
    /* A commit whose rename fails (a non-empty directory sits at the target)
     * removes the tmp file and keeps the directory and its content. */
    const char *dir = tmp_path("atomic_dir");
    char inner[600], dtmp[600];
    snprintf(inner, sizeof inner, "%s/keep", dir);
    snprintf(dtmp, sizeof dtmp, "%s.tmp", dir);
    EXPECT(io_mkdir_p(dir) == MODX_OK && io_write_atomic(inner, "x", 1) == MODX_OK, "%s", modx_last_error());
    ModxStatus rc = io_write_atomic(dir, "new", 3);
    EXPECT(rc == MODX_ERR_IO && strstr(modx_last_error(), dir) && strstr(modx_last_error(), "rename"),
           "failed rename: status %d, %s", rc, modx_last_error());
    EXPECT(!io_file_exists(dtmp) && count_prefixed("atomic_dir.tmp.") == 0 && io_dir_exists(dir) && io_file_exists(inner),
           "failed commit left a mess");
}

/* Two writers of one path at once each get their own temporary file: both
 * commit, the last one's content wins whole, nothing is left behind; the
 * temporary file of a dead writer is removed by the next one. */
TEST(io_atomic_two_writers_and_stale_tmp) {
    const char *path = tmp_path("shared.json");
    IoAtomicFile *a = NULL, *b = NULL;
    EXPECT(io_atomic_open(&a, path) == MODX_OK && io_atomic_open(&b, path) == MODX_OK, "%s", modx_last_error());
    if (!a || !b) return;
    EXPECT(io_atomic_write(a, "first", 5) == MODX_OK && io_atomic_write(b, "second", 6) == MODX_OK, "%s",
           modx_last_error());
    EXPECT(count_prefixed("shared.json.tmp.") == 2, "the writers share a temporary file");
    EXPECT(io_atomic_commit(a) == MODX_OK && io_atomic_commit(b) == MODX_OK, "%s", modx_last_error());
    uint8_t *buf = NULL;
    size_t n = 0;
    EXPECT(io_read_file(path, &buf, &n) == MODX_OK && n == 6 && !memcmp(buf, "second", 6), "content");
    free(buf);
    EXPECT(count_prefixed("shared.json.tmp.") == 0, "temporary files left");
    /* a stale one of a pid that cannot exist (above pid_max) goes at the next write */
    char stale[600];
    snprintf(stale, sizeof stale, "%s.tmp.2147483646.0", path);
    EXPECT(io_write_atomic(stale, "x", 1) == MODX_OK, "%s", modx_last_error());
    EXPECT(io_write_atomic(path, "third", 5) == MODX_OK, "%s", modx_last_error());
    EXPECT(!io_file_exists(stale) && count_prefixed("shared.json.tmp.") == 0, "a dead writer's temporary file stayed");
}

TEST(io_file_helpers) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/a/b//c/", harness_tmpdir());
    EXPECT(io_mkdir_p(dir) == MODX_OK, "%s", modx_last_error());
    EXPECT(io_dir_exists(dir) && io_mkdir_p(dir) == MODX_OK, "mkdir -p not idempotent");
    char file[600];
    snprintf(file, sizeof file, "%s/a/b/c/data.bin", harness_tmpdir());
    EXPECT(!io_file_exists(file), "exists before write");
    const char data[] = {1, 0, 2, 3};
    EXPECT(io_write_atomic(file, data, 4) == MODX_OK, "%s", modx_last_error());
    EXPECT(io_file_exists(file) && !io_file_exists(dir), "exists wrong");
    uint8_t *buf;
    size_t n;
    EXPECT(io_read_file(file, &buf, &n) == MODX_OK, "%s", modx_last_error());
    int same = n == 4 && !memcmp(buf, data, 4) && buf[4] == 0;
    free(buf);
    EXPECT(same, "read back %zu bytes differ", n);
    /* Empty file. */
    EXPECT(io_write_atomic(file, "", 0) == MODX_OK, "%s", modx_last_error());
    EXPECT(io_read_file(file, &buf, &n) == MODX_OK && n == 0 && buf[0] == 0, "empty file");
    free(buf);
    /* Errors name the path and the errno text. */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing.txt", harness_tmpdir());
    EXPECT(io_read_file(missing, &buf, &n) == MODX_ERR_IO && buf == NULL && n == 0, "missing file read");
    EXPECT(strstr(modx_last_error(), missing) && strstr(modx_last_error(), strerror(ENOENT)), "message: %s",
           modx_last_error());
    EXPECT(io_read_file(harness_tmpdir(), &buf, &n) == MODX_ERR_IO, "reading a directory succeeded");
    /* mkdir -p through a regular file fails naming it. */
    char through[700];
    snprintf(through, sizeof through, "%s/sub", file);
    EXPECT(io_mkdir_p(through) == MODX_ERR_IO && strstr(modx_last_error(), "not a directory"), "%s",
           modx_last_error());
}

/* ---- corrupt files ----------------------------------------------------------------- */

static const char *GOOD_HEADER =
    "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
    "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]}}";

TEST(io_st_corrupt_truncated) {
    uint8_t data[12] = {0};
    const char *good = write_st("good.safetensors", GOOD_HEADER, data, 12);
    SafeTensors *st;
    EXPECT(safetensors_open(&st, good) == MODX_OK, "good file: %s", modx_last_error());
    safetensors_close(st);
    uint8_t *raw;
    size_t n;
    EXPECT(io_read_file(good, &raw, &n) == MODX_OK, "%s", modx_last_error());
    /* Every cut point fails; cuts in the data name the tensor that no longer fits. */
    for (size_t cut = 0; cut < n; cut++) {
        const char *p = tmp_path("cut.safetensors");
        int ok = io_write_atomic(p, raw, cut) == MODX_OK;
        size_t hend = 8 + strlen(GOOD_HEADER);
        const char *needle = cut < 8 ? "too short" : cut < hend ? "header length" : cut < hend + 8 ? "'a'" : "'b'";
        ok = ok && open_fails_with(p, needle, NULL, NULL);
        if (!ok) free(raw);
        EXPECT(ok, "cut at %zu of %zu bytes not rejected properly", cut, n);
    }
    free(raw);
    /* Empty file. */
    const char *empty = tmp_path("empty.safetensors");
    EXPECT(io_write_atomic(empty, "", 0) == MODX_OK, "%s", modx_last_error());
    EXPECT(open_fails_with(empty, "file is 0 bytes, too short", NULL, NULL), "empty file");
    EXPECT(open_fails_with(tmp_path("does_not_exist.safetensors"), "cannot open", NULL, NULL), "missing file");
}

TEST(io_st_corrupt_header_length) {
    EXPECT(open_fails_with(write_raw("hl_past.safetensors", 1000, "{}", NULL, 0), "header length 1000", "past",
                           NULL),
           "header length past EOF");
    EXPECT(open_fails_with(write_raw("hl_huge.safetensors", UINT64_MAX - 3, "{}", NULL, 0),
                           "header length 18446744073709551612", NULL, NULL),
           "header length near UINT64_MAX");
    EXPECT(open_fails_with(write_raw("hl_zero.safetensors", 0, "{}", NULL, 0), "header length 0", NULL, NULL),
           "header length 0");
}

TEST(io_st_corrupt_json) {
    EXPECT(open_fails_with(write_st("j_invalid.safetensors", "{\"a\": {\"dtype\": \"F32\",", NULL, 0),
                           "not valid JSON", NULL, NULL),
           "invalid JSON");
    EXPECT(open_fails_with(write_st("j_array.safetensors", "[1, 2, 3]", NULL, 0), "must be a JSON object", "[1,2,3]",
                           NULL),
           "header not object");
    EXPECT(open_fails_with(write_st("j_trailing.safetensors", "{} x", NULL, 0), "after the JSON object", NULL, NULL),
           "trailing garbage");
    EXPECT(open_fails_with(write_st("j_entry_num.safetensors", "{\"t\": 5}", NULL, 0), "tensor 't'", "expected an object",
                           NULL),
           "entry not object");
}

TEST(io_st_corrupt_entries) {
    uint8_t d[64] = {0};
    struct {
        const char *header;
        const char *n1, *n2;
    } cases[] = {
        {"{\"w\":{\"dtype\":\"F8\",\"shape\":[2],\"data_offsets\":[0,8]}}", "tensor 'w'", "\"F8\""},
        {"{\"w\":{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}}", "tensor 'w'", "dtype 7"},
        {"{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", "tensor 'w'", "dtype (missing)"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", "tensor 'w'", "[-2]"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", "tensor 'w'", "not a non-negative integer"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", "tensor 'w'", "[\"2\"]"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", "tensor 'w'", "shape must be an array"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", "tensor 'w'", "9 dims"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,8]}}", "tensor 'w'",
         "overflows"},
        {"{\"w\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967295],\"data_offsets\":[0,8]}}", "tensor 'w'",
         "byte size overflows"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,800]}}", "tensor 'w'", "[0, 800]"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", "tensor 'w'", "end before begin"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", "tensor 'w'", "[begin, end]"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", "tensor 'w'", "[begin, end]"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,1e300]}}", "tensor 'w'", "[begin, end]"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[5,7],\"data_offsets\":[0,20]}}", "tensor 'w'",
         "hold 20 bytes but F32 [5, 7] needs 140"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         "tensor 'v'", "overlap tensor 'w'"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
         "\"v\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[12,12]}}",
         "tensor 'v'", "overlap tensor 'w'"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
         "tensor 'w'", "more than once"},
        {"{\"w\":{\"dtype\":\"F32\",\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,8]}}", "tensor 'w'",
         "\"dtype\" appears more than once"},
        {"{\"\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "empty name", NULL},
        {"{\"__metadata__\":{\"k\":5}}", "__metadata__ entry 'k'", "expected a string"},
        {"{\"__metadata__\":[\"k\"]}", "__metadata__", "expected an object"},
        {"{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", "__metadata__", "key 'k' appears more than once"},
        {"{\"__metadata__\":{},\"__metadata__\":{}}", "__metadata__ appears more than once", NULL},
    };
    int ncases = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < ncases; i++) {
        char name[64];
        snprintf(name, sizeof name, "entry_%02d.safetensors", i);
        EXPECT(open_fails_with(write_st(name, cases[i].header, d, sizeof d), cases[i].n1, cases[i].n2, NULL),
               "case %d not rejected properly: %s", i, cases[i].header);
    }
}

TEST(io_st_accepts_edge_cases) {
    /* Zero-size tensors at a shared offset, a gap, padding, unknown extra keys, scalar. */
    uint8_t d[16] = {0};
    const char *h =
        "{\"z1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
        "\"z2\":{\"dtype\":\"I64\",\"shape\":[3,0],\"data_offsets\":[4,4]},"
        "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[4,8],\"extra\":1},"
        "\"t\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[12,14]}}   \n";
    SafeTensors *st;
    const char *p = write_st("edge.safetensors", h, d, sizeof d);
    EXPECT(safetensors_open(&st, p) == MODX_OK, "%s", modx_last_error());
    int n = safetensors_count(st);
    const StTensorInfo *s = safetensors_find(st, "s");
    int ok = s && s->ndim == 0 && s->numel == 1 && safetensors_metadata_count(st) == 0;
    safetensors_close(st);
    EXPECT(n == 4 && ok, "edge file read wrong (%d tensors)", n);
}

TEST(io_st_read_checks) {
    /* a: I64 [3] with an out-of-range value; f: F32 [2, 3]. */
    int64_t big[3] = {1, INT64_C(2147483648), 3};
    float f[6] = {0};
    uint8_t d[48];
    memcpy(d, big, 24);
    memcpy(d + 24, f, 24);
    const char *h = "{\"a\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]},"
                    "\"f\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[24,48]}}";
    const char *p = write_st("readcheck.safetensors", h, d, sizeof d);
    SafeTensors *st;
    EXPECT(safetensors_open(&st, p) == MODX_OK, "%s", modx_last_error());
    int32_t out[6];
    float fo[6];
    int64_t s3[1] = {3}, s32[2] = {3, 2}, s23[2] = {2, 3}, s6[1] = {6};
    ModxStatus r1 = safetensors_read_i32(st, "a", 1, s3, out);
    char m1[2048];
    snprintf(m1, sizeof m1, "%s", modx_last_error());
    ModxStatus r2 = safetensors_read_f32(st, "f", 2, s32, fo);
    char m2[2048];
    snprintf(m2, sizeof m2, "%s", modx_last_error());
    ModxStatus r3 = safetensors_read_f32(st, "missing.weight", 2, s23, fo);
    char m3[2048];
    snprintf(m3, sizeof m3, "%s", modx_last_error());
    ModxStatus r4 = safetensors_read_f32(st, "f", 1, s6, fo);
    ModxStatus r5 = safetensors_read_f32(st, "f", 2, s23, fo);
    safetensors_close(st);
    EXPECT(r1 == MODX_ERR_FORMAT && strstr(m1, p) && strstr(m1, "'a'") && strstr(m1, "element 1 = 2147483648"),
           "I64 out of range: %s", m1);
    EXPECT(r2 == MODX_ERR_FORMAT && strstr(m2, p) && strstr(m2, "'f'") && strstr(m2, "expected shape [3, 2]") &&
               strstr(m2, "found F32 [2, 3]"),
           "wrong shape: %s", m2);
    EXPECT(r3 == MODX_ERR_FORMAT && strstr(m3, p) && strstr(m3, "'missing.weight' not found"), "missing: %s", m3);
    EXPECT(r4 == MODX_ERR_FORMAT, "numel-equal but different shape accepted");
    EXPECT(r5 == MODX_OK, "right shape rejected");
}

TEST(io_st_open_memory) {
    uint8_t img[8 + 64 + 12];
    const char *h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}";
    uint64_t n = 64;
    memset(img, ' ', sizeof img);
    memcpy(img, &n, 8);
    memcpy(img + 8, h, strlen(h));
    float v[3] = {1.5f, -2.0f, 0.25f};
    memcpy(img + 72, v, 12);
    SafeTensors *st;
    EXPECT(safetensors_open_memory(&st, img, sizeof img, "mem.safetensors") == MODX_OK, "%s", modx_last_error());
    float out[3];
    int64_t s3[1] = {3};
    ModxStatus rc = safetensors_read_f32(st, "a", 1, s3, out);
    safetensors_close(st);
    EXPECT(rc == MODX_OK && !memcmp(out, v, 12), "memory image read wrong");
    EXPECT(safetensors_open_memory(&st, img, 7, "mem.safetensors") == MODX_ERR_FORMAT &&
               strstr(modx_last_error(), "mem.safetensors"),
           "short memory image: %s", modx_last_error());
    EXPECT(safetensors_open_memory(&st, NULL, 0, "empty") == MODX_ERR_FORMAT, "NULL/0 image accepted");
}
