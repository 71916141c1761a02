import DiffuseTensor

/// The adjoint of broadcasting: sums a gradient over the axes along which an operand was repeated.
enum BroadcastReduction {
    /// Sums `gradient` down to `shape`, which must broadcast to `gradient.shape` (NumPy rules: the
    /// shapes align at the trailing axis; missing leading axes and size-1 axes are summed over).
    /// Returns `gradient` itself when the shapes already agree.
    static func sum(_ gradient: Tensor, toShape shape: [Int]) -> Tensor {
        if gradient.shape == shape { return gradient }
        let rank = gradient.rank
        require(shape.count <= rank, "sum(toShape:): \(shape) does not broadcast to \(gradient.shape)")
        let target = Array(repeating: 1, count: rank - shape.count) + shape

        // Merge neighbouring axes that are both reduced or both kept; drop size-1 axes.
        var sizes: [Int] = [], reduced: [Bool] = []
        for axis in 0 ..< rank where gradient.shape[axis] != 1 {
            let isReduced = target[axis] == 1
            require(isReduced || target[axis] == gradient.shape[axis],
                         "sum(toShape:): \(shape) does not broadcast to \(gradient.shape)")
            if let last = reduced.last, last == isReduced {
                sizes[sizes.count - 1] *= gradient.shape[axis]
            } else {
                sizes.append(gradient.shape[axis]); reduced.append(isReduced)
            }
        }
        if !reduced.contains(true) { return gradient.reshaped(shape) }

        let source = gradient.contiguous()
        let out = Tensor(shape: shape, repeating: 0)
        let levels = sizes.count
        var inStrides = [Int](repeating: 0, count: levels), outStrides = [Int](repeating: 0, count: levels)
        var inRunning = 1, outRunning = 1
        for level in stride(from: levels - 1, through: 0, by: -1) {
            inStrides[level] = inRunning
            inRunning *= sizes[level]
            if !reduced[level] { outStrides[level] = outRunning; outRunning *= sizes[level] }
        }
        let outCount = outRunning
        let x = source.pointer, y = out.pointer

        /// Adds the block at `level` (input offset `i`, output offset `o`) into `dst`.
        func walk(_ level: Int, _ i: Int, _ o: Int, _ dst: UnsafeMutablePointer<Float>) {
            if level == levels - 1 {
                if reduced[level] { dst[o] += VectorLoops.sum(x + i, sizes[level]) }
                else { VectorLoops.add(x + i, into: dst + o, sizes[level]) }
                return
            }
            for k in 0 ..< sizes[level] { walk(level + 1, i + k * inStrides[level], o + k * outStrides[level], dst) }
        }

        if !reduced[0] {
            // Outermost axis kept: its slices write disjoint outputs.
            Parallel.forRange(sizes[0], minPerThread: Swift.max(1, (1 << 15) / Swift.max(inStrides[0], 1))) { range in
                for k in range { walk(1, k * inStrides[0], k * outStrides[0], y) }
            }
        } else {
            // Outermost axis reduced: each thread sums its slices into a private output, then add up.
            let chunks = Swift.max(1, Swift.min(Parallel.threadCount, sizes[0], source.count / (1 << 15)))
            let partials = chunks > 1 ? UnsafeMutablePointer<Float>.allocate(capacity: (chunks - 1) * outCount) : nil
            partials?.initialize(repeating: 0, count: (chunks - 1) * outCount)
            defer { partials?.deallocate() }
            Parallel.forEach(chunks) { chunk in
                let dst = chunk == 0 ? y : partials! + (chunk - 1) * outCount
                let lo = chunk * sizes[0] / chunks, hi = (chunk + 1) * sizes[0] / chunks
                if levels == 1 {
                    dst[0] += VectorLoops.sum(x + lo, hi - lo)
                } else {
                    for k in lo ..< hi { walk(1, k * inStrides[0], 0, dst) }
                }
            }
            if let partials {
                for chunk in 0 ..< chunks - 1 { VectorLoops.add(partials + chunk * outCount, into: y, outCount) }
            }
        }
        withExtendedLifetime(source) {}
        return out
    }
}
