/* modx_image_preprocess (include/modx.h): data/image.h's whole preprocessing
 * of one file, the path of `modx preprocess`, over a white background. */
#include "core/error.h"
#include "data/image.h"
#include "modx.h"

modx_status modx_image_preprocess(const char *path, int size, float *chw) {
    if (!path || !chw) return modx_fail(MODX_ERR_INVALID, "modx_image_preprocess: path or output is NULL");
    return image_preprocess_file(path, size, IMAGE_DEFAULT_BACKGROUND, 0 /* the default pixel limit */, chw);
}
