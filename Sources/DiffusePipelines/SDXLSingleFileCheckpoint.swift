import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseSchedulers
import DiffuseTensor
import Foundation

/// The configurations an SDXL single-file checkpoint does not carry: SDXL base 1.0's built in
/// (`base`), or those of a diffusers SDXL folder.
public struct StableDiffusionXLConfigs {
    public var textEncoder: CLIPTextConfig
    public var textEncoder2: CLIPTextConfig
    /// `text_encoder_2`'s `projection_dim` and `eos_token_id`.
    public var projectionDim: Int
    public var endTokenID: Int
    public var unet: UNet2DConditionConfig
    public var vae: AutoencoderKLConfig
    public var scheduler: SchedulerConfig
    /// `force_zeros_for_empty_prompt` of the pipeline (diffusers' default: true).
    public var forceZerosForEmptyPrompt = true

    public init(textEncoder: CLIPTextConfig, textEncoder2: CLIPTextConfig, projectionDim: Int, endTokenID: Int,
                unet: UNet2DConditionConfig, vae: AutoencoderKLConfig, scheduler: SchedulerConfig) {
        self.textEncoder = textEncoder
        self.textEncoder2 = textEncoder2
        self.projectionDim = projectionDim
        self.endTokenID = endTokenID
        self.unet = unet
        self.vae = vae
        self.scheduler = scheduler
    }

    /// The configurations of a diffusers SDXL folder (its weights are not read).
    public init(folder url: URL) throws {
        let folder = try DiffusersFolder(url)
        textEncoder = try CLIPTextConfig(ModelConfig(contentsOf: folder.configURL("text_encoder")))
        let second = try ModelConfig(contentsOf: folder.configURL("text_encoder_2"))
        textEncoder2 = try CLIPTextConfig(second)
        projectionDim = try second.int("projection_dim", default: 512, in: 1 ... ModelConfig.maxWidth)
        endTokenID = try second.int("eos_token_id", default: 2)
        unet = try UNet2DConditionConfig(ModelConfig(contentsOf: folder.configURL("unet")))
        vae = try AutoencoderKLConfig(ModelConfig(contentsOf: folder.configURL("vae")))
        scheduler = try SchedulerConfig(contentsOf: folder.configURL("scheduler"))
        forceZerosForEmptyPrompt = try ConfigFile(contentsOf: url.appendingPathComponent("model_index.json"))
            .bool("force_zeros_for_empty_prompt", default: true)
    }

    /// stable-diffusion-xl-base-1.0 as diffusers builds it for a single file: CLIP ViT-L (768
    /// wide, 12 layers, quick_gelu) and OpenCLIP ViT-bigG (1280 wide, 32 layers, GELU, projection
    /// 1280); a UNet of 320/640/1280 channels with transformer depth 1/2/10, heads 5/10/20, linear
    /// projections, 2048-wide cross-attention, text_time with 256-wide time ids (input 2816) and
    /// `inChannels` input channels (9 for inpainting files); the KL-f8 VAE with scaling factor
    /// 0.13025; its Euler scheduler ("leading" timesteps, offset 1).
    public static func base(inChannels: Int = 4) throws -> StableDiffusionXLConfigs {
        var text = CLIPTextConfig()
        text.hiddenSize = 768; text.intermediateSize = 3072; text.layers = 12; text.heads = 12
        var text2 = CLIPTextConfig()
        text2.hiddenSize = 1280; text2.intermediateSize = 5120; text2.layers = 32; text2.heads = 20
        text2.activation = .gelu
        var unet = UNet2DConditionConfig()
        unet.inChannels = inChannels
        unet.sampleSize = 128
        unet.downBlockTypes = ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"]
        unet.upBlockTypes = ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"]
        unet.blockOutChannels = [320, 640, 1280]
        unet.layersPerBlock = [2, 2, 2]
        unet.transformerLayersPerBlock = [1, 2, 10]
        unet.attentionHeads = [5, 10, 20]
        unet.crossAttentionDim = [2048, 2048, 2048]
        unet.useLinearProjection = true
        unet.additionTimeEmbedDim = 256
        unet.additionEmbeddingInputDim = 2816
        var vae = AutoencoderKLConfig()
        vae.blockOutChannels = [128, 256, 512, 512]
        vae.layersPerBlock = 2
        vae.scalingFactor = 0.13025
        let scheduler = try SchedulerConfig(jsonData: Data("""
        {"_class_name": "EulerDiscreteScheduler", "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
         "num_train_timesteps": 1000, "interpolation_type": "linear", "prediction_type": "epsilon", "sample_max_value": 1.0,
         "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1, "timestep_spacing": "leading",
         "trained_betas": null, "use_karras_sigmas": false, "clip_sample": false}
        """.utf8))
        return StableDiffusionXLConfigs(textEncoder: text, textEncoder2: text2, projectionDim: 1280, endTokenID: 2,
                                        unet: unet, vae: vae, scheduler: scheduler)
    }
}

