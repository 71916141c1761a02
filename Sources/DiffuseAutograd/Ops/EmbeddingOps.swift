import DiffuseTensor

/// Table lookups.
extension Variable {
    /// Rows of `self` (`[vocabulary, dim]`) for each id: `[ids.count, dim]`. The gradient is scattered
    /// (added, for repeated ids) into a dense `[vocabulary, dim]` table gradient; nothing is saved
    /// but the ids.
    public func embedding(_ ids: [Int]) -> Variable {
        let vocabulary = shape[0], dim = shape[1]
        return Variable.recordOperation("embedding", inputs: [self], output: value.embedding(ids)) { g, _ in
            [EmbeddingBackward.tableGradient(g, ids: ids, vocabulary: vocabulary, dim: dim)]
        }
    }
}

enum EmbeddingBackward {
    /// `table[ids[r]] += gradient[r]` into a zero `[vocabulary, dim]` table; columns are split over the cores.
    static func tableGradient(_ gradient: Tensor, ids: [Int], vocabulary: Int, dim: Int) -> Tensor {
        let g = gradient.contiguous()
        let out = Tensor(shape: [vocabulary, dim], repeating: 0)
        let gp = g.pointer, tp = out.pointer
        ids.withUnsafeBufferPointer { idp in
            Parallel.forRange(dim, minPerThread: Swift.max(8, (1 << 15) / Swift.max(ids.count, 1))) { columns in
                for (row, id) in idp.enumerated() {
                    VectorLoops.add(gp + row * dim + columns.lowerBound, into: tp + id * dim + columns.lowerBound, columns.count)
                }
            }
        }
        withExtendedLifetime(g) {}
        return out
    }
}
