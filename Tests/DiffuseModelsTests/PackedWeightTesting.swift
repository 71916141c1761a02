import DiffuseTensor
import Testing

/// What the packed-weight suites share: deterministic values in [-1, 1] and the largest difference
/// between two tensors of the same shape.
protocol PackedWeightTesting {}

extension PackedWeightTesting {
    func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var state = seed
        let values = (0 ..< shape.reduce(1, *)).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(state >> 40) % 2001 - 1000) / 1000
        }
        return Tensor(shape: shape, values)
    }

    func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        #expect(a.shape == b.shape)
        return zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
    }
}
