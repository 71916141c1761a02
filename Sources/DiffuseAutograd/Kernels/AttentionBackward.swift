import CDiffuseKernels
import Foundation
import DiffuseTensor

/// Gradient of scaled dot-product attention, recomputing the scores block by block (as
/// FlashAttention's backward pass does) instead of keeping the `heads × N × M` probabilities.
///
/// For a block of query rows the log-sum-exp L of each row comes from the forward pass (or, when
/// not given, is recomputed over all keys); then, for
/// each block of keys, `S = α·Q·Kᵀ (+ mask)`, `P = exp(S − L)`, `dV += Pᵀ·dO`, `dP = dO·Vᵀ`,
/// `dS = P ∘ (dP − rowsum(dO ∘ O))`, `dQ += α·dS·K`, `dK += α·dSᵀ·Q`. Memory is
/// O(queryBlock × keyBlock) per thread. Heads are spread over the cores; when there are fewer heads
/// than cores, the query blocks of a head are split too, each part summing dK and dV privately.
enum AttentionBackward {
    struct Gradients { var query: Tensor?; var key: Tensor?; var value: Tensor? }

    /// - Parameters:
    ///   - query `[B, H, N, D]`, key `[B, H, M, D]`, value `[B, H, M, Dv]`, output and
    ///     outputGradient `[B, H, N, Dv]`: any strides with a contiguous last axis.
    ///   - logSumExp: the forward pass's log-sum-exp of each row, `[B, H, N]` contiguous (nil: recompute it).
    ///   - mask: additive, broadcastable to `[B, H, N, M]` (a constant: it gets no gradient).
    ///   - needs: which of (query, key, value) gradients to compute.
    /// - Returns: gradients laid out like their inputs (see `TensorLayout.zerosLike`).
    static func gradients(query q: Tensor, key k: Tensor, value v: Tensor, output o: Tensor, logSumExp: Tensor? = nil,
                          outputGradient dO: Tensor,
                          scale alpha: Float, causal: Bool, mask: Tensor?, queryBlock: Int, keyBlock: Int,
                          needs: (query: Bool, key: Bool, value: Bool),
                          kernel: AttentionKernel = .preferred) -> Gradients {
        let (b, h, n, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let m = k.shape[2], dv = v.shape[3]
        let maskView = mask.map { $0.expanded([b, h, n, m]) }
        let dQ = needs.query ? TensorLayout.zerosLike(q) : nil
        let dK = needs.key ? TensorLayout.zerosLike(k) : nil
        let dV = needs.value ? TensorLayout.zerosLike(v) : nil
        let needsScores = needs.query || needs.key
        guard n > 0 && m > 0 else { return Gradients(query: dQ, key: dK, value: dV) }

        let heads = b * h
        if case .fused(let width) = kernel, mask == nil, !causal, let logSumExp, d <= 16, dv <= 16,
           heads >= 2 * Parallel.threadCount {
            fusedGradients(width: width, query: q, key: k, value: v, output: o, logSumExp: logSumExp, outputGradient: dO,
                           scale: alpha, into: (dQ, dK, dV))
            return Gradients(query: dQ, key: dK, value: dV)
        }
        let qb = Swift.max(1, Swift.min(queryBlock, n)), kb = Swift.max(1, Swift.min(keyBlock, m))
        let qBlocks = (n + qb - 1) / qb
        let threads = Parallel.threadCount
        let partsPerHead = heads >= threads ? 1 : Swift.min(qBlocks, (threads + heads - 1) / heads)
        let units = heads * partsPerHead
        // With several parts per head, each part sums dK and dV into private [M, D] / [M, Dv] buffers.
        let privateK = partsPerHead > 1 && needs.key ? UnsafeMutablePointer<Float>.allocate(capacity: units * m * d) : nil
        let privateV = partsPerHead > 1 && needs.value ? UnsafeMutablePointer<Float>.allocate(capacity: units * m * dv) : nil
        privateK?.initialize(repeating: 0, count: units * m * d)
        privateV?.initialize(repeating: 0, count: units * m * dv)
        defer { privateK?.deallocate(); privateV?.deallocate() }

        Parallel.forRange(units) { range in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: qb * kb)
            let dP = UnsafeMutablePointer<Float>.allocate(capacity: qb * kb)
            let dQAcc = UnsafeMutablePointer<Float>.allocate(capacity: qb * d)
            let rowL = UnsafeMutablePointer<Float>.allocate(capacity: qb)
            let rowD = UnsafeMutablePointer<Float>.allocate(capacity: qb)
            defer { scores.deallocate(); dP.deallocate(); dQAcc.deallocate(); rowL.deallocate(); rowD.deallocate() }
            for unit in range {
                let head = unit / partsPerHead, part = unit % partsPerHead
                let batch = head / h, hh = head % h
                func base(_ t: Tensor) -> UnsafeMutablePointer<Float> { t.pointer + batch * t.strides[0] + hh * t.strides[1] }
                let qBase = base(q), kBase = base(k), vBase = base(v), oBase = base(o), doBase = base(dO)
                let (qs, ks, vs, os, dos) = (q.strides[2], k.strides[2], v.strides[2], o.strides[2], dO.strides[2])
                let dKBase = privateK.map { $0 + unit * m * d } ?? dK.map(base)
                let ldK = privateK != nil ? d : dK?.strides[2] ?? 0
                let dVBase = privateV.map { $0 + unit * m * dv } ?? dV.map(base)
                let ldV = privateV != nil ? dv : dV?.strides[2] ?? 0
                let maskBase = maskView.map(base)

                /// α·Q·Kᵀ (+ mask) for query rows i0 ..< i0 + rows and keys j0 ..< j0 + cols into `scores`.
                func computeScores(_ i0: Int, _ rows: Int, _ j0: Int, _ cols: Int) {
                    BLAS.gemm(m: rows, n: cols, k: d, alpha: alpha, BLAS.Operand(qBase + i0 * qs, ld: qs),
                              BLAS.Operand(kBase + j0 * ks, ld: ks, transposed: true), scores, ldc: cols)
                    if let maskBase, let mv = maskView {
                        let (ms2, ms3) = (mv.strides[2], mv.strides[3])
                        for r in 0 ..< rows {
                            let mp = maskBase + (i0 + r) * ms2 + j0 * ms3, s = scores + r * cols
                            if ms3 == 1 { VectorLoops.add(mp, into: s, cols) } else { for c in 0 ..< cols { s[c] += mp[c * ms3] } }
                        }
                    }
                }
                func visibleColumns(_ i0: Int, _ r: Int, _ j0: Int, _ cols: Int) -> Int {
                    causal ? Swift.max(0, Swift.min(cols, i0 + r - j0 + 1)) : cols
                }

                let firstBlock = part * qBlocks / partsPerHead, endBlock = (part + 1) * qBlocks / partsPerHead
                for block in firstBlock ..< endBlock {
                    let i0 = block * qb, rows = Swift.min(qb, n - i0)
                    let keyEnd = causal ? Swift.min(m, i0 + rows) : m

                    // 1. Log-sum-exp of each query row over the visible keys (+∞ for a fully masked
                    //    row, whose output the forward pass set to 0: its probabilities become 0):
                    //    the forward pass's, or recomputed.
                    if let saved = logSumExp?.pointer {
                        rowL.update(from: saved + head * n + i0, count: rows)
                    } else {
                        let rowMax = rowL, rowSum = rowD
                        rowMax.update(repeating: -.infinity, count: rows)
                        rowSum.update(repeating: 0, count: rows)
                        var j0 = 0
                        while j0 < keyEnd {
                            let cols = Swift.min(kb, keyEnd - j0)
                            computeScores(i0, rows, j0, cols)
                            for r in 0 ..< rows {
                                let visible = visibleColumns(i0, r, j0, cols)
                                guard visible > 0 else { continue }
                                let s = scores + r * cols
                                let newMax = Swift.max(rowMax[r], AttentionRows.max(s, visible))
                                if newMax == -.infinity { continue }
                                let carried = rowMax[r] == -.infinity ? 0 : rowSum[r] * Foundation.exp(rowMax[r] - newMax)
                                rowSum[r] = carried + AttentionRows.expSum(s, visible, shift: newMax)
                                rowMax[r] = newMax
                            }
                            j0 += cols
                        }
                        for r in 0 ..< rows {
                            rowL[r] = rowSum[r] > 0 ? rowMax[r] + Foundation.log(rowSum[r]) : .infinity
                        }
                    }
                    // 2. D = rowsum(dO ∘ O).
                    for r in 0 ..< rows { rowD[r] = VectorLoops.dot(doBase + (i0 + r) * dos, oBase + (i0 + r) * os, dv) }

                    // 3. Gradients, block of keys by block of keys.
                    if needs.query { dQAcc.update(repeating: 0, count: rows * d) }
                    var j0 = 0
                    while j0 < keyEnd {
                        let cols = Swift.min(kb, keyEnd - j0)
                        computeScores(i0, rows, j0, cols)
                        for r in 0 ..< rows {
                            AttentionRows.probabilities(scores + r * cols, cols, visible: visibleColumns(i0, r, j0, cols), logSumExp: rowL[r])
                        }
                        if let dVBase {
                            BLAS.gemm(m: cols, n: dv, k: rows, BLAS.Operand(scores, ld: cols, transposed: true),
                                      BLAS.Operand(doBase + i0 * dos, ld: dos), beta: 1, dVBase + j0 * ldV, ldc: ldV)
                        }
                        if needsScores {
                            BLAS.gemm(m: rows, n: cols, k: dv, BLAS.Operand(doBase + i0 * dos, ld: dos),
                                      BLAS.Operand(vBase + j0 * vs, ld: vs, transposed: true), dP, ldc: cols)
                            for r in 0 ..< rows { AttentionRows.scoreGradient(scores + r * cols, dP + r * cols, cols, rowDot: rowD[r]) }
                            if needs.query {
                                BLAS.gemm(m: rows, n: d, k: cols, alpha: alpha, BLAS.Operand(dP, ld: cols),
                                          BLAS.Operand(kBase + j0 * ks, ld: ks), beta: 1, dQAcc, ldc: d)
                            }
                            if let dKBase {
                                BLAS.gemm(m: cols, n: d, k: rows, alpha: alpha, BLAS.Operand(dP, ld: cols, transposed: true),
                                          BLAS.Operand(qBase + i0 * qs, ld: qs), beta: 1, dKBase + j0 * ldK, ldc: ldK)
                            }
                        }
                        j0 += cols
                    }
                    if let dQ {
                        let dst = base(dQ), ld = dQ.strides[2]
                        for r in 0 ..< rows { (dst + (i0 + r) * ld).update(from: dQAcc + r * d, count: d) }
                    }
                }
            }
        }

        // Add the private parts of dK and dV up.
        func gather(_ parts: UnsafeMutablePointer<Float>?, into target: Tensor?, width: Int) {
            guard let parts, let target else { return }
            Parallel.forRange(heads) { range in
                for head in range {
                    let dst = target.pointer + (head / h) * target.strides[0] + (head % h) * target.strides[1]
                    for part in 0 ..< partsPerHead {
                        let src = parts + (head * partsPerHead + part) * m * width
                        for j in 0 ..< m { VectorLoops.add(src + j * width, into: dst + j * target.strides[2], width) }
                    }
                }
            }
        }
        gather(privateK, into: dK, width: d)
        gather(privateV, into: dV, width: dv)
        withExtendedLifetime(maskView) {}
        return Gradients(query: dQ, key: dK, value: dV)
    }
}

