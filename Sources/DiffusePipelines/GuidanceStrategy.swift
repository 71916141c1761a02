import DiffuseTensor

/// How the denoising loop steers the UNet toward the prompt.
public enum GuidanceStrategy: Sendable, Equatable {
    /// One UNet call per step on the conditional batch alone (guidance ≤ 1 as diffusers has it,
    /// unconditional models, Turbo-style sampling).
    case none
    /// Classifier-free guidance: the UNet runs on `[unconditional, conditional]` and the
    /// prediction is `uncond + scale · (cond − uncond)`.
    case classifierFree(scale: Float)
    /// Guidance the UNet was distilled to take as input (LCM): one call on the conditional batch,
    /// with `Tensor.guidanceScaleEmbedding(scale − 1)` of width `dimension` as its `timestep_cond`.
    case embedded(scale: Float, dimension: Int)

    /// What diffusers' pipelines do for `scale`: embedded when the UNet takes a guidance embedding
    /// of width `embeddingDimension` (`time_cond_proj_dim`), else classifier-free when `scale` is
    /// above 1, else none.
    public init(scale: Float, embeddingDimension: Int? = nil) {
        if let embeddingDimension {
            self = .embedded(scale: scale, dimension: embeddingDimension)
        } else {
            self = scale > 1 ? .classifierFree(scale: scale) : .none
        }
    }

    /// Whether the UNet sees the unconditional batch too.
    public var needsUnconditional: Bool {
        if case .classifierFree = self { return true }
        return false
    }

    /// The UNet's input for `x` (`[B, …]`): `x`, or `[x, x]` under classifier-free guidance.
    public func batched(_ x: Tensor) -> Tensor {
        needsUnconditional ? Tensor.concatenate([x, x], axis: 0) : x
    }

    /// The UNet's conditioning: `conditional`; `[unconditional, conditional]` under
    /// classifier-free guidance (`unconditional` must then be given); `conditional` with the
    /// guidance embedding in every row when embedded.
    public func batched(conditional: Conditioning, unconditional: Conditioning?) -> Conditioning {
        switch self {
        case .none:
            return conditional
        case .classifierFree:
            guard let unconditional else { preconditionFailure("GuidanceStrategy: classifier-free guidance needs an unconditional batch") }
            return .concatenate([unconditional, conditional])
        case .embedded(let scale, let dimension):
            var result = conditional
            // diffusers: torch.tensor(guidance_scale - 1), the difference taken in double precision.
            let w = Float(Double(scale) - 1)
            result.guidanceEmbedding = Tensor.guidanceScaleEmbedding(Array(repeating: w, count: conditional.count), dim: dimension)
            return result
        }
    }

    /// The guided prediction from the UNet's output for `batched(_:)`'s input (`[B, …]` either way).
    public func combine(_ prediction: Tensor) -> Tensor {
        switch self {
        case .none, .embedded:
            return prediction
        case .classifierFree(let scale):
            let halves = prediction.chunked(2, axis: 0)
            return halves[0] + (halves[1] - halves[0]) * scale
        }
    }
}
