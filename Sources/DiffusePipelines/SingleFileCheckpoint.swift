import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseSchedulers
import DiffuseTensor
import Foundation

/// The configurations a single-file checkpoint does not carry: Diffuse has SD 1.x's built in,
/// and tests (or users) can supply others from a diffusers folder.
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
        scheduler = try SchedulerConfig(jsonData: Data(contentsOf: schedulerURL))
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
}

extension StableDiffusion {
    /// Loads an original (CompVis / LDM key names) single-file `.safetensors` checkpoint.
    ///
    /// - Parameters:
    ///   - configs: the model configurations; nil = Stable Diffusion 1.x's (inpainting detected
    ///     from the UNet's input channels). SD 2.x single files (OpenCLIP text encoder) are not
    ///     supported yet: convert them to a diffusers folder.
    ///   - tokenizer: the CLIP tokenizer folder (vocab.json + merges.txt).
    public static func load(singleFile url: URL, configs: StableDiffusionConfigs? = nil, tokenizer: URL,
                            weights precision: WeightPrecision = .float32) throws -> StableDiffusion {
        let weights = try SafeTensorsWeights(url)
        let names = weights.tensorNames
        if names.contains(where: { $0.hasPrefix("cond_stage_model.model.") }) {
            throw PipelineError("\(url.path) is a Stable Diffusion 2.x single file (OpenCLIP text encoder), which Diffuse cannot load yet; use its diffusers folder")
        }
        guard names.contains(where: { $0.hasPrefix(LDMCheckpointKeys.unetPrefix) }) else {
            throw PipelineError("\(url.path) has no \(LDMCheckpointKeys.unetPrefix)* tensors: not a single-file Stable Diffusion checkpoint")
        }
        let inChannels = weights.shape(of: LDMCheckpointKeys.unetPrefix + "input_blocks.0.0.weight")?[1] ?? 4
        let c = try configs ?? .stableDiffusion1(inChannels: inChannels)

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
        let textEncoder = CLIPTextModel(config: c.textEncoder)
        try textEncoder.load(from: RenamedWeights(weights, names: textNames), ignoring: CLIPTextModel.ignoredKeys, precision: precision)
        let unet = UNet2DConditionModel(config: c.unet)
        try unet.load(from: RenamedWeights(weights, names: unetNames), precision: precision)
        let vae = AutoencoderKL(config: c.vae)
        try vae.load(from: RenamedWeights(weights, names: vaeNames), precision: precision)
        return StableDiffusion(tokenizer: try CLIPTokenizer(directory: tokenizer), textEncoder: textEncoder, unet: unet, vae: vae,
                               schedulerConfig: c.scheduler, name: url.deletingPathExtension().lastPathComponent)
    }
}
