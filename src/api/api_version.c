/* modx_version: the build's version string (include/modx.h). */
#include "modx.h"

const char *modx_version(void) { return MODX_VERSION_STRING; }
