import DiffuseAutograd
import DiffuseTensor
import Foundation
import Testing

@Suite struct ActivationGradientTests {
    static let cases: [(String, (Variable) -> Variable, (Double) -> Double)] = [
        ("silu", { $0.silu() }, Ref64.silu),
        ("sigmoid", { $0.sigmoid() }, Ref64.sigmoid),
        ("gelu(erf)", { $0.gelu() }, Ref64.gelu),
        ("gelu(tanh)", { $0.gelu(approximate: true) }, Ref64.geluTanh),
        ("quickGELU", { $0.quickGELU() }, Ref64.quickGELU),
        ("exp", { $0.exp() }, { Foundation.exp($0) }),
        ("tanh", { $0.tanh() }, { Foundation.tanh($0) }),
        ("erf", { $0.erf() }, { Foundation.erf($0) }),
        ("squared", { $0.squared() }, { $0 * $0 }),
        ("relu", { $0.relu() }, { Swift.max($0, 0) }),
    ]

    @Test(arguments: 0 ..< cases.count)
    func activation(_ index: Int) {
        let (name, f32, f64) = Self.cases[index]
        var rng = TestRandom(seed: UInt64(index + 40))
        // Odd sizes (vector body plus tail), a non-contiguous view, and large magnitudes. ReLU's
        // inputs stay away from its kink at 0.
        for x in [rng.tensor([37], scale: 2.5), rng.strided([3, 4, 5], scale: 2), rng.tensor([2, 9], scale: 6)] {
            let input = name == "relu" ? Tensor(shape: x.shape, x.scalars.map { abs($0) < 0.01 ? $0 + 0.05 : $0 }) : x
            GradientCheck.unary("\(name) \(x.shape)\(x.isContiguous ? "" : " strided")", input, f32: f32, f64: { $0.map(f64) })
        }
    }

    @Test func squareRoot() {
        var rng = TestRandom(seed: 50)
        let x = Tensor(shape: [5, 7], rng.tensor([5, 7]).scalars.map { abs($0) + 0.3 })
        GradientCheck.unary("squareRoot", x, f32: { $0.squareRoot() }, f64: { $0.map { $0.squareRoot() } })
    }

    @Test func clamped() {
        var rng = TestRandom(seed: 52)
        // Inputs kept away from the bounds (where the derivative jumps).
        let x = Tensor(shape: [4, 9], rng.tensor([4, 9], scale: 2).scalars.map { abs($0 - 1) < 0.02 || abs($0 + 0.5) < 0.02 ? $0 + 0.1 : $0 })
        GradientCheck.unary("clamped [-0.5, 1]", x, f32: { $0.clamped(-0.5, 1) }, f64: { $0.map { Swift.min(Swift.max($0, -0.5), 1) } })
        #expect(x.scalars.contains { $0 < -0.5 } && x.scalars.contains { $0 > 1 } && x.scalars.contains { $0 > -0.5 && $0 < 1 })
    }

    @Test func geglu() {
        var rng = TestRandom(seed: 51)
        for shape in [[2, 3, 22], [5, 2], [3, 38]] {
            let x = shape == [5, 2] ? rng.strided(shape, scale: 1.5) : rng.tensor(shape, scale: 1.5)
            let d = shape[shape.count - 1] / 2
            GradientCheck.unary("geglu \(shape)", x, f32: { $0.geglu() }, f64: { v in
                (0 ..< v.count / (2 * d)).flatMap { r in (0 ..< d).map { i in v[r * 2 * d + i] * Ref64.gelu(v[r * 2 * d + d + i]) } }
            })
        }
    }
}
