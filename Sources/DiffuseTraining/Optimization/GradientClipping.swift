import DiffuseTensor

/// Gradient clipping by global norm, as `torch.nn.utils.clip_grad_norm_`: all gradients are
/// scaled by min(1, maxNorm / (‖g‖ + 1e-6)), where ‖g‖ is the L2 norm of all of them together.
public enum GradientClipping {
    /// The L2 norm of all gradients together, accumulated in double precision.
    public static func globalNorm<S: Sequence>(_ gradients: S) -> Double where S.Element == Tensor {
        var total = 0.0
        for g in gradients {
            let c = g.contiguous()
            let p = c.pointer
            var sum = 0.0
            for i in 0 ..< c.count { sum += Double(p[i]) * Double(p[i]) }
            total += sum
        }
        return total.squareRoot()
    }

    /// The clipped gradients (new tensors when scaled; gradient buffers may be shared between
    /// leaves, so they are never scaled in place) and the norm before clipping.
    public static func clipped(_ gradients: [String: Tensor], maxNorm: Double) -> (gradients: [String: Tensor], norm: Double) {
        let norm = globalNorm(gradients.values)
        let coefficient = maxNorm / (norm + 1e-6)
        guard coefficient < 1 else { return (gradients, norm) }
        return (gradients.mapValues { $0 * Float(coefficient) }, norm)
    }
}
