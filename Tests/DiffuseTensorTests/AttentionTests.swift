import DiffuseTensor
import Foundation
import Testing

@Suite struct AttentionTests {
    /// Per-head reference over `[B, H, N, D]` tensors.
    static func reference(_ q: Tensor, _ k: Tensor, _ v: Tensor, causal: Bool, mask: Tensor? = nil) -> [Double] {
        let (b, h, n, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let m = k.shape[2], dv = v.shape[3]
        let dq = doubles(q), dk = doubles(k), dvv = doubles(v)
        let dm = mask.map { doubles($0.expanded([b, h, n, m])) }
        var out: [Double] = []
        for bi in 0 ..< b { for hi in 0 ..< h {
            let head = bi * h + hi
            out += Naive.attention(q: Array(dq[(head * n * d) ..< ((head + 1) * n * d)]),
                                   k: Array(dk[(head * m * d) ..< ((head + 1) * m * d)]),
                                   v: Array(dvv[(head * m * dv) ..< ((head + 1) * m * dv)]),
                                   n: n, m: m, d: d, dv: dv, scale: 1 / Double(d).squareRoot(), causal: causal,
                                   mask: dm.map { Array($0[(head * n * m) ..< ((head + 1) * n * m)]) })
        } }
        return out
    }

    @Test(arguments: [(1, 1, 1, 1, 1), (2, 3, 13, 17, 8), (1, 2, 77, 77, 40), (2, 2, 300, 250, 24), (1, 1, 1031, 1031, 16),
                      (1, 2, 70, 600, 80)])
    func matchesPlainFormula(_ c: (Int, Int, Int, Int, Int)) {
        let (b, h, n, m, d) = c
        var rng = TestRandom(seed: UInt64(n * 7 + m))
        let q = rng.tensor([b, h, n, d]), k = rng.tensor([b, h, m, d]), v = rng.tensor([b, h, m, d + 3])
        let ref = Self.reference(q, k, v, causal: false)
        let causalRef = n == m ? Self.reference(q, k, v, causal: true) : []
        for kernel in AttentionKernel.available {
            // Default blocks, then blocks smaller than the sequences so that the online softmax spans several blocks.
            expectClose(Attention.scaledDotProduct(query: q, key: k, value: v, kernel: kernel), ref,
                        shape: [b, h, n, d + 3], "attention \(c), \(kernel)")
            expectClose(Attention.scaledDotProduct(query: q, key: k, value: v, queryBlock: 7, keyBlock: 16, kernel: kernel),
                        ref, "attention small blocks \(c), \(kernel)")
            if n == m {
                expectClose(Attention.scaledDotProduct(query: q, key: k, value: v, causal: true, kernel: kernel), causalRef,
                            "causal \(c), \(kernel)")
                expectClose(Attention.scaledDotProduct(query: q, key: k, value: v, causal: true, queryBlock: 5, keyBlock: 3,
                                                       kernel: kernel),
                            causalRef, "causal small blocks \(c), \(kernel)")
            }
        }
    }

    /// The log-sum-exp the backward pass reuses: every kernel against the formula, with a padding
    /// mask that hides some rows' keys entirely (+∞, output 0) and causality.
    @Test func logSumExpOfEveryKernel() {
        var rng = TestRandom(seed: 8)
        let (n, d) = (45, 12)
        let q = rng.tensor([1, 2, n, d]), k = rng.tensor([1, 2, n, d]), v = rng.tensor([1, 2, n, d])
        var values = [Float](repeating: 0, count: n * n)
        for i in 0 ..< n { for j in 0 ..< n where j < 3 || i % 7 == 0 { values[i * n + j] = -.infinity } }
        let mask = Tensor(shape: [1, 1, n, n], values)
        let qd = doubles(q), kd = doubles(k)
        for kernel in AttentionKernel.available {
            let (out, lse) = Attention.scaledDotProductWithLogSumExp(query: q, key: k, value: v, causal: true, mask: mask,
                                                                     queryBlock: 16, kernel: kernel)
            expectClose(out, Self.reference(q, k, v, causal: true, mask: mask), "masked causal \(kernel)")
            for head in 0 ..< 2 { for i in 0 ..< n {
                var terms: [Double] = []
                for j in 0 ... i where values[i * n + j] == 0 {
                    var dot = 0.0
                    for e in 0 ..< d { dot += qd[(head * n + i) * d + e] * kd[(head * n + j) * d + e] }
                    terms.append(dot / Double(d).squareRoot())
                }
                let got = lse[0, head, i]
                if terms.isEmpty {
                    #expect(got == .infinity, "row \(i) of head \(head) has no visible key: \(kernel) gave \(got)")
                } else {
                    let top = terms.max()!
                    let want = top + Foundation.log(terms.reduce(0) { $0 + Foundation.exp($1 - top) })
                    #expect(abs(Double(got) - want) < 1e-5, "lse row \(i) head \(head), \(kernel): \(got) vs \(want)")
                }
            } }
        }
    }

    /// A NaN in a query poisons that query's output row (as in PyTorch) and no other row, so a
    /// diverged model shows as NaN instead of plausible numbers. (The older `.blas` path, kept for
    /// A/B runs only, drops NaN scores in its row maximum and writes zeros: not tested here.)
    @Test(arguments: [20, 64])  // 64: whole key panels, where the row maximum is taken with the scores
    func nanQueryPoisonsItsRowOnly(n: Int) {
        var rng = TestRandom(seed: 9)
        let d = 8
        let k = rng.tensor([1, 1, n, d]), v = rng.tensor([1, 1, n, d])
        var values = rng.tensor([1, 1, n, d]).scalars
        values[3 * d + 2] = .nan
        let q = Tensor(shape: [1, 1, n, d], values)
        for kernel in AttentionKernel.available where kernel != .blas {
            let out = Attention.scaledDotProduct(query: q, key: k, value: v, kernel: kernel)
            for i in 0 ..< n {
                let row = (0 ..< d).map { out[0, 0, i, $0] }
                if i == 3 {
                    #expect(row.allSatisfy { $0.isNaN }, "\(kernel): row 3 should be NaN, got \(row)")
                } else {
                    #expect(row.allSatisfy { $0.isFinite }, "\(kernel): row \(i) should be finite, got \(row)")
                }
            }
        }
    }

    @Test func perHeadViewsOfAProjection() {
        // q, k, v as head views of [B, N, H·D] projections: no copy, same result.
        var rng = TestRandom(seed: 5)
        let (b, n, h, d) = (2, 37, 4, 10)
        let qp = rng.tensor([b, n, h * d]), kp = rng.tensor([b, n, h * d]), vp = rng.tensor([b, n, h * d])
        func heads(_ t: Tensor) -> Tensor { t.reshaped(b, n, h, d).permuted(0, 2, 1, 3) }
        let ref = Self.reference(heads(qp).contiguous(), heads(kp).contiguous(), heads(vp).contiguous(), causal: false)
        for kernel in AttentionKernel.available {
            let out = Attention.scaledDotProduct(query: heads(qp), key: heads(kp), value: heads(vp), keyBlock: 8, kernel: kernel)
            expectClose(out, ref, "head views, \(kernel)")
            #expect(out.permuted(0, 2, 1, 3).isContiguous)
        }
    }

    @Test func additiveMask() {
        var rng = TestRandom(seed: 6)
        let q = rng.tensor([2, 2, 9, 8]), k = rng.tensor([2, 2, 11, 8]), v = rng.tensor([2, 2, 11, 8])
        // Padding mask: the last 3 keys of batch 1 are hidden.
        var values = [Float](repeating: 0, count: 2 * 11)
        for j in 8 ..< 11 { values[11 + j] = -.infinity }
        let mask = Tensor(shape: [2, 1, 1, 11], values)
        let ref = Self.reference(q, k, v, causal: false, mask: mask)
        for kernel in AttentionKernel.available {
            expectClose(Attention.scaledDotProduct(query: q, key: k, value: v, mask: mask, keyBlock: 4, kernel: kernel), ref,
                        "padding mask, \(kernel)")
        }
    }
}
