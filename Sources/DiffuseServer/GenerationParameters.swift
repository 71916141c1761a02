import DiffuseFormats
import DiffuseModels
import DiffusePipelines

/// One job, checked and with every default resolved: what a worker runs. Image `i` of a job uses
/// seed `seed + i` and is generated alone, so each image's infotext reproduces it by itself (as
/// AUTOMATIC1111 numbers the seeds of a batch).
public struct GenerationParameters: Sendable {
    /// What to draw.
    public var prompt: String
    /// What to steer away from.
    public var negativePrompt = ""
    /// How both prompts are read: plain by default; the A1111 routes default to `.a1111`.
    public var promptSyntax = PromptSyntax.plain
    /// Diffuse sampler name; nil = the model's own scheduler.
    public var sampler: String? = nil
    /// Denoising steps (of the full schedule for img2img).
    public var steps = 20
    /// Classifier-free guidance scale.
    public var guidance = 7.5
    /// The first image's seed (already drawn if the client asked for a random one).
    public var seed: UInt64 = 0
    /// Output width in pixels (a multiple of 8).
    public var width: Int
    /// Output height in pixels (a multiple of 8).
    public var height: Int
    /// Images to make.
    public var count = 1
    /// Image-to-image source, already at `width × height`.
    public var initImage: PNGImage? = nil
    /// Inpainting mask (white = repaint), already at `width × height`.
    public var mask: PNGImage? = nil
    /// How much of the init image to repaint (nil = the pipeline's default).
    public var strength: Double? = nil
    /// The stochastic share of each step of the samplers that take one (TCD's gamma, 0…1; nil =
    /// the sampler's default); `eta` in the job and A1111 APIs.
    public var eta: Double? = nil
    /// LoRAs merged while the job runs (from the server's LoRA folder), with their multipliers.
    public var loras: [LoRAApplication] = []
    /// LoRAs the prompt's own `<lora:NAME:MULTIPLIER>` tags ask for (A1111 syntax), merged with
    /// `loras`; not added to the infotext, whose prompt already holds the tags.
    public var promptLoRAs: [LoRAApplication] = []
    /// How the API the job came from names its fields, for error replies.
    public var fieldNames = FieldNames.jobs

    /// A one-image text-to-image job with the defaults above.
    public init(prompt: String, width: Int, height: Int) {
        self.prompt = prompt
        self.width = width
        self.height = height
    }

    /// The seed of each image.
    public var seeds: [UInt64] { (0 ..< count).map { seed &+ UInt64($0) } }

    /// The pipeline request for the image with this seed.
    public func request(seed: UInt64) -> GenerationRequest {
        var request = GenerationRequest(prompt: prompt)
        request.negativePrompt = negativePrompt
        request.promptSyntax = promptSyntax
        request.sampler = sampler
        request.steps = steps
        request.guidance = Float(guidance)
        request.seed = seed
        request.width = width
        request.height = height
        request.count = 1
        request.initImage = initImage
        request.mask = mask
        request.strength = strength
        request.eta = eta.map(Float.init)
        request.loras = loras + promptLoRAs
        return request
    }

    /// The A1111 infotext of the image with this seed (the LoRAs as `<lora:NAME:MULTIPLIER>` tags
    /// after the prompt, as A1111 records them); `matchedCaption` is the training caption the
    /// model drew instead of the prompt (`DiffusionPipeline.matchedCaption(for:)`), if any.
    public func infotext(seed: UInt64, samplerName: String, model: String, matchedCaption: String? = nil) -> Infotext {
        var extra: [(key: String, value: String)] = []
        if initImage != nil { extra.append(("Denoising strength", "\(strength ?? (mask != nil ? 1.0 : 0.8))")) }
        if let matchedCaption { extra.append(("Matched caption", matchedCaption)) }
        let tags = loras.map { " <lora:\($0.lora.name):\($0.multiplier)>" }.joined()
        return Infotext(prompt: prompt + tags, negativePrompt: negativePrompt, steps: steps, sampler: samplerName,
                        cfgScale: guidance, seed: Int(truncatingIfNeeded: seed), width: width, height: height,
                        model: model, extra: extra)
    }

