#ifndef CDIFFUSECPU_H
#define CDIFFUSECPU_H
/// 1 when the CPU this process runs on has AVX2, FMA and F16C (what DiffuseTensor is compiled for).
int diffuse_cpu_has_avx2_fma(void);
#endif
