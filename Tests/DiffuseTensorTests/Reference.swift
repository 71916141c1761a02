import DiffuseTensor
import Foundation
import Testing

/// Deterministic inputs and float64 reference implementations for the kernel tests.
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
    mutating func strided(_ shape: [Int]) -> Tensor {
        // Reverse the axes of a buffer one wider on each axis, narrow back, and reverse again.
        let big = tensor(shape.reversed().map { $0 + 1 })
        var view = big
        for axis in 0 ..< shape.count { view = view.narrowed(axis: axis, start: 1, length: shape[shape.count - 1 - axis]) }
        let reversed = view.permuted(Array((0 ..< shape.count).reversed()))
        return reversed
    }
}

/// ‖a − b‖₂ / ‖b‖₂ with `b` the float64 reference.
func relativeL2(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "relativeL2: \(a.count) vs \(b.count) elements")
    var num = 0.0, den = 0.0
    for i in 0 ..< a.count {
        let d = Double(a[i]) - b[i]
        num += d * d
        den += b[i] * b[i]
    }
    return den == 0 ? num.squareRoot() : (num / den).squareRoot()
}

func doubles(_ t: Tensor) -> [Double] { t.scalars.map(Double.init) }

/// Expects relative L2 error ≤ `tolerance` and records it in the test output.
func expectClose(_ actual: Tensor, _ reference: [Double], shape: [Int]? = nil, tolerance: Double = 1e-5,
                 _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    if let shape { #expect(actual.shape == shape, "\(label): shape \(actual.shape) ≠ \(shape)", sourceLocation: sourceLocation) }
    let error = relativeL2(actual.scalars, reference)
    print("[parity] \(label): relative L2 error \(String(format: "%.3g", error))")
    #expect(error <= tolerance, "\(label): relative L2 error \(error) > \(tolerance)", sourceLocation: sourceLocation)
}

enum Naive {
    /// Row-major strides.
    static func strides(_ shape: [Int]) -> [Int] { Tensor.contiguousStrides(shape) }

    static func matmul(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0 ..< m { for p in 0 ..< k { let av = a[i * k + p]; for j in 0 ..< n { c[i * n + j] += av * b[p * n + j] } } }
        return c
    }

    static func conv2d(_ x: [Double], _ shape: [Int], _ w: [Double], _ wshape: [Int], bias: [Double]?, stride: (Int, Int),
                       pad: (Int, Int, Int, Int), dilation: (Int, Int) = (1, 1), groups: Int = 1) -> ([Double], [Int]) {
        let (n, cin, h, wd) = (shape[0], shape[1], shape[2], shape[3])
        let (cout, cpg, kh, kw) = (wshape[0], wshape[1], wshape[2], wshape[3])
        let oh = (h + pad.0 + pad.1 - dilation.0 * (kh - 1) - 1) / stride.0 + 1
        let ow = (wd + pad.2 + pad.3 - dilation.1 * (kw - 1) - 1) / stride.1 + 1
        var y = [Double](repeating: 0, count: n * cout * oh * ow)
        let coutPerGroup = cout / groups
        for b in 0 ..< n { for co in 0 ..< cout {
            let g = co / coutPerGroup
            for oy in 0 ..< oh { for ox in 0 ..< ow {
                var s = bias?[co] ?? 0
                for ci in 0 ..< cpg { for ky in 0 ..< kh { for kx in 0 ..< kw {
                    let iy = oy * stride.0 - pad.0 + ky * dilation.0, ix = ox * stride.1 - pad.2 + kx * dilation.1
                    if iy < 0 || iy >= h || ix < 0 || ix >= wd { continue }
                    s += x[((b * cin + g * cpg + ci) * h + iy) * wd + ix] * w[((co * cpg + ci) * kh + ky) * kw + kx]
                } } }
                y[((b * cout + co) * oh + oy) * ow + ox] = s
            } }
        } }
        _ = cin
        return (y, [n, cout, oh, ow])
    }

    static func softmaxRows(_ x: [Double], cols: Int) -> [Double] {
        var y = x
        for r in 0 ..< x.count / cols {
            let row = x[(r * cols) ..< ((r + 1) * cols)]
            let m = row.max()!
            // A row whose entries are all −∞ (every key masked): zeros, Diffuse's convention.
            guard m > -.infinity else {
                for j in 0 ..< cols { y[r * cols + j] = 0 }
                continue
            }
            let e = row.map { Foundation.exp($0 - m) }
            let s = e.reduce(0, +)
            for j in 0 ..< cols { y[r * cols + j] = e[j] / s }
        }
        return y
    }

    /// softmax(q kᵀ · scale + mask) v for one head; q [n, d], k [m, d], v [m, dv].
    static func attention(q: [Double], k: [Double], v: [Double], n: Int, m: Int, d: Int, dv: Int, scale: Double,
                          causal: Bool, mask: [Double]? = nil) -> [Double] {
        var s = [Double](repeating: 0, count: n * m)
        for i in 0 ..< n { for j in 0 ..< m {
            var dot = 0.0
            for p in 0 ..< d { dot += q[i * d + p] * k[j * d + p] }
            s[i * m + j] = causal && j > i ? -Double.infinity : dot * scale + (mask?[i * m + j] ?? 0)
        } }
        let p = softmaxRows(s, cols: m)
        var o = [Double](repeating: 0, count: n * dv)
        for i in 0 ..< n { for j in 0 ..< m { for c in 0 ..< dv { o[i * dv + c] += p[i * m + j] * v[j * dv + c] } } }
        return o
    }
}
