import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseSchedulers
import Foundation

/// Stable Diffusion 1.x / 2.x folders (CLIP text encoder, `UNet2DConditionModel`, `AutoencoderKL`;
/// text-to-image, image-to-image and 9-channel inpainting checkpoints) and the models
/// `diffuse train` writes: pixel-space UNets without a VAE (`_diffuse_patch_size` folds pixel
/// blocks into channels), text-conditioned through CLIP or a BERT sentence encoder, or
/// unconditional (`UNet2DModel`, diffusers' `DDPMPipeline`). LCM-distilled folders
/// (`LatentConsistencyModelPipeline`: a UNet with `time_cond_proj_dim`, guidance as an embedding)
/// load the same way, with that pipeline's defaults: 4 steps, guidance 8.5.
public struct StableDiffusionFamily: ModelFamily {
    public init() {}

    public var pipelineClasses: Set<String> {
        ["StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline", "StableDiffusionInpaintPipeline",
         "DiffuseTextToPixelPipeline", "DDPMPipeline", "LatentConsistencyModelPipeline"]
    }

    /// Reads `model_index.json`, `unet/`, `scheduler/`, and as the model needs them `text_encoder/`
    /// + `tokenizer/` (`DiffusionPipeline.loadTextEncoder`), `vae/` and `caption_index.safetensors`.
    public func load(_ folder: DiffusersFolder, weights precision: WeightPrecision) throws -> DiffusionPipeline {
        let url = folder.root
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
            textEncoder = try DiffusionPipeline.loadTextEncoder(folder, weights: precision)
        }
        if let mismatch = DiffusionPipeline.conditioningMismatch(textEncoder: textEncoder, unet: unet) {
            throw PipelineError("\(url.path): \(mismatch)")
        }
        let decoder: any LatentDecoder
        if folder.components["vae"] != nil {
            let vae = AutoencoderKL(config: try AutoencoderKLConfig(ModelConfig(contentsOf: folder.configURL("vae"))))
            try vae.load(from: SafeTensorsWeights(folder.weightFiles("vae")), precision: precision)
            vae.packConvolutionWeights()
            decoder = AutoencoderKLDecoder(vae)
            if folder.patchSize != 1 {
                throw PipelineError("\(url.path): _diffuse_patch_size \(folder.patchSize) is for pixel models, and this one has a VAE")
            }
        } else {
            guard folder.patchSize == 1 || (folder.patchSize > 1 && unet.inputChannels == 3 * folder.patchSize * folder.patchSize) else {
                throw PipelineError("\(url.path): _diffuse_patch_size \(folder.patchSize) needs a pixel model with 3 × \(folder.patchSize)² input channels (the UNet has \(unet.inputChannels))")
            }
            decoder = PixelDecoder(patchSize: folder.patchSize)
        }
        let schedulerConfig = try SchedulerConfig(contentsOf: folder.configURL("scheduler"))
        let model = DiffusionPipeline(textEncoder: textEncoder, unet: unet, decoder: decoder,
                                      schedulerConfig: schedulerConfig, name: url.lastPathComponent)
        let lcm = folder.pipelineClass == "LatentConsistencyModelPipeline"
        model.defaultGuidance = folder.guidance.map { Float($0) } ?? (lcm ? 8.5 : nil)
        model.defaultSteps = folder.steps ?? (lcm ? 4 : nil)
        if lcm { model.imageToImageSchedule = .scheduler }
        model.supportedSizes = folder.sizes
        let indexURL = url.appendingPathComponent(CaptionIndex.fileName)
        if textEncoder?.pooledDimension != nil, FileManager.default.fileExists(atPath: indexURL.path) {
            let index = try CaptionIndex(contentsOf: indexURL)
            guard index.embeddings.shape[1] == textEncoder?.pooledDimension else {
                throw PipelineError("\(indexURL.path): \(index.embeddings.shape[1])-wide embeddings, but the text encoder's are \(textEncoder?.pooledDimension ?? 0)-wide")
            }
            model.captionIndex = index
        }
        return model
    }
}
