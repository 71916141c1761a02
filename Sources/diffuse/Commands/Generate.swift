import ArgumentParser
import DiffuseFormats
import DiffuseNN
import DiffusePipelines
import DiffuseTensor
import Foundation

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make images from a text prompt (and optionally an init image and a mask).",
        discussion: """
        Without --model, the bundled text-to-emoji model (32×32 pixels, trained by Diffuse on the \
        Noto Color Emoji bitmaps; use --upscale to enlarge its output) is used.

        --model takes a diffusers folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, \
        scheduler/; an SDXL folder adds text_encoder_2/ and tokenizer_2/) or a single-file Stable Diffusion 1.x or 2.x .safetensors checkpoint (original \
        CompVis / Stability key names; it needs --tokenizer, a folder with CLIP's vocab.json and \
        merges.txt, e.g. the tokenizer/ of a diffusers folder of the same version). Single files get \
        diffusers' configs for their version: SD 2.x ones are taken as stable-diffusion-2-1 \
        (v-prediction, 768²); pass --prediction-type epsilon for the 512² base models. The same \
        seed and settings give the same image as Hugging Face diffusers.

        With --init-image the prompt repaints that image (image-to-image; --strength sets how much). \
        With --mask as well, only the white part of the mask is repainted (inpainting), with \
        9-channel inpainting checkpoints or ordinary ones.

        A model folder with a caption index (caption_index.safetensors, as the bundled model has) \
        draws the training caption nearest in meaning to the prompt ("a slice of pizza" → "pizza", \
        matched by the text encoder's sentence embeddings; printed, and recorded in the PNG); \
        --no-caption-matching draws the prompt as written.

        Each PNG carries the settings in a `parameters` text chunk (AUTOMATIC1111's infotext format).

        With DIFFUSE_PROFILE=1 (see `diffuse doctor`), the wall time of each tensor operation of the \
        generation is printed on standard error at the end.

        Examples:
          diffuse generate --model sd15 --prompt "a red apple on a wooden table" --seed 42 --output apple.png
          diffuse generate --model sd15 --prompt "a watercolor" --init-image photo.png --strength 0.6 --output out.png
        """
    )

    @OptionGroup(title: "Model") var modelOptions: ModelOptions

    @Option(help: "What to draw.")
    var prompt: String

    @Option(help: "What to steer away from.")
    var negativePrompt = ""

    @OptionGroup(title: "Sampling") var sampling: SamplingOptions

    @OptionGroup(title: "Textual inversion") var embeddingOptions: EmbeddingOptions

    @OptionGroup(title: "SDXL micro-conditioning") var microConditioning: MicroConditioningOptions

    @Option(help: "Random seed (the same seed gives the same image).")
    var seed: UInt64 = 0

    @Option(help: "Image width in pixels, a multiple of 8 (default: the model's native size).")
    var width: Int?

    @Option(help: "Image height in pixels, a multiple of 8 (default: the model's native size).")
    var height: Int?

    @Option(help: "Number of images from the one seed (written as FILE-1.png … FILE-N.png).")
    var count = 1

    @Option(help: "Init image (PNG) for image-to-image or inpainting.")
    var initImage: String?

    @Option(help: "How much of the init image to repaint, 0…1 (default 0.8, or 1 when inpainting).")
    var strength: Double?

    @Option(help: "Inpainting mask (PNG, same size as the init image): white = repaint.")
    var mask: String?

    @Option(help: ArgumentHelp("SDXL: a refiner folder (requires_aesthetics_score) that denoises the last part of the schedule.", valueName: "dir"))
    var refiner: String?

    @Option(help: ArgumentHelp("With --refiner: the fraction of the schedule the base model runs before the refiner takes over, 0…1 (default 0.8; diffusers' denoising_end / denoising_start).",
                               valueName: "fraction"))
    var refinerStart = 0.8

    @Option(help: "Enlarge the written PNG by this integer factor (nearest neighbour; for small models).")
    var upscale = 1

    @Flag(help: "Use the prompt as written, even when the model has a caption index.")
    var noCaptionMatching = false

    @Option(name: .shortAndLong, help: "Output PNG file.")
    var output: String

    func validate() throws {
        guard output.lowercased().hasSuffix(".png") else { throw ValidationError("--output must end in .png (got \(output))") }
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        guard (1 ... 32).contains(upscale) else { throw ValidationError("--upscale must be in 1…32 (got \(upscale))") }
        if let strength, !(0 ... 1).contains(strength) { throw ValidationError("--strength \(strength) is outside 0…1") }
        if let width, width <= 0 || width % 8 != 0 { throw ValidationError("--width \(width) is not a positive multiple of 8") }
        if let height, height <= 0 || height % 8 != 0 { throw ValidationError("--height \(height) is not a positive multiple of 8") }
        if mask != nil && initImage == nil { throw ValidationError("--mask needs --init-image") }
        if refiner != nil {
            guard refinerStart > 0 && refinerStart < 1 else { throw ValidationError("--refiner-start \(refinerStart) is not between 0 and 1") }
            if initImage != nil { throw ValidationError("--refiner runs after text-to-image only; drop --init-image or --refiner") }
        }
    }

    func run() throws {
        try prepareEngine()
        let pipeline = try modelOptions.load()
        try embeddingOptions.apply(to: pipeline)
        let samplerName = try pipeline.samplerDisplayName(sampling.sampler?.rawValue)
        var request = GenerationRequest(prompt: prompt)
        request.negativePrompt = negativePrompt
        sampling.apply(to: &request, for: pipeline)
        let guidance = request.guidance
        if pipeline.unet.guidanceEmbeddingDimension != nil, !negativePrompt.isEmpty {
            FileHandle.standardError.write(Data("note: \(pipeline.name) takes the guidance scale as an embedding (LCM); --negative-prompt is ignored, as diffusers ignores it\n".utf8))
        }
        request.seed = seed
        request.count = count
        request.strength = strength
        microConditioning.apply(to: &request)
        if let initImage {
            let image = try Self.readImage(initImage, option: "--init-image")
            request.initImage = image
            request.width = width ?? image.width
            request.height = height ?? image.height
            if (width == nil || height == nil) && (image.width, image.height) != (pipeline.defaultImageSize, pipeline.defaultImageSize) {
                FileHandle.standardError.write(Data("the output is \(image.width)x\(image.height), the size of --init-image (the model's own size is \(pipeline.defaultImageSize)x\(pipeline.defaultImageSize)); --width and --height choose another\n".utf8))
            }
        } else {
            request.width = width
            request.height = height
        }
        if let mask { request.mask = try Self.readImage(mask, option: "--mask") }
        let size = (request.width ?? pipeline.defaultImageSize, request.height ?? pipeline.defaultImageSize)
        do { try pipeline.validate(request) } catch let error as PipelineError { throw CLIError(error) }
        try Self.requireWritable(output)
        // Matched here (to say so) rather than again inside the pipeline.
        request.matchCaption = false
        var extra: [(key: String, value: String)] = []
        if !noCaptionMatching, let match = pipeline.matchedCaption(for: prompt) {
            FileHandle.standardError.write(Data(("prompt \"\(prompt)\" → caption \"\(match.caption)\" (similarity "
                + String(format: "%.2f", match.similarity) + "); --no-caption-matching draws the prompt as written\n").utf8))
            extra.append(("Matched caption", match.caption))
            request.prompt = match.caption
        }

        do {
            request.loras = try pipeline.loraApplications(forPromptTags: request.adapterTags,
                                                          in: modelOptions.loraDir.map { LoRADirectory(URL(fileURLWithPath: $0)) })
        } catch let error as PipelineError {
            throw CLIError(error)
        }
        Self.notePromptReading(request, pipeline: pipeline, guided: guidance > 1 && pipeline.unet.guidanceEmbeddingDimension == nil)

        let refinerPipeline = try refiner.map { try Self.loadRefiner($0, weights: modelOptions.weights) }
        let bar = ProgressBar(label: "generating")
        let images: [PNGImage]
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            let report: (GenerationProgress) -> Bool = { p in
                bar.update(step: p.step, total: p.totalSteps, elapsed: p.elapsed)
                return true
            }
            if let refinerPipeline {
                images = try pipeline.generate(request, refiner: refinerPipeline, refinerStart: refinerStart, progress: report)
            } else {
                images = try pipeline.generate(request, progress: report)
            }
        } catch let error as PipelineError {
            throw CLIError(error)
        }
        bar.finish()
        if OpProfile.enabled {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            FileHandle.standardError.write(Data((OpProfile.report(total: seconds) + "\n").utf8))
        }
        let info = Infotext(prompt: prompt + modelOptions.loraTags, negativePrompt: negativePrompt, steps: request.steps, sampler: samplerName,
                            cfgScale: Double(guidance), seed: Int(truncatingIfNeeded: seed), width: size.0, height: size.1,
                            model: pipeline.name, extra: extra)
        for (i, image) in images.enumerated() {
            var tagged = try image.enlarged(by: upscale)
            tagged.text = [PNGTextEntry(keyword: "parameters", text: info.render())]
            let path = images.count == 1 ? output : String(output.dropLast(4)) + "-\(i + 1).png"
            try tagged.write(to: URL(fileURLWithPath: path))
            print(path)
        }
    }

    /// One line on standard error for each prompt the plain syntax cuts (naming the tokens dropped),
    /// and for the extra-network tags the A1111 syntax takes out without applying (all but LoRAs).
    static func notePromptReading(_ request: GenerationRequest, pipeline: DiffusionPipeline, guided: Bool) {
        let skipped = request.adapterTags.filter { !$0.isLoRA }
        if !skipped.isEmpty {
            FileHandle.standardError.write(Data("note: \(skipped.map(\.description).joined(separator: " ")) taken out of the prompt (of extra-network tags, only <lora:…> ones are applied)\n".utf8))
        }
        guard request.promptSyntax == .plain, let encoder = pipeline.textEncoder as? CLIPPromptEncoder else { return }
        for (option, text) in [("--prompt", request.prompt)] + (guided ? [("--negative-prompt", request.negativePrompt)] : []) {
            let dropped = encoder.droppedTokenCount(text)
            if dropped > 0 {
                FileHandle.standardError.write(Data("warning: \(option) is \(dropped) token\(dropped == 1 ? "" : "s") over CLIP's 75; the last \(dropped) are dropped (--prompt-syntax a1111 reads any length)\n".utf8))
            }
        }
    }

    /// The SDXL refiner folder at `path`, or a one-line error naming `--refiner` (missing, not a
    /// folder, not a refiner).
    static func loadRefiner(_ path: String, weights: WeightPrecision) throws -> DiffusionPipeline {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("--refiner: \(path) is not a folder (an SDXL refiner's diffusers folder)")
        }
        let refiner: DiffusionPipeline
        do { refiner = try DiffusionPipeline.load(folder: URL(fileURLWithPath: path), weights: weights) } catch {
            throw CLIError("--refiner: \(error)")
        }
        guard refiner.isRefiner else {
            throw CLIError("--refiner: \(path) is not an SDXL refiner (its model_index.json does not set requires_aesthetics_score)")
        }
        return refiner
    }

    /// The PNG at `path`, or a one-line error naming the option and the path (missing, a folder,
    /// not a PNG, larger than the decoder's pixel limit).
    static func readImage(_ path: String, option: String) throws -> PNGImage {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw CLIError("\(option): \(path) does not exist") }
        guard !isDirectory.boolValue else { throw CLIError("\(option): \(path) is a folder, not a PNG file") }
        do { return try PNGImage(contentsOf: URL(fileURLWithPath: path)) } catch let error as PNGError { throw CLIError("\(option): \(error)") }
    }

    /// Checks before generating that `path` can be written: its folder exists and is writable,
    /// and `path` itself is not a folder.
    static func requireWritable(_ path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CLIError("--output: \(path) is a folder; give a .png file name")
        }
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
            throw CLIError("--output: the folder \(folder) does not exist")
        }
        guard isDirectory.boolValue else { throw CLIError("--output: \(folder) is a file, not a folder") }
        guard access(folder, W_OK) == 0 else { throw CLIError("--output: the folder \(folder) is not writable") }
    }
}
