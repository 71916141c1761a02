// Winograd F(4×4, 3×3) convolution for AVX2 + FMA: 3×3, stride-1 convolutions of channel counts in
// whole 16-blocks, forward, input gradient and weight gradient. oneDNN has a Winograd kernel for
// AVX-512 only; on AVX2 machines these take its place.
//
// Each 4×4 block of outputs (a tile) comes from a 6×6 block of inputs: with the transforms
// B (6×6), G (6×3) and A (6×4) of Lavin & Gray (points 0, ±1, ±2, ∞),
//     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
// so a tile's 144 multiplications per channel pair become 36, and across channels the 36
// elements are 36 independent matrix products: M[e] (tiles × K) = V[e] (tiles × C) · U[e] (C × K).
// Channels run along the vector lanes: inputs are read from a zero-padded NHWC copy, and the
// transformed weights are packed in panels of 16 output channels for the product's 6×16 kernel.

#include "CDiffuseKernels.h"

#include <immintrin.h>
#include <string.h>

#if defined(__x86_64__)

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

typedef __m256 v8;
#define LD(p) _mm256_loadu_ps(p)
#define ST(p, v) _mm256_storeu_ps((p), (v))
#define SET1(x) _mm256_set1_ps(x)
#define ADD(a, b) _mm256_add_ps((a), (b))
#define SUB(a, b) _mm256_sub_ps((a), (b))
#define FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))   /* a·b + c */
#define FNMA(a, b, c) _mm256_fnmadd_ps((a), (b), (c)) /* c − a·b */

/// The input transform along one axis, Bᵀ·d (6 → 6).
static inline void input_1d(const v8 d[6], v8 t[6]) {
    const v8 two = SET1(2), four = SET1(4), five = SET1(5);
    t[0] = FNMA(five, d[2], FMA(four, d[0], d[4]));
    t[1] = FNMA(four, ADD(d[1], d[2]), ADD(d[3], d[4]));
    t[2] = FMA(four, SUB(d[1], d[2]), SUB(d[4], d[3]));
    const v8 f = SUB(d[3], d[1]), g = SUB(d[4], d[2]);
    t[3] = FMA(two, f, g);
    t[4] = FNMA(two, f, g);
    t[5] = FNMA(five, d[3], FMA(four, d[1], d[5]));
}

/// The output transform along one axis, Aᵀ·m (6 → 4).
static inline void output_1d(const v8 m[6], v8 o[4]) {
    const v8 two = SET1(2), four = SET1(4), eight = SET1(8);
    const v8 s12 = ADD(m[1], m[2]), d12 = SUB(m[1], m[2]);
    const v8 s34 = ADD(m[3], m[4]), d34 = SUB(m[3], m[4]);
    o[0] = ADD(ADD(m[0], s12), s34);
    o[1] = FMA(two, d34, d12);
    o[2] = FMA(four, s34, s12);
    o[3] = ADD(FMA(eight, d34, d12), m[5]);
}

/// The adjoint of the output transform, A·dy (4 → 6): how an output gradient reaches the products.
static inline void output_adjoint_1d(const v8 d[4], v8 m[6]) {
    const v8 two = SET1(2), four = SET1(4), eight = SET1(8);
    const v8 s02 = ADD(d[0], d[2]), s13 = ADD(d[1], d[3]);
    const v8 p = FMA(four, d[2], d[0]), q = FMA(eight, d[3], _mm256_mul_ps(two, d[1]));
    m[0] = d[0];
    m[1] = ADD(s02, s13);
    m[2] = SUB(s02, s13);
    m[3] = ADD(p, q);
    m[4] = SUB(p, q);
    m[5] = d[3];
}

/// The weight transform along one axis, G·g (3 → 6).
static inline void weight_1d(const v8 g[3], v8 u[6]) {
    const v8 quarter = SET1(1.0f / 4), sixth = SET1(1.0f / 6), twelfth = SET1(1.0f / 12), x24th = SET1(1.0f / 24);
    const v8 s02 = ADD(g[0], g[2]);
    u[0] = _mm256_mul_ps(g[0], quarter);
    u[1] = _mm256_mul_ps(ADD(s02, g[1]), SET1(-1.0f / 6));
    u[2] = _mm256_mul_ps(SUB(s02, g[1]), SET1(-1.0f / 6));
    const v8 even = FMA(g[2], sixth, _mm256_mul_ps(g[0], x24th)), odd = _mm256_mul_ps(g[1], twelfth);
    u[3] = ADD(even, odd);
    u[4] = SUB(even, odd);
    u[5] = g[2];
}

