import DiffuseAutograd
import DiffuseNN
import DiffuseTensor

/// Self-attention over the pixels of a feature map, as in the VAE's mid block and UNet2DModel's
/// attention blocks (diffusers' `Attention` with `group_norm`, `residual_connection`, biases):
/// `x + to_out(attention(group_norm(x)))`. Keys: `group_norm`, `to_q`, `to_k`, `to_v`, `to_out.0`.
public final class SpatialSelfAttention: Module {
    public static let keyOverrides = ["toOut": "to_out.0"]
    public let groupNorm: GroupNorm
    public let toQ: Linear
    public let toK: Linear
    public let toV: Linear
    public let toOut: Linear

    public let heads: Int

    /// - Parameter heads: channels are split into this many heads (1 in the VAE).
    public init(channels: Int, heads: Int = 1, groups: Int, epsilon: Float) {
        precondition(channels % heads == 0, "SpatialSelfAttention: \(channels) channels do not split into \(heads) heads")
        self.heads = heads
        groupNorm = GroupNorm(groups: groups, channels: channels, epsilon: epsilon)
        toQ = Linear(channels, channels)
        toK = Linear(channels, channels)
        toV = Linear(channels, channels)
        toOut = Linear(channels, channels)
    }

    /// `x`: `[B, C, H, W]`, as `Tensor`s (inference) or `Variable`s (training).
    public func callAsFunction<T: TensorValue>(_ x: T) -> T {
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let n = h * w, d = c / heads
        let tokens = groupNorm(x).reshaped(b, c, n).transposed(1, 2).contiguous()  // [B, HW, C]
        func split(_ t: T) -> T { t.reshaped(b, n, heads, d).permuted(0, 2, 1, 3) }  // [B, H, HW, d]
        let attended = T.scaledDotProductAttention(query: split(toQ(tokens)), key: split(toK(tokens)), value: split(toV(tokens)),
                                                   scale: nil, causal: false, mask: nil)
        let out = toOut(attended.permuted(0, 2, 1, 3).reshaped(b, n, c))  // [B, HW, C]
        return out.transposed(1, 2).reshaped(b, c, h, w) + x
    }
}
