import DiffuseFormats
import DiffuseAutograd
import DiffuseNN
import DiffuseTensor

/// diffusers' `UNet2DModel` configuration (unconditional pixel- or latent-space UNet), with the
/// class defaults for missing keys.
public struct UNet2DConfig: Sendable, Equatable {
    public var sampleSize: Int? = nil
    public var inChannels = 3
    public var outChannels = 3
    public var centerInputSample = false
    public var flipSinToCos = true
    public var freqShift = 0
    public var downBlockTypes = ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"]
    public var upBlockTypes = ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"]
    public var blockOutChannels = [224, 448, 672, 896]
    public var layersPerBlock = 2
    public var midBlockScaleFactor: Float = 1
    public var downsamplePadding = 1
    public var attentionHeadDim: Int? = 8
    public var normNumGroups = 32
    public var attentionNormNumGroups: Int? = nil
    public var normEps: Float = 1e-5
    public var addAttention = true

    public init() {}

    public init(_ c: ModelConfig) throws {
        let width = 1 ... ModelConfig.maxWidth
        sampleSize = c.has("sample_size") ? try c.int("sample_size", default: 32, in: width) : nil
        inChannels = try c.int("in_channels", default: 3, in: width)
        outChannels = try c.int("out_channels", default: 3, in: width)
        centerInputSample = try c.bool("center_input_sample", default: false)
        flipSinToCos = try c.bool("flip_sin_to_cos", default: true)
        freqShift = try c.int("freq_shift", default: 0, in: 0 ... 1)
        downBlockTypes = try c.strings("down_block_types", default: downBlockTypes)
        upBlockTypes = try c.strings("up_block_types", default: upBlockTypes)
        blockOutChannels = try c.ints("block_out_channels", default: blockOutChannels, in: width)
        guard !blockOutChannels.isEmpty else { throw ModelConfigError(source: c.source, key: "block_out_channels", problem: "is empty") }
        guard downBlockTypes.count == blockOutChannels.count, upBlockTypes.count == blockOutChannels.count else {
            throw ModelConfigError(source: c.source, key: "down_block_types", problem: "and up_block_types need one entry per block_out_channels entry")
        }
        for t in downBlockTypes where !["DownBlock2D", "AttnDownBlock2D"].contains(t) {
            throw ModelConfigError(source: c.source, key: "down_block_types", problem: "contains \(t), which Diffuse does not implement")
        }
        for t in upBlockTypes where !["UpBlock2D", "AttnUpBlock2D"].contains(t) {
            throw ModelConfigError(source: c.source, key: "up_block_types", problem: "contains \(t), which Diffuse does not implement")
        }
        layersPerBlock = try c.int("layers_per_block", default: 2, in: 1 ... ModelConfig.maxLayers)
        midBlockScaleFactor = try c.float("mid_block_scale_factor", default: 1, in: -1e6 ... 1e6)
        downsamplePadding = try c.int("downsample_padding", default: 1, in: 0 ... 1)
        attentionHeadDim = c.has("attention_head_dim") ? try c.int("attention_head_dim", default: 8, in: width) : (c.values.keys.contains("attention_head_dim") ? nil : 8)
        normNumGroups = try c.int("norm_num_groups", default: 32, in: width)
        try c.requireGroups("norm_num_groups", normNumGroups, divide: blockOutChannels, of: "block_out_channels")
        attentionNormNumGroups = c.has("attn_norm_num_groups") ? try c.int("attn_norm_num_groups", default: 32, in: width) : nil
        if let groups = attentionNormNumGroups {
            try c.requireGroups("attn_norm_num_groups", groups, divide: blockOutChannels, of: "block_out_channels")
        }
        normEps = try c.float("norm_eps", default: 1e-5, in: Float.leastNormalMagnitude ... 1)
        addAttention = try c.bool("add_attention", default: true)
        // Attention splits a level's channels into heads(channels) equal heads.
        let attended = blockOutChannels.indices.filter { downBlockTypes[$0] == "AttnDownBlock2D" || upBlockTypes[blockOutChannels.count - 1 - $0] == "AttnUpBlock2D" }
            .map { blockOutChannels[$0] } + (addAttention ? [blockOutChannels.last!] : [])
        if let channels = attended.first(where: { $0 % heads($0) != 0 }) {
            throw ModelConfigError(source: c.source, key: "attention_head_dim",
                                   problem: "(\(attentionHeadDim ?? 0)) splits \(channels) channels into \(heads(channels)) heads unevenly")
        }
        try c.require("act_fn", in: ["silu"], feature: "other activations")
        try c.require("time_embedding_type", in: ["positional"], feature: "Fourier time embeddings")
        try c.require("resnet_time_scale_shift", in: ["default"], feature: "scale-shift time conditioning")
        try c.require("downsample_type", in: ["conv"], feature: "resnet downsampling")
        try c.require("upsample_type", in: ["conv"], feature: "resnet upsampling")
        try c.requireUnset("class_embed_type", feature: "class embeddings")
        try c.requireUnset("num_class_embeds", feature: "class embeddings")
    }

    /// Heads of an attention block over `channels` (diffusers: channels / attention_head_dim, or 1).
    func heads(_ channels: Int) -> Int { attentionHeadDim.map { Swift.max(1, channels / $0) } ?? 1 }
}

/// diffusers' `UNet2DModel`: predicts the noise (or v) in an image or latent at a timestep,
/// without text conditioning.
public final class UNet2DModel: Module {
    public let config: UNet2DConfig
    public let convIn: Conv2d
    public let timeEmbedding: TimestepEmbedding
    public let downBlocks: [UNetDownBlock]
    public let midBlock: UNetMidBlock
    public let upBlocks: [UNetUpBlock]
    public let convNormOut: GroupNorm
    public let convOut: Conv2d

