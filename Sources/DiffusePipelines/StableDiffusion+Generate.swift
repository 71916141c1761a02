import DiffuseFormats
import DiffuseModels
import DiffuseSchedulers
import DiffuseTensor
import Foundation

extension StableDiffusion {
    /// Runs text-to-image, image-to-image or inpainting as diffusers' `StableDiffusionPipeline`,
    /// `StableDiffusionImg2ImgPipeline` and `StableDiffusionInpaintPipeline` do, consuming the
    /// torch-compatible random stream in the same order, so the same seed gives diffusers' image.
    ///
    /// - Parameter progress: called after every denoising step; return `false` to cancel
    ///   (the call then throws `CancellationError`).
    /// - Returns: `request.count` RGB images.
    public func generate(_ request: GenerationRequest, progress: ((GenerationProgress) -> Bool)? = nil) throws -> [PNGImage] {
        let width = request.width ?? defaultImageSize, height = request.height ?? defaultImageSize
        try validate(request, width: width, height: height)
        let count = request.count
        // An unconditional model has nothing to guide: one pass per step, the prompt is ignored.
        let guided = request.guidance > 1 && textEncoder != nil
        let inpaintingUNet = unet.inputChannels == 9
        if inpaintingUNet && request.mode != .inpaint {
            throw PipelineError("\(name) is an inpainting model (9 input channels): it needs an init image and a mask", parameter: .mask)
        }

        // 1. Text embeddings: [uncond × count, cond × count] as diffusers' encode_prompt.
        var conditioning: PromptEmbedding? = nil
        if let textEncoder {
            let prompt = request.matchCaption ? matchedCaption(for: request.prompt)?.caption ?? request.prompt : request.prompt
            let cond = textEncoder.encode([prompt]).repeatingRows(count)
            conditioning = guided ? .concatenate([textEncoder.encode([request.negativePrompt]).repeatingRows(count), cond]) : cond
        }

        // 2. Timesteps.
        var scheduler: any Scheduler
        do {
            scheduler = try Schedulers.make(name: request.sampler, config: schedulerConfig, steps: request.steps)
        } catch SchedulerError.invalidArgument(let message) {
            throw PipelineError(message, parameter: .sampler)
        }
        var timesteps = scheduler.timesteps
        if request.mode != .textToImage {
            let initSteps = Swift.min(Int(Double(request.steps) * request.effectiveStrength), request.steps)
            let start = Swift.max(request.steps - initSteps, 0)
            timesteps = Array(timesteps.dropFirst(start * scheduler.order))
            scheduler.setBeginIndex(start * scheduler.order)
            if timesteps.isEmpty {
                throw PipelineError("strength \(request.effectiveStrength) with \(request.steps) steps leaves no denoising step; raise strength or steps", parameter: .strength)
            }
        }

        // 3. Initial latents.
        var random: any RandomSource = TorchRandomSource(seed: request.seed)
        let latentShape = [count, latentChannels, height / vaeScaleFactor, width / vaeScaleFactor]
        let scaling = vae?.config.scalingFactor ?? 1
        var latents: Tensor
        var noise: Tensor? = nil
        var imageLatents: Tensor? = nil
        var maskLatent: Tensor? = nil          // [count, 1, h, w]
        var maskedImageLatents: Tensor? = nil  // [count, 4, h, w]
        switch request.mode {
        case .textToImage:
            latents = random.randn(latentShape) * scheduler.initNoiseSigma
        case .imageToImage:
            let image = try preparedImage(request.initImage!, width: width, height: height)
            let encoded = (vaeSample(image, &random) * scaling).repeatingRows(count)
            let n = random.randn(latentShape)
            latents = scheduler.addNoise(original: encoded, noise: n, timestep: timesteps[0])
        case .inpaint:
            let image = try preparedImage(request.initImage!, width: width, height: height)
            let mask = try preparedMask(request.mask!, width: width, height: height)
            let strengthIsMax = request.effectiveStrength == 1
            if !inpaintingUNet || !strengthIsMax {
                imageLatents = (vaeSample(image, &random) * scaling).repeatingRows(count)
            }
            let n = random.randn(latentShape)
            noise = n
            if strengthIsMax {
                latents = n * scheduler.initNoiseSigma
            } else {
                latents = scheduler.addNoise(original: imageLatents!, noise: n, timestep: timesteps[0])
            }
            // Masked image (the kept part) and the mask at latent size.
            let keep = mask.affine(scale: -1, shift: 1)  // 1 where kept (mask < 0.5)
            let maskedImage = image * keep
            maskLatent = mask.resizeNearest(height: latentShape[2], width: latentShape[3]).repeatingRows(count)
            maskedImageLatents = (vaeSample(maskedImage, &random) * scaling).repeatingRows(count)
        }

        // 4. Denoising loop.
        let start = Date()
        for (i, t) in timesteps.enumerated() {
            var input = guided ? Tensor.concatenate([latents, latents], axis: 0) : latents
            input = scheduler.scaleModelInput(input, timestep: t)
            if inpaintingUNet, let maskLatent, let maskedImageLatents {
                let m = guided ? Tensor.concatenate([maskLatent, maskLatent], axis: 0) : maskLatent
                let mi = guided ? Tensor.concatenate([maskedImageLatents, maskedImageLatents], axis: 0) : maskedImageLatents
                input = Tensor.concatenate([input, m, mi], axis: 1)
            }
            var prediction = unet.predict(input, timesteps: [t], conditioning: conditioning)
            if guided {
                let halves = prediction.chunked(2, axis: 0)
                prediction = halves[0] + (halves[1] - halves[0]) * request.guidance
            }
            latents = scheduler.step(modelOutput: prediction, timestep: t, sample: latents, random: &random)
            if !inpaintingUNet, let imageLatents, let maskLatent, let noise {
                // Ordinary checkpoints: keep the unmasked area on the noisy trajectory of the init image.
                var proper = imageLatents
                if i < timesteps.count - 1 {
                    proper = scheduler.addNoise(original: imageLatents, noise: noise, timestep: timesteps[i + 1])
                }
                latents = proper * maskLatent.affine(scale: -1, shift: 1) + latents * maskLatent
            }
            if let progress, !progress(GenerationProgress(step: i + 1, totalSteps: timesteps.count, elapsed: Date().timeIntervalSince(start),
                                                              latents: latents)) {
                throw CancellationError()
            }
        }

        // 5. Decode.
        return try ImageTensors.images(from: decode(latents))
    }

