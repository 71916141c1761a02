import DiffuseTensor

/// How the denoising loop steers the UNet toward the prompt.
public enum GuidanceStrategy: Sendable, Equatable {
    /// One UNet call per step on the conditional batch alone (guidance ≤ 1 as diffusers has it,
    /// unconditional models, Turbo-style sampling).
    case none
    /// Classifier-free guidance: the UNet runs on `[unconditional, conditional]` and the
    /// prediction is `uncond + scale · (cond − uncond)`.
    case classifierFree(scale: Float)

    /// Classifier-free guidance at `scale` when it is above 1, else none (diffusers'
    /// `do_classifier_free_guidance`: `guidance_scale > 1`).
    public init(scale: Float) {
        self = scale > 1 ? .classifierFree(scale: scale) : .none
    }

    /// Whether the UNet sees the unconditional batch too.
    public var needsUnconditional: Bool { self != .none }

    /// The UNet's input for `x` (`[B, …]`): `x`, or `[x, x]` under classifier-free guidance.
    public func batched(_ x: Tensor) -> Tensor {
        needsUnconditional ? Tensor.concatenate([x, x], axis: 0) : x
    }

    /// The UNet's conditioning: `conditional`, or `[unconditional, conditional]` under
    /// classifier-free guidance (`unconditional` must then be given).
    public func batched(conditional: Conditioning, unconditional: Conditioning?) -> Conditioning {
        guard needsUnconditional else { return conditional }
        guard let unconditional else { preconditionFailure("GuidanceStrategy: classifier-free guidance needs an unconditional batch") }
        return .concatenate([unconditional, conditional])
    }

    /// The guided prediction from the UNet's output for `batched(_:)`'s input (`[B, …]` either way).
    public func combine(_ prediction: Tensor) -> Tensor {
        switch self {
        case .none:
            return prediction
        case .classifierFree(let scale):
            let halves = prediction.chunked(2, axis: 0)
            return halves[0] + (halves[1] - halves[0]) * scale
        }
    }
}
