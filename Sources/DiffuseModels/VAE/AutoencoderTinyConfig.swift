import DiffuseFormats
import Foundation

/// diffusers' `AutoencoderTiny` configuration (TAESD), with the class defaults for missing keys:
/// four encoder and four decoder stages of 64 channels, `[1, 3, 3, 3]` encoder and `[3, 3, 3, 1]`
/// decoder blocks, ReLU, nearest ×2 upsampling, 4 latent channels, `scaling_factor` 1.
public struct AutoencoderTinyConfig: Sendable, Equatable {
    public var inChannels = 3
    public var outChannels = 3
    public var encoderBlockOutChannels = [64, 64, 64, 64]
    public var decoderBlockOutChannels = [64, 64, 64, 64]
    /// `AutoencoderTinyBlock` count per encoder stage; every stage after the first starts with a stride-2 convolution.
    public var numEncoderBlocks = [1, 3, 3, 3]
    /// `AutoencoderTinyBlock` count per decoder stage; every stage but the last ends with an upsampling.
    public var numDecoderBlocks = [3, 3, 3, 1]
    public var latentChannels = 4
    /// The decoder's nearest-neighbour upsampling factor between stages.
    public var upsamplingScalingFactor = 2
    /// The activation inside the blocks and after the decoder's first convolution (the blocks' output is always ReLU).
    public var activation: TinyActivation.Kind = .relu
    /// Used only to quantize latents to bytes (`scale_latents`: `x / (2·magnitude) + shift`, clamped to [0, 1]).
    public var latentMagnitude: Float = 3
    public var latentShift: Float = 0.5
    /// Pipelines give the decoder `samples / scalingFactor` and multiply encoded latents by it (1 for TAESD).
    public var scalingFactor: Float = 1
    /// Read for completeness; the Stable Diffusion pipelines do not use it.
    public var shiftFactor: Float = 0
    /// Meaningless here (Diffuse computes in float32); read so that a present value is checked.
    public var forceUpcast = false

    public init() {}

    /// Reads diffusers' keys from `c`; a wrong type, an unknown activation or upsampling mode, or
    /// stage lists that do not fit each other is an error naming the file and the key.
    public init(_ c: ModelConfig) throws {
        if let className = try c.optionalString("_class_name"), className != "AutoencoderTiny" {
            throw ModelConfigError(source: c.source, key: "_class_name", problem: "is \(className), expected AutoencoderTiny")
        }
        inChannels = try c.int("in_channels", default: 3)
        outChannels = try c.int("out_channels", default: 3)
        encoderBlockOutChannels = try c.ints("encoder_block_out_channels", default: [64, 64, 64, 64])
        decoderBlockOutChannels = try c.ints("decoder_block_out_channels", default: [64, 64, 64, 64])
        numEncoderBlocks = try c.ints("num_encoder_blocks", default: [1, 3, 3, 3])
        numDecoderBlocks = try c.ints("num_decoder_blocks", default: [3, 3, 3, 1])
        latentChannels = try c.int("latent_channels", default: 4)
        upsamplingScalingFactor = try c.int("upsampling_scaling_factor", default: 2)
        let act = try c.string("act_fn", default: "relu")
        guard let kind = TinyActivation.Kind(diffusersName: act) else {
            throw ModelConfigError(source: c.source, key: "act_fn", problem: "is \(act), but Diffuse supports relu, silu, swish and gelu here")
        }
        activation = kind
        try c.require("upsample_fn", in: ["nearest"], feature: "other upsampling modes")
        latentMagnitude = try c.float("latent_magnitude", default: 3)
        latentShift = try c.float("latent_shift", default: 0.5)
        scalingFactor = try c.float("scaling_factor", default: 1)
        shiftFactor = try c.float("shift_factor", default: 0)
        forceUpcast = try c.bool("force_upcast", default: false)
        try validate(source: c.source)
    }

    /// Checks what diffusers' modules need to run: positive sizes, one block count per stage, and
    /// one width for all stages (each stage's first layer reads the previous stage's output at its own width).
    public func validate(source: String) throws {
        func fail(_ key: String, _ problem: String) -> ModelConfigError { ModelConfigError(source: source, key: key, problem: problem) }
        for (key, value) in [("in_channels", inChannels), ("out_channels", outChannels), ("latent_channels", latentChannels),
                             ("upsampling_scaling_factor", upsamplingScalingFactor)] where value < 1 {
            throw fail(key, "is \(value), must be at least 1")
        }
        for (key, list) in [("encoder_block_out_channels", encoderBlockOutChannels), ("decoder_block_out_channels", decoderBlockOutChannels)] {
            guard let first = list.first else { throw fail(key, "is empty") }
            guard first >= 1, list.allSatisfy({ $0 == first }) else {
                throw fail(key, "is \(list): diffusers' tiny autoencoder runs only with one positive width for every stage")
            }
        }
        for (key, list) in [("num_encoder_blocks", numEncoderBlocks), ("num_decoder_blocks", numDecoderBlocks)] where list.contains(where: { $0 < 0 }) {
            throw fail(key, "is \(list), counts must not be negative")
        }
        guard numEncoderBlocks.count == encoderBlockOutChannels.count else {
            throw fail("num_encoder_blocks", "has \(numEncoderBlocks.count) entries for \(encoderBlockOutChannels.count) encoder_block_out_channels")
        }
        guard numDecoderBlocks.count == decoderBlockOutChannels.count else {
            throw fail("num_decoder_blocks", "has \(numDecoderBlocks.count) entries for \(decoderBlockOutChannels.count) decoder_block_out_channels")
        }
    }

    /// Image pixels per latent pixel along each side when decoding: the upsampling factor to the
    /// power of the decoder's stages − 1 (8 for TAESD).
    public var upscaleFactor: Int {
        (1 ..< decoderBlockOutChannels.count).reduce(1) { factor, _ in factor * upsamplingScalingFactor }
    }

    /// Image pixels per latent pixel along each side when encoding: 2 per encoder stage after the first (8 for TAESD).
    public var downscaleFactor: Int { 1 << (encoderBlockOutChannels.count - 1) }
}
