/* CSV/TSV image–caption files in OpenCLIP's convention (its --csv-img-key,
 * --csv-caption-key, --csv-separator): a header row naming the columns, then
 * one image–caption pair per row.
 *
 *   columns    DatasetSource.csv_img_key (default "filepath"), csv_caption_key
 *              (default "title"); optional csv_domain_key and csv_split_key
 *              (default: the columns "domain" and "split" when the header has
 *              them; a column named explicitly must exist; empty cells: the
 *              default domain, split none). Other columns are ignored.
 *   separator  DatasetSource.csv_separator (default tab, as OpenCLIP)
 *   quoting    RFC 4180: a field in double quotes may hold separators, newlines
 *              and "" (one quote); CRLF or LF line ends; a UTF-8 BOM is skipped
 *   paths      relative to DatasetSource.images when given, else to the CSV's
 *              folder; absolute paths are kept
 *
 * Rows naming the same image path become one image with several captions (in
 * row order); images are in the order of their first row. A row with another
 * number of fields than the header, an empty path, a bad caption or an unknown
 * split is a bad item (dataset.h). A quote left open at the end of the file,
 * a missing header or column is an error naming the file (and line). */
#ifndef MODX_DATA_CSV_H
#define MODX_DATA_CSV_H

#include "data/dataset.h"

ModxStatus dataset_read_csv(Dataset *ds, const DatasetSource *src, const DatasetOptions *opt);

/* The same from memory; `name` names it in messages, `root` prefixes relative paths. */
ModxStatus csv_parse(Dataset *ds, const char *text, size_t n, const char *name, const char *root,
                     const DatasetSource *src, const DatasetOptions *opt);

#endif
