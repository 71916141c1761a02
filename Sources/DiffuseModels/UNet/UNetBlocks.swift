import DiffuseAutograd
import DiffuseNN
import DiffuseTensor

/// An attention block applied to a feature map inside a UNet block: a `Transformer2DModel`
/// (cross-attends to `context`) or a `SpatialSelfAttention` (ignores it).
public protocol FeatureMapAttention: Module {
    /// `x`: `[B, C, H, W]`; `context`: `[B, M, D]` or nil → `[B, C, H, W]`; `Tensor`s or `Variable`s.
    func callAsFunction<T: TensorValue>(_ x: T, context: T?) -> T
}

extension Transformer2DModel: FeatureMapAttention {
    public func callAsFunction<T: TensorValue>(_ x: T, context: T?) -> T {
        guard let context else { preconditionFailure("Transformer2DModel needs encoder hidden states to cross-attend to") }
        return self(x, context: context)
    }
}

extension SpatialSelfAttention: FeatureMapAttention {
    public func callAsFunction<T: TensorValue>(_ x: T, context: T?) -> T { self(x) }
}

/// Runs the resnets and attentions of the UNet blocks, each as one gradient-checkpointed segment
/// when `checkpointing` is set (only `Variable` runs record anything to checkpoint; for `Tensor`
/// it is the plain call). Checkpointed segments take every non-parameter input explicitly.
enum UNetSegments {
    static func resnet<T: TensorValue>(_ resnet: ResnetBlock2D, _ x: T, temb: T, checkpointing: Bool) -> T {
        guard checkpointing else { return resnet(x, temb: temb) }
        return T.checkpointed([x, temb]) { [resnet(($0[0]), temb: $0[1])] }[0]
    }

    static func attention<T: TensorValue>(_ attention: any FeatureMapAttention, _ x: T, context: T?, checkpointing: Bool) -> T {
        guard checkpointing else { return attention(x, context: context) }
        if let context {
            return T.checkpointed([x, context]) { [attention($0[0], context: $0[1])] }[0]
        }
        return T.checkpointed([x]) { [attention($0[0], context: nil)] }[0]
    }
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
    /// `checkpointing`: run each resnet and attention as a gradient checkpoint (training).
    func callAsFunction<T: TensorValue>(_ x: T, temb: T, context: T?, checkpointing: Bool = false) -> (T, [T]) {
        var h = x
        var skips: [T] = []
        for (i, resnet) in resnets.enumerated() {
            h = UNetSegments.resnet(resnet, h, temb: temb, checkpointing: checkpointing)
            if i < attentions.count { h = UNetSegments.attention(attentions[i], h, context: context, checkpointing: checkpointing) }
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

    /// `checkpointing`: run each resnet and attention as a gradient checkpoint (training).
    func callAsFunction<T: TensorValue>(_ x: T, temb: T, context: T?, checkpointing: Bool = false) -> T {
        var h = UNetSegments.resnet(resnets[0], x, temb: temb, checkpointing: checkpointing)
        for (i, resnet) in resnets.dropFirst().enumerated() {
            if i < attentions.count { h = UNetSegments.attention(attentions[i], h, context: context, checkpointing: checkpointing) }
            h = UNetSegments.resnet(resnet, h, temb: temb, checkpointing: checkpointing)
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
    /// `checkpointing`: run each resnet and attention as a gradient checkpoint (training).
    func callAsFunction<T: TensorValue>(_ x: T, skips: [T], temb: T, context: T?, upsampleSize: (Int, Int)?,
                                        checkpointing: Bool = false) -> T {
        var h = x
        var remaining = skips
        for (i, resnet) in resnets.enumerated() {
            let skip = remaining.removeLast()
            h = UNetSegments.resnet(resnet, T.concatenate([h, skip], axis: 1), temb: temb, checkpointing: checkpointing)
            if i < attentions.count { h = UNetSegments.attention(attentions[i], h, context: context, checkpointing: checkpointing) }
        }
        for up in upsamplers { h = up(h, size: upsampleSize) }
        return h
    }
}
