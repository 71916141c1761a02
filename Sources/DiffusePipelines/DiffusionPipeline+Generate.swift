import DiffuseFormats
import DiffuseModels
import DiffuseSchedulers
import DiffuseTensor
import Foundation

extension DiffusionPipeline {
    /// Runs text-to-image, image-to-image or inpainting as diffusers' `StableDiffusionPipeline`,
    /// `StableDiffusionImg2ImgPipeline` and `StableDiffusionInpaintPipeline` (and, for LCM-distilled
    /// folders, `LatentConsistencyModelPipeline` / `…Img2ImgPipeline`) do, consuming the
    /// torch-compatible random stream in the same order, so the same seed gives diffusers' image.
    ///
    /// - Parameter progress: called after every denoising step; return `false` to cancel
    ///   (the call then throws `CancellationError`).
    /// - Returns: `request.count` RGB images.
    /// - Precondition: the weights hold `request.loras` (`generate` merges them).
    func generateWithMergedWeights(_ request: GenerationRequest, progress: ((GenerationProgress) -> Bool)?) throws -> [PNGImage] {
        try ImageTensors.images(from: decoder.decode(denoise(request, progress: progress).latents))
    }

    /// `generateWithMergedWeights` up to the decoding: the denoised samples `[count, C, h, w]` and the
    /// random stream where it stands. With `denoisingEnd` (0…1, text-to-image), only the timesteps
    /// at or above diffusers' cutoff `round(T − denoisingEnd · T)` run (`denoising_end`: the base's
    /// share of a base + refiner run).
    func denoise(_ request: GenerationRequest, denoisingEnd: Double? = nil,
                 progress: ((GenerationProgress) -> Bool)?) throws -> (latents: Tensor, random: any RandomSource) {
        let width = request.width ?? defaultImageSize, height = request.height ?? defaultImageSize
        try validate(request, width: width, height: height)
        let count = request.count
        // An unconditional model has nothing to guide: one pass per step, the prompt is ignored.
        let guidance = textEncoder == nil ? GuidanceStrategy.none
            : GuidanceStrategy(scale: request.guidance, embeddingDimension: unet.guidanceEmbeddingDimension)
        let inpaintingUNet = unet.inputChannels == 9
        if inpaintingUNet && request.mode != .inpaint {
            throw PipelineError("\(name) is an inpainting model (9 input channels): it needs an init image and a mask", parameter: .mask)
        }

        // 1. Conditioning: [uncond × count, cond × count] as diffusers' encode_prompt.
        var conditioning: Conditioning? = nil
        if let textEncoder {
            let prompt = request.matchCaption ? matchedCaption(for: request.prompt)?.caption ?? request.prompt : request.prompt
            var encoded = try textEncoder.encodePair(prompt: prompt, negativePrompt: guidance.needsUnconditional ? request.negativePrompt : nil,
                                                     syntax: request.promptSyntax)
            if let microConditioning { encoded = microConditioning.adding(to: encoded, request: request, width: width, height: height) }
            conditioning = guidance.batched(conditional: encoded.conditional.repeatingRows(count),
                                            unconditional: encoded.unconditional?.repeatingRows(count))
        }

        // 2. Timesteps.
        var scheduler = try makeScheduler(for: request)
        var timesteps = scheduler.timesteps
        if let denoisingEnd {
            let cutoff = discreteTimestepCutoff(denoisingEnd)
            timesteps = Array(timesteps.prefix(timesteps.filter { $0 >= cutoff }.count))
        }
        if request.mode != .textToImage {
            let (steps, strength) = (request.steps, request.effectiveStrength)
            // diffusers has no LCM inpainting pipeline: inpainting always truncates.
            if imageToImageSchedule == .scheduler && request.mode == .imageToImage {
                timesteps = scheduler.img2imgTimesteps(steps: steps, strength: strength)
            } else {
                timesteps = scheduler.truncatedTimesteps(steps: steps, strength: strength)
            }
            if timesteps.isEmpty {
                throw PipelineError("strength \(request.effectiveStrength) with \(request.steps) steps leaves no denoising step; raise strength or steps",
                                    parameter: .strength)
            }
        }

        // 3. Initial samples.
        var random: any RandomSource = TorchRandomSource(seed: request.seed)
        let latentShape = [count, latentChannels, height / vaeScaleFactor, width / vaeScaleFactor]
        var latents: Tensor
        var inpainting: Inpainting? = nil
        switch request.mode {
        case .textToImage:
            latents = random.randn(latentShape) * scheduler.initNoiseSigma
        case .imageToImage:
            let image = try preparedImage(request.initImage!, width: width, height: height)
            let encoded = try decoder.encode(image, random: &random).repeatingRows(count)
            latents = scheduler.addNoise(original: encoded, noise: random.randn(latentShape), timestep: timesteps[0])
        case .inpaint:
            let image = try preparedImage(request.initImage!, width: width, height: height)
            let mask = try preparedMask(request.mask!, width: width, height: height)
            let strengthIsMax = request.effectiveStrength == 1
            var imageLatents: Tensor? = nil
            if !inpaintingUNet || !strengthIsMax {
                imageLatents = try decoder.encode(image, random: &random).repeatingRows(count)
            }
            let noise = random.randn(latentShape)
            latents = strengthIsMax ? noise * scheduler.initNoiseSigma
                                    : scheduler.addNoise(original: imageLatents!, noise: noise, timestep: timesteps[0])
            // The mask at latent size, and the kept part's latents (mask < 0.5 is kept).
            let maskLatent = mask.resizeNearest(height: latentShape[2], width: latentShape[3]).repeatingRows(count)
            let maskedImageLatents = try decoder.encode(image * mask.affine(scale: -1, shift: 1), random: &random).repeatingRows(count)
            inpainting = inpaintingUNet ? .extraChannels(mask: maskLatent, maskedImageLatents: maskedImageLatents)
                                        : .blend(imageLatents: imageLatents!, mask: maskLatent, noise: noise)
        }

        // 4. Denoising loop.
        let loop = DenoisingLoop(predictor: unet, guidance: guidance, inpainting: inpainting, cancellation: request.cancellation)
        latents = try loop.run(latents, timesteps: timesteps, scheduler: &scheduler, conditioning: conditioning,
                               random: &random, progress: progress)
        return (latents, random)
    }

