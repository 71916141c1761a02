import ArgumentParser
import DiffusePipelines
import DiffuseSchedulers

extension SamplerName: ExpressibleByArgument {}

/// How to sample, shared by `generate` and `eval`: sampler, steps and guidance.
struct SamplingOptions: ParsableArguments {
    /// The steps when none are given: PNDM and the DPM++ samplers Stable Diffusion folders ship
    /// with reach diffusers' 50-step image closely in about half its steps, and the bundled model
    /// was measured at this count and at 20 (BENCHMARKS.md); `eval-default` passes 20.
    static let defaultSteps = 25

    @Option(help: "The sampler (default: the model's own scheduler, from its scheduler_config.json).")
    var sampler: SamplerName?

    @Option(help: ArgumentHelp("Denoising steps.", valueName: "n"))
    var steps = SamplingOptions.defaultSteps

    @Option(help: ArgumentHelp("Classifier-free guidance scale, finite and ≥ 0; 1 or less turns guidance off (one UNet pass per step). Default: the model folder's own (1.5 for the bundled model), else diffusers' 7.5.",
                               valueName: "scale"))
    var guidance: Float?

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1 (got \(steps))") }
        if let guidance, !(guidance.isFinite && guidance >= 0) {
            throw ValidationError("--guidance must be a finite number ≥ 0 (got \(guidance))")
        }
    }
}
