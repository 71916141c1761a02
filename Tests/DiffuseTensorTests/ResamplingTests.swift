import DiffuseTensor
import Testing

@Suite struct ResamplingTests {
    @Test func upsampleNearestMatchesNaive() {
        var rng = TestRandom(seed: 41)
        for factor in [2, 3] {
            let x = rng.strided([2, 3, 5, 7])
            let d = doubles(x)
            var ref: [Double] = []
            for p in 0 ..< 6 { for y in 0 ..< 5 * factor { for xx in 0 ..< 7 * factor { ref.append(d[p * 35 + (y / factor) * 7 + xx / factor]) } } }
            expectClose(x.upsampleNearest(factor: factor), ref, shape: [2, 3, 5 * factor, 7 * factor], "upsample ×\(factor)")
        }
    }

    @Test func avgPoolAndPadMatchNaive() {
        var rng = TestRandom(seed: 42)
        let x = rng.tensor([2, 3, 9, 8])
        let d = doubles(x)
        var ref: [Double] = []
        for p in 0 ..< 6 { for oy in 0 ..< 4 { for ox in 0 ..< 4 {
            var s = 0.0
            for ky in 0 ..< 2 { for kx in 0 ..< 2 { s += d[p * 72 + (oy * 2 + ky) * 8 + ox * 2 + kx] } }
            ref.append(s / 4)
        } } }
        expectClose(x.avgPool2d(kernel: 2), ref, shape: [2, 3, 4, 4], "avgPool2d")
        let padded = x.padded(Padding2D(top: 0, bottom: 1, left: 2, right: 1))
        #expect(padded.shape == [2, 3, 10, 11])
        #expect(padded[1, 2, 3, 2 + 4] == x[1, 2, 3, 4])
        #expect(padded[0, 0, 9, 5] == 0 && padded[0, 0, 0, 0] == 0)
    }
}
