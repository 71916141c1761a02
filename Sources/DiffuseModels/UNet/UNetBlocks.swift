import DiffuseNN
import DiffuseTensor

/// An attention block applied to a feature map inside a UNet block: a `Transformer2DModel`
/// (cross-attends to `context`) or a `SpatialSelfAttention` (ignores it).
public protocol FeatureMapAttention: Module {
    /// `x`: `[B, C, H, W]`; `context`: `[B, M, D]` or nil → `[B, C, H, W]`.
    func callAsFunction(_ x: Tensor, context: Tensor?) -> Tensor
}

extension Transformer2DModel: FeatureMapAttention {
    public func callAsFunction(_ x: Tensor, context: Tensor?) -> Tensor {
        guard let context else { preconditionFailure("Transformer2DModel needs encoder hidden states to cross-attend to") }
        return self(x, context: context)
    }
}

extension SpatialSelfAttention: FeatureMapAttention {
    public func callAsFunction(_ x: Tensor, context: Tensor?) -> Tensor { self(x) }
}

/// A down block of `UNet2DConditionModel`: `CrossAttnDownBlock2D` (resnets interleaved with
/// transformers) or `DownBlock2D` (`attentions` empty), then an optional downsampler.
public final class UNetDownBlock: Module {
    public let resnets: [ResnetBlock2D]
    public let attentions: [any FeatureMapAttention]
    public let downsamplers: [Downsample2D]

    init(resnets: [ResnetBlock2D], attentions: [any FeatureMapAttention], downsampler: Downsample2D?) {
        self.resnets = resnets
        self.attentions = attentions
        self.downsamplers = downsampler.map { [$0] } ?? []
    }

    /// Returns the block output and the skip connections it adds (one per resnet, plus the downsampled output).
    func callAsFunction(_ x: Tensor, temb: Tensor, context: Tensor?) -> (Tensor, [Tensor]) {
        var h = x
        var skips: [Tensor] = []
        for (i, resnet) in resnets.enumerated() {
            h = resnet(h, temb: temb)
            if i < attentions.count { h = attentions[i](h, context: context) }
            skips.append(h)
        }
        for down in downsamplers {
            h = down(h)
            skips.append(h)
        }
        return (h, skips)
    }
}

/// `UNetMidBlock2DCrossAttn` / `UNetMidBlock2D`: resnet, then (attention, resnet) per layer
/// (resnets only when the block has no attention).
public final class UNetMidBlock: Module {
    public let resnets: [ResnetBlock2D]
    public let attentions: [any FeatureMapAttention]

    init(resnets: [ResnetBlock2D], attentions: [any FeatureMapAttention]) {
        self.resnets = resnets
        self.attentions = attentions
    }

    func callAsFunction(_ x: Tensor, temb: Tensor, context: Tensor?) -> Tensor {
        var h = resnets[0](x, temb: temb)
        for (i, resnet) in resnets.dropFirst().enumerated() {
            if i < attentions.count { h = attentions[i](h, context: context) }
            h = resnet(h, temb: temb)
        }
        return h
    }
}

/// An up block: `CrossAttnUpBlock2D` or `UpBlock2D`: each resnet takes the running features
/// concatenated with the matching skip connection, then an optional upsampler.
public final class UNetUpBlock: Module {
    public let resnets: [ResnetBlock2D]
    public let attentions: [any FeatureMapAttention]
    public let upsamplers: [Upsample2D]

    init(resnets: [ResnetBlock2D], attentions: [any FeatureMapAttention], upsampler: Upsample2D?) {
        self.resnets = resnets
        self.attentions = attentions
        self.upsamplers = upsampler.map { [$0] } ?? []
    }

    /// `skips`: this block's skip connections, the last one first to be used.
    func callAsFunction(_ x: Tensor, skips: [Tensor], temb: Tensor, context: Tensor?, upsampleSize: (Int, Int)?) -> Tensor {
        var h = x
        var remaining = skips
        for (i, resnet) in resnets.enumerated() {
            let skip = remaining.removeLast()
            h = resnet(Tensor.concatenate([h, skip], axis: 1), temb: temb)
            if i < attentions.count { h = attentions[i](h, context: context) }
        }
        for up in upsamplers { h = up(h, size: upsampleSize) }
        return h
    }
}
