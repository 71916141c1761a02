import DiffuseAutograd
import DiffuseTensor
import Testing

@Suite struct MatMulGradientTests {
    @Test(arguments: [
        ([5, 7], [7, 3]),
        ([2, 3, 5, 4], [2, 3, 4, 6]),   // batched
        ([2, 3, 5, 4], [4, 6]),         // 2-D right operand of a batched product
        ([5, 4], [3, 4, 2]),            // 2-D left operand
        ([2, 1, 5, 4], [3, 4, 6]),      // broadcasting batch axes on both sides
    ])
    func matmul(_ shapes: ([Int], [Int])) {
        let (sa, sb) = shapes
        var rng = TestRandom(seed: UInt64(sa.reduce(0, +) * 17 + sb.reduce(0, +)))
        let a = rng.strided(sa), b = rng.tensor(sb)
        GradientCheck.run("matmul \(sa)·\(sb)", inputs: [a, b], f32: { [$0[0].matmul($0[1])] },
                          f64: { [Ref64.matmul($0[0], sa, $0[1], sb).0] })
    }

    @Test func matmulWithTransposedViewsAndVectors() {
        var rng = TestRandom(seed: 70)
        let a = rng.tensor([4, 6]), b = rng.tensor([5, 6])
        GradientCheck.run("a · bᵀ (view)", inputs: [a, b], f32: { [$0[0].matmul($0[1].transposed())] },
                          f64: { [Ref64.matmul($0[0], [4, 6], Ref64.permute($0[1], [5, 6], [1, 0]), [6, 5]).0] })
        let v = rng.tensor([6]), m = rng.tensor([6, 3])
        GradientCheck.run("vector · matrix", inputs: [v, m], f32: { [$0[0].matmul($0[1])] },
                          f64: { [Ref64.matmul($0[0], [1, 6], $0[1], [6, 3]).0] })
        GradientCheck.run("matrix · vector", inputs: [a, v], f32: { [$0[0].matmul($0[1])] },
                          f64: { [Ref64.matmul($0[0], [4, 6], $0[1], [6, 1]).0] })
    }

    @Test func linear() {
        var rng = TestRandom(seed: 71)
        let x = rng.strided([2, 5, 7]), w = rng.tensor([9, 7], scale: 0.4), b = rng.tensor([9])
        func reference(_ v: [[Double]], bias: Bool) -> [[Double]] {
            let (y, _) = Ref64.matmul(v[0], [10, 7], Ref64.permute(v[1], [9, 7], [1, 0]), [7, 9])
            return [bias ? Ref64.binary(y, [10, 9], v[2], [9], +) : y]
        }
        GradientCheck.run("linear [2, 5, 7] → 9 with bias", inputs: [x, w, b],
                          f32: { [$0[0].linear(weight: $0[1], bias: $0[2])] }, f64: { reference($0, bias: true) })
        GradientCheck.run("linear without bias, transposed weight view", inputs: [x, rng.tensor([7, 9], scale: 0.4)],
                          f32: { [$0[0].linear(weight: $0[1].transposed())] },
                          f64: { v in reference([v[0], Ref64.permute(v[1], [7, 9], [1, 0])], bias: false) })
        GradientCheck.run("linear, frozen weight", inputs: [x, w, b], differentiable: [true, false, true],
                          f32: { [$0[0].linear(weight: $0[1], bias: $0[2])] }, f64: { reference($0, bias: true) })
    }
}
