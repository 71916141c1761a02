import DiffuseFormats
import Foundation

/// The parts of diffusers' `UNet2DConditionModel` configuration that Diffuse implements, with
/// diffusers' class defaults for missing keys. Options it does not implement are rejected by name.
public struct UNet2DConditionConfig: Sendable, Equatable {
    public var inChannels = 4
    public var outChannels = 4
    public var centerInputSample = false
    public var flipSinToCos = true
    public var freqShift = 0
    public var downBlockTypes = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
    public var upBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
    public var blockOutChannels = [320, 640, 1280, 1280]
    public var layersPerBlock = [2, 2, 2, 2]
    public var downsamplePadding = 1
    public var midBlockScaleFactor: Float = 1
    public var normNumGroups = 32
    public var normEps: Float = 1e-5
    public var crossAttentionDim = [1280, 1280, 1280, 1280]
    public var transformerLayersPerBlock = [1, 1, 1, 1]
    /// Heads per block (diffusers' `num_attention_heads`, which defaults to `attention_head_dim`).
    public var attentionHeads = [8, 8, 8, 8]
    public var useLinearProjection = false
    public var upcastAttention = false
    public var sampleSize: Int? = nil
    public var hasMidBlock = true
    /// The width of the vector added to the time embedding through a `TimestepEmbedding`
    /// (diffusers' `class_embed_type` "projection" with `projection_class_embeddings_input_dim`);
    /// nil when the model has no class embedding.
    public var classEmbeddingInputDim: Int? = nil
    /// The width of the guidance-scale embedding added to the time embedding's input through its
    /// `cond_proj` (diffusers' `time_cond_proj_dim`: LCM-distilled UNets take the guidance scale
    /// this way); nil when the model takes none.
    public var timeConditionDim: Int? = nil
    /// The input width of the `add_embedding` that SDXL-style UNets (diffusers' `addition_embed_type`
    /// "text_time") add to the time embedding: the pooled text embedding followed by the sinusoidal
    /// embeddings of the time ids (`projection_class_embeddings_input_dim`); nil without one.
    public var additionEmbeddingInputDim: Int? = nil
    /// The width of each time id's sinusoidal embedding (`addition_time_embed_dim`); set with
    /// `additionEmbeddingInputDim`.
    public var additionTimeEmbedDim: Int? = nil

    public init() {}

