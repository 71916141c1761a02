import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseSchedulers
import DiffuseTensor
import Foundation

/// A loaded diffusion model ready to generate: Stable Diffusion 1.x / 2.x (CLIP text encoder,
/// latent UNet, VAE) from a diffusers folder or a single-file checkpoint, and the models
/// `diffuse train` writes — pixel-space UNets without a VAE, text-conditioned through a sentence
/// encoder or unconditional.
public final class StableDiffusion: @unchecked Sendable {
    /// Prompt → token states; nil for an unconditional model (prompts are then ignored).
    public let textEncoder: (any PromptEncoder)?
    public let unet: any NoisePredictor
    /// The autoencoder of a latent model; nil when the UNet works on pixels.
    public let vae: AutoencoderKL?
    public let schedulerConfig: SchedulerConfig
    /// A short name for infotext (`Model:`): the folder or file name.
    public let name: String
    /// For pixel models: the UNet denoises f × f pixel blocks folded into channels
    /// (`Tensor.spaceToDepth`), so a 32×32 RGB image is a 16×16 × 12 sample for f = 2. 1 = plain.
    public let patchSize: Int
    /// Decode latents larger than a tile tile by tile (`TiledDecoding`) to bound the VAE's memory;
    /// nil (the default) decodes in one piece.
    public var vaeTiling: TiledDecoding? = nil
    /// The captions the model was trained on, for matching prompts to them (`CaptionIndex`); the
    /// folder's `caption_index.safetensors` when it has one.
    public var captionIndex: CaptionIndex? = nil
    /// The guidance scale the model's folder recommends (`_diffuse_guidance` in model_index.json),
    /// for callers that were given none; nil = diffusers' 7.5.
    public var defaultGuidance: Float? = nil
    /// The image sizes the model supports (`_diffuse_sizes` in model_index.json); requests of
    /// other sizes are refused. nil = any size.
    public var supportedSizes: [DiffusersFolder.Size]? = nil

    /// The guidance scale to generate with: `given`, else `defaultGuidance`, else diffusers' 7.5
    /// (`GenerationRequest`'s default).
    public func guidance(_ given: Float?) -> Float { given ?? defaultGuidance ?? GenerationRequest(prompt: "").guidance }

    public init(textEncoder: (any PromptEncoder)?, unet: any NoisePredictor, vae: AutoencoderKL?,
                schedulerConfig: SchedulerConfig, name: String, patchSize: Int = 1) {
        precondition(patchSize >= 1 && (vae == nil || patchSize == 1), "StableDiffusion: patch size \(patchSize) (only pixel models fold patches)")
        precondition(Self.conditioningMismatch(textEncoder: textEncoder, unet: unet) == nil,
                     "StableDiffusion: \(Self.conditioningMismatch(textEncoder: textEncoder, unet: unet) ?? "")")
        self.textEncoder = textEncoder
        self.unet = unet
        self.vae = vae
        self.schedulerConfig = schedulerConfig
        self.name = name
        self.patchSize = patchSize
    }

    /// Stable Diffusion: CLIP tokenizer and text model, conditional UNet, VAE.
    public convenience init(tokenizer: CLIPTokenizer, textEncoder: CLIPTextModel, unet: UNet2DConditionModel, vae: AutoencoderKL,
                            schedulerConfig: SchedulerConfig, name: String) {
        self.init(textEncoder: CLIPPromptEncoder(tokenizer: tokenizer, model: textEncoder), unet: unet, vae: vae,
                  schedulerConfig: schedulerConfig, name: name)
    }

    /// Image size / sample size: the VAE's factor (8 for SD), the patch size for pixel-space models.
    public var vaeScaleFactor: Int { vae?.config.downscaleFactor ?? patchSize }

    /// Channels of the denoised sample: the VAE's latent channels, or the UNet's output channels.
    public var latentChannels: Int { vae?.config.latentChannels ?? unet.outputChannels }

    /// The native image size: the UNet's `sample_size` × the VAE factor (512 for SD 1.5, 32 for a
    /// 32-pixel model).
    public var defaultImageSize: Int { (unet.nativeSampleSize ?? 64) * vaeScaleFactor }

