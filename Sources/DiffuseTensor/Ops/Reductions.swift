/// Sum, mean, variance and max over axes.
extension Tensor {
    /// Sum over `axes` (all axes when empty); `keepDims` keeps them with size 1.
    public func sum(axes: [Int] = [], keepDims: Bool = false) -> Tensor {
        reduce(axes: axes, keepDims: keepDims) { x, n in ReductionKernels.sum(x, n) }
    }

    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Mean over `axes` (all axes when empty).
    public func mean(axes: [Int] = [], keepDims: Bool = false) -> Tensor {
        reduce(axes: axes, keepDims: keepDims) { x, n in ReductionKernels.sum(x, n) / Float(n) }
    }

    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Variance over `axes`: Σ(x − mean)² / (n − correction). `correction` 0 is the population
    /// variance (what normalization layers use), 1 the unbiased estimate (PyTorch's `var` default).
    public func variance(axes: [Int] = [], correction: Int = 0, keepDims: Bool = false) -> Tensor {
        reduce(axes: axes, keepDims: keepDims) { x, n in
            let mean = ReductionKernels.sum(x, n) / Float(n)
            return ReductionKernels.sumOfSquaredDeviations(x, n, mean: mean) / Float(Swift.max(n - correction, 1))
        }
    }

    /// Largest element over `axes` (all axes when empty).
    public func max(axes: [Int] = [], keepDims: Bool = false) -> Tensor {
        reduce(axes: axes, keepDims: keepDims) { x, n in ReductionKernels.max(x, n) }
    }

    /// Moves the reduced axes last (copying when needed) and reduces each contiguous run with `kernel`.
    private func reduce(axes: [Int], keepDims: Bool, _ kernel: (UnsafePointer<Float>, Int) -> Float) -> Tensor {
        let reduced = Set(axes.isEmpty ? Array(0 ..< rank) : axes.map { normalize($0) })
        precondition(reduced.count == (axes.isEmpty ? rank : axes.count), "reduce: repeated axis in \(axes)")
        let kept = (0 ..< rank).filter { !reduced.contains($0) }
        let order = kept + reduced.sorted()
        let source = permuted(order).contiguous()
        let runLength = reduced.reduce(1) { $0 * shape[$1] }
        let runs = kept.reduce(1) { $0 * shape[$1] }
        let outShape = keepDims ? (0 ..< rank).map { reduced.contains($0) ? 1 : shape[$0] } : kept.map { shape[$0] }
        let out = Tensor(uninitializedShape: outShape)
        let x = source.pointer, y = out.pointer
        Parallel.forRange(runs, minPerThread: Swift.max(1, (1 << 15) / Swift.max(runLength, 1))) { r in
            for i in r { y[i] = kernel(x + i * runLength, runLength) }
        }
        return out
    }
}