/// `CLIPTextModelWithProjection`'s weights in an SDXL single file: the OpenCLIP tower renamed
/// (`OpenCLIPCheckpointKeys`) and `text_projection.weight` read as the transpose of the file's
/// `text_projection` `[hidden, projection]`.
struct OpenCLIPProjectionWeights: WeightSource {
    let tower: RenamedWeights
    let base: WeightSource
    /// The file's name of the projection.
    let projection: String
    static let key = "text_projection.weight"

    var name: String { base.name }
    var tensorNames: [String] { tower.tensorNames + (base.shape(of: projection) != nil ? [Self.key] : []) }
    /// The transpose is taken at the projection's first read, as the other tensors are decoded.
    var isMemoryMapped: Bool { tower.isMemoryMapped }
    func shape(of name: String) -> [Int]? {
        guard name == Self.key else { return tower.shape(of: name) }
        return base.shape(of: projection).map { $0.count == 2 ? [$0[1], $0[0]] : $0 }
    }
    func origin(of name: String) -> String? {
        name == Self.key ? "the transpose of \(projection)" : tower.origin(of: name)
    }
    func tensor(named name: String) throws -> Tensor {
        guard name == Self.key else { return try tower.tensor(named: name) }
        return try base.tensor(named: projection).transposed(0, 1).contiguous()
    }
}

