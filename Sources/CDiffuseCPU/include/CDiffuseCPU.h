#ifndef CDIFFUSECPU_H
#define CDIFFUSECPU_H
/// 1 when the CPU this process runs on has AVX2, FMA and F16C (what DiffuseTensor is compiled for).
int diffuse_cpu_has_avx2_fma(void);
/// Gives the free memory of malloc's heaps back to the system (glibc `malloc_trim(0)`); 1 when
/// some was released.
int diffuse_release_free_heap(void);
/// Asks Linux to back `bytes` at `pointer` (2 MB aligned) with transparent huge pages
/// (`madvise(MADV_HUGEPAGE)`, for kernels set to THP "madvise"); 1 when accepted.
#include <stddef.h>
int diffuse_advise_huge_pages(void *pointer, size_t bytes);
#endif
