/// Vectorized reductions over contiguous runs. Sums use 4×8 partial accumulators (an implicit
/// pairwise summation), which keeps float32 round-off near √n·ε for long runs.
public enum ReductionKernels {
    @inlinable @inline(__always)
    public static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var a0 = Vec8(), a1 = Vec8(), a2 = Vec8(), a3 = Vec8()
        var i = 0
        while i + 32 <= n {
            a0 += VectorMath.load(x + i); a1 += VectorMath.load(x + i + 8)
            a2 += VectorMath.load(x + i + 16); a3 += VectorMath.load(x + i + 24)
            i += 32
        }
        while i + 8 <= n { a0 += VectorMath.load(x + i); i += 8 }
        var total = ((a0 + a1) + (a2 + a3)).sum()
        while i < n { total += x[i]; i += 1 }
        return total
    }

    /// Σ (x − mean)².
    @inlinable @inline(__always)
    public static func sumOfSquaredDeviations(_ x: UnsafePointer<Float>, _ n: Int, mean: Float) -> Float {
        let m = Vec8(repeating: mean)
        var a0 = Vec8(), a1 = Vec8()
        var i = 0
        while i + 16 <= n {
            let d0 = VectorMath.load(x + i) - m, d1 = VectorMath.load(x + i + 8) - m
            a0.addProduct(d0, d0); a1.addProduct(d1, d1)
            i += 16
        }
        while i + 8 <= n { let d = VectorMath.load(x + i) - m; a0.addProduct(d, d); i += 8 }
        var total = (a0 + a1).sum()
        while i < n { let d = x[i] - mean; total += d * d; i += 1 }
        return total
    }

    @inlinable @inline(__always)
    public static func max(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        // Four independent chains: a single one waits out vmaxps' latency on every vector.
        var m0 = Vec8(repeating: -.infinity), m1 = m0, m2 = m0, m3 = m0
        var i = 0
        while i + 32 <= n {
            m0 = VectorMath.max(m0, VectorMath.load(x + i))
            m1 = VectorMath.max(m1, VectorMath.load(x + i + 8))
            m2 = VectorMath.max(m2, VectorMath.load(x + i + 16))
            m3 = VectorMath.max(m3, VectorMath.load(x + i + 24))
            i += 32
        }
        while i + 8 <= n { m0 = VectorMath.max(m0, VectorMath.load(x + i)); i += 8 }
        var best = VectorMath.max(VectorMath.max(m0, m1), VectorMath.max(m2, m3)).max()
        while i < n { best = Swift.max(best, x[i]); i += 1 }
        return best
    }

    /// `y[i] += x[i]` over `n` elements.
    @inlinable @inline(__always)
    public static func accumulate(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n { VectorMath.store(VectorMath.load(y + i) + VectorMath.load(x + i), y + i); i += 8 }
        while i < n { y[i] += x[i]; i += 1 }
    }
}
