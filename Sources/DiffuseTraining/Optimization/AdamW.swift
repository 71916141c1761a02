import DiffuseNN
import DiffuseTensor
import Foundation

/// Adam with decoupled weight decay (Loshchilov & Hutter), exactly as `torch.optim.AdamW`:
///
///     p ← p · (1 − lr·λ)
///     m ← β₁ m + (1 − β₁) g          v ← β₂ v + (1 − β₂) g²
///     p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// Weight decay applies to every parameter (diffusers' training scripts do the same).
public final class AdamW: Optimizer {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    public private(set) var stepCount = 0
    private var firstMoments: [String: Tensor] = [:]
    private var secondMoments: [String: Tensor] = [:]

    /// torch's defaults except `weightDecay`, which diffusers' scripts set to 1e-2 (torch: 1e-2 too).
    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 1e-2) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public func update(_ parameters: [(key: String, parameter: Parameter)], gradients: [String: Tensor], learningRate: Float) {
        stepCount += 1
        let step = Double(stepCount)
        let correction1 = 1 - Foundation.pow(Double(beta1), step)
        let correction2 = 1 - Foundation.pow(Double(beta2), step)
        let stepSize = Float(Double(learningRate) / correction1)
        let rootCorrection2 = Float(correction2.squareRoot())
        let decay = 1 - learningRate * weightDecay
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        for (key, parameter) in parameters {
            guard let g = gradients[key] else { continue }
            precondition(g.shape == parameter.shape, "AdamW: gradient of \(key) is \(g.shape), parameter \(parameter.shape)")
            if !parameter.value.isContiguous { parameter.value = parameter.value.contiguous() }
            let grad = g.contiguous()
            let m = firstMoments[key] ?? Tensor.zeros(g.shape)
            let v = secondMoments[key] ?? Tensor.zeros(g.shape)
            firstMoments[key] = m
            secondMoments[key] = v
            let p = parameter.value.pointer, gp = grad.pointer, mp = m.pointer, vp = v.pointer
            Parallel.forRange(g.count, minPerThread: 1 << 15) { range in
                for i in range {
                    let gi = gp[i]
                    let mi = mp[i] + (1 - b1) * (gi - mp[i])  // torch: exp_avg.lerp_(grad, 1 - β₁)
                    let vi = b2 * vp[i] + (1 - b2) * (gi * gi)
                    mp[i] = mi
                    vp[i] = vi
                    let denominator = vi.squareRoot() / rootCorrection2 + eps
                    p[i] = p[i] * decay - stepSize * mi / denominator
                }
            }
        }
    }

    public func stateTensors() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (key, m) in firstMoments { out["exp_avg." + key] = m }
        for (key, v) in secondMoments { out["exp_avg_sq." + key] = v }
        return out
    }

    public var metadata: [String: String] {
        ["optimizer": "AdamW", "step": String(stepCount), "beta1": "\(beta1)", "beta2": "\(beta2)",
         "epsilon": "\(epsilon)", "weight_decay": "\(weightDecay)"]
    }

    public func restore(tensors: [String: Tensor], metadata: [String: String]) throws {
        guard metadata["optimizer"] == "AdamW", let step = metadata["step"].flatMap(Int.init) else {
            throw TrainingError("optimizer state is not AdamW state (metadata \(metadata))")
        }
        var first: [String: Tensor] = [:], second: [String: Tensor] = [:]
        for (name, tensor) in tensors {
            if name.hasPrefix("exp_avg_sq.") {
                second[String(name.dropFirst("exp_avg_sq.".count))] = tensor.contiguous()
            } else if name.hasPrefix("exp_avg.") {
                first[String(name.dropFirst("exp_avg.".count))] = tensor.contiguous()
            } else {
                throw TrainingError("optimizer state has an unknown tensor \(name)")
            }
        }
        guard Set(first.keys) == Set(second.keys) else {
            throw TrainingError("optimizer state: exp_avg and exp_avg_sq name different parameters")
        }
        stepCount = step
        firstMoments = first
        secondMoments = second
    }

    /// The moments of parameter `key` (nil before its first update), for tests.
    public func moments(of key: String) -> (m: Tensor, v: Tensor)? {
        guard let m = firstMoments[key], let v = secondMoments[key] else { return nil }
        return (m, v)
    }
}
