import DiffuseAutograd
import DiffuseTensor
import Testing

@Suite struct ResamplingGradientTests {
    @Test(arguments: [1, 2, 3])
    func upsampleNearest(_ factor: Int) {
        var rng = TestRandom(seed: UInt64(110 + factor))
        // Width 11: the factor-2 path's 4-wide body and its tail.
        let shape = [2, 3, 5, 11]
        let x = rng.strided(shape)
        GradientCheck.unary("upsampleNearest ×\(factor) \(shape)", x, f32: { $0.upsampleNearest(factor: factor) },
                            f64: { Ref64.upsampleNearest($0, shape, factor: factor) })
    }

    @Test(arguments: [(2, 2), (3, 2), (3, 1), (2, 3)])
    func avgPool2d(_ window: (Int, Int)) {
        let (kernel, stride) = window
        var rng = TestRandom(seed: UInt64(120 + kernel * 3 + stride))
        // 9×8 with window 2 stride 2 drops the last row; 3 stride 2 overlaps; 2 stride 3 skips pixels.
        let shape = [2, 3, 9, 8]
        let x = rng.strided(shape)
        GradientCheck.unary("avgPool2d k\(kernel) s\(stride) \(shape)", x, f32: { $0.avgPool2d(kernel: kernel, stride: stride) },
                            f64: { Ref64.avgPool2d($0, shape, kernel: kernel, stride: stride) })
    }
}
