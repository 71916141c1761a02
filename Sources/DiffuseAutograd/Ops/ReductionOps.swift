import DiffuseTensor

/// Sums and means over axes. They save nothing: the gradient is the incoming one broadcast back
/// (a stride-0 view, no copy), scaled by 1/n for the mean.
extension Variable {
    /// Sum over `axes` (all axes when empty); `keepDims` keeps them with size 1.
    public func sum(axes: [Int] = [], keepDims: Bool = false) -> Variable {
        reduction("sum", axes: axes, keepDims: keepDims, scale: 1)
    }

    public func sum(axis: Int, keepDims: Bool = false) -> Variable { sum(axes: [axis], keepDims: keepDims) }

    /// Mean over `axes` (all axes when empty).
    public func mean(axes: [Int] = [], keepDims: Bool = false) -> Variable {
        let reduced = axes.isEmpty ? count : axes.reduce(1) { $0 * shape[value.normalize($1)] }
        return reduction("mean", axes: axes, keepDims: keepDims, scale: 1 / Float(Swift.max(reduced, 1)))
    }

    public func mean(axis: Int, keepDims: Bool = false) -> Variable { mean(axes: [axis], keepDims: keepDims) }

    private func reduction(_ name: String, axes: [Int], keepDims: Bool, scale: Float) -> Variable {
        let original = shape
        let reducedAxes = Set(axes.isEmpty ? Array(0 ..< rank) : axes.map { value.normalize($0) })
        let keptShape = (0 ..< rank).map { reducedAxes.contains($0) ? 1 : original[$0] }
        let output = scale == 1 ? value.sum(axes: axes, keepDims: keepDims) : value.mean(axes: axes, keepDims: keepDims)
        return Variable.recordOperation(name, inputs: [self], output: output) { g, _ in
            let scaled = scale == 1 ? g : g * scale
            return [scaled.reshaped(keptShape).expanded(original)]
        }
    }
}
