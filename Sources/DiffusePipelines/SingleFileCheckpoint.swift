import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseSchedulers
import DiffuseTensor
import Foundation

/// The configurations a single-file checkpoint does not carry: Diffuse has SD 1.x's and SD 2.x's
/// built in, and tests (or users) can supply others from a diffusers folder.
public struct StableDiffusionConfigs {
    public var textEncoder: CLIPTextConfig
    public var unet: UNet2DConditionConfig
    public var vae: AutoencoderKLConfig
    public var scheduler: SchedulerConfig

    public init(textEncoder: CLIPTextConfig, unet: UNet2DConditionConfig, vae: AutoencoderKLConfig, scheduler: SchedulerConfig) {
        self.textEncoder = textEncoder
        self.unet = unet
        self.vae = vae
        self.scheduler = scheduler
    }

    /// The configurations of a diffusers folder (its weights are not read).
    public init(folder url: URL) throws {
        let folder = try DiffusersFolder(url)
        textEncoder = try CLIPTextConfig(ModelConfig(contentsOf: folder.configURL("text_encoder")))
        unet = try UNet2DConditionConfig(ModelConfig(contentsOf: folder.configURL("unet")))
        vae = try AutoencoderKLConfig(ModelConfig(contentsOf: folder.configURL("vae")))
        let schedulerURL = try folder.configURL("scheduler")
        scheduler = try SchedulerConfig(contentsOf: schedulerURL)
    }

    /// Stable Diffusion 1.x (v1-inference.yaml): CLIP ViT-L/14 text encoder, 4-channel UNet with
    /// 8 heads and 768-wide cross-attention (9 input channels for inpainting checkpoints), the
    /// KL-f8 VAE, and the PNDM scheduler SD 1.5 ships with.
    public static func stableDiffusion1(inChannels: Int = 4) throws -> StableDiffusionConfigs {
        var text = CLIPTextConfig()
        text.hiddenSize = 768; text.intermediateSize = 3072; text.layers = 12; text.heads = 12
        var unet = UNet2DConditionConfig()
        unet.inChannels = inChannels
        unet.crossAttentionDim = [768, 768, 768, 768]
        unet.sampleSize = 64
        var vae = AutoencoderKLConfig()
        vae.blockOutChannels = [128, 256, 512, 512]
        vae.layersPerBlock = 2
        let scheduler = try SchedulerConfig(jsonData: Data("""
        {"_class_name": "PNDMScheduler", "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
         "num_train_timesteps": 1000, "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1,
         "trained_betas": null, "clip_sample": false}
        """.utf8))
        return StableDiffusionConfigs(textEncoder: text, unet: unet, vae: vae, scheduler: scheduler)
    }

    /// Stable Diffusion 2.x, as diffusers builds it for a single file: the OpenCLIP ViT-H/14 text
    /// tower up to its penultimate block (23 of 24 layers, 1024 wide, GELU), a UNet with 5/10/20/20
    /// heads, linear projections and 1024-wide cross-attention, the KL-f8 VAE and the DDIM
    /// scheduler of stable-diffusion-2-1 — v-prediction at 768² (sample size 96) — or, for
    /// 9-channel inpainting files, stable-diffusion-2-inpainting's ε-prediction at 512².
    /// - Parameter predictionType: overrides the scheduler's (e.g. "epsilon" for the 512² SD 2 base
    ///   models, which diffusers cannot tell apart from the file either).
    public static func stableDiffusion2(inChannels: Int = 4, predictionType: String? = nil) throws -> StableDiffusionConfigs {
        var text = CLIPTextConfig()
        text.hiddenSize = 1024; text.intermediateSize = 4096; text.layers = 23; text.heads = 16
        text.activation = .gelu
        var unet = UNet2DConditionConfig()
        unet.inChannels = inChannels
        unet.crossAttentionDim = [1024, 1024, 1024, 1024]
        unet.attentionHeads = [5, 10, 20, 20]
        unet.useLinearProjection = true
        let inpainting = inChannels == 9
        unet.upcastAttention = !inpainting
        unet.sampleSize = inpainting ? 64 : 96
        var vae = AutoencoderKLConfig()
        vae.blockOutChannels = [128, 256, 512, 512]
        vae.layersPerBlock = 2
        let prediction = predictionType ?? (inpainting ? "epsilon" : "v_prediction")
        let scheduler = try SchedulerConfig(jsonData: Data("""
        {"_class_name": "DDIMScheduler", "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
         "num_train_timesteps": 1000, "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1,
         "trained_betas": null, "clip_sample": false, "prediction_type": "\(prediction)"}
        """.utf8))
        return StableDiffusionConfigs(textEncoder: text, unet: unet, vae: vae, scheduler: scheduler)
    }
}

