import DiffuseNN
import DiffuseTensor

/// The single-head self-attention over pixels in the VAE's mid block (diffusers' `Attention` with
/// `group_norm`, `residual_connection`, biases). Keys: `group_norm`, `to_q`, `to_k`, `to_v`, `to_out.0`.
public final class VAEAttention: Module {
    public static let keyOverrides = ["toOut": "to_out.0"]
    public let groupNorm: GroupNorm
    public let toQ: Linear
    public let toK: Linear
    public let toV: Linear
    public let toOut: Linear

    public init(channels: Int, groups: Int, epsilon: Float) {
        groupNorm = GroupNorm(groups: groups, channels: channels, epsilon: epsilon)
        toQ = Linear(channels, channels)
        toK = Linear(channels, channels)
        toV = Linear(channels, channels)
        toOut = Linear(channels, channels)
    }

    /// `x`: `[B, C, H, W]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let tokens = groupNorm(x).reshaped(b, c, h * w).transposed(1, 2).contiguous()  // [B, HW, C]
        func head(_ t: Tensor) -> Tensor { t.unsqueezed(1) }  // [B, 1, HW, C]
        let attended = Attention.scaledDotProduct(query: head(toQ(tokens)), key: head(toK(tokens)), value: head(toV(tokens)))
        let out = toOut(attended.squeezed(1))  // [B, HW, C]
        return out.transposed(1, 2).reshaped(b, c, h, w) + x
    }
}
