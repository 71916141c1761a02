import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseSchedulers
import DiffuseTensor
import Foundation

/// TAESD (diffusers' `AutoencoderTiny`) as a `LatentDecoder`, in place of Stable Diffusion's KL
/// VAE: samples are the tiny autoencoder's latents times its `scaling_factor` (1 for TAESD, so the
/// UNet's samples go in unchanged), as diffusers' pipelines use it with `pipe.vae = AutoencoderTiny`.
/// Encoding is deterministic (diffusers' `retrieve_latents` returns `.latents`): it draws no random numbers.
public final class AutoencoderTinyDecoder: LatentDecoder {
    public let vae: AutoencoderTiny
    /// Where the weights came from (for messages).
    public let source: String
    /// The encoder file that was not there when only a decoder was loaded (TAESD's own layout); nil when the encoder is loaded.
    public let missingEncoder: String?

    public init(_ vae: AutoencoderTiny, source: String, missingEncoder: String? = nil) {
        self.vae = vae
        self.source = source
        self.missingEncoder = missingEncoder
    }

    /// The decoder's upsampling: 8 for TAESD (3 nearest ×2 upsamplings).
    public var scaleFactor: Int { vae.config.upscaleFactor }
    public var latentChannels: Int? { vae.config.latentChannels }

    /// Throws unless `shape` is `[B, latentChannels, h, w]` with B, h, w ≥ 1.
    public func checkSamples(_ shape: [Int]) throws {
        guard shape.count == 4, shape[0] >= 1, shape[2] >= 1, shape[3] >= 1 else {
            throw PipelineError("\(source): the tiny autoencoder decodes [batch, \(vae.config.latentChannels), height, width] samples, not \(shape)")
        }
        guard shape[1] == vae.config.latentChannels else {
            throw PipelineError("\(source): the tiny autoencoder decodes \(vae.config.latentChannels)-channel latents, the samples have \(shape[1]) channels")
        }
    }

    /// Samples `[B, latent, h, w]` → images `[B, 3, 8h, 8w]` in about [-1, 1]: `vae.decode(samples / scalingFactor)`.
    /// The shape must fit (`checkSamples`; `decodeChecked` checks it).
    public func decode(_ samples: Tensor) -> Tensor {
        let scaling = vae.config.scalingFactor
        return vae.decode(scaling == 1 ? samples : samples / scaling)
    }

    /// `decode` after `checkSamples`.
    public func decodeChecked(_ samples: Tensor) throws -> Tensor {
        try checkSamples(samples.shape)
        return decode(samples)
    }

    /// Throws when only a decoder file was loaded, naming the encoder file that was not there.
    public func requireEncoder() throws {
        if let missingEncoder {
            throw PipelineError("\(source): image-to-image needs the tiny autoencoder's encoder, and \(missingEncoder) is missing")
        }
    }

    /// Images `[B, 3, H, W]` in [-1, 1] → samples `[B, latent, H/8, W/8]`: the encoder's latents times `scalingFactor`.
    public func encodeChecked(_ images: Tensor) throws -> Tensor {
        try requireEncoder()
        guard images.rank == 4, images.shape[1] == vae.config.inChannels else {
            throw PipelineError("\(source): the tiny autoencoder encodes [batch, \(vae.config.inChannels), height, width] images, not \(images.shape)")
        }
        return vae.encode(images) * vae.config.scalingFactor
    }

    /// `encodeChecked`; draws nothing from `random` (TAESD's encoder is deterministic, as diffusers'
    /// `retrieve_latents` on an `AutoencoderTinyOutput`). Throws for a decoder loaded without its encoder.
    public func encode(_ images: Tensor, random: inout any RandomSource) throws -> Tensor {
        try encodeChecked(images)
    }

    /// Sample `index` decoded alone (the tiny decoder is cheap enough for live previews).
    public func preview(_ samples: Tensor, index: Int) throws -> PNGImage {
        try checkSamples(samples.shape)
        guard (0 ..< samples.shape[0]).contains(index) else { throw PipelineError("preview index \(index) is outside 0..<\(samples.shape[0])") }
        return try ImageTensors.images(from: decode(samples.narrowed(axis: 0, start: index, length: 1)))[0]
    }

    /// Loads TAESD from `url`, which is one of:
    /// - a diffusers `AutoencoderTiny` folder (`config.json` + `diffusion_pytorch_model.safetensors`);
    /// - a folder with TAESD's own files (`taesd_decoder.safetensors` and `taesd_encoder.safetensors`,
    ///   or another single `<name>_decoder.safetensors` with its `<name>_encoder.safetensors`);
    /// - a `<name>_decoder.safetensors` file, with the `<name>_encoder.safetensors` beside it when there is one.
    /// Without an encoder file the decoder works and `requireEncoder()` names the missing file.
    /// Convolution weights are packed for inference.
    /// - Throws: a one-line error naming the path, file or key at fault.
    public static func load(from url: URL, precision: WeightPrecision = .float32) throws -> AutoencoderTinyDecoder {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw PipelineError("\(url.path) does not exist (expected a TAESD folder or a taesd_decoder.safetensors)")
        }
        let decoderURL: URL
        if isDirectory.boolValue {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) {
                let vae = try AutoencoderTiny.load(diffusersFolder: url, precision: precision)
                vae.packConvolutionWeights()
                return AutoencoderTinyDecoder(vae, source: url.path)
            }
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted()
            let decoders = files.filter { $0.hasSuffix(AutoencoderTiny.originalDecoderSuffix) }
            guard decoders.count == 1 else {
                throw PipelineError(decoders.isEmpty
                    ? "\(url.path) has neither config.json (a diffusers AutoencoderTiny) nor a taesd_decoder.safetensors"
                    : "\(url.path) has several TAESD decoders (\(decoders.joined(separator: ", "))); give the file to use")
            }
            decoderURL = url.appendingPathComponent(decoders[0])
        } else {
            let name = url.lastPathComponent
            guard name.hasSuffix(AutoencoderTiny.originalDecoderSuffix) else {
                throw PipelineError("\(url.path) is not a TAESD decoder file (<name>\(AutoencoderTiny.originalDecoderSuffix)) or folder")
            }
            decoderURL = url
        }
        let stem = String(decoderURL.lastPathComponent.dropLast(AutoencoderTiny.originalDecoderSuffix.count))
        let encoderURL = decoderURL.deletingLastPathComponent().appendingPathComponent(stem + AutoencoderTiny.originalEncoderSuffix)
        let hasEncoder = FileManager.default.fileExists(atPath: encoderURL.path)
        let vae = try AutoencoderTiny.load(originalDecoder: decoderURL, encoder: hasEncoder ? encoderURL : nil, precision: precision)
        vae.packConvolutionWeights()
        return AutoencoderTinyDecoder(vae, source: decoderURL.path, missingEncoder: hasEncoder ? nil : encoderURL.path)
    }
}
