import DiffuseSchedulers
import DiffuseTensor
import Foundation

/// diffusers' denoising loop, shared by every model family: at each timestep the UNet predicts
/// from the scaled (and, under classifier-free guidance, doubled) latents, the guidance strategy
/// combines its output, the scheduler steps, and inpainting restores the kept area.
public struct DenoisingLoop {
    /// The network the loop calls once per timestep.
    public var predictor: any NoisePredictor
    /// How predictions are steered toward the prompt.
    public var guidance: GuidanceStrategy
    /// Inpainting's extra input channels or kept-area blend, if the request inpaints.
    public var inpainting: Inpainting?
    /// Polled within each UNet call (between its blocks) and after it.
    public var cancellation: CancellationFlag?

    public init(predictor: any NoisePredictor, guidance: GuidanceStrategy, inpainting: Inpainting? = nil,
                cancellation: CancellationFlag? = nil) {
        self.predictor = predictor
        self.guidance = guidance
        self.inpainting = inpainting
        self.cancellation = cancellation
    }

    /// Denoises `latents` (`[B, C, h, w]`) over `timesteps` with `scheduler` (already set to them),
    /// conditioned on `conditioning` (batched for `guidance`; nil for unconditional models), drawing
    /// the scheduler's noise from `random`.
    ///
    /// - Parameter progress: called after every step; return `false` to cancel.
    /// - Throws: `CancellationError` when `progress` returns false or `cancellation` is cancelled.
    /// - Returns: the denoised latents, shaped as `latents`.
    public func run(_ latents: Tensor, timesteps: [Float], scheduler: inout any Scheduler, conditioning: Conditioning?,
                    random: inout any RandomSource, progress: ((GenerationProgress) -> Bool)? = nil) throws -> Tensor {
        var latents = latents
        let start = Date()
        for (i, t) in timesteps.enumerated() {
            var input = scheduler.scaleModelInput(guidance.batched(latents), timestep: t)
            if let inpainting { input = inpainting.modelInput(input, guidance: guidance) }
            let output = Cancellation.$current.withValue(cancellation) {
                predictor.predict(input, timesteps: [t], conditioning: conditioning)
            }
            if cancellation?.isCancelled == true { throw CancellationError() }
            let prediction = guidance.combine(output)
            latents = scheduler.step(modelOutput: prediction, timestep: t, sample: latents, random: &random)
            if let inpainting {
                latents = inpainting.restoringKeptArea(latents, nextTimestep: i + 1 < timesteps.count ? timesteps[i + 1] : nil,
                                                       scheduler: scheduler)
            }
            if let progress, !progress(GenerationProgress(step: i + 1, totalSteps: timesteps.count,
                                                          elapsed: Date().timeIntervalSince(start), latents: latents)) {
                throw CancellationError()
            }
        }
        return latents
    }
}
