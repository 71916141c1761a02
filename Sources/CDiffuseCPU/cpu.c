#include "CDiffuseCPU.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int diffuse_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    return 1;
#endif
}

int diffuse_release_free_heap(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}

#if defined(__linux__)
#include <sys/mman.h>
#endif

int diffuse_advise_huge_pages(void *pointer, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    return madvise(pointer, bytes, MADV_HUGEPAGE) == 0;
#else
    (void)pointer;
    (void)bytes;
    return 0;
#endif
}
