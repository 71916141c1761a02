import DiffuseNN
import DiffuseTensor

/// diffusers' `DecoderTiny` (TAESD's `Decoder`): latents soft-clamped to (-3, 3) by `tanh(x/3)·3`,
/// a 3×3 convolution and the activation, then per stage its blocks, a nearest upsampling (all but
/// the last stage) and a 3×3 convolution (without bias, except the last, which gives the image's
/// channels). Latents `[N, latent, h, w]` → image `[N, 3, 8h, 8w]` for TAESD, mapped from TAESD's
/// [0, 1] to about [-1, 1] (`2x − 1`, not clamped).
/// Checkpoint keys: `layers.<i>.…`, the indices of diffusers' `nn.Sequential`; TAESD's
/// `taesd_decoder` files number the same layers one higher (their index 0 is the clamp).
public final class DecoderTiny: Module {
    public let layers: [any TinyLayer]

    public init(_ config: AutoencoderTinyConfig) {
        let widths = config.decoderBlockOutChannels
        var layers: [any TinyLayer] = [
            Conv2d(config.latentChannels, widths[0], kernel: 3, padding: 1),
            TinyActivation(config.activation),
        ]
        for (i, count) in config.numDecoderBlocks.enumerated() {
            let last = i == widths.count - 1
            for _ in 0 ..< count {
                layers.append(AutoencoderTinyBlock(inChannels: widths[i], outChannels: widths[i], activation: config.activation))
            }
            if !last { layers.append(TinyUpsample(factor: config.upsamplingScalingFactor)) }
            layers.append(Conv2d(widths[i], last ? config.outChannels : widths[i], kernel: 3, padding: 1, bias: last))
        }
        self.layers = layers
    }

    /// Latents `[N, latent, h, w]` → image `[N, out, h·f, w·f]` in about [-1, 1].
    public func callAsFunction(_ latents: Tensor) -> Tensor {
        var h = (latents * (1 / Float(3))).tanh() * 3
        for (i, layer) in layers.enumerated() {
            // Each upsampling makes the buffers the pool keeps for the smaller sizes useless (as in VAEDecoder).
            if layer is TinyUpsample { BufferPool.trim() }
            if let activation = layer as? TinyActivation, activation.kind == .relu, i > 0, layers[i - 1] is Conv2d {
                h = TinyReLUInPlace.relu(h)  // the first convolution's fresh output
            } else {
                h = layer.forward(h)
            }
        }
        return h.affine(scale: 2, shift: -1)
    }
}
