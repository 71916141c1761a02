#include "CDiffuseKernels.h"

#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_LOG2E
#define M_LOG2E 1.44269504088896340736
#endif
#ifndef M_LN2
#define M_LN2 0.693147180559945309417
#endif

/// Keys per block of the online softmax: a tile's scores (DK_R × DK_NK floats) stay in L1, the
/// block's packed keys and values (≈ DK_NK·(d + dv) floats) in L2.
#define DK_NK 256

/// Query rows per tile of each instruction set: the scratch size depends on them too.
#define DK_R_AVX512 8
#define DK_R_AVX2 6

/// The largest d and dv the backward kernel takes (its per-row copies live on the stack). Its
/// query rows per tile (DK_BR) were measured per head of 256 queries and keys (d = dv = 8 / 16):
/// AVX-512 1 → 89 / 336 µs, 2 → 72 / 238, 4 → 58 / 167, 8 → 57 / 118; AVX2 1 → 140, 4 → 95 (d 8).
#define DK_BWD_MAXD 64

#if defined(__x86_64__)

#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma"))), apply_to = function)
#define DK_W 16
#define DK_R DK_R_AVX512
#define DK_CV 3
#define DK_FN(name) name##_avx512
#define DK_VNATIVE __m512
#define DK_MAXPS _mm512_max_ps
#define DK_BR 8
#include "attention_instantiate.h"
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define DK_W 8
#define DK_R DK_R_AVX2
#define DK_CV 2
#define DK_FN(name) name##_avx2
#define DK_VNATIVE __m256
#define DK_MAXPS _mm256_max_ps
#define DK_BR 4
#include "attention_instantiate.h"
#pragma clang attribute pop

static int detect_width(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")
               ? 16
               : 8;
}

int dk_vector_width(int allow_avx512) {
    static int width = 0;
    if (!width) width = detect_width();
    return allow_avx512 ? width : 8;
}

#else
#error "CDiffuseKernels: x86-64 only (AVX2 + FMA, optionally AVX-512)"
#endif

static int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

size_t dk_attention_packed_keys_floats(int width, int64_t m, int64_t d) {
    return (size_t)(round_up(m, 2 * width) * d);
}

size_t dk_attention_packed_values_floats(int width, int64_t m, int64_t dv) {
    const int64_t w = width;
    return (size_t)(round_up(m, 2 * w) * round_up(dv, w));
}

void dk_attention_pack_keys(int width, const float *k, int64_t ld, int64_t m, int64_t d, float *packed) {
    const int64_t kp = 2 * width;
    for (int64_t p = 0; p < m; p += kp) {
        float *panel = packed + p * d;
        const int64_t cols = m - p < kp ? m - p : kp;
        for (int64_t j = 0; j < cols; j++) {
            const float *row = k + (p + j) * ld;
            for (int64_t e = 0; e < d; e++) panel[e * kp + j] = row[e];
        }
        for (int64_t j = cols; j < kp; j++)
            for (int64_t e = 0; e < d; e++) panel[e * kp + j] = 0;
    }
}

void dk_attention_pack_values(int width, const float *v, int64_t ld, int64_t m, int64_t dv, float *packed) {
    const int64_t w = width, dvp = round_up(dv, w), rows = round_up(m, 2 * w);
    for (int64_t j = 0; j < rows; j++) {
        float *dst = packed + j * dvp;
        if (j < m) {
            memcpy(dst, v + j * ld, (size_t)dv * sizeof(float));
            memset(dst + dv, 0, (size_t)(dvp - dv) * sizeof(float));
        } else {
            memset(dst, 0, (size_t)dvp * sizeof(float));
        }
    }
}

size_t dk_attention_scratch_floats(int width, int64_t rows, int64_t d, int64_t dv) {
    const int64_t w = width, r = w == 16 ? DK_R_AVX512 : DK_R_AVX2;
    const int64_t padded = round_up(rows, r), dvp = round_up(dv, w);
    return (size_t)(padded * d + padded * dvp + 2 * padded + r * DK_NK);
}

void dk_attention_rows(int width, const dk_attention_head *head, const float *q, int64_t q_ld, int64_t first,
                       int64_t rows, float *out, int64_t out_ld, float *lse, float *scratch) {
    if (rows <= 0) return;
    if (width == 16)
        rows_avx512(head, q, q_ld, first, rows, out, out_ld, lse, scratch);
    else
        rows_avx2(head, q, q_ld, first, rows, out, out_ld, lse, scratch);
}

size_t dk_attention_backward_scratch_floats(int width, int64_t m, int64_t d, int64_t dv) {
    return (size_t)(2 * (d + dv) * round_up(m, width));
}

int dk_attention_backward_head(int width, const dk_attention_backward_problem *problem, float *scratch) {
    if (problem->d < 1 || problem->dv < 1 || problem->d > DK_BWD_MAXD || problem->dv > DK_BWD_MAXD) return -1;
    if (problem->n <= 0 || problem->m <= 0) return 0;
    if (width == 16)
        backward_head_avx512(problem, scratch);
    else
        backward_head_avx2(problem, scratch);
    return 0;
}
