import DiffuseFormats
import DiffuseTensor

/// The crop origin SDXL is told an image was cut at (diffusers' `crops_coords_top_left`), in pixels.
public struct ImageCrop: Sendable, Equatable {
    public var top: Int
    public var left: Int
    public init(top: Int, left: Int) {
        self.top = top
        self.left = left
    }
}

/// SDXL's micro-conditioning: the time ids a "text_time" UNet takes beside the pooled text
/// embedding (`Conditioning.addedTimeIDs`), as diffusers' `_get_add_time_ids` builds them.
public enum MicroConditioning: Sendable, Equatable {
    /// `StableDiffusionXLPipeline`: original size (h, w), crop (top, left), target size (h, w) — 6 ids.
    case sizes
    /// `requires_aesthetics_score` (the refiner): original size (h, w), crop (top, left), aesthetic
    /// score — 5 ids; the unconditional rows carry the negative aesthetic score.
    case aestheticScore

    /// How many ids each row has.
    public var count: Int { self == .sizes ? 6 : 5 }

    /// The conditional and unconditional time ids `[1, count]` of `request` for a `width` × `height`
    /// image: the original and target sizes default to the image's size, the crop to (0, 0), as in
    /// diffusers (whose negative sizes default to the same values).
    public func timeIDs(_ request: GenerationRequest, width: Int, height: Int) -> (conditional: Tensor, unconditional: Tensor) {
        let original = request.originalSize ?? DiffusersFolder.Size(width: width, height: height)
        let crop = request.crop ?? ImageCrop(top: 0, left: 0)
        let target = request.targetSize ?? DiffusersFolder.Size(width: width, height: height)
        let common = [original.height, original.width, crop.top, crop.left].map(Float.init)
        switch self {
        case .sizes:
            let ids = Tensor(shape: [1, 6], common + [Float(target.height), Float(target.width)])
            return (ids, ids)
        case .aestheticScore:
            return (Tensor(shape: [1, 5], common + [request.aestheticScore]),
                    Tensor(shape: [1, 5], common + [request.negativeAestheticScore]))
        }
    }

    /// `pair` with each side's time ids set (`timeIDs`).
    func adding(to pair: (conditional: PromptEmbedding, unconditional: PromptEmbedding?), request: GenerationRequest,
                width: Int, height: Int) -> (conditional: PromptEmbedding, unconditional: PromptEmbedding?) {
        let ids = timeIDs(request, width: width, height: height)
        var (conditional, unconditional) = pair
        conditional.addedTimeIDs = ids.conditional.repeatingRows(conditional.count)
        if let rows = unconditional?.count { unconditional?.addedTimeIDs = ids.unconditional.repeatingRows(rows) }
        return (conditional, unconditional)
    }
}
