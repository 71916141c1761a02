import DiffuseTensor

extension Attention {
    /// Differentiable softmax(q·kᵀ · scale + mask) · v. The forward pass is
    /// `Attention.scaledDotProduct` on the values; the backward pass (`AttentionBackward`)
    /// recomputes the scores block by block, so neither direction holds a `heads × N × M` matrix.
    ///
    /// - Parameters:
    ///   - query: `[B, H, N, D]`; key: `[B, H, M, D]`; value: `[B, H, M, Dv]` (per-head views of
    ///     `[B, N, H·D]` projections need no copy, and their gradients come back as such views).
    ///   - scale: defaults to 1/√D.
    ///   - causal: query i sees keys j ≤ i.
    ///   - mask: optional additive mask broadcastable to `[B, H, N, M]`; a constant (no gradient).
    ///   - queryBlock, keyBlock: block sizes of both passes.
    ///   - kernel: the implementation of both passes (`AttentionKernel.preferred` unless comparing
    ///     them; the fused backward kernel takes heads of d, dv ≤ 16 without a mask or causality,
    ///     the blocked BLAS products the rest).
    /// - Returns: `[B, H, N, Dv]`. Saves q, k, v, the output and each row's log-sum-exp (`[B, H, N]`).
    public static func scaledDotProduct(query: Variable, key: Variable, value: Variable, scale: Float? = nil,
                                        causal: Bool = false, mask: Tensor? = nil,
                                        queryBlock: Int = 128, keyBlock: Int = 1024,
                                        kernel: AttentionKernel = .preferred) -> Variable {
        func lastAxisContiguous(_ t: Tensor) -> Tensor { t.rank == 4 && (t.strides[3] == 1 || t.shape[3] == 1) ? t : t.contiguous() }
        let q = lastAxisContiguous(query.value), k = lastAxisContiguous(key.value), v = lastAxisContiguous(value.value)
        let alpha = scale ?? 1 / Float(q.shape[3]).squareRoot()
        let (output, logSumExp) = scaledDotProductWithLogSumExp(query: q, key: k, value: v, scale: alpha, causal: causal,
                                                                mask: mask, queryBlock: queryBlock, keyBlock: keyBlock,
                                                                kernel: kernel)
        return Variable.recordOperation("scaledDotProductAttention", inputs: [query, key, value], output: output) { g, needs in
            let gradients = AttentionBackward.gradients(
                query: q, key: k, value: v, output: output, logSumExp: logSumExp, outputGradient: lastAxisContiguous(g),
                scale: alpha, causal: causal,
                mask: mask, queryBlock: queryBlock, keyBlock: keyBlock, needs: (needs[0], needs[1], needs[2]),
                kernel: kernel)
            return [gradients.query, gradients.key, gradients.value]
        }
    }
}
