import DiffuseAutograd
import DiffuseTensor

/// A lookup table `[count, dimension]`: ids → rows.
public final class Embedding: Module {
    public let weight: Parameter

    public init(_ count: Int, _ dimension: Int) {
        weight = Parameter(shape: [count, dimension])
    }

    /// `[ids.count, dimension]`.
    public func callAsFunction(_ ids: [Int]) -> Tensor { weight.value.embedding(ids) }

    /// `[ids.count, dimension]` as `type` (`Variable` to train the table).
    @inlinable
    public func callAsFunction<T: TensorValue>(_ ids: [Int], as type: T.Type) -> T { T.lift(weight).embedding(ids) }
}