    /// Checks the values against the server's caps and the sampler's schedule, naming fields as
    /// `fieldNames` spells them. Prompts must not hold a NUL character (the PNG text chunk that
    /// carries the infotext cannot); guidance must be finite, 0…100.
    /// - Throws: `APIError.invalid` for the first value out of range.
    public func validate(against configuration: ServerConfiguration, samplers: SamplerCatalog) throws {
        let names = fieldNames
        for (text, field) in [(prompt, names.prompt), (negativePrompt, names.negativePrompt)] where text.unicodeScalars.contains("\0") {
            throw APIError.invalid(field, "\(field) must not contain a NUL character (U+0000): the PNG's infotext cannot hold it")
        }
        if promptSyntax == .a1111 { try validateA1111Prompts() }
        if let eta, !(0 ... 1).contains(eta) {
            throw APIError.invalid(names.field(for: .eta), "\(names.field(for: .eta)) must be in 0…1, not \(eta)")
        }
        let cap = configuration.maxSize
        for (value, field) in [(width, names.width), (height, names.height)] {
            guard value > 0, value % 8 == 0 else {
                throw APIError.invalid(field, "\(field) must be a positive multiple of 8, not \(value)")
            }
            guard value <= cap else {
                throw APIError.invalid(field, "\(field) \(value) is over this server's limit of \(cap)")
            }
        }
        guard steps >= 1 else { throw APIError.invalid(names.steps, "\(names.steps) must be at least 1, not \(steps)") }
        guard steps <= configuration.maxSteps else {
            throw APIError.invalid(names.steps, "\(names.steps) \(steps) is over this server's limit of \(configuration.maxSteps)")
        }
        try samplers.checkSteps(steps, sampler: sampler, field: names.steps)
        guard count >= 1 else { throw APIError.invalid(names.count, "\(names.count) must be at least 1, not \(count)") }
        guard count <= configuration.maxImages else {
            throw APIError.invalid(names.count, "\(names.count) \(count) is over this server's limit of \(configuration.maxImages) images")
        }
        guard guidance.isFinite, (0 ... 100).contains(guidance) else {
            throw APIError.invalid(names.guidance, "\(names.guidance) must be between 0 and 100, not \(guidance)")
        }
        if let strength, !(0 ... 1).contains(strength) {
            throw APIError.invalid(names.strength, "\(names.strength) must be between 0 and 1, not \(strength)")
        }
        if mask != nil && initImage == nil {
            throw APIError.invalid(names.mask, "\(names.mask) needs an init image to inpaint")
        }
        if initImage != nil, let strength, Int(Double(steps) * strength) < 1 {
            throw APIError.invalid(names.strength, "\(names.strength) \(strength) with \(steps) steps leaves no denoising step")
        }
    }

    /// With the A1111 syntax: emphasis weights that are numbers in both prompts, and extra-network
    /// tag multipliers that are numbers in the prompt.
    func validateA1111Prompts() throws {
        let names = fieldNames
        let (text, tags) = PromptAdapterTag.extract(from: prompt)
        do {
            for tag in tags { _ = try tag.unetMultiplier() }
            _ = try A1111PromptParser.parse(text)
        } catch let error as PromptSyntaxError {
            throw APIError.invalid(names.prompt, "\(names.prompt): \(error.description)")
        }
        do { _ = try A1111PromptParser.parse(negativePrompt) } catch let error as PromptSyntaxError {
            throw APIError.invalid(names.negativePrompt, "\(names.negativePrompt): \(error.description)")
        }
    }

    /// The `prompt_syntax` field, "plain" or "a1111", or `fallback` when absent.
    /// - Throws: `APIError.invalid` naming the field for another value.
    public static func promptSyntax(_ fields: RequestFields, default fallback: PromptSyntax) throws -> PromptSyntax {
        guard let text = try fields.string("prompt_syntax") else { return fallback }
        guard let syntax = PromptSyntax(rawValue: text) else {
            throw APIError.invalid("prompt_syntax", "prompt_syntax must be \"plain\" or \"a1111\", not \"\(text)\"")
        }
        return syntax
    }

    /// How an API names the request fields (`validate`'s errors, and the pipeline's
    /// `PipelineError.parameter` through `field(for:)`).
    public struct FieldNames: Sendable {
        public var prompt = "prompt", negativePrompt = "negative_prompt", sampler = "sampler", seed = "seed"
        public var width = "width", height = "height", steps = "steps", count = "n", guidance = "guidance"
        public var initImage = "init_image", strength = "strength", mask = "mask", loras = "loras"
        public init() {}

        /// The page's job API (`POST /api/jobs`).
        public static let jobs = FieldNames()

        /// OpenAI images (`/v1/images/…`).
        public static let openAI: FieldNames = {
            var names = FieldNames()
            (names.width, names.height, names.count, names.guidance, names.initImage) = ("size", "size", "n", "guidance_scale", "image")
            return names
        }()

        /// AUTOMATIC1111 (`/sdapi/v1/…`).
        public static let a1111: FieldNames = {
            var names = FieldNames()
            (names.sampler, names.count, names.guidance) = ("sampler_name", "batch_size", "cfg_scale")
            (names.initImage, names.strength) = ("init_images", "denoising_strength")
            return names
        }()

        /// The names of the API family a request path belongs to.
        public static func family(ofPath path: String) -> FieldNames {
            if path.hasPrefix("/sdapi/") { return .a1111 }
            if path.hasPrefix("/v1/") { return .openAI }
            return .jobs
        }

        /// The request field that carries a `GenerationRequest` property.
        public func field(for parameter: GenerationRequest.Parameter) -> String {
            switch parameter {
            case .prompt: return prompt
            case .negativePrompt: return negativePrompt
            case .sampler: return sampler
            case .steps: return steps
            case .guidance: return guidance
            case .eta: return "eta"
            case .seed: return seed
            case .width: return width
            case .height: return height
            case .count: return count
            case .initImage: return initImage
            case .strength: return strength
            case .mask: return mask
            case .loras: return loras
            case .originalSize: return "original_size"
            case .crop: return "crop"
            case .targetSize: return "target_size"
            case .aestheticScore: return "aesthetic_score"
            case .negativeAestheticScore: return "negative_aesthetic_score"
            case .refiner: return "refiner"
            case .refinerStart: return "refiner_start"
            }
        }
    }
}
