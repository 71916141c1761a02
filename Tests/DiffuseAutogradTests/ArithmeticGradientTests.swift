import DiffuseAutograd
import DiffuseTensor
import Foundation
import Testing

@Suite struct ArithmeticGradientTests {
    static let shapes: [([Int], [Int])] = [
        ([2, 3, 5, 7], [1, 3, 1, 1]),   // per-channel bias
        ([2, 3, 5, 7], [7]),            // trailing vector
        ([3, 1, 13], [1, 11, 1]),       // both broadcast
        ([5, 9], [5, 9]),
        ([4, 1], [3, 4, 9]),            // new leading axis on the right operand
        ([], [3, 2]),                   // rank-0 left operand
    ]

    static let operations: [(String, (Variable, Variable) -> Variable, (Double, Double) -> Double)] = [
        ("add", { $0 + $1 }, { $0 + $1 }),
        ("subtract", { $0 - $1 }, { $0 - $1 }),
        ("multiply", { $0 * $1 }, { $0 * $1 }),
        ("divide", { $0 / $1 }, { $0 / $1 }),
    ]

    @Test(arguments: 0 ..< 4)
    func broadcastingBinaryOperations(_ op: Int) {
        let (name, f32, f64) = Self.operations[op]
        for (index, (sa, sb)) in Self.shapes.enumerated() {
            var rng = TestRandom(seed: UInt64(op * 100 + index))
            let a = sa.count >= 2 && index % 2 == 0 ? rng.strided(sa) : rng.tensor(sa)
            // Divisors away from zero.
            let b = name == "divide" ? Tensor(shape: sb, rng.tensor(sb).scalars.map { $0 >= 0 ? $0 + 0.7 : $0 - 0.7 }) : rng.tensor(sb)
            GradientCheck.run("\(name) \(sa) ⊕ \(sb)", inputs: [a, b], seed: UInt64(index),
                              f32: { [f32($0[0], $0[1])] }, f64: { [Ref64.binary($0[0], sa, $0[1], sb, f64)] })
        }
    }

    @Test func onlyOneSideNeedsAGradient() {
        var rng = TestRandom(seed: 3)
        let a = rng.tensor([4, 6]), b = rng.tensor([6])
        GradientCheck.run("multiply, constant right", inputs: [a, b], differentiable: [true, false],
                          f32: { [$0[0] * $0[1]] }, f64: { [Ref64.binary($0[0], [4, 6], $0[1], [6], *)] })
        GradientCheck.run("divide, constant left", inputs: [a, b.affine(scale: 0.2, shift: 2)], differentiable: [false, true],
                          f32: { [$0[0] / $0[1]] }, f64: { [Ref64.binary($0[0], [4, 6], $0[1], [6], /)] })
    }

    @Test func scalarOperations() {
        var rng = TestRandom(seed: 11)
        let x = rng.strided([3, 5, 7])
        let cases: [(String, (Variable) -> Variable, (Double) -> Double)] = [
            ("x + 1.5", { $0 + 1.5 }, { $0 + 1.5 }),
            ("x - 0.25", { $0 - 0.25 }, { $0 - 0.25 }),
            ("x * -3", { $0 * -3 }, { $0 * -3 }),
            ("x / 4", { $0 / 4 }, { $0 / 4 }),
            ("2 + x", { 2 + $0 }, { 2 + $0 }),
            ("2 - x", { 2 - $0 }, { 2 - $0 }),
            ("0.5 * x", { 0.5 * $0 }, { 0.5 * $0 }),
            ("-x", { -$0 }, { -$0 }),
            ("affine", { $0.affine(scale: 1.25, shift: -0.5) }, { $0 * 1.25 - 0.5 }),
        ]
        for (name, f32, f64) in cases {
            GradientCheck.unary(name, x, f32: f32, f64: { $0.map(f64) })
        }
    }

    @Test func variableUsedSeveralTimes() {
        // x·x + x: the gradients of the three uses add up (2x + 1).
        var rng = TestRandom(seed: 12)
        let x = rng.tensor([6, 5])
        GradientCheck.unary("x·x + x", x, f32: { $0 * $0 + $0 }, f64: { $0.map { $0 * $0 + $0 } })
    }
}
