// A narrow C interface to oneDNN's convolutions and inner products (Debian libdnnl-dev, oneDNN 2.x): Diffuse keeps
// tensors in plain NCHW float32; this shim builds oneDNN primitives that pick their own (blocked)
// layouts, and reorders into and out of them around each call.
#ifndef CDIFFUSE_DNNL_H
#define CDIFFUSE_DNNL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Sizes of a 2-D convolution [n, cin, h, w] * [cout, cin/groups, kh, kw] -> [n, cout, oh, ow].
/// Strides, paddings (top, bottom, left, right) and dilations as PyTorch counts them (dilation 1 = none).
/// Forward only: `src_rows` / `dst_rows`, when not 0, make src and dst bands of `h` / `oh` rows
/// inside NCHW tensors of `src_rows` / `dst_rows` rows (the pointers passed point at the band's
/// first row), so a large convolution can run band by band with band-sized reorder buffers.
typedef struct {
    int64_t n, cin, h, w, cout, kh, kw, oh, ow;
    int64_t stride_y, stride_x, pad_top, pad_bottom, pad_left, pad_right, dilation_y, dilation_x;
    int64_t groups;
    int32_t has_bias;
    int64_t src_rows, dst_rows;
    /// 1: Winograd F(4×4, 3×3) when oneDNN has it for the shape (else direct).
    int32_t winograd;
} dd_conv_shape;

typedef enum { DD_CONV_FORWARD = 0, DD_CONV_BACKWARD_DATA = 1, DD_CONV_BACKWARD_WEIGHTS = 2 } dd_conv_kind;

/// One convolution primitive with its reorders; NULL when oneDNN does not support the shape
/// (or is unusable), in which case the caller falls back to its own kernel.
typedef struct dd_conv dd_conv;

dd_conv *dd_conv_create(dd_conv_kind kind, const dd_conv_shape *shape);
void dd_conv_destroy(dd_conv *conv);
/// Floats of scratch memory the call needs (for the tensors oneDNN wants in another layout).
size_t dd_conv_scratch_floats(const dd_conv *conv);
/// oneDNN's name of the implementation it picked (e.g. "brgconv:avx512_core").
const char *dd_conv_implementation(const dd_conv *conv);

/// dst = conv(src, weights) + bias. Returns 0 on success, else the oneDNN status.
int dd_conv_forward(const dd_conv *conv, const float *src, const float *weights, const float *bias,
                    float *dst, float *scratch);
/// Weights packed once into the layout a forward primitive reads (blocked over channels, padded to
/// its block), so that calls skip re-laying them out: floats of such a copy (0 for other kinds).
size_t dd_conv_packed_weight_floats(const dd_conv *conv);
/// Whether two forward primitives read their weights in the same layout (a copy packed for one
/// serves the other).
int dd_conv_same_weight_layout(const dd_conv *a, const dd_conv *b);
/// Plain weights ([cout, cin/groups, kh, kw]) into `packed` (dd_conv_packed_weight_floats floats),
/// and back. 0 on success.
int dd_conv_pack_weights(const dd_conv *conv, const float *weights, float *packed);
int dd_conv_unpack_weights(const dd_conv *conv, const float *packed, float *weights);
/// dd_conv_forward with weights packed by dd_conv_pack_weights for a primitive of the same layout.
int dd_conv_forward_packed(const dd_conv *conv, const float *src, const float *packed, const float *bias,
                           float *dst, float *scratch);
/// diff_src = gradient of the input for diff_dst.
int dd_conv_backward_data(const dd_conv *conv, const float *diff_dst, const float *weights, float *diff_src,
                          float *scratch);
/// diff_weights (overwritten) and, when diff_bias is not NULL and the primitive has a bias, diff_bias.
int dd_conv_backward_weights(const dd_conv *conv, const float *src, const float *diff_dst, float *diff_weights,
                             float *diff_bias, float *scratch);

/// A linear layer for inference, y[m, n] = x[m, k] · wᵀ + bias (w: [n, k], PyTorch's layout), on
/// oneDNN's inner product with the weights packed once into the layout it picks (its brgemm
/// kernels then run 1.4–1.9× faster than sgemm on plain weights at a text encoder's 154 rows).
/// NULL when oneDNN declines the shape.
typedef struct dd_linear dd_linear;

/// What a linear layer applies to its output before writing it, in the same pass (oneDNN post-ops).
typedef enum {
    DD_ACTIVATION_NONE = 0,
    DD_ACTIVATION_QUICK_GELU = 1,  ///< x·σ(1.702x) (CLIP's quick_gelu; oneDNN's swish with α = 1.702)
    DD_ACTIVATION_GELU = 2,        ///< x·Φ(x), erf form
    DD_ACTIVATION_GELU_TANH = 3,   ///< the tanh approximation of GELU
    DD_ACTIVATION_RELU = 4,        ///< max(x, 0)
} dd_activation;

/// `activation` is applied after the bias; with `adds_residual` a [m, n] tensor (dd_linear_forward's
/// `residual`) is then added: dst = act(src · wᵀ + bias) + residual.
dd_linear *dd_linear_create(int64_t m, int64_t k, int64_t n, int has_bias, dd_activation activation, int adds_residual);
void dd_linear_destroy(dd_linear *linear);
size_t dd_linear_scratch_floats(const dd_linear *linear);
/// Floats of a packed copy of the weights.
size_t dd_linear_packed_floats(const dd_linear *linear);
/// Which packed layout the primitive wants: primitives with the same id take the same packed copy.
int dd_linear_layout(const dd_linear *linear);
const char *dd_linear_implementation(const dd_linear *linear);
/// Packs plain [n, k] weights into `packed` (dd_linear_packed_floats floats). 0 on success.
int dd_linear_pack(const dd_linear *linear, const float *weights, float *packed, float *scratch);
/// Packed weights back to plain [n, k]. 0 on success.
int dd_linear_unpack(const dd_linear *linear, const float *packed, float *weights);
/// dst = act(src · wᵀ + bias) + residual with packed weights (bias required when created with one,
/// residual [m, n] when created with adds_residual; both NULL otherwise). 0 on success.
int dd_linear_forward(const dd_linear *linear, const float *src, const float *packed, const float *bias,
                      const float *residual, float *dst, float *scratch);

/// Row-major C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C through oneDNN's SGEMM, on
/// `threads` OpenMP threads of the calling thread (1: on the calling thread alone, safe inside
/// other parallel work). 0 on success, else oneDNN's status (bad dimensions or leading dimensions).
int dd_sgemm(int transpose_a, int transpose_b, int64_t m, int64_t n, int64_t k, float alpha,
             const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
             int threads);

/// 1 when oneDNN's OpenMP runtime (libgomp) is loaded, so that `dd_parallel` can run.
int dd_parallel_available(void);
/// Runs `body(context, part)` for every part in 0 ..< parts on a team of `parts` OpenMP threads —
/// the threads oneDNN's primitives use, so the two never compete — and returns when all are done.
/// The calling thread runs part 0; inside another parallel region (where OpenMP gives a team of
/// one) the calling thread runs all parts in turn. -1 when the runtime is missing.
int dd_parallel(int parts, void (*body)(void *context, int part), void *context);

/// Sets the number of OpenMP threads oneDNN uses from the calling thread (OpenMP keeps the setting
/// per thread; no-op when the OpenMP runtime is not found).
void dd_set_num_threads(int threads);

#ifdef __cplusplus
}
#endif
#endif