extension DiffusionPipeline {
    /// Loads an original (CompVis / LDM key names) single-file `.safetensors` checkpoint.
    ///
    /// SD 1.x files carry a CLIP ViT-L text encoder (`cond_stage_model.transformer.*`), SD 2.x
    /// files an OpenCLIP one (`cond_stage_model.model.*`, see `OpenCLIPCheckpointKeys`); the
    /// version is told by which is there. SDXL files (`SDXLCheckpointKeys.isSDXL`) load with
    /// `load(sdxlSingleFile:)` and SDXL base's configs, `tokenizer` naming both tokenizers' folder.
    ///
    /// - Parameters:
    ///   - configs: the model configurations; nil = the built-in ones of the file's version
    ///     (inpainting detected from the UNet's input channels).
    ///   - tokenizer: the CLIP tokenizer folder (vocab.json + merges.txt; for SD 2.x the one of an
    ///     SD 2 diffusers folder, which pads with "!").
    ///   - predictionType: with the built-in configs, overrides the scheduler's prediction type.
    public static func load(singleFile url: URL, configs: StableDiffusionConfigs? = nil, tokenizer: URL,
                            weights precision: WeightPrecision = .float32, predictionType: String? = nil) throws -> DiffusionPipeline {
        let weights = try SafeTensorsWeights(url)
        let names = weights.tensorNames
        if SDXLCheckpointKeys.isSDXL(names) {
            guard configs == nil, predictionType == nil else {
                throw PipelineError("\(url.path) is an SDXL single file: it takes SDXL configs (load(sdxlSingleFile:)) and no prediction type")
            }
            return try load(sdxlSingleFile: url, tokenizers: tokenizer, weights: precision)
        }
        let openCLIP = names.contains(where: { $0.hasPrefix(OpenCLIPCheckpointKeys.prefix) })
        guard names.contains(where: { $0.hasPrefix(LDMCheckpointKeys.unetPrefix) }) else {
            throw PipelineError("\(url.path) has no \(LDMCheckpointKeys.unetPrefix)* tensors: not a single-file Stable Diffusion checkpoint")
        }
        if let predictionType, !["epsilon", "v_prediction"].contains(predictionType) {
            throw PipelineError("prediction type \(predictionType) is not epsilon or v_prediction")
        }
        let inChannels = weights.shape(of: LDMCheckpointKeys.unetPrefix + "input_blocks.0.0.weight")?[1] ?? 4
        let c = try configs ?? (openCLIP ? .stableDiffusion2(inChannels: inChannels, predictionType: predictionType)
                                         : .stableDiffusion1(inChannels: inChannels))
        if openCLIP && c.textEncoder.activation == .quickGELU {
            throw PipelineError("\(url.path) has an OpenCLIP (SD 2.x) text encoder but the given text encoder config is SD 1.x's (quick_gelu)")
        }

        var unetNames: [String: String] = [:], vaeNames: [String: String] = [:], textNames: [String: String] = [:]
        for name in names {
            if name.hasPrefix(LDMCheckpointKeys.unetPrefix) {
                if let key = LDMCheckpointKeys.unetKey(String(name.dropFirst(LDMCheckpointKeys.unetPrefix.count)),
                                                       layersPerBlock: c.unet.layersPerBlock[0]) { unetNames[key] = name }
            } else if name.hasPrefix(LDMCheckpointKeys.vaePrefix) {
                if let key = LDMCheckpointKeys.vaeKey(String(name.dropFirst(LDMCheckpointKeys.vaePrefix.count)),
                                                      upBlocks: c.vae.blockOutChannels.count) { vaeNames[key] = name }
            } else if let key = LDMCheckpointKeys.clipKey(name) {
                textNames[key] = name
            }
        }
        var textRows: [String: Range<Int>] = [:]
        if openCLIP {
            let mapping = OpenCLIPCheckpointKeys.mapping(names, layers: c.textEncoder.layers, width: c.textEncoder.hiddenSize)
            if !mapping.unknown.isEmpty {
                throw PipelineError("\(url.path): unknown OpenCLIP text-encoder tensor(s): \(mapping.unknown.prefix(5).joined(separator: ", "))")
            }
            textNames = mapping.names
            textRows = mapping.rows
        }
        let textEncoder = CLIPTextModel(config: c.textEncoder)
        try textEncoder.load(from: RenamedWeights(weights, names: textNames, rows: textRows), ignoring: CLIPTextModel.ignoredKeys,
                             precision: precision)
        let unet = UNet2DConditionModel(config: c.unet)
        try unet.load(from: RenamedWeights(weights, names: unetNames), precision: precision)
        let vae = AutoencoderKL(config: c.vae)
        try vae.load(from: RenamedWeights(weights, names: vaeNames), precision: precision)
        unet.packConvolutionWeights()
        unet.packLinearWeights()
        vae.packConvolutionWeights()
        return DiffusionPipeline(tokenizer: try CLIPTokenizer(directory: tokenizer), textEncoder: textEncoder, unet: unet, vae: vae,
                               schedulerConfig: c.scheduler, name: url.deletingPathExtension().lastPathComponent)
    }
}
