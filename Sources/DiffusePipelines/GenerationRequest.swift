import DiffuseFormats
import DiffuseModels
import DiffuseTensor

/// Everything that determines an image: the same request and seed give the same pixels.
public struct GenerationRequest: Sendable {
    public var prompt: String
    /// What to steer away from (the unconditional branch of classifier-free guidance).
    public var negativePrompt: String = ""
    /// How `prompt` and `negativePrompt` are read: `.plain` (diffusers: literal, cut at 77 tokens)
    /// or `.a1111` (AUTOMATIC1111's emphasis, `BREAK`, any length; `PromptSyntax`).
    public var promptSyntax: PromptSyntax = .plain
    /// Sampler name (`pndm`, `ddim`, `ddpm`, `euler`, `euler_a`, `heun`, `lms`, `dpmpp_2m`,
    /// `dpmpp_2m_karras`, `unipc`); nil = the checkpoint's own scheduler.
    public var sampler: String? = nil
    /// Denoising steps (for img2img and inpainting, of the full schedule: `strength` of them run).
    public var steps: Int = 25
    /// Classifier-free guidance scale; ≤ 1 disables guidance (one UNet pass per step).
    public var guidance: Float = 7.5
    /// The TCD sampler's η (gamma), 0…1: how much of each step is taken stochastically; nil =
    /// 0.3, `TCDScheduler.step`'s default (diffusers' `StableDiffusionPipeline` passes its own
    /// `eta`, 0, unless given one). Only the `tcd` sampler takes it.
    public var eta: Float? = nil
    /// Seed of the torch-compatible random stream.
    public var seed: UInt64 = 0
    /// Image size in pixels (multiples of 8); nil = the model's native size.
    public var width: Int? = nil
    public var height: Int? = nil
    /// Images generated from the one seed (diffusers' `num_images_per_prompt`).
    public var count: Int = 1
    /// For a model with a caption index (`DiffusionPipeline.captionIndex`): generate from the
    /// training caption nearest to the prompt in meaning instead of the prompt as written
    /// (`DiffusionPipeline.matchedCaption(for:)`). No effect on other models.
    public var matchCaption: Bool = true
    /// Image-to-image / inpainting source (any channel layout; resized to the output size if needed).
    public var initImage: PNGImage? = nil
    /// How much of the init image to repaint, 0…1 (1 = start from pure noise); nil = diffusers'
    /// defaults: 0.8 for image-to-image, 1.0 for inpainting.
    public var strength: Double? = nil

    /// The extra-network tags (`<lora:NAME:W>` …) the prompt carries when read as A1111 syntax
    /// (none in plain syntax); the encoder does not see them.
    public var adapterTags: [PromptAdapterTag] { promptSyntax == .a1111 ? PromptAdapterTag.extract(from: prompt).tags : [] }

    /// The strength this request runs with.
    public var effectiveStrength: Double { strength ?? (mask != nil ? 1.0 : 0.8) }
    /// Inpainting mask: white = repaint, black = keep (same size as the output).
    public var mask: PNGImage? = nil
    /// Cancels the generation from another thread: the UNet stops between its blocks and
    /// `generate` throws `CancellationError` (not only between steps, as the progress handler can).
    public var cancellation: CancellationFlag? = nil
    /// LoRAs merged into the weights while this request runs (read with the pipeline's
    /// `loadLoRA`), each with its multiplier.
    public var loras: [LoRAApplication] = []
    /// SDXL micro-conditioning (`MicroConditioning`; ignored by other models): the size the image
    /// is said to have been before cropping, nil = the output size.
    public var originalSize: DiffusersFolder.Size? = nil
    /// The top-left corner the image is said to have been cropped at; nil = (0, 0).
    public var crop: ImageCrop? = nil
    /// The size the image is said to be; nil = the output size.
    public var targetSize: DiffusersFolder.Size? = nil
    /// For refiners (`requires_aesthetics_score`): the aesthetic score the conditional rows carry,
    /// and the unconditional rows' (diffusers' 6 and 2.5).
    public var aestheticScore: Float = 6
    public var negativeAestheticScore: Float = 2.5

    public init(prompt: String) { self.prompt = prompt }

    /// What kind of job this is.
    public var mode: Mode { mask != nil ? .inpaint : initImage != nil ? .imageToImage : .textToImage }

    public enum Mode: String, Sendable { case textToImage = "txt2img", imageToImage = "img2img", inpaint }
}

/// Where a generation is, reported after each denoising step.
public struct GenerationProgress: Sendable {
    /// Steps done so far (1…total).
    public var step: Int
    public var totalSteps: Int
    /// Seconds since the denoising loop started.
    public var elapsed: Double
    /// The latents after this step, `[count, 4, height / 8, width / 8]` (scaled as the UNet sees
    /// them); `LatentPreview.image(from:)` turns them into a cheap preview.
    public var latents: Tensor? = nil
}
