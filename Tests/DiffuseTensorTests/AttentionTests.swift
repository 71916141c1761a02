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

    @Test(arguments: [(1, 1, 1, 1, 1), (2, 3, 13, 17, 8), (1, 2, 77, 77, 40), (2, 2, 300, 250, 24), (1, 1, 1031, 1031, 16)])
    func matchesPlainFormula(_ c: (Int, Int, Int, Int, Int)) {
        let (b, h, n, m, d) = c
        var rng = TestRandom(seed: UInt64(n * 7 + m))
        let q = rng.tensor([b, h, n, d]), k = rng.tensor([b, h, m, d]), v = rng.tensor([b, h, m, d + 3])
        let ref = Self.reference(q, k, v, causal: false)
        // Default blocks, then blocks smaller than the sequences so that the online softmax spans several blocks.
        expectClose(Attention.scaledDotProduct(query: q, key: k, value: v), ref, shape: [b, h, n, d + 3], "attention \(c)")
        expectClose(Attention.scaledDotProduct(query: q, key: k, value: v, queryBlock: 7, keyBlock: 16), ref,
                    "attention small blocks \(c)")
        if n == m {
            let causalRef = Self.reference(q, k, v, causal: true)
            expectClose(Attention.scaledDotProduct(query: q, key: k, value: v, causal: true), causalRef, "causal \(c)")
            expectClose(Attention.scaledDotProduct(query: q, key: k, value: v, causal: true, queryBlock: 5, keyBlock: 3),
                        causalRef, "causal small blocks \(c)")
        }
    }

    @Test func perHeadViewsOfAProjection() {
        // q, k, v as head views of [B, N, H·D] projections: no copy, same result.
        var rng = TestRandom(seed: 5)
        let (b, n, h, d) = (2, 37, 4, 10)
        let qp = rng.tensor([b, n, h * d]), kp = rng.tensor([b, n, h * d]), vp = rng.tensor([b, n, h * d])
        func heads(_ t: Tensor) -> Tensor { t.reshaped(b, n, h, d).permuted(0, 2, 1, 3) }
        let out = Attention.scaledDotProduct(query: heads(qp), key: heads(kp), value: heads(vp), keyBlock: 8)
        let ref = Self.reference(heads(qp).contiguous(), heads(kp).contiguous(), heads(vp).contiguous(), causal: false)
        expectClose(out, ref, "head views")
        #expect(out.permuted(0, 2, 1, 3).isContiguous)
    }

    @Test func additiveMask() {
        var rng = TestRandom(seed: 6)
        let q = rng.tensor([2, 2, 9, 8]), k = rng.tensor([2, 2, 11, 8]), v = rng.tensor([2, 2, 11, 8])
        // Padding mask: the last 3 keys of batch 1 are hidden.
        var values = [Float](repeating: 0, count: 2 * 11)
        for j in 8 ..< 11 { values[11 + j] = -.infinity }
        let mask = Tensor(shape: [2, 1, 1, 11], values)
        let ref = Self.reference(q, k, v, causal: false, mask: mask)
        expectClose(Attention.scaledDotProduct(query: q, key: k, value: v, mask: mask, keyBlock: 4), ref, "padding mask")
    }
}
