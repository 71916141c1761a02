import DiffuseTensor

/// `Tensor` is the inference value type: parameters are read as their values, nothing is
/// recorded, and `checkpointed` just runs the block. Every other requirement is `Tensor`'s own method.
extension Tensor: TensorValue {
    @inlinable public static func constant(_ value: Tensor) -> Tensor { value }

    @inlinable public static func lift(_ value: Tensor, leaf: Variable?) -> Tensor { value }

    @inlinable public static func lift(frozen value: Tensor, reread: @escaping () -> Tensor) -> Tensor { value }

    @inlinable public static func checkpointed(_ inputs: [Tensor], _ body: @escaping ([Tensor]) -> [Tensor]) -> [Tensor] {
        body(inputs)
    }

    @inlinable public static func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, scale: Float?,
                                                           causal: Bool, mask: Tensor?) -> Tensor {
        Attention.scaledDotProduct(query: query, key: key, value: value, scale: scale, causal: causal, mask: mask)
    }
}
