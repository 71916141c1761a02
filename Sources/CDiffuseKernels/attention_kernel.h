// The attention kernel, written once for a vector of DK_W floats and included by attention.c for
// each instruction set, inside a `#pragma clang attribute` that sets the function's target.
// Expects: DK_W (floats per vector), DK_R (query rows per tile), DK_CV (value vectors per
// accumulation pass), DK_FN(name) (a per-instruction-set name), DK_VNATIVE and DK_MAXPS (the
// instruction set's vector type and max intrinsic); attention_instantiate.h undefines them after
// attention_backward_kernel.h, which uses them too.
//
// Per tile of DK_R query rows and block of DK_NK keys:
//   scores  S = (q·scale·log₂e)·kᵀ in DK_R × 2 vectors of accumulators per key panel (2·DK_W keys),
//   softmax per row in base 2 with a running maximum and sum (FlashAttention's online softmax),
//   values  O = O·correction + P·v in DK_R × DK_CV vectors of accumulators per pass.

#define DK_V DK_FN(vec)
#define DK_VI DK_FN(ivec)
typedef float DK_V __attribute__((ext_vector_type(DK_W)));
typedef int32_t DK_VI __attribute__((ext_vector_type(DK_W)));

static inline DK_V DK_FN(load)(const float *p) {
    DK_V v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void DK_FN(store)(float *p, DK_V v) { memcpy(p, &v, sizeof v); }

static inline DK_V DK_FN(splat)(float s) { return (DK_V)s; }

/// (0, 1, 2, …, DK_W − 1).
static inline DK_V DK_FN(lanes)(void) {
    DK_V v;
    for (int i = 0; i < DK_W; i++) v[i] = (float)i;
    return v;
}

/// Lane-wise max as one instruction (`vmaxps`: where either operand is NaN it returns `b`).
static inline DK_V DK_FN(max)(DK_V a, DK_V b) { return (DK_V)DK_MAXPS((DK_VNATIVE)a, (DK_VNATIVE)b); }

/// 2ˣ for x ≤ 0 (−∞ included: 0; NaN: NaN). 2ⁿ·2ᶠ with n = round(x), f ∈ [−½, ½] and 2ᶠ by its Taylor
/// polynomial of degree 6 (relative error < 1.3e-7, about one float ulp).
static inline DK_V DK_FN(exp2)(DK_V x) {
    DK_V xc = DK_FN(max)(DK_FN(splat)(-126.0f), x);  // vmaxps returns its second operand for NaN
    DK_V t = xc + 12582912.0f;  // 1.5·2²³: the integer nearest xc in the low mantissa bits
    DK_V n = t - 12582912.0f;
    DK_V f = xc - n;
    DK_V p = DK_FN(splat)(1.5403530393e-4f);
    p = p * f + 1.3333558146e-3f;
    p = p * f + 9.6181291076e-3f;
    p = p * f + 5.5504108665e-2f;
    p = p * f + 2.4022650696e-1f;
    p = p * f + 6.9314718056e-1f;
    p = p * f + 1.0f;
    DK_VI bits = ((DK_VI)t - 0x4B400000 + 127) << 23;
    DK_V r = p * (DK_V)bits;
    // Below −126 (−∞ included) the result is 0; NaN stays NaN (a NaN score poisons its row, as in
    // PyTorch, instead of silently dropping out).
    DK_VI keep = ~(DK_VI)(x < -126.0f);
    return (DK_V)((DK_VI)r & keep);
}

static inline float DK_FN(hsum)(DK_V v) {
    float s = 0;
    for (int i = 0; i < DK_W; i++) s += v[i];
    return s;
}

static inline float DK_FN(hmax)(DK_V v) {
    float s = v[0];
    for (int i = 1; i < DK_W; i++) s = v[i] > s ? v[i] : s;
    return s;
}

/// S[r][0 ..< kbp] = Qs[r]·K[j] for one tile of DK_R rows and the key panels starting at `kp`.
/// With `rowMax`, also each row's largest score over all `kbp` columns (callers ask only when every
/// column is a real, visible key), so the softmax needs no separate pass for it.
static inline void DK_FN(scores)(const float *qs, int64_t d, const float *kp, int64_t kbp, float *s, float *rowMax) {
    DK_V mx[DK_R];
    for (int r = 0; r < DK_R; r++) mx[r] = DK_FN(splat)(-INFINITY);
    for (int64_t p = 0; p < kbp; p += 2 * DK_W) {
        const float *panel = kp + p * d;
        DK_V acc0[DK_R], acc1[DK_R];
        for (int r = 0; r < DK_R; r++) acc0[r] = acc1[r] = DK_FN(splat)(0);
        for (int64_t k = 0; k < d; k++) {
            DK_V b0 = DK_FN(load)(panel + k * 2 * DK_W), b1 = DK_FN(load)(panel + k * 2 * DK_W + DK_W);
            for (int r = 0; r < DK_R; r++) {
                DK_V a = DK_FN(splat)(qs[r * d + k]);
                acc0[r] += a * b0;
                acc1[r] += a * b1;
            }
        }
        for (int r = 0; r < DK_R; r++) {
            DK_FN(store)(s + r * DK_NK + p, acc0[r]);
            DK_FN(store)(s + r * DK_NK + p + DK_W, acc1[r]);
            if (rowMax) mx[r] = DK_FN(max)(mx[r], DK_FN(max)(acc0[r], acc1[r]));
        }
    }
    if (rowMax)
        for (int r = 0; r < DK_R; r++) rowMax[r] = DK_FN(hmax)(mx[r]);
}

/// O[r][c0 ..< c0 + NV·W] = O·corr[r] + Σⱼ S[r][j]·V[j][c0 …] over `kbp` keys.
static inline __attribute__((always_inline)) void DK_FN(values)(const float *s, const float *corr, const float *vp,
                                                                 int64_t dvp, int64_t kbp, float *o, int64_t c0,
                                                                 const int nv) {
    DK_V acc[DK_R][DK_CV];
    for (int r = 0; r < DK_R; r++)
        for (int c = 0; c < nv; c++) acc[r][c] = DK_FN(load)(o + r * dvp + c0 + c * DK_W) * corr[r];
    for (int64_t j = 0; j < kbp; j++) {
        const float *row = vp + j * dvp + c0;
        DK_V v[DK_CV];
        for (int c = 0; c < nv; c++) v[c] = DK_FN(load)(row + c * DK_W);
        for (int r = 0; r < DK_R; r++) {
            DK_V a = DK_FN(splat)(s[r * DK_NK + j]);
            for (int c = 0; c < nv; c++) acc[r][c] += a * v[c];
        }
    }
    for (int r = 0; r < DK_R; r++)
        for (int c = 0; c < nv; c++) DK_FN(store)(o + r * dvp + c0 + c * DK_W, acc[r][c]);
}

/// One row's online-softmax step over `kb` scores (`visible` of them not hidden by causality):
/// exponentiates in place (zeros up to `kbp`), updates the running max `*m` and sum `*l`, and
/// returns the factor the row's accumulated output must be scaled by.
/// `known` is the row's maximum when `scores` computed it, NAN otherwise.
static inline float DK_FN(softmax_row)(float *s, int64_t visible, int64_t kbp, float known, float *m, float *l) {
    float rowMax = known;
    int64_t c = 0;
    if (isnan(known)) {
        DK_V mx = DK_FN(splat)(-INFINITY);
        for (; c + DK_W <= visible; c += DK_W) mx = DK_FN(max)(mx, DK_FN(load)(s + c));
        rowMax = DK_FN(hmax)(mx);
        for (; c < visible; c++) rowMax = s[c] > rowMax ? s[c] : rowMax;
    }
    float newMax = *m > rowMax ? *m : rowMax;
    if (newMax == -INFINITY) {
        memset(s, 0, (size_t)kbp * sizeof(float));
        return 1;
    }
    float corr = *m == -INFINITY ? 0 : exp2f(*m - newMax);
    DK_V shift = DK_FN(splat)(newMax), sum = DK_FN(splat)(0);
    for (c = 0; c + DK_W <= visible; c += DK_W) {
        DK_V e = DK_FN(exp2)(DK_FN(load)(s + c) - shift);
        DK_FN(store)(s + c, e);
        sum += e;
    }
    float total = DK_FN(hsum)(sum);
    if (c < visible) {
        DK_V tail = DK_FN(splat)(-INFINITY);
        for (int64_t i = c; i < visible; i++) tail[i - c] = s[i];
        DK_V e = DK_FN(exp2)(tail - shift);
        for (int64_t i = c; i < visible; i++) {
            s[i] = e[i - c];
            total += e[i - c];
        }
        c = visible;
    }
    if (c < kbp) memset(s + c, 0, (size_t)(kbp - c) * sizeof(float));
    *l = *l * corr + total;
    *m = newMax;
    return corr;
}

static void DK_FN(rows)(const dk_attention_head *h, const float *q, int64_t q_ld, int64_t first, int64_t rows,
                        float *out, int64_t out_ld, float *lse, float *scratch) {
    const int64_t d = h->d, dv = h->dv, kp = 2 * DK_W;
    const int64_t dvp = (dv + DK_W - 1) / DK_W * DK_W;
    const int64_t tiles = (rows + DK_R - 1) / DK_R, padded = tiles * DK_R;
    float *qs = scratch, *o = qs + padded * d, *m = o + padded * dvp, *l = m + padded, *s = l + padded;
    float corr[DK_R], known[DK_R];
    const float qscale = h->scale * (float)M_LOG2E;
    for (int64_t r = 0; r < padded; r++)
        for (int64_t k = 0; k < d; k++) qs[r * d + k] = r < rows ? q[r * q_ld + k] * qscale : 0;
    memset(o, 0, (size_t)(padded * dvp) * sizeof(float));
    for (int64_t r = 0; r < padded; r++) {
        m[r] = -INFINITY;
        l[r] = 0;
    }
    const int64_t keyEnd = h->causal ? (first + rows < h->m ? first + rows : h->m) : h->m;
    for (int64_t j0 = 0; j0 < keyEnd; j0 += DK_NK) {
        const int64_t kb = keyEnd - j0 < DK_NK ? keyEnd - j0 : DK_NK;
        const int64_t kbp = (kb + kp - 1) / kp * kp;
        for (int64_t t = 0; t < tiles; t++) {
            const int64_t r0 = t * DK_R, real = rows - r0 < DK_R ? rows - r0 : DK_R;
            if (h->causal && first + r0 + real - 1 < j0) continue;  // every row of the tile is before the block
            const int fusedMax = !h->mask && !h->causal && kb == kbp;
            DK_FN(scores)(qs + r0 * d, d, h->packed_keys + j0 * d, kbp, s, fusedMax ? known : NULL);
            for (int r = 0; r < DK_R; r++) {
                float *row = s + r * DK_NK;
                if (r >= real) {
                    corr[r] = 1;
                    continue;
                }
                const int64_t i = first + r0 + r;
                int64_t visible = kb;
                if (h->causal) {
                    int64_t v = i - j0 + 1;
                    visible = v < 0 ? 0 : (v < kb ? v : kb);
                }
                if (h->mask) {
                    const float *mrow = h->mask + i * h->mask_row + j0 * h->mask_col;
                    for (int64_t c = 0; c < visible; c++) row[c] += mrow[c * h->mask_col] * (float)M_LOG2E;
                }
                corr[r] = DK_FN(softmax_row)(row, visible, kbp, fusedMax ? known[r] : NAN, m + r0 + r, l + r0 + r);
            }
            int64_t c0 = 0;
            for (; c0 + DK_CV * DK_W <= dvp; c0 += DK_CV * DK_W)
                DK_FN(values)(s, corr, h->packed_values + j0 * dvp, dvp, kbp, o + r0 * dvp, c0, DK_CV);
            switch ((dvp - c0) / DK_W) {
            case 1: DK_FN(values)(s, corr, h->packed_values + j0 * dvp, dvp, kbp, o + r0 * dvp, c0, 1); break;
#if DK_CV > 2
            case 2: DK_FN(values)(s, corr, h->packed_values + j0 * dvp, dvp, kbp, o + r0 * dvp, c0, 2); break;
#endif
            default: break;
            }
        }
    }
    for (int64_t r = 0; r < rows; r++) {
        const float inv = l[r] > 0 ? 1 / l[r] : 0;
        for (int64_t c = 0; c < dv; c++) out[r * out_ld + c] = o[r * dvp + c] * inv;
        if (lse) lse[r] = l[r] > 0 ? m[r] * (float)M_LN2 + logf(l[r]) : INFINITY;
    }
}