/// The adjoint of the weight transform, Gᵀ·du (6 → 3).
static inline void weight_adjoint_1d(const v8 u[6], v8 g[3]) {
    const v8 s12 = ADD(u[1], u[2]), s34 = ADD(u[3], u[4]), sixth = SET1(1.0f / 6);
    g[0] = FMA(s34, SET1(1.0f / 24), FNMA(s12, sixth, _mm256_mul_ps(u[0], SET1(1.0f / 4))));
    g[1] = FMA(SUB(u[3], u[4]), SET1(1.0f / 12), _mm256_mul_ps(SUB(u[2], u[1]), sixth));
    g[2] = FMA(SUB(s34, s12), sixth, u[5]);
}

static int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

void dk_wino_shape_init(dk_wino_shape *s, int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t pad_top,
                        int64_t pad_left, int64_t pad_bottom, int64_t pad_right) {
    s->n = n;
    s->c = c;
    s->h = h;
    s->w = w;
    s->k = k;
    s->pad_top = pad_top;
    s->pad_left = pad_left;
    s->oh = h + pad_top + pad_bottom - 2;
    s->ow = w + pad_left + pad_right - 2;
    s->tiles_y = (s->oh + 3) / 4;
    s->tiles_x = (s->ow + 3) / 4;
    s->tiles = n * s->tiles_y * s->tiles_x;
    s->hp = 4 * s->tiles_y + 2;
    s->wp = 4 * s->tiles_x + 2;
}

int dk_wino_supports(const dk_wino_shape *s) {
    return s->c > 0 && s->k > 0 && s->c % 16 == 0 && s->k % 16 == 0 && s->oh > 0 && s->ow > 0 && s->pad_top >= 0 &&
           s->pad_left >= 0 && s->pad_top <= 2 && s->pad_left <= 2 && s->oh + 2 - s->h - s->pad_top <= 2 &&
           s->ow + 2 - s->w - s->pad_left <= 2 && s->oh + 2 - s->h - s->pad_top >= 0 &&
           s->ow + 2 - s->w - s->pad_left >= 0;
}

// MARK: - Layout

