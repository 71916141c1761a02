import DiffuseAutograd
import DiffuseNN
import DiffuseTensor

/// diffusers' `FeedForward` with GEGLU: `net.2(GEGLU(net.0.proj(x)))`, inner size 4·dim.
public final class FeedForward: Module {
    public static let keyOverrides = ["projIn": "net.0.proj", "projOut": "net.2"]
    public let projIn: Linear
    public let projOut: Linear

    public init(dim: Int, multiplier: Int = 4) {
        projIn = Linear(dim, dim * multiplier * 2)
        projOut = Linear(dim * multiplier, dim)
    }

    /// On `Tensor`s (inference) or `Variable`s (training).
    public func callAsFunction<T: TensorValue>(_ x: T) -> T { projOut(projIn(x).geglu()) }
}

/// diffusers' `BasicTransformerBlock` (layer norms): self-attention, cross-attention, feed-forward, each residual.
public final class BasicTransformerBlock: Module {
    public let norm1: LayerNorm
    public let attn1: CrossAttention
    public let norm2: LayerNorm
    public let attn2: CrossAttention
    public let norm3: LayerNorm
    public let ff: FeedForward

    public init(dim: Int, heads: Int, headDim: Int, contextDim: Int) {
        norm1 = LayerNorm(dim)
        attn1 = CrossAttention(queryDim: dim, heads: heads, headDim: headDim)
        norm2 = LayerNorm(dim)
        attn2 = CrossAttention(queryDim: dim, contextDim: contextDim, heads: heads, headDim: headDim)
        norm3 = LayerNorm(dim)
        ff = FeedForward(dim: dim)
    }

    /// `x`: `[B, N, dim]`; `context`: `[B, M, contextDim]`; `Tensor`s or `Variable`s.
    public func callAsFunction<T: TensorValue>(_ x: T, context: T) -> T {
        var h = attn1(norm1(x)) + x
        h = attn2(norm2(h), context: context) + h
        return ff(norm3(h)) + h
    }
}

/// diffusers' `Transformer2DModel` for continuous (image) input: group norm, projection in
/// (1×1 conv, or linear when `useLinearProjection`), transformer blocks over the H·W pixels, projection out, residual.
public final class Transformer2DModel: Module {
    public let norm: GroupNorm
    public let projIn: Module
    public let transformerBlocks: [BasicTransformerBlock]
    public let projOut: Module
    public let useLinearProjection: Bool

    public init(channels: Int, heads: Int, headDim: Int, contextDim: Int, layers: Int, groups: Int, useLinearProjection: Bool) {
        let inner = heads * headDim
        norm = GroupNorm(groups: groups, channels: channels, epsilon: 1e-6)
        self.useLinearProjection = useLinearProjection
        if useLinearProjection {
            projIn = Linear(channels, inner)
            projOut = Linear(inner, channels)
        } else {
            projIn = Conv2d(channels, inner, kernel: 1)
            projOut = Conv2d(inner, channels, kernel: 1)
        }
        transformerBlocks = (0 ..< layers).map { _ in BasicTransformerBlock(dim: inner, heads: heads, headDim: headDim, contextDim: contextDim) }
    }

    /// `x`: `[B, C, H, W]`; `context`: `[B, M, contextDim]`; `Tensor`s or `Variable`s.
    public func callAsFunction<T: TensorValue>(_ x: T, context: T) -> T {
        let (b, c, hgt, wid) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var h = norm(x)
        if let conv = projIn as? Conv2d {
            h = conv(h)
            h = h.permuted(0, 2, 3, 1).reshaped(b, hgt * wid, h.shape[1])
        } else if let linear = projIn as? Linear {
            h = linear(h.permuted(0, 2, 3, 1).reshaped(b, hgt * wid, c))
        }
        for block in transformerBlocks { h = block(h, context: context) }
        let inner = h.shape[2]
        if let linear = projOut as? Linear {
            h = linear(h).reshaped(b, hgt, wid, c).permuted(0, 3, 1, 2)
        } else if let conv = projOut as? Conv2d {
            h = conv(h.reshaped(b, hgt, wid, inner).permuted(0, 3, 1, 2).contiguous())
        }
        return h + x
    }
}
