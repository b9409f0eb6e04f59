/* CSV reader (see csv.h). */
#include "data/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One record's fields, unescaped and NUL-terminated in buf. */
typedef struct {
    char *buf;
    size_t cap, len;
    size_t *off; /* (n) field offsets into buf */
    size_t n, cap_off;
} Record;

static int rec_put(Record *r, char ch) {
    if (r->len == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        char *b = realloc(r->buf, cap);
        if (!b) return 0;
        r->buf = b, r->cap = cap;
    }
    r->buf[r->len++] = ch;
    return 1;
}

static int rec_field(Record *r) {
    if (r->n == r->cap_off) {
        size_t cap = r->cap_off ? r->cap_off * 2 : 16;
        size_t *o = realloc(r->off, cap * sizeof *o);
        if (!o) return 0;
        r->off = o, r->cap_off = cap;
    }
    r->off[r->n++] = r->len;
    return 1;
}

/* Reads the record at *pos (RFC 4180) into r; *line counts physical lines.
 * MODX_ERR_FORMAT for an unterminated quote or text after a closing quote. */
static ModxStatus next_record(const char *t, size_t n, size_t *pos, char sep, Record *r, size_t *line,
                              const char *name) {
    r->len = r->n = 0;
    size_t p = *pos, start_line = *line;
    int ok = rec_field(r);
    while (ok && p < n) {
        char ch = t[p];
        if (ch == '"' && r->len == r->off[r->n - 1]) { /* a quoted field */
            for (p++;; p++) {
                if (p >= n) return modx_fail(MODX_ERR_FORMAT, "%s:%zu: a quoted field is not closed", name, start_line);
                if (t[p] == '"' && p + 1 < n && t[p + 1] == '"') ok &= rec_put(r, '"'), p++;
                else if (t[p] == '"') break;
                else ok &= rec_put(r, t[p]), *line += t[p] == '\n';
            }
            p++;
            if (p < n && t[p] != sep && t[p] != '\n' && t[p] != '\r')
                return modx_fail(MODX_ERR_FORMAT, "%s:%zu: expected a separator or a line end after a closing quote, "
                                 "found '%c'", name, *line, t[p]);
            continue;
        }
        if (ch == sep) {
            ok &= rec_put(r, 0) && rec_field(r);
        } else if (ch == '\n' || (ch == '\r' && p + 1 < n && t[p + 1] == '\n')) {
            p += ch == '\r' ? 2 : 1;
            (*line)++;
            break;
        } else {
            ok &= rec_put(r, ch);
        }
        p++;
    }
    if (!ok || !rec_put(r, 0)) return modx_fail(MODX_ERR_NOMEM, "%s:%zu: out of memory", name, start_line);
    *pos = p;
    return MODX_OK;
}

static const char *field(const Record *r, int col) { return col < 0 ? "" : r->buf + r->off[col]; }

typedef struct {
    char *path, *caption, *domain;
    int split;
    size_t line, row;
} Row;

static int row_cmp(const void *a, const void *b) {
    const Row *x = *(Row *const *)a, *y = *(Row *const *)b;
    int c = strcmp(x->path, y->path);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

static int first_row_cmp(const void *a, const void *b) {
    const Row *x = **(Row **const *)a, *y = **(Row **const *)b;
    return (x->row > y->row) - (x->row < y->row);
}

typedef struct {
    int img, cap, dom, split, n_fields;
} Columns;

static ModxStatus find_columns(const Record *h, const DatasetSource *src, const char *name, Columns *c) {
    const char *want[4] = {src->csv_img_key ? src->csv_img_key : "filepath",
                           src->csv_caption_key ? src->csv_caption_key : "title", src->csv_domain_key,
                           src->csv_split_key};
    int *slot[4] = {&c->img, &c->cap, &c->dom, &c->split};
    c->n_fields = (int)h->n;
    for (int k = 0; k < 4; k++) {
        *slot[k] = -1;
        int optional = !want[k]; /* domain and split: the columns "domain" and "split" when present */
        if (optional) want[k] = k == 2 ? "domain" : "split";
        for (size_t i = 0; i < h->n; i++)
            if (!strcmp(field(h, (int)i), want[k])) *slot[k] = (int)i;
        if (*slot[k] < 0 && !optional) {
            char cols[512] = "";
            for (size_t i = 0; i < h->n && strlen(cols) < 400; i++)
                snprintf(cols + strlen(cols), sizeof cols - strlen(cols), "%s'%.40s'", i ? ", " : "", field(h, (int)i));
            return modx_fail(MODX_ERR_FORMAT, "%s:1: expected a column '%s' in the header (columns: %s); see "
                             "--csv-img-key, --csv-caption-key, --csv-separator", name, want[k], cols);
        }
    }
    return MODX_OK;
}

/* A data record into a Row (or a bad item). *row->path == NULL: left out. */
static ModxStatus take_row(Dataset *ds, const Record *r, const Columns *c, const char *name, const char *root,
                           const DatasetOptions *opt, size_t line, Row *row) {
    int skip = opt->skip_bad;
    if ((int)r->n != c->n_fields)
        return dataset_bad_item(ds, skip, "%s:%zu: expected %d fields (as the header), found %zu", name, line,
                                c->n_fields, r->n);
    const char *path = field(r, c->img), *cap = field(r, c->cap), *spl = field(r, c->split);
    if (!path[0]) return dataset_bad_item(ds, skip, "%s:%zu: expected an image path, found an empty field", name, line);
    const char *why = dataset_caption_problem(cap, strlen(cap));
    if (why) return dataset_bad_item(ds, skip, "%s:%zu: caption: %s", name, line, why);
    row->split = DATASET_SPLIT_NONE;
    if (spl[0]) {
        int found = -1;
        for (int k = 0; k <= DATASET_SPLIT_RESTVAL; k++)
            if (!strcmp(spl, dataset_split_name(k))) found = k;
        if (found < 0)
            return dataset_bad_item(ds, skip, "%s:%zu: split '%.40s': expected train, val, test, restval or none", name,
                                    line, spl);
        row->split = found;
    }
    const char *dom = field(r, c->dom);
    if (!dom[0]) dom = opt->domain ? opt->domain : "default";
    row->path = dataset_join_path(root, path);
    row->caption = strdup(cap);
    row->domain = strdup(dom);
    row->line = line;
    if (!row->path || !row->caption || !row->domain) return modx_fail(MODX_ERR_NOMEM, "%s:%zu: out of memory", name, line);
    return MODX_OK;
}

/* Adds the rows grouped by image path, images in the order of their first row. */
static ModxStatus add_grouped(Dataset *ds, Row *rows, size_t n, unsigned mask) {
    Row **by = malloc((n ? n : 1) * sizeof *by), ***groups = malloc((n ? n : 1) * sizeof *groups);
    size_t ng = 0;
    ModxStatus st = MODX_OK;
    if (!by || !groups) {
        st = modx_fail(MODX_ERR_NOMEM, "out of memory grouping CSV rows");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) by[i] = &rows[i];
    qsort(by, n, sizeof *by, row_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(by[i]->path, by[i - 1]->path)) groups[ng++] = &by[i];
    }
    /* each group starts at its first row (the sort is stable by row): order the groups by it */
    qsort(groups, ng, sizeof *groups, first_row_cmp);
    for (size_t g = 0; g < ng && st == MODX_OK; g++) {
        Row **grp = groups[g];
        if (!(mask & (1u << grp[0]->split))) {
            ds->n_filtered++;
            continue;
        }
        uint32_t d;
        size_t k = 0;
        if ((st = dataset_domain_id(ds, grp[0]->domain, &d)) == MODX_OK)
            st = dataset_add_image(ds, grp[0]->path, d, grp[0]->split, NULL);
        for (; st == MODX_OK && grp + k < by + n && !strcmp(grp[k]->path, grp[0]->path); k++)
            st = dataset_add_caption(ds, grp[k]->caption, strlen(grp[k]->caption));
    }
fail:
    free(by), free(groups);
    return st;
}