/// Eight rows of eight floats (`rows[i]`) transposed: `out[j]` holds element j of every row.
static inline void transpose8(const v8 r[8], v8 o[8]) {
    const v8 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const v8 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const v8 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const v8 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const v8 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const v8 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const v8 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const v8 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    o[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    o[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    o[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    o[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    o[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    o[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    o[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    o[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

void dk_wino_to_nhwc(const float *x, int64_t c, int64_t h, int64_t w, int64_t pad_top, int64_t pad_left, int64_t hp,
                     int64_t wp, int64_t first_row, int64_t rows, float *out) {
    const int64_t plane = h * w;
    for (int64_t row = first_row; row < first_row + rows; row++) {
        const int64_t n = row / hp, i = row % hp, sy = i - pad_top;
        float *dst = out + row * wp * c;
        if (sy < 0 || sy >= h) {
            memset(dst, 0, (size_t)(wp * c) * sizeof(float));
            continue;
        }
        // Columns j = sx + pad_left for sx in 0 ..< w carry the image; the rest are zero.
        const int64_t j0 = pad_left, j1 = pad_left + w < wp ? pad_left + w : wp;
        memset(dst, 0, (size_t)(j0 * c) * sizeof(float));
        memset(dst + j1 * c, 0, (size_t)((wp - j1) * c) * sizeof(float));
        const float *src = x + n * c * plane + sy * w;
        for (int64_t c0 = 0; c0 < c; c0 += 8) {
            int64_t sx = 0;
            for (; sx + 8 <= j1 - j0; sx += 8) {
                v8 r[8], o[8];
                for (int q = 0; q < 8; q++) r[q] = LD(src + (c0 + q) * plane + sx);
                transpose8(r, o);
                for (int q = 0; q < 8; q++) ST(dst + (j0 + sx + q) * c + c0, o[q]);
            }
            for (; sx < j1 - j0; sx++)
                for (int q = 0; q < 8; q++) dst[(j0 + sx) * c + c0 + q] = src[(c0 + q) * plane + sx];
        }
    }
}

// MARK: - Weights

size_t dk_wino_packed_weight_floats(const dk_wino_shape *s) { return (size_t)(36 * s->c * s->k); }

void dk_wino_pack_weights(const dk_wino_shape *s, const float *weight, int flipped, int64_t first_panel, int64_t panels,
                          float *u) {
    const int64_t c = s->c, k = s->k, kp = k / 16;
    // The 16 output channels of a panel run along two vectors: g[a][b][lane] is the 3×3 kernel
    // from input channel i to output channel p·16 + lane; for the input gradient, the forward
    // kernel from that channel to i, turned by 180°.
    float g[9][16] __attribute__((aligned(32)));
    for (int64_t p = first_panel; p < first_panel + panels; p++) {
        for (int64_t i = 0; i < c; i++) {
            for (int lane = 0; lane < 16; lane++) {
                const int64_t o = p * 16 + lane;
                const float *kernel = flipped ? weight + (i * k + o) * 9 : weight + (o * c + i) * 9;
                for (int ab = 0; ab < 9; ab++) g[ab][lane] = flipped ? kernel[8 - ab] : kernel[ab];
            }
            for (int half = 0; half < 2; half++) {
                // Columns first (G·g along a), then rows (… ·Gᵀ along b).
                v8 cols[6][3];
                for (int b = 0; b < 3; b++) {
                    v8 column[3] = {LD(g[b] + 8 * half), LD(g[3 + b] + 8 * half), LD(g[6 + b] + 8 * half)}, out[6];
                    weight_1d(column, out);
                    for (int e = 0; e < 6; e++) cols[e][b] = out[e];
                }
                for (int a = 0; a < 6; a++) {
                    v8 out[6];
                    weight_1d(cols[a], out);
                    for (int b = 0; b < 6; b++) ST(u + (((a * 6 + b) * kp + p) * c + i) * 16 + 8 * half, out[b]);
                }
            }
        }
    }
}

// MARK: - Tiles

/// Where tile number `tile` sits: its image, and its row and column of tiles in that image.
typedef struct {
    int64_t n, y, x;
} tile_position;

static inline tile_position tile_at(const dk_wino_shape *s, int64_t tile) {
    const int64_t per_image = s->tiles_y * s->tiles_x, in_image = tile % per_image;
    return (tile_position){tile / per_image, in_image / s->tiles_x, in_image % s->tiles_x};
}

/// Transforms the input tiles `first ..< first + count` (zero rows up to `rows`): element e of
/// tile t's channel i goes to `v[e·e_stride + t·c + i]`.
static void input_tiles(const dk_wino_shape *s, const float *xpad, int64_t first, int64_t count, int64_t rows, float *v,
                        int64_t e_stride) {
    const int64_t c = s->c, wp = s->wp;
    for (int64_t t = 0; t < rows; t++) {
        float *vt = v + t * c;
        if (t >= count) {
            for (int e = 0; e < 36; e++) memset(vt + e * e_stride, 0, (size_t)c * sizeof(float));
            continue;
        }
        const tile_position at = tile_at(s, first + t);
        const float *base = xpad + ((at.n * s->hp + 4 * at.y) * wp + 4 * at.x) * c;
        for (int64_t i = 0; i < c; i += 8) {
            v8 cols[6][6];  // cols[a][j]: Bᵀ·d along the rows of column j
            for (int j = 0; j < 6; j++) {
                v8 d[6], o[6];
                for (int a = 0; a < 6; a++) d[a] = LD(base + (a * wp + j) * c + i);
                input_1d(d, o);
                for (int a = 0; a < 6; a++) cols[a][j] = o[a];
            }
            for (int a = 0; a < 6; a++) {
                v8 o[6];
                input_1d(cols[a], o);
                for (int b = 0; b < 6; b++) ST(vt + (a * 6 + b) * e_stride + i, o[b]);
            }
        }
    }
}

void dk_wino_input_tiles(const dk_wino_shape *s, const float *xpad, int64_t first, int64_t count, float *v,
                         int64_t e_stride) {
    input_tiles(s, xpad, first, count, count, v, e_stride);
}

void dk_wino_output_gradient_tiles(const dk_wino_shape *s, const float *dypad, int64_t first, int64_t count, float *dm,
                                   int64_t e_stride) {
    const int64_t k = s->k, wq = 4 * s->tiles_x;
    for (int64_t t = 0; t < count; t++) {
        const tile_position at = tile_at(s, first + t);
        const float *base = dypad + ((at.n * 4 * s->tiles_y + 4 * at.y) * wq + 4 * at.x) * k;
        float *mt = dm + t * k;
        for (int64_t o = 0; o < k; o += 8) {
            v8 cols[6][4];  // cols[a][j]: A·dy along the rows of column j
            for (int j = 0; j < 4; j++) {
                v8 d[4], m[6];
                for (int a = 0; a < 4; a++) d[a] = LD(base + (a * wq + j) * k + o);
                output_adjoint_1d(d, m);
                for (int a = 0; a < 6; a++) cols[a][j] = m[a];
            }
            for (int a = 0; a < 6; a++) {
                v8 m[6];
                output_adjoint_1d(cols[a], m);
                for (int b = 0; b < 6; b++) ST(mt + (a * 6 + b) * e_stride + o, m[b]);
            }
        }
    }
}

/// Stores one output row of a tile: `r[x]` holds eight channels of output column x (x < 4);
/// channel q goes to `y + q·plane`, columns 0 ..< `cols` of it.
static inline void store_row(const v8 r[4], float *y, int64_t plane, int64_t cols) {
    const v8 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const v8 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    v8 s[4];
    s[0] = _mm256_shuffle_ps(t0, t2, 0x44);  // channels 0 | 4
    s[1] = _mm256_shuffle_ps(t0, t2, 0xEE);  // 1 | 5
    s[2] = _mm256_shuffle_ps(t1, t3, 0x44);  // 2 | 6
    s[3] = _mm256_shuffle_ps(t1, t3, 0xEE);  // 3 | 7
    if (cols == 4) {
        for (int q = 0; q < 4; q++) {
            _mm_storeu_ps(y + q * plane, _mm256_castps256_ps128(s[q]));
            _mm_storeu_ps(y + (q + 4) * plane, _mm256_extractf128_ps(s[q], 1));
        }
    } else {
        float tmp[8];
        for (int q = 0; q < 4; q++) {
            _mm256_storeu_ps(tmp, s[q]);
            for (int64_t x = 0; x < cols; x++) {
                y[q * plane + x] = tmp[x];
                y[(q + 4) * plane + x] = tmp[4 + x];
            }
        }
    }
}

/// Inverse-transforms the products of tiles `first ..< first + count` (`m[e·e_stride + t·k + o]`)
/// into the NCHW output, adding the bias.
static void output_tiles(const dk_wino_shape *s, const float *m, int64_t e_stride, const float *bias, int64_t first,
                         int64_t count, float *y) {
    const int64_t k = s->k, oh = s->oh, ow = s->ow, plane = oh * ow;
    for (int64_t t = 0; t < count; t++) {
        const tile_position at = tile_at(s, first + t);
        const int64_t oy = 4 * at.y, ox = 4 * at.x;
        const int64_t rows = oh - oy < 4 ? oh - oy : 4, cols = ow - ox < 4 ? ow - ox : 4;
        const float *mt = m + t * k;
        for (int64_t o = 0; o < k; o += 8) {
            v8 cols6[4][6];  // cols6[p][j]: Aᵀ·m along the rows of column j
            for (int j = 0; j < 6; j++) {
                v8 in[6], out[4];
                for (int a = 0; a < 6; a++) in[a] = LD(mt + (a * 6 + j) * e_stride + o);
                output_1d(in, out);
                for (int p = 0; p < 4; p++) cols6[p][j] = out[p];
            }
            const v8 b = bias ? LD(bias + o) : _mm256_setzero_ps();
            float *dst = y + ((at.n * k + o) * oh + oy) * ow + ox;
            for (int p = 0; p < rows; p++) {
                v8 r[4];
                output_1d(cols6[p], r);
                for (int x = 0; x < 4; x++) r[x] = ADD(r[x], b);
                store_row(r, dst + p * ow, plane, cols);
            }
        }
    }
}

// MARK: - Products

/// c (6 × 16, rows `ldc` apart) = a (6 × kdim, rows `lda` apart) · b (kdim × 16, packed rows).
static inline void kernel_6x16(const float *a, int64_t lda, const float *b, int64_t kdim, float *c, int64_t ldc) {
    // 12 accumulators, two b vectors and a broadcast: 15 of the 16 ymm registers (the constant
    // loops unroll fully at -O3).
    v8 acc[6][2];
    for (int r = 0; r < 6; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int64_t i = 0; i < kdim; i++) {
        const v8 b0 = LD(b + 16 * i), b1 = LD(b + 16 * i + 8);
        for (int r = 0; r < 6; r++) {
            const v8 x = _mm256_broadcast_ss(a + r * lda + i);
            acc[r][0] = FMA(x, b0, acc[r][0]);
            acc[r][1] = FMA(x, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < 6; r++) {
        ST(c + r * ldc, acc[r][0]);
        ST(c + r * ldc + 8, acc[r][1]);
    }
}

size_t dk_wino_forward_scratch_floats(const dk_wino_shape *s, int64_t tiles) {
    return (size_t)(36 * round_up(tiles, 6) * (s->c + s->k));
}

void dk_wino_forward_tiles(const dk_wino_shape *s, const float *xpad, const float *u, const float *bias, int64_t first,
                           int64_t count, float *y, float *scratch) {
    const int64_t c = s->c, k = s->k, kp = k / 16, rows = round_up(count, 6);
    float *v = scratch, *m = scratch + 36 * rows * c;
    input_tiles(s, xpad, first, count, rows, v, rows * c);
    for (int e = 0; e < 36; e++) {
        const float *ve = v + e * rows * c;
        float *me = m + e * rows * k;
        for (int64_t p = 0; p < kp; p++) {
            const float *up = u + (e * kp + p) * c * 16;
            for (int64_t r = 0; r < rows; r += 6) kernel_6x16(ve + r * c, c, up, c, me + r * k + p * 16, k);
        }
    }
    output_tiles(s, m, rows * k, bias, first, count, y);
}

// MARK: - Weight gradient

void dk_wino_weight_gradient(const dk_wino_shape *s, const float *du, int64_t first_output, int64_t outputs, float *dw) {
    const int64_t c = s->c, k = s->k;
    float g[9][8] __attribute__((aligned(32)));
    for (int64_t i = 0; i < c; i++) {
        for (int64_t o = first_output; o < first_output + outputs; o += 8) {
            // du[e][i][o ..< o + 8] → Gᵀ·du·G: rows (along b) first, then columns (along a).
            v8 rows3[6][3];
            for (int a = 0; a < 6; a++) {
                v8 row[6];
                for (int b = 0; b < 6; b++) row[b] = LD(du + ((a * 6 + b) * c + i) * k + o);
                weight_adjoint_1d(row, rows3[a]);
            }
            for (int b = 0; b < 3; b++) {
                v8 column[6] = {rows3[0][b], rows3[1][b], rows3[2][b], rows3[3][b], rows3[4][b], rows3[5][b]}, out[3];
                weight_adjoint_1d(column, out);
                for (int a = 0; a < 3; a++) _mm256_store_ps(g[a * 3 + b], out[a]);
            }
            for (int lane = 0; lane < 8; lane++)
                for (int ab = 0; ab < 9; ab++) dw[((o + lane) * c + i) * 9 + ab] = g[ab][lane];
        }
    }
}

#pragma clang attribute pop

#else
#error "CDiffuseKernels: x86-64 only (AVX2 + FMA, optionally AVX-512)"
#endif
