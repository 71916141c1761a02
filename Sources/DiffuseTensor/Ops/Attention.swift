import Foundation

/// Scaled dot-product attention, computed block by block with an online softmax (as FlashAttention
/// does), so memory is O(queryBlock × keyBlock) per thread instead of O(heads × n × m).
public enum Attention {
    /// softmax(q·kᵀ · scale + mask) · v.
    ///
    /// - Parameters:
    ///   - query: `[B, H, N, D]`; key: `[B, H, M, D]`; value: `[B, H, M, Dv]`. Any strides, as long as
    ///     the last axis is contiguous (otherwise a copy is made), so per-head views of a
    ///     `[B, N, H·D]` projection need no copy.
    ///   - scale: defaults to 1/√D.
    ///   - causal: query i sees keys j ≤ i (PyTorch's `is_causal`, top-left aligned).
    ///   - mask: optional additive mask broadcastable to `[B, H, N, M]` (e.g. −∞ for padding keys).
    ///   - queryBlock: query rows per parallel task; keyBlock: keys per online-softmax step of the
    ///     `.blas` kernel (the fused kernel steps through 256 keys at a time).
    ///   - kernel: the implementation (`AttentionKernel.preferred` unless comparing them).
    /// - Returns: `[B, H, N, Dv]`, a view of a contiguous `[B, N, H, Dv]` tensor, so that
    ///   `.permuted(0, 2, 1, 3).reshaped(B, N, H·Dv)` is free.
    public static func scaledDotProduct(query: Tensor, key: Tensor, value: Tensor, scale: Float? = nil,
                                        causal: Bool = false, mask: Tensor? = nil,
                                        queryBlock: Int = 128, keyBlock: Int = 1024,
                                        kernel: AttentionKernel = .preferred) -> Tensor {
        compute(query: query, key: key, value: value, scale: scale, causal: causal, mask: mask, queryBlock: queryBlock,
                keyBlock: keyBlock, logSumExp: nil, kernel: kernel)
    }

    /// The same attention, and the log-sum-exp of each row's scaled scores, `[B, H, N]`
    /// (log Σⱼ exp(sᵢⱼ); +∞ for a row whose keys are all masked): what the backward pass needs to
    /// recompute the probabilities without another pass over the keys.
    public static func scaledDotProductWithLogSumExp(query: Tensor, key: Tensor, value: Tensor, scale: Float? = nil,
                                                     causal: Bool = false, mask: Tensor? = nil, queryBlock: Int = 128,
                                                     keyBlock: Int = 1024, kernel: AttentionKernel = .preferred)
        -> (output: Tensor, logSumExp: Tensor) {
        precondition(query.rank == 4, "attention: q \(query.shape) must be 4-D")
        let lse = Tensor(uninitializedShape: [query.shape[0], query.shape[1], query.shape[2]])
        let out = compute(query: query, key: key, value: value, scale: scale, causal: causal, mask: mask,
                          queryBlock: queryBlock, keyBlock: keyBlock, logSumExp: lse, kernel: kernel)
        return (out, lse)
    }