    /// diffusers' `discrete_timestep_cutoff` for a fraction of the schedule:
    /// `int(round(T − fraction · T))`, T the scheduler's `num_train_timesteps` (Python rounds half to even).
    func discreteTimestepCutoff(_ fraction: Double) -> Float {
        let total = Double(schedulerConfig.values["num_train_timesteps"]?.intValue ?? 1000)
        return Float((total - fraction * total).rounded(.toNearestOrEven))
    }

    /// Samples → image tensor `[B, 3, H, W]` in about [-1, 1] (`decoder.decode`).
    /// The request's sampler (the folder's scheduler when nil) set up for its steps and η.
    /// - Throws: `PipelineError` naming `sampler`, `steps` or `eta`.
    func makeScheduler(for request: GenerationRequest) throws -> any Scheduler {
        do {
            return try Schedulers.make(name: request.sampler, config: schedulerConfig, steps: request.steps, eta: request.eta)
        } catch SchedulerError.invalidArgument(let message) {
            throw PipelineError(message, parameter: message.hasPrefix("eta ") ? .eta : message.hasPrefix("steps ") ? .steps : .sampler)
        }
    }

    public func decode(_ latents: Tensor) -> Tensor { decoder.decode(latents) }

    /// A cheap picture of the samples after a step (`GenerationProgress.latents`): the pixels
    /// themselves for a pixel-space model, `LatentPreview` for SD latents.
    public func preview(_ latents: Tensor, index: Int = 0) throws -> PNGImage {
        try decoder.preview(latents, index: index)
    }

    /// The init image as `[1, 3, height, width]` in [-1, 1]; it must already have the output size.
    private func preparedImage(_ image: PNGImage, width: Int, height: Int) throws -> Tensor {
        guard image.width == width && image.height == height else {
            throw PipelineError("init image is \(image.width)x\(image.height); the output is \(width)x\(height) (give a matching width and height)", parameter: .initImage)
        }
        return try ImageTensors.tensor(from: image)
    }

    private func preparedMask(_ mask: PNGImage, width: Int, height: Int) throws -> Tensor {
        guard mask.width == width && mask.height == height else {
            throw PipelineError("mask is \(mask.width)x\(mask.height); the output is \(width)x\(height)", parameter: .mask)
        }
        return try ImageTensors.mask(from: mask)
    }
}

extension DiffusionPipeline {
    /// The AUTOMATIC1111 name of the sampler a request would use ("Euler a", "PNDM", …).
    public func samplerDisplayName(_ sampler: String?) throws -> String {
        try Schedulers.make(name: sampler, config: schedulerConfig).displayName
    }
}
