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
/// (AVX2 + FMA); 8 when `allow_avx512` is 0. Every function below takes the `width` to run with
/// (8, or 16 when this returns 16); packed data must be used with the width it was packed for.
int dk_vector_width(int allow_avx512);

/// Widens `n` IEEE binary16 values at `src` to float32 at `dst` (F16C; exact, signalling NaNs
/// made quiet). Needs AVX2 + F16C, which every CPU Diffuse runs on has. No overlap.
void dk_float16_to_float(const uint16_t *src, float *dst, int64_t n);

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

// MARK: Winograd F(4×4, 3×3) convolution (AVX2 + FMA; winograd.c)

/// A 3×3, stride-1 convolution of `[n, c, h, w]` into `[n, k, oh, ow]` with zero padding
/// `pad_top`/`pad_left` (and the bottom/right padding that `oh`/`ow` imply), cut into 4×4 output
/// tiles: `tiles_y × tiles_x` per image, `tiles` in all. The input is read from a zero-padded NHWC
/// copy of `hp × wp` pixels per image (`dk_wino_to_nhwc`).
typedef struct {
    int64_t n, c, h, w, k;
    int64_t pad_top, pad_left;
    int64_t oh, ow;
    int64_t tiles_y, tiles_x, tiles;
    int64_t hp, wp;
} dk_wino_shape;

/// Fills `s` for an input `[n, c, h, w]`, `k` output channels and the four paddings.
void dk_wino_shape_init(dk_wino_shape *s, int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t pad_top,
                        int64_t pad_left, int64_t pad_bottom, int64_t pad_right);
/// 1 when the kernels take the shape: c and k multiples of 16, each padding 0 … 2, a non-empty output.
int dk_wino_supports(const dk_wino_shape *s);

/// Rows `first_row ..< first_row + rows` (of n·hp) of the zero-padded NHWC copy of the NCHW `x`
/// (`c` channels of `h × w`): row r is image r / hp, padded row r % hp, `wp · c` floats; pixel
/// (i, j) holds x at (i − pad_top, j − pad_left), or 0 outside the image. `c` a multiple of 8.
void dk_wino_to_nhwc(const float *x, int64_t c, int64_t h, int64_t w, int64_t pad_top, int64_t pad_left, int64_t hp,
                     int64_t wp, int64_t first_row, int64_t rows, float *out);

/// Floats of the transformed weights: 36 · c · k.
size_t dk_wino_packed_weight_floats(const dk_wino_shape *s);
/// Output-channel panels `first_panel ..< first_panel + panels` (of k / 16) of the transformed
/// weights G·g·Gᵀ, laid out `[36][k / 16][c][16]`. `weight` is `[k, c, 3, 3]`; with `flipped`, it
/// is `[c, k, 3, 3]` (a forward convolution's weight, whose input gradient this computes: each
/// kernel is turned by 180° and the channel roles swap).
void dk_wino_pack_weights(const dk_wino_shape *s, const float *weight, int flipped, int64_t first_panel, int64_t panels,
                          float *u);

/// Scratch floats `dk_wino_forward_tiles` needs for up to `tiles` tiles.
size_t dk_wino_forward_scratch_floats(const dk_wino_shape *s, int64_t tiles);
/// Output tiles `first ..< first + count` of the convolution (plus `bias` `[k]`, optional) into
/// the NCHW `y`: transforms the input tiles, multiplies them by the packed weights `u`, transforms back.
void dk_wino_forward_tiles(const dk_wino_shape *s, const float *xpad, const float *u, const float *bias, int64_t first,
                           int64_t count, float *y, float *scratch);

/// The transformed input tiles `first ..< first + count`: element e of tile first + t, channel i,
/// at `v[e · e_stride + t · c + i]`.
void dk_wino_input_tiles(const dk_wino_shape *s, const float *xpad, int64_t first, int64_t count, float *v,
                         int64_t e_stride);
/// The output gradient's tiles `first ..< first + count` carried back through the output
/// transform (A·dY·Aᵀ): element e of tile first + t, channel o, at `dm[e · e_stride + t · k + o]`.
/// `dypad` is the NHWC copy of dY padded to whole tiles (`4·tiles_y × 4·tiles_x` pixels per image).
void dk_wino_output_gradient_tiles(const dk_wino_shape *s, const float *dypad, int64_t first, int64_t count, float *dm,
                                   int64_t e_stride);
/// The weight gradient `[k, c, 3, 3]` for output channels `first_output ..< first_output + outputs`
/// (both multiples of 8) from the gradient of the transformed weights, `du` `[36][c][k]` (Gᵀ·dU·G).
void dk_wino_weight_gradient(const dk_wino_shape *s, const float *du, int64_t first_output, int64_t outputs, float *dw);

#ifdef __cplusplus
}
#endif
#endif
