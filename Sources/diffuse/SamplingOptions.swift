import ArgumentParser
import DiffusePipelines
import DiffuseSchedulers

extension SamplerName: ExpressibleByArgument {}
extension PromptSyntax: ExpressibleByArgument {}

/// How to sample, shared by `generate` and `eval`: sampler, steps, guidance and how prompts are read.
struct SamplingOptions: ParsableArguments {
    /// The steps when neither the command line nor the model's folder gives any: PNDM and the
    /// DPM++ samplers Stable Diffusion folders ship with reach diffusers' 50-step image closely in
    /// about half its steps. Few-step folders state their own (LCM: 4).
    static let defaultSteps = 25

    @Option(help: "The sampler (default: the model's own scheduler, from its scheduler_config.json).")
    var sampler: SamplerName?

    @Option(help: ArgumentHelp("Denoising steps (default: the model folder's own, 4 for LCM folders; else 25).", valueName: "n"))
    var steps: Int?

    @Option(help: ArgumentHelp("Classifier-free guidance scale, finite and ≥ 0; 1 or less turns guidance off (one UNet pass per step). Default: the model folder's own (1.5 for the bundled model), else diffusers' 7.5.",
                               valueName: "scale"))
    var guidance: Float?

    @Option(help: ArgumentHelp("The tcd sampler's η (gamma), 0…1: the share of each step taken stochastically (default 0.3, TCDScheduler.step's; diffusers' StableDiffusionPipeline passes 0 unless given eta).",
                               valueName: "eta"))
    var eta: Float?

    @Option(help: ArgumentHelp("How to read prompts: plain (diffusers: the text as written, cut at 75 tokens) or a1111 (AUTOMATIC1111: (word:1.2), (word), [word], \\( escapes, BREAK, <lora:…> tags taken out, any length in chunks of 75 tokens).",
                               valueName: "plain|a1111"))
    var promptSyntax: PromptSyntax = .plain

    /// The steps for `pipeline`: `--steps`, else the model's own, else `defaultSteps`.
    func steps(for pipeline: DiffusionPipeline) -> Int { pipeline.steps(steps, fallback: Self.defaultSteps) }

    /// Sets `request`'s sampler, η, prompt syntax, steps and guidance from these options, with
    /// `pipeline`'s defaults where an option is not given.
    func apply(to request: inout GenerationRequest, for pipeline: DiffusionPipeline) {
        request.sampler = sampler?.rawValue
        request.eta = eta
        request.promptSyntax = promptSyntax
        request.steps = steps(for: pipeline)
        request.guidance = pipeline.guidance(guidance)
    }

    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1 (got \(steps))") }
        if let eta, !(0 ... 1).contains(eta) { throw ValidationError("--eta must be in 0…1 (got \(eta))") }
        if let guidance, !(guidance.isFinite && guidance >= 0) {
            throw ValidationError("--guidance must be a finite number ≥ 0 (got \(guidance))")
        }
    }
}
