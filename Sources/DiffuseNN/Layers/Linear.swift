import DiffuseAutograd
import DiffuseTensor

/// y = x·Wᵀ + b over the last axis: `[…, inFeatures] → […, outFeatures]`.
/// Checkpoint keys: `weight` `[out, in]`, `bias` `[out]`.
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        weight = Parameter(shape: [outFeatures, inFeatures])
        self.bias = bias ? Parameter(shape: [outFeatures]) : nil
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// On `Tensor`s (inference) or `Variable`s (training).
    @inlinable
    public func callAsFunction<T: TensorValue>(_ x: T) -> T {
        x.linear(weight: T.lift(weight), bias: bias.map { T.lift($0) })
    }
}
