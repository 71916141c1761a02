import DiffuseTensor

/// Allocating gradients in the memory order of the tensors they belong to.
enum TensorLayout {
    /// A new zero-filled tensor of `like`'s shape whose axes are laid out in the same order as
    /// `like`'s (largest stride outermost), except that the last axis is always innermost. So the
    /// gradient of a `[B, H, N, D]` head view of a `[B, N, H·D]` projection is itself such a view,
    /// and flows back through the permutation and reshape without a copy.
    static func zerosLike(_ like: Tensor) -> Tensor {
        let rank = like.rank
        guard rank > 1 else { return Tensor.zeros(like.shape) }
        let outer = (0 ..< rank - 1).sorted { a, b in
            like.strides[a] != like.strides[b] ? like.strides[a] > like.strides[b] : a < b
        }
        let order = outer + [rank - 1]
        let storage = Tensor.zeros(order.map { like.shape[$0] })
        var inverse = [Int](repeating: 0, count: rank)
        for (i, axis) in order.enumerated() { inverse[axis] = i }
        return storage.permuted(inverse)
    }
}