    public init(config: UNet2DConfig) {
        self.config = config
        let ch = config.blockOutChannels, groups = config.normNumGroups, eps = config.normEps
        let tembDim = ch[0] * 4
        convIn = Conv2d(config.inChannels, ch[0], kernel: 3, padding: 1)
        timeEmbedding = TimestepEmbedding(inChannels: ch[0], dim: tembDim)
        func attention(_ channels: Int) -> SpatialSelfAttention {
            SpatialSelfAttention(channels: channels, heads: config.heads(channels), groups: config.attentionNormNumGroups ?? groups, epsilon: eps)
        }
        var down: [UNetDownBlock] = []
        var output = ch[0]
        for (i, type) in config.downBlockTypes.enumerated() {
            let input = output
            output = ch[i]
            let resnets = (0 ..< config.layersPerBlock).map { j in
                ResnetBlock2D(inChannels: j == 0 ? input : output, outChannels: output, temb: tembDim, groups: groups, epsilon: eps)
            }
            down.append(UNetDownBlock(resnets: resnets, attentions: type == "AttnDownBlock2D" ? resnets.map { _ in attention(output) } : [],
                                      downsampler: i == ch.count - 1 ? nil : Downsample2D(channels: output, padding: config.downsamplePadding)))
        }
        downBlocks = down
        let last = ch[ch.count - 1]
        midBlock = UNetMidBlock(
            resnets: (0 ..< 2).map { _ in
                ResnetBlock2D(inChannels: last, outChannels: last, temb: tembDim, groups: groups, epsilon: eps, outputScaleFactor: config.midBlockScaleFactor)
            },
            attentions: config.addAttention ? [SpatialSelfAttention(channels: last, heads: config.attentionHeadDim.map { Swift.max(1, last / $0) } ?? 1,
                                                                     groups: config.attentionNormNumGroups ?? groups, epsilon: eps)] : [])
        var up: [UNetUpBlock] = []
        let reversed = Array(ch.reversed())
        output = reversed[0]
        for (i, type) in config.upBlockTypes.enumerated() {
            let previous = output
            output = reversed[i]
            let input = reversed[Swift.min(i + 1, ch.count - 1)]
            let layers = config.layersPerBlock + 1
            let resnets = (0 ..< layers).map { j in
                ResnetBlock2D(inChannels: (j == 0 ? previous : output) + (j == layers - 1 ? input : output), outChannels: output,
                              temb: tembDim, groups: groups, epsilon: eps)
            }
            up.append(UNetUpBlock(resnets: resnets, attentions: type == "AttnUpBlock2D" ? resnets.map { _ in attention(output) } : [],
                                  upsampler: i == ch.count - 1 ? nil : Upsample2D(channels: output)))
        }
        upBlocks = up
        convNormOut = GroupNorm(groups: groups, channels: ch[0], epsilon: eps)
        convOut = Conv2d(ch[0], config.outChannels, kernel: 3, padding: 1)
    }

    /// Runs each resnet and attention of the down, mid and up blocks as a gradient `checkpoint`
    /// when the model runs on `Variable`s: their activations are recomputed during the backward
    /// pass instead of kept (less memory, about one more forward pass of compute). No effect on `Tensor` runs.
    public var gradientCheckpointing = false

    /// Inference entry point (the generic forward specialized for `Tensor`).
    /// - Parameters:
    ///   - sample: `[B, inChannels, H, W]`.
    ///   - timesteps: one per batch entry (or one for all), 0…999.
    /// - Returns: `[B, outChannels, H, W]`.
    public func callAsFunction(_ sample: Tensor, timesteps: [Float]) -> Tensor {
        forward(sample, timesteps: timesteps)
    }

    /// The same model on `Variable`s (training: gradients reach the parameters' leaves, see
    /// `Module.beginTraining()`) or any other `TensorValue`. The timestep embedding is a constant.
    public func callAsFunction<T: TensorValue>(_ sample: T, timesteps: [Float]) -> T {
        forward(sample, timesteps: timesteps)
    }

    /// The forward pass, written once for both value types.
    private func forward<T: TensorValue>(_ sample: T, timesteps: [Float]) -> T {
        let batch = sample.shape[0]
        let ts = timesteps.count == 1 ? Array(repeating: timesteps[0], count: batch) : timesteps
        precondition(ts.count == batch, "UNet2DModel: \(timesteps.count) timesteps for a batch of \(batch)")
        let temb = timeEmbedding(T.constant(Tensor.timestepEmbedding(ts, dim: config.blockOutChannels[0], flipSinToCos: config.flipSinToCos,
                                                                     downscaleFreqShift: Float(config.freqShift))))
        let checkpointing = gradientCheckpointing
        var h = convIn(config.centerInputSample ? sample * 2 - 1 : sample)
        var skips: [T] = [h]
        for block in downBlocks {
            let (out, added) = block(h, temb: temb, context: nil, checkpointing: checkpointing)
            h = out
            skips += added
        }
        h = midBlock(h, temb: temb, context: nil, checkpointing: checkpointing)
        for (i, block) in upBlocks.enumerated() {
            let n = block.resnets.count
            let blockSkips = Array(skips.suffix(n))
            skips.removeLast(n)
            h = block(h, skips: blockSkips, temb: temb, context: nil,
                      upsampleSize: i == upBlocks.count - 1 ? nil : skips.last.map { ($0.shape[2], $0.shape[3]) },
                      checkpointing: checkpointing)
        }
        return convOut(convNormOut(h, silu: true))
    }
}
