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

    /// Odd skip sizes in the UNets: shrinking, growing by a non-integer factor, and one axis each way.
    @Test(arguments: [[4, 3], [9, 11], [7, 5], [3, 17]])
    func resizeNearest(_ size: [Int]) {
        var rng = TestRandom(seed: UInt64(130 + size[0] * 20 + size[1]))
        let shape = [2, 3, 5, 8]
        let x = rng.strided(shape)
        GradientCheck.unary("resizeNearest \(shape) → \(size)", x, f32: { $0.resizeNearest(height: size[0], width: size[1]) },
                            f64: { Ref64.gather($0, shape: [2, 3, size[0], size[1]]) { i in
                                // PyTorch's nearest: source index floor(dst · in / out), as float32.
                                let y = Swift.min(Int((Float(i[2]) * (Float(5) / Float(size[0]))).rounded(.down)), 4)
                                let x = Swift.min(Int((Float(i[3]) * (Float(8) / Float(size[1]))).rounded(.down)), 7)
                                return Ref64.flatIndex([i[0], i[1], y, x], shape)
                            } })
    }
}
