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
        inChannels = try c.int("in_channels", default: 3)
        outChannels = try c.int("out_channels", default: 3)
        blockOutChannels = try c.ints("block_out_channels", default: [64])
        layersPerBlock = try c.int("layers_per_block", default: 1)
        latentChannels = try c.int("latent_channels", default: 4)
        normNumGroups = try c.int("norm_num_groups", default: 32)
        scalingFactor = try c.float("scaling_factor", default: 0.18215)
        shiftFactor = c.has("shift_factor") ? try c.float("shift_factor", default: 0) : nil
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
