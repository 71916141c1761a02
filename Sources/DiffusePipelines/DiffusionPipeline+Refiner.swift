import DiffuseFormats
import DiffuseSchedulers
import DiffuseTensor
import Foundation

extension DiffusionPipeline {
    /// Whether this is an SDXL refiner: a folder whose `model_index.json` sets
    /// `requires_aesthetics_score` (its time ids carry aesthetic scores).
    public var isRefiner: Bool { microConditioning == .aestheticScore }

    /// Text-to-image with an SDXL refiner, as diffusers' `denoising_end` / `denoising_start`
    /// hand-off: this pipeline denoises the timesteps above the cutoff of `refinerStart` (0 < it < 1),
    /// `refiner` the rest of its own schedule of `request.steps` from those latents (no noise added),
    /// conditioned on the same prompts with `request.aestheticScore` /
    /// `negativeAestheticScore`, drawing from the same random stream; `refiner` decodes.
    /// `request.loras` apply to this pipeline only.
    ///
    /// - Throws: `PipelineError` naming `refiner` when it is not a refiner (or its latents differ),
    ///   `refinerStart` when out of range, `initImage` for an image-to-image request; what
    ///   generation throws.
    public func generate(_ request: GenerationRequest, refiner: DiffusionPipeline, refinerStart: Double,
                         progress: ((GenerationProgress) -> Bool)? = nil) throws -> [PNGImage] {
        guard refiner.isRefiner else {
            throw PipelineError("\(refiner.name) is not an SDXL refiner (its model_index.json does not set requires_aesthetics_score)",
                                parameter: .refiner)
        }
        guard refiner.unet.inputChannels == latentChannels, refiner.vaeScaleFactor == vaeScaleFactor else {
            throw PipelineError("\(refiner.name) takes \(refiner.unet.inputChannels)-channel latents at 1/\(refiner.vaeScaleFactor) scale; \(name) makes \(latentChannels)-channel ones at 1/\(vaeScaleFactor)",
                                parameter: .refiner)
        }
        guard refinerStart > 0, refinerStart < 1 else {
            throw PipelineError("refinerStart \(refinerStart) is not between 0 and 1", parameter: .refinerStart)
        }
        guard request.mode == .textToImage else {
            throw PipelineError("a refiner runs after text-to-image only", parameter: .initImage)
        }
        try validate(request)
        try checkLoRAOwnership(request.loras)
        let (latents, random) = try loraGate.run(request.loras) {
            try denoise(request, denoisingEnd: refinerStart, progress: progress)
        }
        var refined = request
        refined.loras = []
        return try refiner.refine(latents, request: refined, start: refinerStart, random: random, progress: progress)
    }

    /// The refiner's part (`StableDiffusionXLImg2ImgPipeline` with `denoising_start`): its
    /// scheduler set to `request.steps`, the timesteps below the cutoff of `start` (one more for
    /// second-order samplers when even), begun at their index; `latents` denoised as they are and decoded.
    func refine(_ latents: Tensor, request: GenerationRequest, start: Double, random: any RandomSource,
                progress: ((GenerationProgress) -> Bool)?) throws -> [PNGImage] {
        let width = latents.shape[3] * vaeScaleFactor, height = latents.shape[2] * vaeScaleFactor
        let guidance = GuidanceStrategy(scale: request.guidance, embeddingDimension: unet.guidanceEmbeddingDimension)
        var conditioning: Conditioning? = nil
        if let textEncoder {
            var encoded = try textEncoder.encodePair(prompt: request.prompt,
                                                     negativePrompt: guidance.needsUnconditional ? request.negativePrompt : nil,
                                                     syntax: request.promptSyntax)
            if let microConditioning { encoded = microConditioning.adding(to: encoded, request: request, width: width, height: height) }
            conditioning = guidance.batched(conditional: encoded.conditional.repeatingRows(request.count),
                                            unconditional: encoded.unconditional?.repeatingRows(request.count))
        }
        var scheduler = try makeScheduler(for: request)
        let all = scheduler.timesteps
        let cutoff = discreteTimestepCutoff(start)
        var count = all.filter { $0 < cutoff }.count
        if scheduler.order == 2 && count % 2 == 0 { count += 1 }
        let first = max(0, all.count - count)
        scheduler.setBeginIndex(first)
        var random = random
        let loop = DenoisingLoop(predictor: unet, guidance: guidance, cancellation: request.cancellation)
        let refined = try loop.run(latents, timesteps: Array(all[first...]), scheduler: &scheduler, conditioning: conditioning,
                                   random: &random, progress: progress)
        return try ImageTensors.images(from: decoder.decode(refined))
    }
}