    /// Latents → image tensor `[B, 3, H, W]` in about [-1, 1] (pixel-space samples pass through).
    public func decode(_ latents: Tensor) -> Tensor {
        guard let vae else { return latents.depthToSpace(patchSize) }
        let scaled = latents / vae.config.scalingFactor
        if let tiling = vaeTiling {
            return tiling.decode(scaled, factor: vae.config.downscaleFactor) { vae.decode($0) }
        }
        return vae.decode(scaled)
    }

    /// A cheap picture of the samples after a step (`GenerationProgress.latents`): the pixels
    /// themselves for a pixel-space model, `LatentPreview` for SD latents.
    public func preview(_ latents: Tensor, index: Int = 0) throws -> PNGImage {
        guard vae != nil else {
            guard (0 ..< latents.shape[0]).contains(index) else { throw PipelineError("preview index \(index) is outside 0..<\(latents.shape[0])") }
            return try ImageTensors.images(from: decode(latents.narrowed(axis: 0, start: index, length: 1)))[0]
        }
        return try LatentPreview.image(from: latents, index: index)
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

    /// A sample of the VAE's latent distribution (diffusers' `retrieve_latents`, sample mode);
    /// the image itself for a pixel-space model (no random numbers drawn).
    private func vaeSample(_ image: Tensor, _ random: inout any RandomSource) -> Tensor {
        guard let vae else { return image.spaceToDepth(patchSize) }
        let distribution = vae.encode(image)
        return distribution.sample(noise: random.randn(distribution.mean.shape))
    }
}

extension StableDiffusion {
    /// The AUTOMATIC1111 name of the sampler a request would use ("Euler a", "PNDM", …).
    public func samplerDisplayName(_ sampler: String?) throws -> String {
        try Schedulers.make(name: sampler, config: schedulerConfig).displayName
    }
}
