import DiffuseNN
import DiffuseTensor

/// diffusers' `EncoderTiny` (TAESD's `Encoder`): per stage a 3×3 convolution (the first from the
/// image's channels; the others stride 2 without bias, halving H and W) and its blocks, then a
/// 3×3 convolution to the latent channels. Image `[N, 3, H, W]` in [-1, 1] → latents
/// `[N, latent, H/8, W/8]` for TAESD (raw: not clamped, not scaled).
/// Checkpoint keys: `layers.<i>.…`, the indices of diffusers' `nn.Sequential` (and of TAESD's
/// `taesd_encoder` files without the `layers.` prefix).
public final class EncoderTiny: Module {
    public let layers: [any TinyLayer]

    public init(_ config: AutoencoderTinyConfig) {
        var layers: [any TinyLayer] = []
        for (i, count) in config.numEncoderBlocks.enumerated() {
            let channels = config.encoderBlockOutChannels[i]
            if i == 0 {
                layers.append(Conv2d(config.inChannels, channels, kernel: 3, padding: 1))
            } else {
                layers.append(Conv2d(channels, channels, kernel: 3, stride: 2, padding: 1, bias: false))
            }
            for _ in 0 ..< count {
                layers.append(AutoencoderTinyBlock(inChannels: channels, outChannels: channels, activation: config.activation))
            }
        }
        layers.append(Conv2d(config.encoderBlockOutChannels[config.encoderBlockOutChannels.count - 1], config.latentChannels,
                             kernel: 3, padding: 1))
        self.layers = layers
    }

    /// Image `[N, C, H, W]` in [-1, 1] → latents; the image is first mapped to [0, 1] (`(x + 1) / 2`, TAESD's range).
    public func callAsFunction(_ image: Tensor) -> Tensor {
        var h = image.affine(scale: 0.5, shift: 0.5)
        for layer in layers { h = layer.forward(h) }
        return h
    }
}
