import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseSchedulers
import DiffuseTensor
import Foundation

/// A loaded diffusion model ready to generate: a prompt encoder producing the UNet's
/// `Conditioning`, the UNet (`NoisePredictor`), the `LatentDecoder` between its samples and images,
/// and the scheduler configuration. `generate` runs diffusers' loop (`DenoisingLoop`) over them;
/// each model family (`ModelFamily`) builds the components from its folder.
///
/// Stable Diffusion 1.x / 2.x (CLIP text encoder, latent UNet, VAE) from a diffusers folder or a
/// single-file checkpoint, and the models `diffuse train` writes — pixel-space UNets,
/// text-conditioned through a sentence encoder or unconditional — are what loads today.
public final class DiffusionPipeline: @unchecked Sendable {
    /// Prompt → conditioning; nil for an unconditional model (prompts are then ignored).
    public let textEncoder: (any PromptEncoder)?
    public let unet: any NoisePredictor
    /// Samples ↔ images: the autoencoder of a latent model, pixels (folded into patches) otherwise;
    /// `replaceDecoder` swaps in another (a tiny autoencoder).
    public private(set) var decoder: any LatentDecoder
    public let schedulerConfig: SchedulerConfig
    /// A short name for infotext (`Model:`): the folder or file name.
    public let name: String
    /// The captions the model was trained on, for matching prompts to them (`CaptionIndex`); the
    /// folder's `caption_index.safetensors` when it has one.
    public var captionIndex: CaptionIndex? = nil
    /// The guidance scale the model's folder recommends (`_diffuse_guidance` in model_index.json),
    /// for callers that were given none; nil = diffusers' 7.5.
    public var defaultGuidance: Float? = nil
    /// The image sizes the model supports (`_diffuse_sizes` in model_index.json); requests of
    /// other sizes are refused. nil = any size.
    public var supportedSizes: [DiffusersFolder.Size]? = nil

    /// How image-to-image and inpainting choose their timesteps: `.truncated` as
    /// `StableDiffusionImg2ImgPipeline` does (the last `strength` share of the full schedule),
    /// `.scheduler` as `LatentConsistencyModelImg2ImgPipeline` does (the sampler's own schedule for
    /// the strength: `Scheduler.img2imgTimesteps`; image-to-image only, inpainting truncates).
    public enum ImageToImageSchedule: Sendable { case truncated, scheduler }
    public var imageToImageSchedule = ImageToImageSchedule.truncated

    /// The time ids a "text_time" UNet (SDXL) takes with each prompt; nil for other UNets.
    public var microConditioning: MicroConditioning? = nil

    /// The denoising steps the model's folder recommends (`_diffuse_steps` in model_index.json, or
    /// its pipeline class's default: 4 for `LatentConsistencyModelPipeline`); nil = the caller's.
    public var defaultSteps: Int? = nil

    /// Serialises LoRA merging with generation (`generate`'s `request.loras`).
    let loraGate = LoRAGate()

    /// The guidance scale to generate with: `given`, else `defaultGuidance`, else diffusers' 7.5
    /// (`GenerationRequest`'s default).
    public func guidance(_ given: Float?) -> Float { given ?? defaultGuidance ?? GenerationRequest(prompt: "").guidance }

    /// The steps to generate with: `given`, else `defaultSteps`, else `fallback`.
    public func steps(_ given: Int?, fallback: Int) -> Int { given ?? defaultSteps ?? fallback }

    /// A pipeline over these components.
    /// - Precondition: `textEncoder` can condition `unet` (`conditioningMismatch` is nil).
    public init(textEncoder: (any PromptEncoder)?, unet: any NoisePredictor, decoder: any LatentDecoder,
                schedulerConfig: SchedulerConfig, name: String) {
        precondition(Self.conditioningMismatch(textEncoder: textEncoder, unet: unet) == nil,
                     "DiffusionPipeline: \(Self.conditioningMismatch(textEncoder: textEncoder, unet: unet) ?? "")")
        self.textEncoder = textEncoder
        self.unet = unet
        self.decoder = decoder
        self.schedulerConfig = schedulerConfig
        self.name = name
    }

    /// A latent model with `vae`, or a pixel model (`vae` nil) whose UNet sees `patchSize` ×
    /// `patchSize` pixel blocks folded into channels.
    public convenience init(textEncoder: (any PromptEncoder)?, unet: any NoisePredictor, vae: AutoencoderKL?,
                            schedulerConfig: SchedulerConfig, name: String, patchSize: Int = 1) {
        precondition(patchSize >= 1 && (vae == nil || patchSize == 1), "DiffusionPipeline: patch size \(patchSize) (only pixel models fold patches)")
        self.init(textEncoder: textEncoder, unet: unet, decoder: vae.map { AutoencoderKLDecoder($0) } ?? PixelDecoder(patchSize: patchSize),
                  schedulerConfig: schedulerConfig, name: name)
    }