    /// Loads a diffusers folder: `model_index.json`, `unet/`, `scheduler/`, and as the model needs
    /// them `text_encoder/` + `tokenizer/` (CLIP, or a BERT sentence encoder with `vocab.txt`) and `vae/`.
    ///
    /// - Throws: `DiffusersFolderError`, `ModelConfigError`, `WeightLoadingError` or `PipelineError`
    ///   naming the file, key or tensor that is wrong.
    public static func load(folder url: URL, weights precision: WeightPrecision = .float32) throws -> StableDiffusion {
        let folder = try DiffusersFolder(url)
        let unetConfig = try ModelConfig(contentsOf: folder.configURL("unet"))
        let unetClass = try unetConfig.string("_class_name", default: "UNet2DConditionModel")
        let unet: any NoisePredictor
        switch unetClass {
        case "UNet2DConditionModel": unet = UNet2DConditionModel(config: try UNet2DConditionConfig(unetConfig))
        case "UNet2DModel": unet = UNet2DModel(config: try UNet2DConfig(unetConfig))
        default: throw PipelineError("\(try folder.configURL("unet").path): unet class \(unetClass) is not supported (UNet2DConditionModel or UNet2DModel)")
        }
        try unet.load(from: SafeTensorsWeights(folder.weightFiles("unet")), precision: precision)
        // Fixed weights: convolutions and linear layers keep theirs in the layouts oneDNN reads
        // (in place of the plain copies: same memory).
        unet.packConvolutionWeights()
        unet.packLinearWeights()

        var textEncoder: (any PromptEncoder)? = nil
        if unet.contextDimension != nil {
            textEncoder = try loadTextEncoder(folder, weights: precision)
        }
        if let mismatch = conditioningMismatch(textEncoder: textEncoder, unet: unet) {
            throw PipelineError("\(url.path): \(mismatch)")
        }
        var vae: AutoencoderKL? = nil
        if folder.components["vae"] != nil {
            let autoencoder = AutoencoderKL(config: try AutoencoderKLConfig(ModelConfig(contentsOf: folder.configURL("vae"))))
            try autoencoder.load(from: SafeTensorsWeights(folder.weightFiles("vae")), precision: precision)
            autoencoder.packConvolutionWeights()
            vae = autoencoder
        }
        let schedulerURL = try folder.configURL("scheduler")
        guard let schedulerData = FileManager.default.contents(atPath: schedulerURL.path) else {
            throw PipelineError("\(schedulerURL.path) cannot be read")
        }
        let schedulerConfig = try SchedulerConfig(jsonData: schedulerData)
        if folder.patchSize != 1 {
            guard vae == nil, folder.patchSize >= 1, unet.inputChannels == 3 * folder.patchSize * folder.patchSize else {
                throw PipelineError("\(url.path): _diffuse_patch_size \(folder.patchSize) needs a pixel model with 3 × \(folder.patchSize)² input channels (the UNet has \(unet.inputChannels))")
            }
        }
        let model = StableDiffusion(textEncoder: textEncoder, unet: unet, vae: vae, schedulerConfig: schedulerConfig,
                                    name: url.lastPathComponent, patchSize: folder.patchSize)
        model.defaultGuidance = folder.guidance.map { Float($0) }
        model.supportedSizes = folder.sizes
        let indexURL = folder.root.appendingPathComponent(CaptionIndex.fileName)
        if textEncoder?.pooledDimension != nil, FileManager.default.fileExists(atPath: indexURL.path) {
            let index = try CaptionIndex(contentsOf: indexURL)
            guard index.embeddings.shape[1] == textEncoder?.pooledDimension else {
                throw PipelineError("\(indexURL.path): \(index.embeddings.shape[1])-wide embeddings, but the text encoder's are \(textEncoder?.pooledDimension ?? 0)-wide")
            }
            model.captionIndex = index
        }
        return model
    }

    /// The training caption `prompt` is matched to and its cosine similarity, or nil when the
    /// model has no caption index, the prompt is empty or already one of the captions.
    public func matchedCaption(for prompt: String) -> (caption: String, similarity: Float)? {
        guard let captionIndex, let textEncoder, !prompt.isEmpty, !captionIndex.contains(prompt),
              let pooled = textEncoder.sentenceEmbeddings([prompt]) else { return nil }
        return captionIndex.nearest(to: pooled)
    }

    /// Why `textEncoder` cannot condition `unet` (token width, pooled embedding), or nil when it can.
    public static func conditioningMismatch(textEncoder: (any PromptEncoder)?, unet: any NoisePredictor) -> String? {
        guard let dimension = unet.contextDimension else { return nil }
        guard let textEncoder else { return "the UNet is text-conditioned but there is no text encoder" }
        if textEncoder.dimension != dimension {
            return "the \(textEncoder.kind) text encoder gives \(textEncoder.dimension)-wide token states but the UNet's cross_attention_dim is \(dimension)"
        }
        if let pooled = unet.pooledDimension, textEncoder.pooledDimension != pooled {
            return "the UNet's projection class embedding takes \(pooled)-wide pooled prompt embeddings but the \(textEncoder.kind) text encoder "
                + (textEncoder.pooledDimension.map { "gives \($0)-wide ones" } ?? "gives none")
        }
        return nil
    }

    /// CLIP (`text_encoder/config.json` of a CLIP text model + `tokenizer/vocab.json`), or a BERT
    /// sentence encoder (`model_type` "bert": config, `model.safetensors` and `vocab.txt` in one
    /// folder, `text_encoder/` or the folder `_diffuse_text_encoder` names).
    public static func loadTextEncoder(_ folder: DiffusersFolder, weights precision: WeightPrecision = .float32) throws -> any PromptEncoder {
        let encoderFolder: URL
        if folder.hasComponent("text_encoder") || folder.textEncoderPath == nil {
            encoderFolder = try folder.componentFolder("text_encoder")
        } else {
            encoderFolder = URL(fileURLWithPath: folder.textEncoderPath!, relativeTo: folder.root).standardizedFileURL
            guard FileManager.default.fileExists(atPath: encoderFolder.appendingPathComponent("config.json").path) else {
                throw PipelineError("\(encoderFolder.path) (the text encoder \(folder.root.lastPathComponent)/model_index.json points at) is missing; run `make deps`")
            }
        }
        let config = try ModelConfig(contentsOf: encoderFolder.appendingPathComponent("config.json"))
        if try config.string("model_type", default: "clip_text_model") == "bert" {
            let encoder = try SentenceEncoder(directory: encoderFolder, precision: precision)
            guard let length = folder.promptLength else {
                throw PipelineError("\(folder.root.appendingPathComponent("model_index.json").path) has no _diffuse_prompt_length for its BERT text encoder")
            }
            return SentencePromptEncoder(encoder: encoder, length: length, pooledOnly: folder.pooledOnly, pooledToken: folder.pooledToken)
        }
        let tokenizer = try CLIPTokenizer(directory: folder.componentFolder("tokenizer"))
        let model = CLIPTextModel(config: try CLIPTextConfig(config))
        try model.load(from: CLIPTextModel.normalizedWeights(SafeTensorsWeights(folder.weightFiles("text_encoder"))),
                       ignoring: CLIPTextModel.ignoredKeys, precision: precision)
        return CLIPPromptEncoder(tokenizer: tokenizer, model: model)
    }
}
