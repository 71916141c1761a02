import DiffuseFormats
import DiffuseModels
import DiffuseSchedulers
import DiffuseTensor

/// The component between a UNet's samples and images: it decodes the denoised samples into an
/// image and encodes init images into samples (image-to-image, inpainting). Latent models use an
/// autoencoder (`AutoencoderKLDecoder`); pixel-space models a `PixelDecoder`.
public protocol LatentDecoder: AnyObject {
    /// Image pixels per sample pixel along each side (8 for Stable Diffusion's VAE).
    var scaleFactor: Int { get }
    /// Channels of the samples it decodes; nil when it takes whatever the UNet predicts.
    var latentChannels: Int? { get }
    /// Samples as the UNet sees them, `[B, C, h, w]` → images `[B, 3, h·f, w·f]` in about [-1, 1].
    func decode(_ samples: Tensor) -> Tensor
    /// Images `[B, 3, H, W]` in [-1, 1] → samples as the UNet sees them; an autoencoder draws its
    /// latent sample's noise from `random` (diffusers' `retrieve_latents`, sample mode).
    /// - Throws: `PipelineError` when this decoder cannot encode (a decoder loaded without its encoder).
    func encode(_ images: Tensor, random: inout any RandomSource) throws -> Tensor
    /// A cheap picture of sample `index` of `samples`, for live previews.
    func preview(_ samples: Tensor, index: Int) throws -> PNGImage
}

/// Stable Diffusion's KL autoencoder as a `LatentDecoder`: samples are the VAE's latents times its
/// `scaling_factor`; optionally decoded tile by tile.
public final class AutoencoderKLDecoder: LatentDecoder {
    public let vae: AutoencoderKL
    /// Decode latents larger than a tile tile by tile to bound the VAE's memory; nil decodes in one piece.
    public var tiling: TiledDecoding?

    public init(_ vae: AutoencoderKL, tiling: TiledDecoding? = nil) {
        self.vae = vae
        self.tiling = tiling
    }

    public var scaleFactor: Int { vae.config.downscaleFactor }
    public var latentChannels: Int? { vae.config.latentChannels }

    public func decode(_ samples: Tensor) -> Tensor {
        let scaled = samples / vae.config.scalingFactor
        guard let tiling else { return vae.decode(scaled) }
        return tiling.decode(scaled, factor: vae.config.downscaleFactor) { vae.decode($0) }
    }

    public func encode(_ images: Tensor, random: inout any RandomSource) -> Tensor {
        let distribution = vae.encode(images)
        return distribution.sample(noise: random.randn(distribution.mean.shape)) * vae.config.scalingFactor
    }

    /// `LatentPreview`'s fixed linear map of SD's four latent channels to RGB (no decode).
    public func preview(_ samples: Tensor, index: Int) throws -> PNGImage {
        try LatentPreview.image(from: samples, index: index)
    }
}

/// Pixel-space models: the samples are the image, its `patchSize` × `patchSize` pixel blocks
/// folded into channels (`Tensor.spaceToDepth`; 1 = plain RGB).
public final class PixelDecoder: LatentDecoder {
    public let patchSize: Int

    public init(patchSize: Int = 1) {
        precondition(patchSize >= 1, "PixelDecoder: patch size \(patchSize) < 1")
        self.patchSize = patchSize
    }

    public var scaleFactor: Int { patchSize }
    public var latentChannels: Int? { nil }
    public func decode(_ samples: Tensor) -> Tensor { samples.depthToSpace(patchSize) }
    /// The image itself, folded; no random numbers are drawn.
    public func encode(_ images: Tensor, random: inout any RandomSource) -> Tensor { images.spaceToDepth(patchSize) }

    /// The sample's pixels themselves.
    public func preview(_ samples: Tensor, index: Int) throws -> PNGImage {
        guard (0 ..< samples.shape[0]).contains(index) else { throw PipelineError("preview index \(index) is outside 0..<\(samples.shape[0])") }
        return try ImageTensors.images(from: decode(samples.narrowed(axis: 0, start: index, length: 1)))[0]
    }
}
