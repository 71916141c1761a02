import DiffuseNN
import DiffuseTensor

/// diffusers' `AutoencoderTiny`: TAESD, a distilled autoencoder of plain convolutions and ReLUs
/// (~1.2 M parameters per half at the default widths) that encodes images to the latents of a
/// larger VAE and decodes them back. Deterministic: encoding draws no random numbers.
/// Checkpoint keys: `encoder.layers.<i>.…`, `decoder.layers.<i>.…` (the diffusers layout; TAESD's
/// own files load through `TAESDCheckpointKeys`).
public final class AutoencoderTiny: Module {
    public let config: AutoencoderTinyConfig
    public let encoder: EncoderTiny
    public let decoder: DecoderTiny
    /// How `encode` and `decode` compute their 3×3 convolutions (as `AutoencoderKL.convolutionAlgorithm`).
    public var convolutionAlgorithm: OneDNNConvolution.Algorithm = .winograd

    public init(config: AutoencoderTinyConfig) {
        self.config = config
        encoder = EncoderTiny(config)
        decoder = DecoderTiny(config)
    }

    /// Image `[N, 3, H, W]` in [-1, 1] → latents `[N, latent, H/8, W/8]` (diffusers' `encode(x).latents`;
    /// not yet multiplied by `scalingFactor`).
    public func encode(_ image: Tensor) -> Tensor {
        OneDNNConvolution.$algorithm.withValue(convolutionAlgorithm) { encoder(image) }
    }

    /// Latents `[N, latent, h, w]` (already divided by `scalingFactor`) → image `[N, 3, 8h, 8w]` in about
    /// [-1, 1] (diffusers' `decode(z).sample`).
    public func decode(_ latents: Tensor) -> Tensor {
        OneDNNConvolution.$algorithm.withValue(convolutionAlgorithm) { decoder(latents) }
    }

    /// Raw latents → [0, 1] for storing as bytes: `x / (2·latentMagnitude) + latentShift`, clamped (diffusers' `scale_latents`).
    public func scaleLatents(_ latents: Tensor) -> Tensor {
        latents.affine(scale: 1 / (2 * config.latentMagnitude), shift: config.latentShift).clamped(0, 1)
    }

    /// [0, 1] → raw latents: `(x − latentShift) · 2·latentMagnitude` (diffusers' `unscale_latents`).
    public func unscaleLatents(_ scaled: Tensor) -> Tensor {
        (scaled - config.latentShift) * (2 * config.latentMagnitude)
    }
}
