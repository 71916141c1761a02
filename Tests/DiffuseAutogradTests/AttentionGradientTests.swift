import DiffuseAutograd
import DiffuseTensor
import Foundation
import Testing

@Suite struct AttentionGradientTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var b: Int, h: Int, n: Int, m: Int, d: Int, dv: Int
        var causal = false, queryBlock = 128, keyBlock = 1024
        var testDescription: String { "B\(b) H\(h) N\(n) M\(m) D\(d) Dv\(dv) causal=\(causal) blocks \(queryBlock)×\(keyBlock)" }
    }

    static let cases: [Case] = [
        Case(b: 2, h: 3, n: 7, m: 9, d: 4, dv: 5),
        Case(b: 1, h: 1, n: 13, m: 11, d: 6, dv: 3, queryBlock: 4, keyBlock: 5),    // several blocks both ways; 1 head on 2+ cores
        Case(b: 2, h: 2, n: 9, m: 9, d: 4, dv: 4, causal: true),
        Case(b: 1, h: 2, n: 11, m: 11, d: 5, dv: 3, causal: true, queryBlock: 3, keyBlock: 4),
    ]

    static func reference(_ v: [[Double]], _ c: Case, mask: [Double]? = nil) -> [[Double]] {
        [Ref64.attention(q: v[0], k: v[1], v: v[2], b: c.b, h: c.h, n: c.n, m: c.m, d: c.d, dv: c.dv,
                         scale: 1 / Double(c.d).squareRoot(), causal: c.causal, mask: mask)]
    }

    @Test(arguments: cases)
    func attention(_ c: Case) {
        var rng = TestRandom(seed: UInt64(c.n * 13 + c.m + (c.causal ? 1 : 0)))
        let q = rng.strided([c.b, c.h, c.n, c.d]), k = rng.tensor([c.b, c.h, c.m, c.d]), v = rng.tensor([c.b, c.h, c.m, c.dv])
        GradientCheck.run("attention \(c.testDescription)", inputs: [q, k, v], f32: { x in
            [Attention.scaledDotProduct(query: x[0], key: x[1], value: x[2], causal: c.causal,
                                        queryBlock: c.queryBlock, keyBlock: c.keyBlock)]
        }, f64: { Self.reference($0, c) })
    }

    @Test func headViewsOfProjections() {
        // q, k, v as [B, H, N, D] views of [B, N, H·D] tensors, as CrossAttention builds them.
        var rng = TestRandom(seed: 101)
        let (b, n, m, h, d) = (2, 6, 5, 2, 3)
        let qp = rng.tensor([b, n, h * d]), kp = rng.tensor([b, m, h * d]), vp = rng.tensor([b, m, h * d])
        let c = Case(b: b, h: h, n: n, m: m, d: d, dv: d)
        GradientCheck.run("attention on head views", inputs: [qp, kp, vp], f32: { x in
            func heads(_ t: Variable, _ len: Int) -> Variable { t.reshaped(b, len, h, d).permuted(0, 2, 1, 3) }
            let out = Attention.scaledDotProduct(query: heads(x[0], n), key: heads(x[1], m), value: heads(x[2], m), keyBlock: 2)
            return [out.permuted(0, 2, 1, 3).reshaped(b, n, h * d)]
        }, f64: { v in
            func heads(_ t: [Double], _ len: Int) -> [Double] { Ref64.permute(t, [b, len, h, d], [0, 2, 1, 3]) }
            let out = Self.reference([heads(v[0], n), heads(v[1], m), heads(v[2], m)], c)[0]
            return [Ref64.permute(out, [b, h, n, d], [0, 2, 1, 3])]
        })
    }

    @Test func paddingMaskAndCustomScale() {
        var rng = TestRandom(seed: 102)
        let q = rng.tensor([2, 2, 5, 4]), k = rng.tensor([2, 2, 7, 4]), v = rng.tensor([2, 2, 7, 4])
        // Batch 1 hides its last 3 keys; batch 0 gets a soft additive bias.
        var values = (0 ..< 14).map { Float($0 % 7) * 0.1 - 0.3 }
        for j in 4 ..< 7 { values[7 + j] = -.infinity }
        let mask = Tensor(shape: [2, 1, 1, 7], values)
        let maskFull = Ref64.expand(doubles(mask), [2, 1, 1, 7], to: [2, 2, 5, 7])
        GradientCheck.run("attention with padding mask, scale 0.3", inputs: [q, k, v], f32: { x in
            [Attention.scaledDotProduct(query: x[0], key: x[1], value: x[2], scale: 0.3, mask: mask, keyBlock: 3)]
        }, f64: { x in
            [Ref64.attention(q: x[0], k: x[1], v: x[2], b: 2, h: 2, n: 5, m: 7, d: 4, dv: 4, scale: 0.3, causal: false, mask: maskFull)]
        })
    }

    @Test(arguments: [false, true])
    func longSequenceMatchesComposedOperations(_ causal: Bool) {
        // N = 1031 with the default blocks (several query blocks, keys in one or two blocks): the
        // blockwise backward pass must agree with the gradient of the same function built from
        // matmul, softmax and matmul (which materializes the N × N scores).
        var rng = TestRandom(seed: causal ? 104 : 103)
        let (b, h, n, d) = (1, 2, 1031, 16)
        let qt = rng.tensor([b, h, n, d]), kt = rng.tensor([b, h, n, d]), vt = rng.tensor([b, h, n, d])
        let dy = rng.tensor([b, h, n, d])
        func grads(_ f: (Variable, Variable, Variable) -> Variable) -> [Tensor] {
            let (q, k, v) = (Variable(qt, requiresGrad: true), Variable(kt, requiresGrad: true), Variable(vt, requiresGrad: true))
            f(q, k, v).backward(gradient: dy)
            return [q.grad!, k.grad!, v.grad!]
        }
        let blockwise = grads { Attention.scaledDotProduct(query: $0, key: $1, value: $2, causal: causal) }
        var causalMask = [Float](repeating: 0, count: n * n)
        for i in 0 ..< n { for j in i + 1 ..< n { causalMask[i * n + j] = -.infinity } }
        let maskTensor = Variable(Tensor(shape: [n, n], causalMask))
        let composed = grads { q, k, v in
            var scores = q.matmul(k.transposed()) * (1 / Float(d).squareRoot())
            if causal { scores = scores + maskTensor }
            return scores.softmax().matmul(v)
        }
        for (name, (a, r)) in zip(["q", "k", "v"], zip(blockwise, composed)) {
            let error = relativeL2(doubles(a), doubles(r))
            print("[grad] attention N=\(n) causal=\(causal) d\(name) vs composed ops: relative L2 \(String(format: "%.2e", error))")
            #expect(error < 1e-4, "d\(name): \(error)")
        }
    }

    /// The fused backward kernel (small heads, no mask, not causal) against the blocked BLAS
    /// products, for each kernel width this CPU has: d = 8 and 16 (its unrolled copies) and 5 / 3
    /// (the general loop), key counts that leave a partial last vector, query counts that leave a
    /// partial row tile. The BLAS path is itself checked against finite differences above.
    @Test(arguments: [(8, 8, 37, 45), (16, 16, 29, 16), (5, 3, 11, 23)])
    func fusedBackwardMatchesBlockedProducts(_ sizes: (Int, Int, Int, Int)) {
        let (d, dv, n, m) = sizes
        // Enough heads for the fused path on any core count (it wants two heads per thread).
        let (b, h) = (2, Swift.max(4, Parallel.threadCount))
        var rng = TestRandom(seed: UInt64(d * 100 + n))
        let qt = rng.tensor([b, h, n, d]), kt = rng.tensor([b, h, m, d]), vt = rng.tensor([b, h, m, dv])
        let dy = rng.tensor([b, h, n, dv])
        func grads(_ kernel: AttentionKernel) -> [Tensor] {
            let (q, k, v) = (Variable(qt, requiresGrad: true), Variable(kt, requiresGrad: true), Variable(vt, requiresGrad: true))
            Attention.scaledDotProduct(query: q, key: k, value: v, kernel: kernel).backward(gradient: dy)
            return [q.grad!, k.grad!, v.grad!]
        }
        let reference = grads(.blas)
        for case .fused(let width) in AttentionKernel.available {
            let fused = grads(.fused(width: width))
            for (name, (a, r)) in zip(["q", "k", "v"], zip(fused, reference)) {
                let difference = maxAbsDifference(doubles(a), doubles(r))
                print("[grad] attention backward, fused \(width)-float kernel vs BLAS blocks, d \(d) dv \(dv) N \(n) M \(m): d\(name) max abs diff \(String(format: "%.2e", difference))")
                #expect(difference < 2e-5, "d\(name), width \(width): \(difference)")
            }
        }
    }
}
