import DiffuseFormats
import Foundation

extension DiffusionPipeline {
    /// Checks `request` against this model before any work, so that bad input fails in
    /// milliseconds with one line instead of trapping or failing after the generation: sizes
    /// (positive multiples of 8, among `supportedSizes` when the model lists them, and small
    /// enough for the machine's memory by `GenerationMemory`), steps, count, guidance (finite,
    /// ≥ 0), strength, mask, and prompts free of NUL characters (which PNG text cannot hold).
    ///
    /// - Throws: `PipelineError` naming the request property at fault.
    public func validate(_ request: GenerationRequest) throws {
        try validate(request, width: request.width ?? defaultImageSize, height: request.height ?? defaultImageSize)
    }

    func validate(_ r: GenerationRequest, width: Int, height: Int) throws {
        guard width > 0, height > 0, width % 8 == 0, height % 8 == 0 else {
            throw PipelineError("size \(width)x\(height) is not a multiple of 8", parameter: width % 8 == 0 && width > 0 ? .height : .width)
        }
        guard r.steps >= 1 else { throw PipelineError("steps must be at least 1 (got \(r.steps))", parameter: .steps) }
        guard r.count >= 1 else { throw PipelineError("count must be at least 1 (got \(r.count))", parameter: .count) }
        guard r.guidance.isFinite, r.guidance >= 0 else {
            throw PipelineError("guidance must be a finite number ≥ 0 (got \(r.guidance))", parameter: .guidance)
        }
        guard (0 ... 1).contains(r.effectiveStrength) else { throw PipelineError("strength \(r.effectiveStrength) is outside 0…1", parameter: .strength) }
        if r.mask != nil && r.initImage == nil { throw PipelineError("a mask needs an init image to inpaint", parameter: .mask) }
        if let mask = r.mask, let image = r.initImage, (mask.width, mask.height) != (image.width, image.height) {
            throw PipelineError("mask is \(mask.width)x\(mask.height) but the init image is \(image.width)x\(image.height)", parameter: .mask)
        }
        for (size, parameter) in [(r.originalSize, GenerationRequest.Parameter.originalSize), (r.targetSize, .targetSize)] {
            if let size, size.width <= 0 || size.height <= 0 {
                throw PipelineError("\(parameter.rawValue) \(size) must be positive", parameter: parameter)
            }
        }
        if let crop = r.crop, crop.top < 0 || crop.left < 0 {
            throw PipelineError("crop \(crop.top),\(crop.left) must not be negative", parameter: .crop)
        }
        for (score, parameter) in [(r.aestheticScore, GenerationRequest.Parameter.aestheticScore), (r.negativeAestheticScore, .negativeAestheticScore)]
            where !score.isFinite {
            throw PipelineError("\(parameter.rawValue) must be a finite number (got \(score))", parameter: parameter)
        }
        if r.prompt.contains("\0") { throw PipelineError("prompt contains a NUL character", parameter: .prompt) }
        if r.negativePrompt.contains("\0") { throw PipelineError("negativePrompt contains a NUL character", parameter: .negativePrompt) }
        if let sizes = supportedSizes, !sizes.contains(DiffusersFolder.Size(width: width, height: height)) {
            let widthFits = sizes.contains { $0.width == width }
            throw PipelineError("\(name) draws \(sizes.map(\.description).joined(separator: ", ")) images, not \(width)x\(height)",
                                parameter: widthFits ? .height : .width)
        }
        let guided = r.guidance > 1 && textEncoder != nil
        let needed = GenerationMemory.workingBytes(self, width: width, height: height, count: r.count, guided: guided)
        if let available = GenerationMemory.availableBytes(), needed > available {
            let culprit: GenerationRequest.Parameter = r.count > 1 ? .count : width >= height ? .width : .height
            throw PipelineError("\(r.count) image\(r.count == 1 ? "" : "s") of \(width)x\(height) would need about "
                                + "\(GenerationMemory.describe(needed)) of memory; \(GenerationMemory.describe(available)) is available",
                                parameter: culprit)
        }
    }
}
