import DiffuseAutograd
import DiffuseTensor
import Foundation
import Testing

@Suite struct ReductionLossGradientTests {
    @Test func sumAndMean() {
        var rng = TestRandom(seed: 130)
        let shape = [3, 4, 5]
        let x = rng.strided(shape)
        for axes in [[], [1], [0, 2], [-1]] {
            let set = Set((axes.isEmpty ? [0, 1, 2] : axes).map { $0 < 0 ? $0 + 3 : $0 })
            let n = Double(set.reduce(1) { $0 * shape[$1] })
            GradientCheck.unary("sum axes \(axes)", x, f32: { $0.sum(axes: axes) }, f64: { Ref64.sum($0, shape, axes: set) })
            GradientCheck.unary("mean axes \(axes) keepDims", x, f32: { $0.mean(axes: axes, keepDims: true) },
                                f64: { Ref64.sum($0, shape, axes: set).map { $0 / n } })
        }
    }

    @Test func embedding() {
        var rng = TestRandom(seed: 131)
        let table = rng.tensor([7, 13])
        let ids = [3, 0, 3, 6, 1, 3]   // repeated ids: their gradients add up in the table
        GradientCheck.unary("embedding (repeated ids)", table, f32: { $0.embedding(ids) }, f64: { t in
            ids.flatMap { id in (0 ..< 13).map { t[id * 13 + $0] } }
        })
        #expect(Variable(table).embedding(ids).shape == [6, 13])
    }

    @Test func meanSquaredErrorWithSampleWeights() {
        var rng = TestRandom(seed: 132)
        let shape = [3, 2, 5, 3]
        let p = rng.strided(shape), t = rng.tensor(shape)
        let weights = Tensor(shape: [3], [0.5, 2, 1.25])
        func reference(_ v: [[Double]], _ w: [Double]) -> [[Double]] {
            let e = v[0].count / 3
            var loss = 0.0
            for n in 0 ..< 3 {
                var s = 0.0
                for i in 0 ..< e { let d = v[0][n * e + i] - v[1][n * e + i]; s += d * d }
                loss += w[n] * s / Double(e)
            }
            return [[loss / 3]]
        }
        GradientCheck.run("meanSquaredError weighted, both sides", inputs: [p, t], f32: { v in
            [Variable.meanSquaredError(v[0], v[1], sampleWeights: weights)]
        }, f64: { reference($0, [0.5, 2, 1.25]) })
        GradientCheck.run("meanSquaredError unweighted, constant target", inputs: [p, t], differentiable: [true, false], f32: { v in
            [Variable.meanSquaredError(v[0], v[1])]
        }, f64: { reference($0, [1, 1, 1]) })
        // Unweighted MSE is the mean of the squared difference.
        let loss = Variable.meanSquaredError(Variable(p), t).item
        let direct = (p - t).squared().mean().item
        #expect(abs(loss - direct) <= 1e-6 * abs(direct))
    }

    @Test func crossEntropyOfStridedLogits() {
        var rng = TestRandom(seed: 133)
        let logits = rng.strided([4, 7], scale: 3)
        let labels = [2, 0, 6, 2]
        GradientCheck.run("crossEntropy", inputs: [logits], f32: { v in [Variable.crossEntropy(v[0], labels: labels)] }, f64: { v in
            var loss = 0.0
            for r in 0 ..< 4 {
                let row = Array(v[0][r * 7 ..< r * 7 + 7])
                let m = row.max()!
                loss += Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +)) + m - row[labels[r]]
            }
            return [[loss / 4]]
        })
        // Huge logits do not overflow: the loss of a confident right answer is ~0, of a wrong one ~the margin.
        let confident = Tensor(shape: [2, 3], [1000, 0, 0, 0, 1000, 0])
        #expect(Variable.crossEntropy(Variable(confident), labels: [0, 1]).item < 1e-6)
        #expect(abs(Variable.crossEntropy(Variable(confident), labels: [1, 1]).item - 500) < 1e-3)
    }
}
