// The attention backward kernel for one head, written once for a vector of DK_W floats and
// included by attention_instantiate.h after attention_kernel.h (whose vector type and helpers it
// uses), inside the same `#pragma clang attribute` that sets the instruction set. Expects DK_BR
// (query rows per tile) besides attention_kernel.h's macros.
//
// With the forward pass's log-sum-exp L of each row and D = rowsum(dO ∘ O), for each tile of DK_BR
// query rows and each vector of DK_W keys (keys along the vector lanes):
//   s = α·q·kᵀ, p = exp(s − L), dp = dO·vᵀ, ds = p ∘ (dp − D),
//   dVᵀ += dOᵀ·p, dKᵀ += α·qᵀ·ds (both accumulated in the head's transposed scratch copies),
//   dQ += α·ds·k (in registers, reduced across the lanes at the end of the row).
// Every product has a dimension of d or dv ≤ DK_BWD_MAXD, so instead of five thin GEMMs (which
// BLAS runs at a fraction of its speed when one dimension is 8) each key vector is loaded once per
// tile and all five updates use it.

/// One tile of `nr` query rows from `i0`: adds its contributions to dkt and dvt, writes its dQ rows.
static inline __attribute__((always_inline)) void DK_FN(bwd_tile)(const dk_attention_backward_problem *p, int64_t i0,
                                                                  const int nr, const int64_t d, const int64_t dv,
                                                                  const float *kt, const float *vt, float *dkt,
                                                                  float *dvt, int64_t mp) {
    const float log2e = (float)M_LOG2E;
    float qs[DK_BR][DK_BWD_MAXD], qa[DK_BR][DK_BWD_MAXD], go[DK_BR][DK_BWD_MAXD], l2[DK_BR], dr[DK_BR];
    for (int r = 0; r < nr; r++) {
        const float *q = p->q + (i0 + r) * p->q_ld, *g = p->d_o + (i0 + r) * p->do_ld, *o = p->o + (i0 + r) * p->o_ld;
        for (int64_t e = 0; e < d; e++) {
            qs[r][e] = q[e] * p->scale * log2e;
            qa[r][e] = q[e] * p->scale;
        }
        float dot = 0;
        for (int64_t e = 0; e < dv; e++) {
            go[r][e] = g[e];
            dot += g[e] * o[e];
        }
        dr[r] = dot;
        l2[r] = p->lse[i0 + r] * log2e;
    }
    DK_V dq[DK_BR][DK_BWD_MAXD];
    for (int r = 0; r < nr; r++)
        for (int64_t e = 0; e < d; e++) dq[r][e] = DK_FN(splat)(0);
    for (int64_t c = 0; c < mp; c += DK_W) {
        DK_V k[DK_BWD_MAXD], v[DK_BWD_MAXD];
        for (int64_t e = 0; e < d; e++) k[e] = DK_FN(load)(kt + e * mp + c);
        for (int64_t e = 0; e < dv; e++) v[e] = DK_FN(load)(vt + e * mp + c);
        // Lanes past the last key (the padding of the last vector) get p = 0.
        DK_VI live = (DK_VI)(DK_FN(lanes)() < (DK_V)(float)(p->m - c));
        DK_V pr[DK_BR], ds[DK_BR];
        for (int r = 0; r < nr; r++) {
            DK_V s = DK_FN(splat)(0), dp = DK_FN(splat)(0);
            for (int64_t e = 0; e < d; e++) s += DK_FN(splat)(qs[r][e]) * k[e];
            for (int64_t e = 0; e < dv; e++) dp += DK_FN(splat)(go[r][e]) * v[e];
            pr[r] = (DK_V)((DK_VI)DK_FN(exp2)(s - l2[r]) & live);
            ds[r] = pr[r] * (dp - dr[r]);
        }
        for (int64_t e = 0; e < dv; e++) {
            DK_V acc = DK_FN(load)(dvt + e * mp + c);
            for (int r = 0; r < nr; r++) acc += pr[r] * go[r][e];
            DK_FN(store)(dvt + e * mp + c, acc);
        }
        for (int64_t e = 0; e < d; e++) {
            DK_V acc = DK_FN(load)(dkt + e * mp + c);
            for (int r = 0; r < nr; r++) {
                acc += ds[r] * qa[r][e];
                dq[r][e] += ds[r] * k[e];
            }
            DK_FN(store)(dkt + e * mp + c, acc);
        }
    }
    if (p->dq)
        for (int r = 0; r < nr; r++) {
            float *out = p->dq + (i0 + r) * p->dq_ld;
            for (int64_t e = 0; e < d; e++) out[e] = p->scale * DK_FN(hsum)(dq[r][e]);
        }
}

/// All rows of one head for fixed (compile-time when inlined) d and dv.
static inline __attribute__((always_inline)) void DK_FN(bwd_rows)(const dk_attention_backward_problem *p, const int64_t d,
                                                                  const int64_t dv, const float *kt, const float *vt,
                                                                  float *dkt, float *dvt, int64_t mp) {
    int64_t i = 0;
    for (; i + DK_BR <= p->n; i += DK_BR) DK_FN(bwd_tile)(p, i, DK_BR, d, dv, kt, vt, dkt, dvt, mp);
    for (; i < p->n; i++) DK_FN(bwd_tile)(p, i, 1, d, dv, kt, vt, dkt, dvt, mp);
}

static void DK_FN(backward_head)(const dk_attention_backward_problem *p, float *scratch) {
    const int64_t m = p->m, d = p->d, dv = p->dv, mp = (m + DK_W - 1) / DK_W * DK_W;
    float *kt = scratch, *vt = kt + d * mp, *dkt = vt + dv * mp, *dvt = dkt + d * mp;
    for (int64_t j = 0; j < mp; j++) {
        for (int64_t e = 0; e < d; e++) kt[e * mp + j] = j < m ? p->k[j * p->k_ld + e] : 0;
        for (int64_t e = 0; e < dv; e++) vt[e * mp + j] = j < m ? p->v[j * p->v_ld + e] : 0;
    }
    memset(dkt, 0, (size_t)((d + dv) * mp) * sizeof(float));
    // The head sizes of the models Diffuse trains get their own copies with the loops unrolled.
    if (d == 8 && dv == 8)
        DK_FN(bwd_rows)(p, 8, 8, kt, vt, dkt, dvt, mp);
    else if (d == 16 && dv == 16)
        DK_FN(bwd_rows)(p, 16, 16, kt, vt, dkt, dvt, mp);
    else
        DK_FN(bwd_rows)(p, d, dv, kt, vt, dkt, dvt, mp);
    for (int64_t j = 0; j < m; j++) {
        if (p->dk)
            for (int64_t e = 0; e < d; e++) p->dk[j * p->dk_ld + e] = dkt[e * mp + j];
        if (p->dv_out)
            for (int64_t e = 0; e < dv; e++) p->dv_out[j * p->dv_ld + e] = dvt[e * mp + j];
    }
}
