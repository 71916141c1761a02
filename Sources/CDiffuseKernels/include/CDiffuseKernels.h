// Hand-written float32 kernels that need a wider instruction set than the Swift targets are
// compiled for. Swift compiles a whole module for one CPU (x86-64-v3, AVX2 + FMA); these C
// functions are compiled twice, for AVX-512 and for AVX2 + FMA, and pick one at run time, so the
// same binary uses 16-float registers where the CPU has them and still runs on AVX2-only CPUs.
#ifndef CDIFFUSE_KERNELS_H
#define CDIFFUSE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The widest vector, in floats, the kernels can use on this CPU: 16 (AVX-512F, DQ and VL) or 8
/// (AVX2 + FMA). `DIFFUSE_AVX512=0` in the environment makes it 8. Every function below takes the
/// `width` to run with (8, or 16 when this returns 16); packed data must be used with the width it
/// was packed for.
int dk_vector_width(void);

/// Floats of one head's packed keys: `m` keys of `d` floats in panels of 2·width keys (zero-padded).
size_t dk_attention_packed_keys_floats(int width, int64_t m, int64_t d);
/// Floats of one head's packed values: `m` rows (padded like the keys) of `dv` floats padded to
/// a multiple of the vector width.
size_t dk_attention_packed_values_floats(int width, int64_t m, int64_t dv);

/// Packs `m` keys (`d` floats each, rows `ld` floats apart) into key panels: for each panel of
/// 2·width keys, `d` rows of 2·width floats (key j's element k at `panel[k][j]`).
void dk_attention_pack_keys(int width, const float *k, int64_t ld, int64_t m, int64_t d, float *packed);
/// Packs `m` value rows (`dv` floats each, `ld` apart) into zero-padded rows.
void dk_attention_pack_values(int width, const float *v, int64_t ld, int64_t m, int64_t dv, float *packed);

/// One head's attention problem.
typedef struct {
    int64_t m;          ///< keys
    int64_t d, dv;      ///< query/key and value dimensions
    float scale;        ///< multiplies q·k
    int32_t causal;     ///< query i sees keys j ≤ i only
    const float *mask;  ///< optional additive mask: element (i, j) at mask[i·mask_row + j·mask_col]
    int64_t mask_row, mask_col;
    const float *packed_keys, *packed_values;  ///< from the pack functions
} dk_attention_head;

/// Scratch floats `dk_attention_rows` needs for up to `rows` query rows.
size_t dk_attention_scratch_floats(int width, int64_t rows, int64_t d, int64_t dv);

/// softmax(q·kᵀ·scale + mask)·v for query rows `first ..< first + rows` of one head, in one pass
/// over the keys with an online softmax (scores live in a tile of the scratch, never in memory).
/// `q`: the first row's `d` floats, rows `q_ld` apart; `out`: `dv` floats per row, `out_ld` apart;
/// `lse` (optional): each row's log Σⱼ exp(sᵢⱼ), +∞ when every key is masked (the output row is 0).
void dk_attention_rows(int width, const dk_attention_head *head, const float *q, int64_t q_ld, int64_t first, int64_t rows,
                       float *out, int64_t out_ld, float *lse, float *scratch);

/// One head's attention gradient problem (no mask, not causal). Row-major matrices with a
/// contiguous last axis, rows `_ld` floats apart: q `[n, d]`, k `[m, d]`, v `[m, dv]`, the forward
/// output o and its gradient d_o `[n, dv]`, and lse `[n]` (the forward pass's log Σⱼ exp(sᵢⱼ)).
/// Outputs (each may be NULL when not needed; overwritten): dq `[n, d]`, dk `[m, d]`, dv_out `[m, dv]`.
typedef struct {
    int64_t n, m, d, dv;
    float scale;  ///< multiplies q·k
    const float *q, *k, *v, *o, *d_o, *lse;
    int64_t q_ld, k_ld, v_ld, o_ld, do_ld;
    float *dq, *dk, *dv_out;
    int64_t dq_ld, dk_ld, dv_ld;
} dk_attention_backward_problem;

/// Scratch floats `dk_attention_backward_head` needs for `m` keys.
size_t dk_attention_backward_scratch_floats(int width, int64_t m, int64_t d, int64_t dv);

/// The gradients of softmax(q·kᵀ·scale)·v for one head in one pass over the query rows (keys along
/// the vector lanes; the head's kᵀ, vᵀ, dKᵀ and dVᵀ in the scratch). For small heads: d, dv ≤ 64,
/// unrolled for 8 and 16, and faster than BLAS products up to 16 (at d = 40 it reaches ~60 GFLOP/s,
/// below BLAS). 0 on success, −1 when d or dv is out of range.
int dk_attention_backward_head(int width, const dk_attention_backward_problem *problem, float *scratch);

#ifdef __cplusplus
}
#endif
#endif