    private static func compute(query: Tensor, key: Tensor, value: Tensor, scale: Float?, causal: Bool, mask: Tensor?,
                                queryBlock: Int, keyBlock: Int, logSumExp: Tensor?, kernel: AttentionKernel) -> Tensor {
        OpProfile.measure("attention") {
            precondition(query.rank == 4 && key.rank == 4 && value.rank == 4, "attention: q \(query.shape), k \(key.shape), v \(value.shape) must be 4-D")
            let (b, h, n, d) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
            let m = key.shape[2], dv = value.shape[3]
            precondition(key.shape == [b, h, m, d] && value.shape == [b, h, m, dv],
                         "attention: q \(query.shape), k \(key.shape), v \(value.shape) do not match")
            precondition(queryBlock > 0 && keyBlock > 0, "attention: block sizes must be positive")
            func lastAxisContiguous(_ t: Tensor) -> Tensor { t.strides[3] == 1 || t.shape[3] == 1 ? t : t.contiguous() }
            let q = lastAxisContiguous(query), k = lastAxisContiguous(key), v = lastAxisContiguous(value)
            let alpha = scale ?? 1 / Float(d).squareRoot()
            let maskView = mask.map { $0.expanded([b, h, n, m]) }
            let out = Tensor(uninitializedShape: [b, n, h, dv])
            if case .fused(let width) = kernel {
                FusedAttentionKernel.run(width: width, query: q, key: k, value: v, scale: alpha, causal: causal, mask: maskView,
                                         out: out, logSumExp: logSumExp, rowsPerTask: queryBlock)
                return out.permuted(0, 2, 1, 3)
            }
            let op = out.pointer
            let qBlocks = (n + queryBlock - 1) / queryBlock
            let kBlock = Swift.min(keyBlock, Swift.max(m, 1))

            Parallel.forRange(b * h * qBlocks) { range in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock * kBlock)
                let acc = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock * dv)
                let rowMax = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock)
                let rowSum = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock)
                defer { scores.deallocate(); acc.deallocate(); rowMax.deallocate(); rowSum.deallocate() }
                for task in range {
                    let qb = task % qBlocks, head = (task / qBlocks) % h, batch = task / (qBlocks * h)
                    let i0 = qb * queryBlock, rows = Swift.min(queryBlock, n - i0)
                    let qPtr = q.pointer + batch * q.strides[0] + head * q.strides[1] + i0 * q.strides[2]
                    let kBase = k.pointer + batch * k.strides[0] + head * k.strides[1]
                    let vBase = v.pointer + batch * v.strides[0] + head * v.strides[1]
                    rowMax.update(repeating: -.infinity, count: rows)
                    rowSum.update(repeating: 0, count: rows)
                    acc.update(repeating: 0, count: rows * dv)
                    let keyEnd = causal ? Swift.min(m, i0 + rows) : m
                    var j0 = 0
                    while j0 < keyEnd {
                        let cols = Swift.min(kBlock, keyEnd - j0)
                        BLAS.gemm(m: rows, n: cols, k: d, alpha: alpha,
                                  BLAS.Operand(qPtr, ld: q.strides[2]),
                                  BLAS.Operand(kBase + j0 * k.strides[2], ld: k.strides[2], transposed: true),
                                  scores, ldc: cols)
                        if let maskView {
                            for r in 0 ..< rows {
                                let mp = maskView.pointer + batch * maskView.strides[0] + head * maskView.strides[1]
                                    + (i0 + r) * maskView.strides[2] + j0 * maskView.strides[3]
                                let s = scores + r * cols, ms = maskView.strides[3]
                                for c in 0 ..< cols { s[c] += mp[c * ms] }
                            }
                        }
                        for r in 0 ..< rows {
                            let s = scores + r * cols
                            // Causal: keys j0 + c > i0 + r are hidden.
                            let visible = causal ? Swift.max(0, Swift.min(cols, i0 + r - j0 + 1)) : cols
                            let blockMax = visible > 0 ? ReductionKernels.max(s, visible) : -Float.infinity
                            let newMax = Swift.max(rowMax[r], blockMax)
                            if newMax == -.infinity {
                                // Everything so far is masked out: contribute nothing yet.
                                (s).update(repeating: 0, count: cols)
                                continue
                            }
                            let correction = rowMax[r] == -.infinity ? 0 : VectorMath.exp(Vec8(repeating: rowMax[r] - newMax))[0]
                            let blockSum = visible > 0 ? RowKernels.expShifted(s, visible, max: newMax) : 0
                            if visible < cols { (s + visible).update(repeating: 0, count: cols - visible) }
                            rowSum[r] = rowSum[r] * correction + blockSum
                            rowMax[r] = newMax
                            if correction != 1 { RowKernels.scale(acc + r * dv, dv, by: correction) }
                        }
                        BLAS.gemm(m: rows, n: dv, k: cols, BLAS.Operand(scores, ld: cols),
                                  BLAS.Operand(vBase + j0 * v.strides[2], ld: v.strides[2]),
                                  beta: 1, acc, ldc: dv)
                        j0 += cols
                    }
                    for r in 0 ..< rows {
                        let dst = op + ((batch * n + i0 + r) * h + head) * dv
                        let inv = rowSum[r] > 0 ? 1 / rowSum[r] : 0
                        for c in 0 ..< dv { dst[c] = acc[r * dv + c] * inv }
                    }
                    if let lse = logSumExp?.pointer {
                        let row = lse + (batch * h + head) * n + i0
                        for r in 0 ..< rows { row[r] = rowSum[r] > 0 ? rowMax[r] + Foundation.log(rowSum[r]) : .infinity }
                    }
                }
            }
            return out.permuted(0, 2, 1, 3)
        }
    }
}
