import DiffuseAutograd
import DiffuseTensor

/// GroupNorm over `[N, C, …]` with per-channel `weight` and `bias` (`[C]`).
public final class GroupNorm: Module {
    public let weight: Parameter?
    public let bias: Parameter?
    public let groups: Int
    public let epsilon: Float

    public init(groups: Int, channels: Int, epsilon: Float = 1e-5, affine: Bool = true) {
        precondition(channels % groups == 0, "GroupNorm: \(channels) channels do not split into \(groups) groups")
        self.groups = groups
        self.epsilon = epsilon
        weight = affine ? Parameter(shape: [channels]) : nil
        bias = affine ? Parameter(shape: [channels]) : nil
    }

    /// Normalizes `x` (`Tensor` or `Variable`); `silu: true` applies SiLU to the result in the same pass.
    @inlinable
    public func callAsFunction<T: TensorValue>(_ x: T, silu: Bool = false) -> T {
        x.groupNorm(groups: groups, weight: weight.map { T.lift($0) }, bias: bias.map { T.lift($0) }, epsilon: epsilon, silu: silu)
    }
}

/// LayerNorm over the last axis with `weight` and `bias` of that size.
public final class LayerNorm: Module {
    public let weight: Parameter?
    public let bias: Parameter?
    public let epsilon: Float

    public init(_ dimension: Int, epsilon: Float = 1e-5, affine: Bool = true) {
        self.epsilon = epsilon
        weight = affine ? Parameter(shape: [dimension]) : nil
        bias = affine ? Parameter(shape: [dimension]) : nil
    }

    /// Normalizes `x` (`Tensor` or `Variable`) over its last axis.
    @inlinable
    public func callAsFunction<T: TensorValue>(_ x: T) -> T {
        x.layerNorm(weight: weight.map { T.lift($0) }, bias: bias.map { T.lift($0) }, epsilon: epsilon)
    }
}
