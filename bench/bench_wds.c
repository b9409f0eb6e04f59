/* Prints the rate of `modx data prepare --format wds` (no assertions): writes N
 * synthetic JPEG images (W×H, smooth patterns) with captions into webdataset
 * shards in a temporary folder, then reads the shards (dataset_read_wds) and
 * prepares a cache at 224 px (data_prepare: decode + resize on all cores,
 * tokenize) and prints images/s.
 *   bench_wds [N=10000] [SHARDS=10] [W=320] [H=240] */
#include <archive.h>
#include <archive_entry.h>
#include <jpeglib.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/prepare.h"
#include "data/wds.h"

static unsigned char *make_jpeg(int k, int w, int h, unsigned long *n) {
    unsigned char *rgb = malloc((size_t)w * h * 3), *out = NULL;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *p = rgb + 3 * ((size_t)y * w + x);
            p[0] = (unsigned char)(x * (k % 7 + 1) + y);
            p[1] = (unsigned char)(y * (k % 5 + 1) + k);
            p[2] = (unsigned char)((x ^ y) + k * 3);
        }
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    *n = 0;
    jpeg_mem_dest(&c, &out, n);
    c.image_width = (JDIMENSION)w, c.image_height = (JDIMENSION)h, c.input_components = 3, c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = rgb + (size_t)c.next_scanline * w * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(rgb);
    return out;
}

static void add_member(struct archive *a, const char *name, const void *data, size_t n) {
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_size(e, (la_int64_t)n);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, data, n);
    archive_entry_free(e);
}

/* Shard s holds images [s·N/S, (s+1)·N/S). */
static double write_shards(const char *dir, int n, int shards, int w, int h) {
    unsigned char **jpg = calloc((size_t)n, sizeof *jpg);
    unsigned long *len = calloc((size_t)n, sizeof *len);
    double t0 = omp_get_wtime(), bytes = 0;
#pragma omp parallel for schedule(dynamic, 16)
    for (int k = 0; k < n; k++) jpg[k] = make_jpeg(k, w, h, &len[k]);
    for (int s = 0; s < shards; s++) {
        char path[4200], name[64], cap[64];
        snprintf(path, sizeof path, "%s/bench-%04d.tar", dir, s);
        struct archive *a = archive_write_new();
        archive_write_set_format_ustar(a);
        archive_write_open_filename(a, path);
        for (int k = (int)((long)s * n / shards); k < (int)((long)(s + 1) * n / shards); k++) {
            snprintf(name, sizeof name, "%08d.jpg", k);
            add_member(a, name, jpg[k], len[k]);
            snprintf(name, sizeof name, "%08d.txt", k);
            int m = snprintf(cap, sizeof cap, "synthetic picture number %d", k);
            add_member(a, name, cap, (size_t)m);
            bytes += (double)len[k];
        }
        archive_write_close(a);
        archive_write_free(a);
    }
    for (int k = 0; k < n; k++) free(jpg[k]);
    free(jpg), free(len);
    printf("wrote %d images (%dx%d JPEG, %.1f MB) into %d shards in %.1f s\n", n, w, h, bytes / 1e6, shards,
           omp_get_wtime() - t0);
    return bytes;
}

static double decode_seconds;
static void on_progress(void *ctx, size_t done, size_t total, double seconds) {
    if (done == total) decode_seconds = seconds;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 10000, shards = argc > 2 ? atoi(argv[2]) : 10;
    int w = argc > 3 ? atoi(argv[3]) : 320, h = argc > 4 ? atoi(argv[4]) : 240;
    char dir[] = "/tmp/modx_bench_wds_XXXXXX", pattern[200], out[200];
    if (n < 1 || shards < 1 || shards > n || w < 1 || h < 1 || !mkdtemp(dir)) return fprintf(stderr, "bad arguments\n"), 2;
    write_shards(dir, n, shards, w, h);
    snprintf(pattern, sizeof pattern, "%s/bench-{0000..%04d}.tar", dir, shards - 1);
    snprintf(out, sizeof out, "%s/out.cache", dir);
    const char *inputs[1] = {pattern};
    DatasetSource src = {.inputs = inputs, .n_inputs = 1};
    Dataset ds;
    dataset_init(&ds);
    PrepareOptions po = {.vocab_path = "data/bpe_simple_vocab_16e6.txt.gz", .image_size = 224, .context = 77,
                         .progress = on_progress};
    PrepareReport rep = {0};
    double t0 = omp_get_wtime();
    ModxStatus st = dataset_read_wds(&ds, &src, NULL);
    double t1 = omp_get_wtime();
    if (st == MODX_OK) st = data_prepare(&ds, &po, out, &rep);
    double t2 = omp_get_wtime();
    if (st != MODX_OK) printf("error: %s\n", modx_last_error());
    else
        printf("wds prepare: %zu images -> 224 px on %d threads: read shards %.2f s, decode+resize %.2f s (%.0f images/s), "
               "all (read, decode, tokenize, write) %.2f s: %.0f images/s\n", rep.n_images, omp_get_max_threads(), t1 - t0,
               decode_seconds, (double)n / decode_seconds, t2 - t0, (double)n / (t2 - t0));
    prepare_report_free(&rep);
    dataset_free(&ds);
    for (int s = 0; s < shards; s++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/bench-%04d.tar", dir, s);
        unlink(path);
    }
    unlink(out);
    rmdir(dir);
    return st == MODX_OK ? 0 : 1;
}
