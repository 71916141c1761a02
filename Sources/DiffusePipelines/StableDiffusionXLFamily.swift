import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseSchedulers
import Foundation

/// Stable Diffusion XL folders (`StableDiffusionXLPipeline`, its image-to-image and inpainting
/// classes, 9-channel inpainting UNets, distilled Turbo / Lightning folders with their shipped
/// scheduler configs): two CLIP text encoders (`SDXLPromptEncoder`: `text_encoder/` +
/// `tokenizer/`, `text_encoder_2/` + `tokenizer_2/`), a UNet with `addition_embed_type`
/// "text_time" conditioned on the pooled text embedding and the size/crop time ids
/// (`MicroConditioning.sizes`), `AutoencoderKL`. A refiner folder (`requires_aesthetics_score`,
/// only the second encoder) loads too, with aesthetic-score time ids.
public struct StableDiffusionXLFamily: ModelFamily {
    public init() {}

    public var pipelineClasses: Set<String> {
        ["StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline", "StableDiffusionXLInpaintPipeline"]
    }

    /// Reads `model_index.json` (`force_zeros_for_empty_prompt`, default true;
    /// `requires_aesthetics_score`, default false), `unet/`, `text_encoder_2/` + `tokenizer_2/`,
    /// `text_encoder/` + `tokenizer/` when listed, `vae/` and `scheduler/`.
    /// - Throws: errors naming the file and key at fault; `PipelineError` when the encoders' widths
    ///   do not fit the UNet's `cross_attention_dim` or `projection_class_embeddings_input_dim`.
    public func load(_ folder: DiffusersFolder, weights precision: WeightPrecision) throws -> DiffusionPipeline {
        let url = folder.root
        let indexURL = url.appendingPathComponent("model_index.json")
        let index = try ConfigFile(contentsOf: indexURL)
        let forceZeros = try index.bool("force_zeros_for_empty_prompt", default: true)
        let aesthetic = try index.bool("requires_aesthetics_score", default: false)
        let micro: MicroConditioning = aesthetic ? .aestheticScore : .sizes

        let unetConfigURL = try folder.configURL("unet")
        let unetConfig = try UNet2DConditionConfig(ModelConfig(contentsOf: unetConfigURL))
        guard let addInput = unetConfig.additionEmbeddingInputDim, let timeWidth = unetConfig.additionTimeEmbedDim else {
            throw PipelineError("\(unetConfigURL.path): addition_embed_type is not \"text_time\", which \(folder.pipelineClass) needs")
        }
        let encoder = try Self.loadTextEncoders(folder, forceZerosForEmptyPrompt: forceZeros, weights: precision)
        if encoder.dimension != unetConfig.crossAttentionDim[0] {
            throw PipelineError("\(unetConfigURL.path): cross_attention_dim is \(unetConfig.crossAttentionDim[0]) but the text encoders' penultimate states are \(encoder.dimension) wide together")
        }
        let expected = encoder.textEmbedsDimension + micro.count * timeWidth
        if expected != addInput {
            throw PipelineError("\(unetConfigURL.path): projection_class_embeddings_input_dim is \(addInput) but text_encoder_2's projection_dim \(encoder.textEmbedsDimension) + \(micro.count) time ids × addition_time_embed_dim \(timeWidth) = \(expected)"
                                + (aesthetic ? " (requires_aesthetics_score is true in model_index.json)" : ""))
        }
        let unet = UNet2DConditionModel(config: unetConfig)
        try unet.load(from: SafeTensorsWeights(folder.weightFiles("unet")), precision: precision)
        unet.packConvolutionWeights()
        unet.packLinearWeights()

        let vae = AutoencoderKL(config: try AutoencoderKLConfig(ModelConfig(contentsOf: folder.configURL("vae"))))
        try vae.load(from: SafeTensorsWeights(folder.weightFiles("vae")), precision: precision)
        vae.packConvolutionWeights()

        let model = DiffusionPipeline(textEncoder: encoder, unet: unet, decoder: AutoencoderKLDecoder(vae),
                                      schedulerConfig: try SchedulerConfig(contentsOf: folder.configURL("scheduler")),
                                      name: url.lastPathComponent)
        model.microConditioning = micro
        // The pipeline classes' own default guidance_scale: 5 for text-to-image and image-to-image, 7.5 for inpainting.
        model.defaultGuidance = folder.guidance.map { Float($0) } ?? (folder.pipelineClass == "StableDiffusionXLInpaintPipeline" ? 7.5 : 5)
        model.defaultSteps = folder.steps
        model.supportedSizes = folder.sizes
        return model
    }

    /// The folder's text encoders: `text_encoder_2/` (a `CLIPTextModelWithProjection`) with
    /// `tokenizer_2/`, and `text_encoder/` with `tokenizer/` when model_index.json lists them.
    public static func loadTextEncoders(_ folder: DiffusersFolder, forceZerosForEmptyPrompt: Bool,
                                        weights precision: WeightPrecision) throws -> SDXLPromptEncoder {
        var first: (tokenizer: CLIPTokenizer, model: CLIPTextModel)? = nil
        if folder.hasComponent("text_encoder") {
            let model = CLIPTextModel(config: try CLIPTextConfig(ModelConfig(contentsOf: folder.configURL("text_encoder"))))
            try model.load(from: CLIPTextModel.normalizedWeights(SafeTensorsWeights(folder.weightFiles("text_encoder"))),
                           ignoring: CLIPTextModel.ignoredKeys, precision: precision)
            first = (try CLIPTokenizer(directory: folder.componentFolder("tokenizer")), model)
        }
        let second = try CLIPTextModelWithProjection(ModelConfig(contentsOf: folder.configURL("text_encoder_2")))
        try second.load(from: CLIPTextModelWithProjection.normalizedWeights(SafeTensorsWeights(folder.weightFiles("text_encoder_2"))),
                        ignoring: CLIPTextModelWithProjection.ignoredKeys, precision: precision)
        return SDXLPromptEncoder(first: first, tokenizer2: try CLIPTokenizer(directory: folder.componentFolder("tokenizer_2")),
                                 textEncoder2: second, forceZerosForEmptyPrompt: forceZerosForEmptyPrompt)
    }
}