extension DiffusionPipeline {
    /// Loads an original (Stability key names) single-file SDXL `.safetensors` checkpoint
    /// (`SDXLCheckpointKeys`).
    ///
    /// - Parameters:
    ///   - configs: the model configurations; nil = SDXL base 1.0's (`StableDiffusionXLConfigs.base`,
    ///     inpainting told from the UNet's input channels).
    ///   - tokenizers: a folder with `tokenizer/` and `tokenizer_2/` (an SDXL diffusers folder), or
    ///     a `tokenizer/` folder with a `tokenizer_2/` beside it.
    /// - Throws: `PipelineError` naming the file and the encoder whose tensors are missing,
    ///   `WeightLoadingError` naming missing or mis-shaped tensors.
    public static func load(sdxlSingleFile url: URL, configs: StableDiffusionXLConfigs? = nil, tokenizers: URL,
                            weights precision: WeightPrecision = .float32) throws -> DiffusionPipeline {
        let weights = try SafeTensorsWeights(url)
        let names = weights.tensorNames
        let second = SDXLCheckpointKeys.secondEncoderPrefix, first = SDXLCheckpointKeys.firstEncoderPrefix
        for (prefix, what) in [(LDMCheckpointKeys.unetPrefix, "UNet"), (LDMCheckpointKeys.vaePrefix, "VAE"),
                               (first, "CLIP ViT-L text encoder"), (second, "OpenCLIP ViT-bigG text encoder")]
            where !names.contains(where: { $0.hasPrefix(prefix) }) {
            throw PipelineError("\(url.path): no \(prefix)* tensors (the \(what)): not a whole SDXL single file")
        }
        let projectionName = second + SDXLCheckpointKeys.textProjection
        guard names.contains(projectionName) else {
            throw PipelineError("\(url.path): \(projectionName) is missing (the second text encoder's projection)")
        }
        let inChannels = weights.shape(of: LDMCheckpointKeys.unetPrefix + "input_blocks.0.0.weight")?[1] ?? 4
        let c = try configs ?? .base(inChannels: inChannels)

        var unetNames: [String: String] = [:], vaeNames: [String: String] = [:], firstNames: [String: String] = [:]
        for name in names {
            if name.hasPrefix(LDMCheckpointKeys.unetPrefix) {
                if let key = SDXLCheckpointKeys.unetKey(String(name.dropFirst(LDMCheckpointKeys.unetPrefix.count)),
                                                        layersPerBlock: c.unet.layersPerBlock[0]) { unetNames[key] = name }
            } else if name.hasPrefix(LDMCheckpointKeys.vaePrefix) {
                if let key = LDMCheckpointKeys.vaeKey(String(name.dropFirst(LDMCheckpointKeys.vaePrefix.count)),
                                                      upBlocks: c.vae.blockOutChannels.count) { vaeNames[key] = name }
            } else if let key = SDXLCheckpointKeys.firstEncoderKey(name) {
                firstNames[key] = name
            }
        }
        let mapping = OpenCLIPCheckpointKeys.mapping(names, layers: c.textEncoder2.layers, width: c.textEncoder2.hiddenSize, prefix: second)
        if !mapping.unknown.isEmpty {
            throw PipelineError("\(url.path): unknown OpenCLIP text-encoder tensor(s): \(mapping.unknown.prefix(5).joined(separator: ", "))")
        }

        let textEncoder = CLIPTextModel(config: c.textEncoder)
        try textEncoder.load(from: RenamedWeights(weights, names: firstNames), ignoring: CLIPTextModel.ignoredKeys, precision: precision)
        let textEncoder2 = CLIPTextModelWithProjection(config: c.textEncoder2, projectionDim: c.projectionDim, endTokenID: c.endTokenID)
        let tower = RenamedWeights(weights, names: mapping.names, rows: mapping.rows)
        try textEncoder2.load(from: OpenCLIPProjectionWeights(tower: tower, base: weights, projection: projectionName), precision: precision)
        let unet = UNet2DConditionModel(config: c.unet)
        try unet.load(from: RenamedWeights(weights, names: unetNames), precision: precision)
        let vae = AutoencoderKL(config: c.vae)
        try vae.load(from: RenamedWeights(weights, names: vaeNames), precision: precision)
        unet.packConvolutionWeights()
        unet.packLinearWeights()
        vae.packConvolutionWeights()

        let (tokenizer, tokenizer2) = try sdxlTokenizerFolders(tokenizers)
        let encoder = SDXLPromptEncoder(first: (try CLIPTokenizer(directory: tokenizer), textEncoder),
                                        tokenizer2: try CLIPTokenizer(directory: tokenizer2), textEncoder2: textEncoder2,
                                        forceZerosForEmptyPrompt: c.forceZerosForEmptyPrompt)
        if let timeWidth = c.unet.additionTimeEmbedDim, encoder.textEmbedsDimension + 6 * timeWidth != c.unet.additionEmbeddingInputDim
            || encoder.dimension != c.unet.crossAttentionDim[0] {
            throw PipelineError("\(url.path): the text encoders (\(encoder.dimension)-wide states, \(encoder.textEmbedsDimension)-wide text embeds) do not fit the UNet config (cross_attention_dim \(c.unet.crossAttentionDim[0]), projection_class_embeddings_input_dim \(c.unet.additionEmbeddingInputDim ?? 0))")
        }
        let model = DiffusionPipeline(textEncoder: encoder, unet: unet, decoder: AutoencoderKLDecoder(vae),
                                      schedulerConfig: c.scheduler, name: url.deletingPathExtension().lastPathComponent)
        model.microConditioning = .sizes
        return model
    }

    /// `tokenizer/` and `tokenizer_2/` inside `folder`, or `folder` itself and `tokenizer_2/` beside it.
    static func sdxlTokenizerFolders(_ folder: URL) throws -> (URL, URL) {
        let manager = FileManager.default
        let inside = folder.appendingPathComponent("tokenizer_2")
        if manager.fileExists(atPath: inside.appendingPathComponent("vocab.json").path) {
            return (folder.appendingPathComponent("tokenizer"), inside)
        }
        let beside = folder.deletingLastPathComponent().appendingPathComponent("tokenizer_2")
        if manager.fileExists(atPath: beside.appendingPathComponent("vocab.json").path) { return (folder, beside) }
        throw PipelineError("tokenizer \(folder.path): an SDXL single file needs both tokenizers: give an SDXL diffusers folder (with tokenizer/ and tokenizer_2/) or its tokenizer/ folder")
    }
}
