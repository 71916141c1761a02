#include "CDiffuseDNNL.h"
#include "dnnl_common.h"

// oneDNN's own SGEMM (`dnnl_sgemm`, row-major). Its JIT kernels use AVX-512 where the CPU has it;
// Debian's OpenBLAS runs its AVX2 kernels on Zen 4/5 and reaches about half the rate there.
int dd_sgemm(int transpose_a, int transpose_b, int64_t m, int64_t n, int64_t k, float alpha,
             const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
             int threads) {
    dd_set_num_threads(threads);
    dnnl_status_t status = dnnl_sgemm(transpose_a ? 'T' : 'N', transpose_b ? 'T' : 'N', m, n, k, alpha,
                                      a, lda, b, ldb, beta, c, ldc);
    return status == dnnl_success ? 0 : (int)status;
}
