import DiffuseTensor
import Foundation
import Testing

@Suite struct NormalizationTests {
    @Test(arguments: [([2, 6, 5, 7], 3), ([1, 32, 9, 9], 32), ([3, 8, 13], 2), ([1, 64, 4, 4], 32)])
    func groupNormMatchesNaive(_ c: ([Int], Int)) {
        let (shape, groups) = c
        var rng = TestRandom(seed: UInt64(shape.reduce(1, *)))
        let x = rng.tensor(shape, scale: 2).affine(scale: 1, shift: 0.7)
        let w = rng.tensor([shape[1]]), b = rng.tensor([shape[1]])
        let d = doubles(x), dw = doubles(w), db = doubles(b)
        let n = shape[0], ch = shape[1], spatial = d.count / (n * ch), per = ch / groups
        var ref = [Double](repeating: 0, count: d.count), refSiLU = ref
        for i in 0 ..< n { for g in 0 ..< groups {
            let start = (i * ch + g * per) * spatial, run = Array(d[start ..< start + per * spatial])
            let mean = run.reduce(0, +) / Double(run.count)
            let variance = run.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(run.count)
            for k in 0 ..< per * spatial {
                let channel = g * per + k / spatial
                let v = (run[k] - mean) / (variance + 1e-5).squareRoot() * dw[channel] + db[channel]
                ref[start + k] = v
                refSiLU[start + k] = v / (1 + Foundation.exp(-v))
            }
        } }
        expectClose(x.groupNorm(groups: groups, weight: w, bias: b), ref, shape: shape, "groupNorm \(shape) g\(groups)")
        expectClose(x.groupNorm(groups: groups, weight: w, bias: b, silu: true), refSiLU, "groupNorm+SiLU \(shape)")
    }

    @Test func layerNormMatchesNaive() {
        var rng = TestRandom(seed: 77)
        for input in [rng.tensor([3, 5, 77], scale: 3), rng.strided([3, 5, 77])] {
            let w = rng.tensor([77]), b = rng.tensor([77])
            let d = doubles(input), dw = doubles(w), db = doubles(b)
            var ref: [Double] = []
            for r in 0 ..< 15 {
                let row = Array(d[(r * 77) ..< ((r + 1) * 77)])
                let mean = row.reduce(0, +) / 77
                let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 77
                ref += row.enumerated().map { ($1 - mean) / (variance + 1e-5).squareRoot() * dw[$0] + db[$0] }
            }
            expectClose(input.layerNorm(weight: w, bias: b), ref, shape: [3, 5, 77], "layerNorm")
        }
    }

    @Test func softmaxMatchesNaive() {
        var rng = TestRandom(seed: 78)
        let x = rng.tensor([4, 3, 131], scale: 5)
        expectClose(x.softmax(), Naive.softmaxRows(doubles(x), cols: 131), shape: [4, 3, 131], "softmax last axis")
        // Along a middle axis: compare against the transposed reference.
        let y = rng.tensor([2, 9, 5], scale: 5)
        let viaTranspose = y.transposed(1, 2).contiguous()
        let ref = Naive.softmaxRows(doubles(viaTranspose), cols: 9)
        expectClose(y.softmax(axis: 1).transposed(1, 2).contiguous(), ref, "softmax axis 1")
        // Large values do not overflow.
        let big = Tensor(shape: [1, 3], [1000, 999, -1000]).softmax()
        expectClose(big, Naive.softmaxRows([1000, 999, -1000], cols: 3), "softmax large")
    }
}
