import DiffuseTensor
import Foundation

/// The trainer's random numbers (timesteps, noise, flips, caption dropout): SplitMix64, whose
/// whole state is one counter, so a checkpoint saves it and a resumed run draws exactly what the
/// uninterrupted run would have.
public struct TrainingRandom: Sendable, Equatable {
    /// The generator's state; save it and pass it back to `init(state:)` to continue the stream.
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed &* 0xD1B5_4A32_D192_ED03 ^ 0x2545_F491_4F6C_DD1D }
    public init(state: UInt64) { self.state = state }

    public mutating func nextUInt64() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double { Double(nextUInt64() >> 11) / Double(1 << 53) }

    /// Uniform integer in 0 ..< n.
    public mutating func int(below n: Int) -> Int { Int(nextUInt64() % UInt64(n)) }

    /// Standard normal samples (Box–Muller, both outputs used) as a tensor of `shape`.
    public mutating func normal(_ shape: [Int]) -> Tensor {
        let n = Tensor.elementCount(shape)
        let out = Tensor(uninitializedShape: shape)
        let p = out.pointer
        var i = 0
        while i < n {
            let u1 = Swift.max(uniform(), 1e-300), u2 = uniform()
            let r = (-2 * Foundation.log(u1)).squareRoot(), angle = 2 * Double.pi * u2
            p[i] = Float(r * Foundation.cos(angle))
            if i + 1 < n { p[i + 1] = Float(r * Foundation.sin(angle)) }
            i += 2
        }
        return out
    }
}
