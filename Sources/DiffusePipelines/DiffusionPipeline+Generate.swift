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
            let encoded = try textEncoder.encodePair(prompt: prompt, negativePrompt: guidance.needsUnconditional ? request.negativePrompt : nil,
                                                     syntax: request.promptSyntax)
            conditioning = guidance.batched(conditional: encoded.conditional.repeatingRows(count),
                                            unconditional: encoded.unconditional?.repeatingRows(count))
        }

        // 2. Timesteps.
        var scheduler: any Scheduler
        do {
            scheduler = try Schedulers.make(name: request.sampler, config: schedulerConfig, steps: request.steps, eta: request.eta)
        } catch SchedulerError.invalidArgument(let message) {
            throw PipelineError(message, parameter: message.hasPrefix("eta ") ? .eta : message.hasPrefix("steps ") ? .steps : .sampler)
        }
        var timesteps = scheduler.timesteps
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

        // 5. Decode.
        return try ImageTensors.images(from: decoder.decode(latents))
    }

    /// Samples → image tensor `[B, 3, H, W]` in about [-1, 1] (`decoder.decode`).
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
