import DiffuseAutograd
import DiffuseNN
import DiffuseTensor

/// diffusers' `TimestepEmbedding`: `linear_2(SiLU(linear_1(x)))`.
public final class TimestepEmbedding: Module {
    public static let keyOverrides = ["linear1": "linear_1", "linear2": "linear_2"]
    public let linear1: Linear
    public let linear2: Linear

    public init(inChannels: Int, dim: Int) {
        linear1 = Linear(inChannels, dim)
        linear2 = Linear(dim, dim)
    }

    /// On `Tensor`s (inference) or `Variable`s (training).
    public func callAsFunction<T: TensorValue>(_ x: T) -> T { linear2(linear1(x).silu()) }
}