extension AttentionBackward {
    /// The gradients head by head with CDiffuseKernels' `dk_attention_backward_head` (small heads,
    /// no mask, not causal, the forward pass's log-sum-exp given): one pass over the query rows
    /// with the keys along the vector lanes, where the BLAS path runs five thin GEMMs per block
    /// (one dimension d or dv, 8 in the diffusers UNet2DModel's attention) at a fraction of BLAS's
    /// speed. Heads are spread over the cores.
    static func fusedGradients(width: Int, query q: Tensor, key k: Tensor, value v: Tensor, output o: Tensor,
                               logSumExp: Tensor, outputGradient dO: Tensor, scale: Float,
                               into outputs: (query: Tensor?, key: Tensor?, value: Tensor?)) {
        let (b, h, n, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let m = k.shape[2], dv = v.shape[3]
        let scratchFloats = Int(dk_attention_backward_scratch_floats(Int32(width), Int64(m), Int64(d), Int64(dv)))
        let lse = logSumExp.contiguous()
        Parallel.forRange(b * h) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchFloats)
            defer { scratch.deallocate() }
            for head in range {
                let batch = head / h, hh = head % h
                func base(_ t: Tensor) -> UnsafeMutablePointer<Float> { t.pointer + batch * t.strides[0] + hh * t.strides[1] }
                var problem = dk_attention_backward_problem(
                    n: Int64(n), m: Int64(m), d: Int64(d), dv: Int64(dv), scale: scale,
                    q: base(q), k: base(k), v: base(v), o: base(o), d_o: base(dO), lse: lse.pointer + head * n,
                    q_ld: Int64(q.strides[2]), k_ld: Int64(k.strides[2]), v_ld: Int64(v.strides[2]),
                    o_ld: Int64(o.strides[2]), do_ld: Int64(dO.strides[2]),
                    dq: outputs.query.map(base), dk: outputs.key.map(base), dv_out: outputs.value.map(base),
                    dq_ld: Int64(outputs.query?.strides[2] ?? 0), dk_ld: Int64(outputs.key?.strides[2] ?? 0),
                    dv_ld: Int64(outputs.value?.strides[2] ?? 0))
                let status = dk_attention_backward_head(Int32(width), &problem, scratch)
                precondition(status == 0, "attention backward: head sizes d \(d), dv \(dv) out of the kernel's range")
            }
        }
        withExtendedLifetime((q, k, v, o, dO, lse)) {}
    }
}

