/* How much memory the machine can give this process now: MemAvailable from
 * /proc/meminfo (free memory plus what the kernel can reclaim), else
 * sysconf(_SC_AVPHYS_PAGES) × page size. 0 when neither is known. */
#ifndef MODX_CORE_MEMINFO_H
#define MODX_CORE_MEMINFO_H

#include <stdint.h>

uint64_t modx_available_memory(void);

#endif
