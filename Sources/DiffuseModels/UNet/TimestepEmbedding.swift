import DiffuseAutograd
import DiffuseNN
import DiffuseTensor

/// diffusers' `TimestepEmbedding`: `linear_2(SiLU(linear_1(x + cond_proj(condition))))`, the
/// condition term only for models with a `cond_proj` (`conditionDim`).
public final class TimestepEmbedding: Module {
    public static let keyOverrides = ["linear1": "linear_1", "linear2": "linear_2", "conditionProjection": "cond_proj"]
    public let linear1: Linear
    public let linear2: Linear
    /// Projects a `[B, conditionDim]` condition onto the input, without bias; nil without one.
    public let conditionProjection: Linear?

    public init(inChannels: Int, dim: Int, conditionDim: Int? = nil) {
        linear1 = Linear(inChannels, dim)
        linear2 = Linear(dim, dim)
        conditionProjection = conditionDim.map { Linear($0, inChannels, bias: false) }
    }

    /// On `Tensor`s (inference) or `Variable`s (training); `condition` is added through
    /// `conditionProjection` when both are there.
    public func callAsFunction<T: TensorValue>(_ x: T, condition: T? = nil) -> T {
        var input = x
        if let condition, let conditionProjection { input = input + conditionProjection(condition) }
        return linear2(linear1(input).silu())
    }
}