static void rows_free(Row *rows, size_t n) {
    for (size_t i = 0; i < n; i++) free(rows[i].path), free(rows[i].caption), free(rows[i].domain);
    free(rows);
}

ModxStatus csv_parse(Dataset *ds, const char *text, size_t n, const char *name, const char *root,
                     const DatasetSource *src, const DatasetOptions *opt) {
    DatasetOptions defaults = {0};
    if (!opt) opt = &defaults;
    char sep = src->csv_separator ? src->csv_separator : '\t';
    size_t pos = n >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3) ? 3 : 0, line = 1, n_rows = 0, cap = 0;
    Record r = {0};
    Row *rows = NULL;
    Columns c;
    ModxStatus st = next_record(text, n, &pos, sep, &r, &line, name);
    if (st == MODX_OK && r.n == 1 && !field(&r, 0)[0])
        st = modx_fail(MODX_ERR_FORMAT, "%s: expected a header row naming the columns, found an empty first line", name);
    if (st == MODX_OK) st = find_columns(&r, src, name, &c);
    while (st == MODX_OK && pos < n) {
        size_t at = line;
        if ((st = next_record(text, n, &pos, sep, &r, &line, name)) != MODX_OK) break;
        if (r.n == 1 && !field(&r, 0)[0]) continue; /* a blank line */
        if (n_rows == cap) {
            Row *g = realloc(rows, (cap = cap ? cap * 2 : 64) * sizeof *g);
            if (!g) {
                st = modx_fail(MODX_ERR_NOMEM, "%s: out of memory", name);
                break;
            }
            rows = g;
        }
        rows[n_rows] = (Row){.row = n_rows};
        st = take_row(ds, &r, &c, name, root, opt, at, &rows[n_rows]);
        if (st == MODX_OK && rows[n_rows].path) n_rows++;
        else free(rows[n_rows].path), free(rows[n_rows].caption), free(rows[n_rows].domain);
    }
    if (st == MODX_OK) st = add_grouped(ds, rows, n_rows, opt->splits ? opt->splits : DATASET_SPLITS_ALL);
    if (st == MODX_OK && ds->n_images == 0 && ds->n_filtered == 0)
        st = modx_fail(MODX_ERR_FORMAT, "%s: no usable row (%zu skipped; the first: %s)", name, ds->n_skipped,
                       ds->n_skipped ? ds->skipped[0] : "-");
    rows_free(rows, n_rows);
    free(r.buf), free(r.off);
    return st;
}

ModxStatus dataset_parse_csv(Dataset *ds, const char *text, size_t n, const char *name, const char *root,
                             const DatasetOptions *opt) {
    DatasetSource src = {0};
    return csv_parse(ds, text, n, name, root, &src, opt);
}

ModxStatus dataset_read_csv(Dataset *ds, const DatasetSource *src, const DatasetOptions *opt) {
    const char *path = src->inputs[0], *slash = strrchr(path, '/');
    char *root = NULL, *text = NULL;
    if (!src->images && slash && !(root = strndup(path, slash == path ? 1 : (size_t)(slash - path))))
        return modx_fail(MODX_ERR_NOMEM, "out of memory");
    size_t n = 0;
    ModxStatus st = dataset_read_file(path, &text, &n);
    if (st == MODX_OK) st = csv_parse(ds, text, n, path, src->images ? src->images : root ? root : "", src, opt);
    free(text);
    free(root);
    return st;
}
