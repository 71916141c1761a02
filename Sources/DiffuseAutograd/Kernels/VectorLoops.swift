import DiffuseTensor

/// Vectorized loops over contiguous runs that the backward kernels share; sums and accumulation
/// are the forward pass's `ReductionKernels`.
enum VectorLoops {
    /// Σ x[i].
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        ReductionKernels.sum(x, n)
    }

    /// Σ x[i]·y[i].
    @inline(__always)
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var a0 = Vec8(), a1 = Vec8()
        var i = 0
        while i + 16 <= n {
            a0.addProduct(VectorMath.load(x + i), VectorMath.load(y + i))
            a1.addProduct(VectorMath.load(x + i + 8), VectorMath.load(y + i + 8))
            i += 16
        }
        while i + 8 <= n { a0.addProduct(VectorMath.load(x + i), VectorMath.load(y + i)); i += 8 }
        var total = (a0 + a1).sum()
        while i < n { total += x[i] * y[i]; i += 1 }
        return total
    }

    /// Σ (x[i] − mean)².
    @inline(__always)
    static func sumOfSquaredDeviations(_ x: UnsafePointer<Float>, _ n: Int, mean: Float) -> Float {
        ReductionKernels.sumOfSquaredDeviations(x, n, mean: mean)
    }

    /// y[i] += x[i].
    @inline(__always)
    static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        ReductionKernels.accumulate(x, into: y, n)
    }

    /// y[i] += a·x[i].
    @inline(__always)
    static func addScaled(_ x: UnsafePointer<Float>, _ a: Float, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        let av = Vec8(repeating: a)
        var i = 0
        while i + 8 <= n { VectorMath.store(VectorMath.load(y + i).addingProduct(VectorMath.load(x + i), av), y + i); i += 8 }
        while i < n { y[i] += a * x[i]; i += 1 }
    }

    /// Mean and 1/√(variance + ε) of a run (two passes, as the forward normalizations compute them).
    @inline(__always)
    static func moments(_ x: UnsafePointer<Float>, _ n: Int, epsilon: Float) -> (mean: Float, rstd: Float) {
        let mean = sum(x, n) / Float(n)
        let variance = sumOfSquaredDeviations(x, n, mean: mean) / Float(n)
        return (mean, 1 / (variance + epsilon).squareRoot())
    }
}
