import DiffuseTensor

/// Adding gradients together in place.
enum GradientAccumulation {
    /// `target += gradient`, elementwise. `target` must be contiguous and own its storage (the
    /// engine only calls this on buffers it allocated); `gradient` may have any strides.
    static func add(_ gradient: Tensor, into target: Tensor) {
        require(target.isContiguous && gradient.shape == target.shape,
                     "accumulate: \(gradient.shape) into \(target.shape)")
        let n = target.count
        let y = target.pointer
        if gradient.strides.allSatisfy({ $0 == 0 }) || gradient.count == 1 {
            // A broadcast scalar (the gradient of a sum or mean).
            let value = gradient.pointer.pointee
            let v = Vec8(repeating: value)
            Parallel.forRange(n, minPerThread: 1 << 15) { r in
                var i = r.lowerBound
                while i + 8 <= r.upperBound { VectorMath.store(VectorMath.load(y + i) + v, y + i); i += 8 }
                while i < r.upperBound { y[i] += value; i += 1 }
            }
            return
        }
        let source = gradient.contiguous()
        let x = source.pointer
        Parallel.forRange(n, minPerThread: 1 << 15) { r in
            VectorLoops.add(x + r.lowerBound, into: y + r.lowerBound, r.count)
        }
        withExtendedLifetime(source) {}
    }
}