    /// Stable Diffusion: CLIP tokenizer and text model, conditional UNet, VAE.
    public convenience init(tokenizer: CLIPTokenizer, textEncoder: CLIPTextModel, unet: UNet2DConditionModel, vae: AutoencoderKL,
                            schedulerConfig: SchedulerConfig, name: String) {
        self.init(textEncoder: CLIPPromptEncoder(tokenizer: tokenizer, model: textEncoder), unet: unet, vae: vae,
                  schedulerConfig: schedulerConfig, name: name)
    }

    /// Decodes (and encodes) with `replacement` instead of the folder's autoencoder — a tiny
    /// autoencoder or another KL VAE of the same latent space. Call before generating.
    /// - Throws: `PipelineError` naming `source` for a pixel model, or when the replacement's latent
    ///   channels differ from the UNet's.
    public func replaceDecoder(_ replacement: any LatentDecoder, source: String) throws {
        guard !(decoder is PixelDecoder) else {
            throw PipelineError("\(source): \(name) is a pixel-space model; it has no autoencoder to replace")
        }
        guard let channels = replacement.latentChannels, channels == unet.outputChannels else {
            throw PipelineError("\(source): the autoencoder takes \(replacement.latentChannels.map(String.init) ?? "any number of") latent channels, but \(name)'s UNet makes \(unet.outputChannels)")
        }
        decoder = replacement
    }

    /// The autoencoder of a latent model; nil for a pixel model.
    public var vae: AutoencoderKL? { (decoder as? AutoencoderKLDecoder)?.vae }

    /// For pixel models: the UNet denoises f × f pixel blocks folded into channels
    /// (`Tensor.spaceToDepth`), so a 32×32 RGB image is a 16×16 × 12 sample for f = 2. 1 = plain.
    public var patchSize: Int { (decoder as? PixelDecoder)?.patchSize ?? 1 }

    /// Decode latents larger than a tile tile by tile (`TiledDecoding`) to bound the VAE's memory;
    /// nil (the default) decodes in one piece. Pixel models ignore it.
    public var vaeTiling: TiledDecoding? {
        get { (decoder as? AutoencoderKLDecoder)?.tiling }
        set { (decoder as? AutoencoderKLDecoder)?.tiling = newValue }
    }

    /// Image size / sample size: the VAE's factor (8 for SD), the patch size for pixel-space models.
    public var vaeScaleFactor: Int { decoder.scaleFactor }

    /// Channels of the denoised sample: the VAE's latent channels, or the UNet's output channels.
    public var latentChannels: Int { decoder.latentChannels ?? unet.outputChannels }

    /// The native image size: the UNet's `sample_size` × the decoder's factor (512 for SD 1.5, 32
    /// for a 32-pixel model).
    public var defaultImageSize: Int { (unet.nativeSampleSize ?? 64) * vaeScaleFactor }

    /// Loads a diffusers folder with the model family its `model_index.json` names (`ModelFamily`).
    ///
    /// - Throws: `DiffusersFolderError`, `ModelConfigError`, `WeightLoadingError` or `PipelineError`
    ///   naming the file, key or tensor that is wrong, or the pipeline class no family loads.
    public static func load(folder url: URL, weights precision: WeightPrecision = .float32) throws -> DiffusionPipeline {
        let folder = try DiffusersFolder(url)
        return try ModelFamilies.family(for: folder).load(folder, weights: precision)
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
    /// folder, `text_encoder/` or the folder `_diffuse_text_encoder` names: `DiffusersFolder.sharedComponentFolder`).
    public static func loadTextEncoder(_ folder: DiffusersFolder, weights precision: WeightPrecision = .float32) throws -> any PromptEncoder {
        let encoderFolder: URL
        if folder.hasComponent("text_encoder") || folder.textEncoderPath == nil {
            encoderFolder = try folder.componentFolder("text_encoder")
        } else {
            encoderFolder = folder.sharedComponentFolder!
            guard FileManager.default.fileExists(atPath: encoderFolder.appendingPathComponent("config.json").path) else {
                throw PipelineError("\(encoderFolder.path) (the text encoder \(folder.root.lastPathComponent)/model_index.json names as _diffuse_text_encoder) is missing; `make deps` fetches all-MiniLM-L6-v2")
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

/// The pipeline's name before model families other than Stable Diffusion's joined it.
@available(*, deprecated, renamed: "DiffusionPipeline")
public typealias StableDiffusion = DiffusionPipeline
