/* Webdataset shards: tar files whose members are grouped into samples by key.
 *
 * A member "dir/abc.seg.jpg" has the key "dir/abc" (the name up to the first
 * dot of its last component, webdataset's rule) and the extension "seg.jpg";
 * consecutive members with one key form a sample. A sample needs
 *   an image    .jpg / .jpeg / .png / .webp (decoded later by data_prepare)
 *   a caption   .txt (the whole file, trailing newlines removed) or, without a
 *               .txt, .json {"caption" or "text": a string or an array of strings}
 * and may carry in its .json "domain" and "split" (as in a manifest line). The
 * domain comes from DatasetSource.wds_domain: NULL the .json's "domain" when
 * present, else DatasetOptions.domain (or "default"); "shard" the shard's file
 * name up to ".tar"; "json:FIELD" that field of the .json (required). Other
 * extensions are ignored.
 *
 * Inputs are shard patterns expanded with brace_expand ("train-{0000..0127}.tar",
 * "{a,b}.tar"); several inputs, or one input holding patterns separated by "::",
 * are read in order. Image bytes are kept in memory (DatasetImage.bytes) until
 * data_prepare decodes them: the encoded size of the whole dataset must fit in
 * memory. Image paths read "SHARD:MEMBER".
 *
 * Refused, always, naming the shard and member: a member name that is absolute
 * or has a ".." component, a symbolic or hard link, a device, FIFO or socket,
 * a corrupt tar header. Per-sample problems are bad items (dataset.h: an error,
 * or with skip_bad a listed skip): no image, no caption, two images or captions
 * under one key, a caption file over WDS_MAX_CAPTION_BYTES, an image over
 * IMAGE_MAX_FILE_BYTES, a bad caption, a malformed .json, a member cut short by
 * the end of the shard (then the rest of that shard is left out). */
#ifndef MODX_DATA_WDS_H
#define MODX_DATA_WDS_H

#include "data/dataset.h"

#define WDS_MAX_CAPTION_BYTES ((size_t)1 << 20)

ModxStatus dataset_read_wds(Dataset *ds, const DatasetSource *src, const DatasetOptions *opt);

#endif
