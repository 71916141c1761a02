import DiffuseTensor
import Foundation
import Testing

@Suite struct ElementwiseTests {
    static let unaryCases: [(String, (Tensor) -> Tensor, (Double) -> Double)] = [
        ("silu", { $0.silu() }, { $0 / (1 + Foundation.exp(-$0)) }),
        ("sigmoid", { $0.sigmoid() }, { 1 / (1 + Foundation.exp(-$0)) }),
        ("gelu(erf)", { $0.gelu() }, { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }),
        ("gelu(tanh)", { $0.gelu(approximate: true) }, { 0.5 * $0 * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) }),
        ("quickGELU", { $0.quickGELU() }, { $0 / (1 + Foundation.exp(-1.702 * $0)) }),
        ("exp", { $0.exp() }, { Foundation.exp($0) }),
        ("tanh", { $0.tanh() }, { Foundation.tanh($0) }),
        ("erf", { $0.erf() }, { Foundation.erf($0) }),
        ("relu", { $0.relu() }, { Swift.max($0, 0) }),
        ("squared", { $0.squared() }, { $0 * $0 }),
        ("negate", { -$0 }, { -$0 }),
    ]

    @Test(arguments: 0 ..< unaryCases.count)
    func unaryMatchesFloat64(_ index: Int) {
        let (name, op, reference) = Self.unaryCases[index]
        var rng = TestRandom(seed: UInt64(index + 1))
        for shape in [[1], [7], [3, 17, 13], [2, 5, 129]] {
            let x = rng.tensor(shape, scale: 3)
            expectClose(op(x), doubles(x).map(reference), shape: shape, "\(name) \(shape)")
        }
        // Non-contiguous input, and very large magnitudes (overflow/underflow paths).
        let view = rng.strided([5, 3, 11])
        expectClose(op(view), doubles(view).map(reference), shape: [5, 3, 11], "\(name) strided")
        if name != "exp" && name != "squared" {
            let extreme = Tensor(shape: [9], [-120, -60, -20, -1e-4, 0, 1e-4, 20, 60, 80])
            expectClose(op(extreme), doubles(extreme).map(reference), "\(name) extremes")
        }
    }

    @Test func erfIsAccurateNearZeroAndInTheTails() {
        let values: [Float] = stride(from: -6.0, through: 6.0, by: 0.001).map { Float($0) }
        let y = Tensor(shape: [values.count], values).erf().scalars
        var worst = 0.0
        for (x, v) in zip(values, y) { worst = Swift.max(worst, abs(Double(v) - Foundation.erf(Double(x)))) }
        print("[parity] erf max abs error on [-6, 6]: \(worst)")
        #expect(worst < 2.5e-7)
    }

    @Test func broadcastingArithmetic() {
        var rng = TestRandom(seed: 99)
        let cases: [([Int], [Int])] = [
            ([2, 3, 5, 7], [1, 3, 1, 1]),   // per-channel bias
            ([2, 3, 5, 7], [7]),            // trailing vector
            ([3, 1, 13], [1, 11, 1]),       // outer product shape
            ([17], [17]),
            ([4, 1], [4, 9]),
            ([], [3, 2]),                   // scalar tensor
        ]
        for (sa, sb) in cases {
            let a = rng.tensor(sa), b = rng.tensor(sb, scale: 0.5)
            let outShape = Broadcasting.shape(sa, sb)
            let ea = Self.expand(a, outShape), eb = Self.expand(b, outShape)
            expectClose(a + b, zip(ea, eb).map(+), shape: outShape, "add \(sa)+\(sb)")
            expectClose(a - b, zip(ea, eb).map(-), shape: outShape, "sub \(sa)-\(sb)")
            expectClose(a * b, zip(ea, eb).map(*), shape: outShape, "mul \(sa)*\(sb)")
            let safeB = b.affine(scale: 1, shift: 3)  // keep away from zero
            expectClose(a / safeB, zip(ea, Self.expand(safeB, outShape)).map(/), shape: outShape, "div \(sa)/\(sb)")
            expectClose(a.maximum(b), zip(ea, eb).map { Swift.max($0, $1) }, shape: outShape, "max \(sa),\(sb)")
        }
        // Strided operands on both sides.
        let x = rng.strided([4, 6, 5]), y = rng.strided([4, 6, 5])
        expectClose(x * y, zip(doubles(x), doubles(y)).map(*), shape: [4, 6, 5], "mul strided")
        let t = rng.tensor([6, 4]).transposed()
        let u = rng.tensor([4, 6])
        expectClose(t + u, zip(doubles(t), doubles(u)).map(+), shape: [4, 6], "add transposed")
    }

    @Test func scalarOpsAndClamp() {
        var rng = TestRandom(seed: 5)
        let x = rng.tensor([3, 37], scale: 4)
        let d = doubles(x)
        expectClose(x * 2.5 + 1, d.map { $0 * 2.5 + 1 }, "affine")
        expectClose(1 - x, d.map { 1 - $0 }, "rsub")
        expectClose(x / 4, d.map { $0 / 4 }, "div scalar")
        expectClose(x.clamped(-1, 2), d.map { Swift.min(Swift.max($0, -1), 2) }, "clamp")
    }

    @Test func geglu() {
        var rng = TestRandom(seed: 8)
        let x = rng.tensor([2, 5, 2 * 19])
        let d = doubles(x)
        var ref: [Double] = []
        for row in 0 ..< 10 {
            for j in 0 ..< 19 {
                let h = d[row * 38 + j], g = d[row * 38 + 19 + j]
                ref.append(h * 0.5 * g * (1 + Foundation.erf(g / 2.0.squareRoot())))
            }
        }
        expectClose(x.geglu(), ref, shape: [2, 5, 19], "geglu")
    }

    /// Values of `t` broadcast to `shape`, in row-major order.
    static func expand(_ t: Tensor, _ shape: [Int]) -> [Double] {
        let e = t.expanded(shape)
        return doubles(e)
    }
}
