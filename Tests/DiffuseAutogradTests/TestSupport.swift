import DiffuseTensor
import Foundation

/// Deterministic inputs (SplitMix64 with Box–Muller normals), as in DiffuseTensorTests.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func normal() -> Double {
        let u = max(uniform(), 1e-300), v = uniform()
        return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * .pi * v)
    }

    mutating func tensor(_ shape: [Int], scale: Double = 1) -> Tensor {
        Tensor(shape: shape, (0 ..< shape.reduce(1, *)).map { _ in Float(normal() * scale) })
    }

    /// A non-contiguous tensor with the given shape: a permuted, narrowed view of a larger buffer.
    mutating func strided(_ shape: [Int], scale: Double = 1) -> Tensor {
        let big = tensor(shape.reversed().map { $0 + 1 }, scale: scale)
        var view = big
        for axis in 0 ..< shape.count { view = view.narrowed(axis: axis, start: 1, length: shape[shape.count - 1 - axis]) }
        return view.permuted(Array((0 ..< shape.count).reversed()))
    }
}

func doubles(_ t: Tensor) -> [Double] { t.scalars.map(Double.init) }

/// ‖a − b‖∞ / ‖b‖∞ (or the absolute error when b is all zeros).
func maxRelativeError(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "maxRelativeError: \(a.count) vs \(b.count) elements")
    var diff = 0.0, scale = 0.0
    for i in 0 ..< a.count {
        diff = max(diff, abs(a[i] - b[i]))
        scale = max(scale, abs(b[i]))
    }
    return scale == 0 ? diff : diff / scale
}

/// ‖a − b‖₂ / ‖b‖₂.
func relativeL2(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "relativeL2: \(a.count) vs \(b.count) elements")
    var num = 0.0, den = 0.0
    for i in 0 ..< a.count { num += (a[i] - b[i]) * (a[i] - b[i]); den += b[i] * b[i] }
    return den == 0 ? num.squareRoot() : (num / den).squareRoot()
}

/// The largest |a[i] − b[i]|.
func maxAbsDifference(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "maxAbsDifference: \(a.count) vs \(b.count) elements")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
