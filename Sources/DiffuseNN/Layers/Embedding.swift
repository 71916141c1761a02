import DiffuseTensor

/// A lookup table `[count, dimension]`: ids → rows.
public final class Embedding: Module {
    public let weight: Parameter

    public init(_ count: Int, _ dimension: Int) {
        weight = Parameter(shape: [count, dimension])
    }

    /// `[ids.count, dimension]`.
    public func callAsFunction(_ ids: [Int]) -> Tensor { weight.value.embedding(ids) }
}