/// Row kernels of the attention backward pass.
enum AttentionRows {
    @inline(__always)
    static func max(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = Vec8(repeating: -.infinity)
        var i = 0
        while i + 8 <= n { m = VectorMath.max(m, VectorMath.load(x + i)); i += 8 }
        var best = m.max()
        while i < n { best = Swift.max(best, x[i]); i += 1 }
        return best
    }

    /// Σ exp(x[i] − shift) (x is left unchanged).
    @inline(__always)
    static func expSum(_ x: UnsafePointer<Float>, _ n: Int, shift: Float) -> Float {
        let s = Vec8(repeating: shift)
        var acc = Vec8()
        var i = 0
        while i + 8 <= n { acc += VectorMath.exp(VectorMath.load(x + i) - s); i += 8 }
        if i < n { acc += VectorMath.exp(VectorMath.loadPartial(x + i, n - i, fill: -.infinity) - s) }
        return acc.sum()
    }

    /// In place: `x[i] = exp(x[i] − L)` for the first `visible` entries, 0 for the rest.
    @inline(__always)
    static func probabilities(_ x: UnsafeMutablePointer<Float>, _ n: Int, visible: Int, logSumExp: Float) {
        let l = Vec8(repeating: logSumExp)
        var i = 0
        while i + 8 <= visible { VectorMath.store(VectorMath.exp(VectorMath.load(x + i) - l), x + i); i += 8 }
        if i < visible { VectorMath.storePartial(VectorMath.exp(VectorMath.loadPartial(x + i, visible - i) - l), x + i, visible - i) }
        if visible < n { (x + visible).update(repeating: 0, count: n - visible) }
    }

    /// In place in `dP`: `dS = P ∘ (dP − rowDot)`.
    @inline(__always)
    static func scoreGradient(_ p: UnsafePointer<Float>, _ dP: UnsafeMutablePointer<Float>, _ n: Int, rowDot: Float) {
        let dot = Vec8(repeating: rowDot)
        var i = 0
        while i + 8 <= n { VectorMath.store(VectorMath.load(p + i) * (VectorMath.load(dP + i) - dot), dP + i); i += 8 }
        while i < n { dP[i] = p[i] * (dP[i] - rowDot); i += 1 }
    }
}
