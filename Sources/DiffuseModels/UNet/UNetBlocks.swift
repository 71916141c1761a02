import DiffuseNN
import DiffuseTensor

/// A down block of `UNet2DConditionModel`: `CrossAttnDownBlock2D` (resnets interleaved with
/// transformers) or `DownBlock2D` (`attentions` empty), then an optional downsampler.
public final class UNetDownBlock: Module {
    public let resnets: [ResnetBlock2D]
    public let attentions: [Transformer2DModel]
    public let downsamplers: [Downsample2D]

    init(resnets: [ResnetBlock2D], attentions: [Transformer2DModel], downsampler: Downsample2D?) {
        self.resnets = resnets
        self.attentions = attentions
        self.downsamplers = downsampler.map { [$0] } ?? []
    }

    /// Returns the block output and the skip connections it adds (one per resnet, plus the downsampled output).
    func callAsFunction(_ x: Tensor, temb: Tensor, context: Tensor) -> (Tensor, [Tensor]) {
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

/// `UNetMidBlock2DCrossAttn`: resnet, then (transformer, resnet) per layer.
public final class UNetMidBlock: Module {
    public let resnets: [ResnetBlock2D]
    public let attentions: [Transformer2DModel]

    init(resnets: [ResnetBlock2D], attentions: [Transformer2DModel]) {
        self.resnets = resnets
        self.attentions = attentions
    }

    func callAsFunction(_ x: Tensor, temb: Tensor, context: Tensor) -> Tensor {
        var h = resnets[0](x, temb: temb)
        for (attention, resnet) in zip(attentions, resnets.dropFirst()) {
            h = resnet(attention(h, context: context), temb: temb)
        }
        return h
    }
}

/// An up block: `CrossAttnUpBlock2D` or `UpBlock2D`: each resnet takes the running features
/// concatenated with the matching skip connection, then an optional upsampler.
public final class UNetUpBlock: Module {
    public let resnets: [ResnetBlock2D]
    public let attentions: [Transformer2DModel]
    public let upsamplers: [Upsample2D]

    init(resnets: [ResnetBlock2D], attentions: [Transformer2DModel], upsampler: Upsample2D?) {
        self.resnets = resnets
        self.attentions = attentions
        self.upsamplers = upsampler.map { [$0] } ?? []
    }

    /// `skips`: this block's skip connections, the last one first to be used.
    func callAsFunction(_ x: Tensor, skips: [Tensor], temb: Tensor, context: Tensor, upsampleSize: (Int, Int)?) -> Tensor {
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
