// jemalloc from Debian's libjemalloc-dev: linked into the `switchboard` executable, it replaces
// the C library's malloc for the whole process (docs/performance.md, the fifth pass of issue 21). Only its
// control call is declared here: its malloc and free are reached through the usual names.
#include <stddef.h>

int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