    public init(_ c: ModelConfig) throws {
        let width = 1 ... ModelConfig.maxWidth, layers = 1 ... ModelConfig.maxLayers
        inChannels = try c.int("in_channels", default: inChannels, in: width)
        outChannels = try c.int("out_channels", default: outChannels, in: width)
        centerInputSample = try c.bool("center_input_sample", default: false)
        flipSinToCos = try c.bool("flip_sin_to_cos", default: true)
        freqShift = try c.int("freq_shift", default: 0, in: 0 ... 1)
        downBlockTypes = try c.strings("down_block_types", default: downBlockTypes)
        upBlockTypes = try c.strings("up_block_types", default: upBlockTypes)
        blockOutChannels = try c.ints("block_out_channels", default: blockOutChannels, in: width)
        let blocks = blockOutChannels.count
        guard blocks >= 1 else { throw ModelConfigError(source: c.source, key: "block_out_channels", problem: "is empty") }
        guard downBlockTypes.count == blocks, upBlockTypes.count == blocks else {
            throw ModelConfigError(source: c.source, key: "down_block_types", problem: "and up_block_types must have one entry per block_out_channels entry (\(blocks))")
        }
        for t in downBlockTypes where !["CrossAttnDownBlock2D", "DownBlock2D"].contains(t) {
            throw ModelConfigError(source: c.source, key: "down_block_types", problem: "contains \(t), which Diffuse does not implement")
        }
        for t in upBlockTypes where !["CrossAttnUpBlock2D", "UpBlock2D"].contains(t) {
            throw ModelConfigError(source: c.source, key: "up_block_types", problem: "contains \(t), which Diffuse does not implement")
        }
        layersPerBlock = try c.intPerBlock("layers_per_block", count: blocks, default: 2, in: layers)
        downsamplePadding = try c.int("downsample_padding", default: 1, in: 0 ... 1)
        midBlockScaleFactor = try c.float("mid_block_scale_factor", default: 1, in: -1e6 ... 1e6)
        normNumGroups = try c.int("norm_num_groups", default: 32, in: width)
        try c.requireGroups("norm_num_groups", normNumGroups, divide: blockOutChannels, of: "block_out_channels")
        normEps = try c.float("norm_eps", default: 1e-5, in: Float.leastNormalMagnitude ... 1)
        crossAttentionDim = try c.intPerBlock("cross_attention_dim", count: blocks, default: 1280, in: width)
        transformerLayersPerBlock = try c.intPerBlock("transformer_layers_per_block", count: blocks, default: 1, in: layers)
        let headDims = try c.intPerBlock("attention_head_dim", count: blocks, default: 8, in: width)
        attentionHeads = c.has("num_attention_heads") ? try c.intPerBlock("num_attention_heads", count: blocks, default: 8, in: width) : headDims
        // Each attention block splits its channels into heads of channels / heads.
        if let i = (0 ..< blocks).first(where: { attentionHeads[$0] > blockOutChannels[$0] }) {
            throw ModelConfigError(source: c.source, key: c.has("num_attention_heads") ? "num_attention_heads" : "attention_head_dim",
                                   problem: "asks for \(attentionHeads[i]) heads over \(blockOutChannels[i]) channels (block \(i))")
        }
        useLinearProjection = try c.bool("use_linear_projection", default: false)
        upcastAttention = try c.bool("upcast_attention", default: false)
        sampleSize = c.has("sample_size") ? try c.int("sample_size", default: 64, in: width) : nil
        let midType = try c.optionalString("mid_block_type") ?? "UNetMidBlock2DCrossAttn"
        guard midType == "UNetMidBlock2DCrossAttn" else {
            throw ModelConfigError(source: c.source, key: "mid_block_type", problem: "is \(midType), which Diffuse does not implement")
        }
        try c.require("act_fn", in: ["silu"], feature: "other activations")
        try c.require("resnet_time_scale_shift", in: ["default"], feature: "scale-shift time conditioning")
        try c.require("time_embedding_type", in: ["positional"], feature: "Fourier time embeddings")
        try c.require("attention_type", in: ["default"], feature: "gated attention")
        try c.require("only_cross_attention", equals: false, feature: "cross-attention-only blocks")
        try c.require("dual_cross_attention", equals: false, feature: "dual cross-attention")
        try c.require("resnet_skip_time_act", equals: false, feature: "resnet_skip_time_act")
        try c.require("resnet_out_scale_factor", equals: 1.0, feature: "resnet output scaling")
        try c.require("conv_in_kernel", equals: 3.0, feature: "other conv_in kernels")
        try c.require("conv_out_kernel", equals: 3.0, feature: "other conv_out kernels")
        switch try c.optionalString("class_embed_type") {
        case nil: break
        case "projection":
            guard c.has("projection_class_embeddings_input_dim") else {
                throw ModelConfigError(source: c.source, key: "projection_class_embeddings_input_dim",
                                       problem: "is required when class_embed_type is \"projection\"")
            }
            let dimension = try c.int("projection_class_embeddings_input_dim", default: 0)
            guard width.contains(dimension) else {
                throw ModelConfigError(source: c.source, key: "projection_class_embeddings_input_dim", problem: "must be positive (got \(dimension))")
            }
            classEmbeddingInputDim = dimension
            try c.require("class_embeddings_concat", equals: false, feature: "concatenated class embeddings")
        case let other?:
            throw ModelConfigError(source: c.source, key: "class_embed_type",
                                   problem: "is \(other); Diffuse implements only \"projection\" class embeddings")
        }
        if c.has("time_cond_proj_dim") {
            let width = try c.int("time_cond_proj_dim", default: 0)
            guard width >= 4 else {
                throw ModelConfigError(source: c.source, key: "time_cond_proj_dim", problem: "must be at least 4 (got \(width))")
            }
            timeConditionDim = width
        }
        switch try c.optionalString("addition_embed_type") {
        case nil: break
        case "text_time":
            for key in ["projection_class_embeddings_input_dim", "addition_time_embed_dim"] where !c.has(key) {
                throw ModelConfigError(source: c.source, key: key, problem: "is required when addition_embed_type is \"text_time\"")
            }
            guard classEmbeddingInputDim == nil else {
                throw ModelConfigError(source: c.source, key: "class_embed_type",
                                       problem: "cannot be combined with addition_embed_type \"text_time\" (both read projection_class_embeddings_input_dim)")
            }
            let input = try c.int("projection_class_embeddings_input_dim", default: 0)
            let timeWidth = try c.int("addition_time_embed_dim", default: 0)
            guard timeWidth >= 2, timeWidth % 2 == 0, timeWidth <= ModelConfig.maxWidth else {
                throw ModelConfigError(source: c.source, key: "addition_time_embed_dim", problem: "must be a positive even width (got \(timeWidth))")
            }
            guard input > timeWidth, input <= 4 * ModelConfig.maxWidth else {
                throw ModelConfigError(source: c.source, key: "projection_class_embeddings_input_dim",
                                       problem: "(\(input)) must be wider than addition_time_embed_dim (\(timeWidth)): it holds the pooled text embedding and the time ids' embeddings")
            }
            additionEmbeddingInputDim = input
            additionTimeEmbedDim = timeWidth
        case let other?:
            throw ModelConfigError(source: c.source, key: "addition_embed_type",
                                   problem: "is \(other); Diffuse implements only \"text_time\" (SDXL)")
        }
        for key in ["num_class_embeds", "encoder_hid_dim", "encoder_hid_dim_type",
                    "time_embedding_act_fn", "timestep_post_act", "time_embedding_dim",
                    "cross_attention_norm"] {
            try c.requireUnset(key, feature: "the \(key) option")
        }
    }
}
