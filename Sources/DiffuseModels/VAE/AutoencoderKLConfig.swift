import DiffuseFormats
import Foundation

/// diffusers' `AutoencoderKL` configuration, with the class defaults for missing keys.
public struct AutoencoderKLConfig: Sendable, Equatable {
    public var inChannels = 3
    public var outChannels = 3
    public var blockOutChannels = [64]
    public var layersPerBlock = 1
    public var latentChannels = 4
    public var normNumGroups = 32
    public var scalingFactor: Float = 0.18215
    public var shiftFactor: Float? = nil
    public var useQuantConv = true
    public var usePostQuantConv = true
    public var midBlockAddAttention = true

    public init() {}

    public init(_ c: ModelConfig) throws {
        let width = 1 ... ModelConfig.maxWidth
        inChannels = try c.int("in_channels", default: 3, in: width)
        outChannels = try c.int("out_channels", default: 3, in: width)
        blockOutChannels = try c.ints("block_out_channels", default: [64], in: width)
        // Latents are 2^(blocks − 1) times smaller than images.
        guard (1 ... 8).contains(blockOutChannels.count) else {
            throw ModelConfigError(source: c.source, key: "block_out_channels", problem: "has \(blockOutChannels.count) entries, outside 1…8")
        }
        layersPerBlock = try c.int("layers_per_block", default: 1, in: 1 ... ModelConfig.maxLayers)
        latentChannels = try c.int("latent_channels", default: 4, in: width)
        normNumGroups = try c.int("norm_num_groups", default: 32, in: width)
        try c.requireGroups("norm_num_groups", normNumGroups, divide: blockOutChannels, of: "block_out_channels")
        scalingFactor = try c.float("scaling_factor", default: 0.18215, in: 1e-6 ... 1e6)
        shiftFactor = c.has("shift_factor") ? try c.float("shift_factor", default: 0, in: -1e6 ... 1e6) : nil
        useQuantConv = try c.bool("use_quant_conv", default: true)
        usePostQuantConv = try c.bool("use_post_quant_conv", default: true)
        midBlockAddAttention = try c.bool("mid_block_add_attention", default: true)
        try c.require("act_fn", in: ["silu"], feature: "other activations")
        let down = try c.strings("down_block_types", default: Array(repeating: "DownEncoderBlock2D", count: blockOutChannels.count))
        let up = try c.strings("up_block_types", default: Array(repeating: "UpDecoderBlock2D", count: blockOutChannels.count))
        guard down.count == blockOutChannels.count, down.allSatisfy({ $0 == "DownEncoderBlock2D" }),
              up.count == blockOutChannels.count, up.allSatisfy({ $0 == "UpDecoderBlock2D" }) else {
            throw ModelConfigError(source: c.source, key: "down_block_types",
                                   problem: "must be DownEncoderBlock2D/UpDecoderBlock2D, one per block_out_channels entry")
        }
    }

    /// How much smaller latents are than images: 2^(blocks − 1).
    public var downscaleFactor: Int { 1 << (blockOutChannels.count - 1) }
}
