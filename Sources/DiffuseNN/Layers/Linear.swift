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

    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.linear(weight: weight.value, bias: bias?.value)
    }
}
