import DiffuseTensor

/// `Variable` is the training value type: parameters are read as their trainable leaves, and
/// `checkpointed` is a gradient `checkpoint`. Every other requirement is `Variable`'s own method.
extension Variable: TensorValue {
    public static func constant(_ value: Tensor) -> Variable { Variable(value) }

    public static func lift(_ value: Tensor, leaf: Variable?) -> Variable { leaf ?? Variable(value) }

    public static func lift(frozen value: Tensor, reread: @escaping () -> Tensor) -> Variable { Variable(value, rereading: reread) }

    public static func checkpointed(_ inputs: [Variable], _ body: @escaping ([Variable]) -> [Variable]) -> [Variable] {
        checkpoint(inputs, body)
    }

    public static func scaledDotProductAttention(query: Variable, key: Variable, value: Variable, scale: Float?,
                                                 causal: Bool, mask: Tensor?) -> Variable {
        Attention.scaledDotProduct(query: query, key: key, value: value, scale: scale, causal: causal, mask: mask)
    }
}
