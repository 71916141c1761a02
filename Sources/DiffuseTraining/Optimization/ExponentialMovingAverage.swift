import DiffuseNN
import DiffuseTensor
import Foundation

/// An exponential moving average of a model's weights, the weights one samples with — diffusers'
/// `EMAModel`: after optimizer step n (1-based), with k = max(0, n − updateAfterStep − 1),
///
///     decay = 0                                     if k = 0
///           = 1 − (1 + k / invGamma)^(−power)       with warm-up
///           = (1 + k) / (10 + k)                    without
///     decay ← clamp(decay, minDecay, maxDecay);     ema ← decay · ema + (1 − decay) · weight
public final class ExponentialMovingAverage {
    public var maxDecay: Double
    public var minDecay: Double
    public var updateAfterStep: Int
    public var useWarmup: Bool
    public var inverseGamma: Double
    public var power: Double
    public private(set) var optimizationStep = 0
    /// The averaged weights by checkpoint key.
    public private(set) var weights: [String: Tensor]

    /// Starts from the model's current weights (copies). diffusers' train_text_to_image uses
    /// maxDecay 0.9999 without warm-up; `useWarmup` with power 2/3 suits short runs.
    public init(_ module: Module, maxDecay: Double = 0.9999, minDecay: Double = 0, updateAfterStep: Int = 0,
                useWarmup: Bool = true, inverseGamma: Double = 1, power: Double = 2.0 / 3.0) {
        self.maxDecay = maxDecay
        self.minDecay = minDecay
        self.updateAfterStep = updateAfterStep
        self.useWarmup = useWarmup
        self.inverseGamma = inverseGamma
        self.power = power
        var copies: [String: Tensor] = [:]
        for (key, parameter) in module.namedParameters() { copies[key] = parameter.value.contiguous().copied() }
        weights = copies
    }

    /// The decay used by optimizer step `n` (1-based).
    public func decay(forStep n: Int) -> Double {
        let k = Swift.max(0, n - updateAfterStep - 1)
        if k <= 0 { return 0 }
        let value = useWarmup ? 1 - Foundation.pow(1 + Double(k) / inverseGamma, -power) : (1 + Double(k)) / (10 + Double(k))
        return Swift.max(Swift.min(value, maxDecay), minDecay)
    }

    /// Folds the model's current weights in (call once after every optimizer step).
    public func update(from module: Module) {
        optimizationStep += 1
        let d = Float(decay(forStep: optimizationStep))
        for (key, parameter) in module.namedParameters() {
            guard let average = weights[key] else { continue }
            let value = parameter.value.contiguous()
            let a = average.pointer, w = value.pointer
            Parallel.forRange(value.count, minPerThread: 1 << 15) { range in
                for i in range { a[i] = a[i] - (1 - d) * (a[i] - w[i]) }
            }
        }
    }

    /// Restores an earlier run's averages and step count.
    /// - Throws: `TrainingError` naming a missing or mis-shaped tensor.
    public func restore(weights saved: [String: Tensor], optimizationStep: Int) throws {
        for (key, current) in weights {
            guard let tensor = saved[key] else { throw TrainingError("EMA weights lack \(key)") }
            guard tensor.shape == current.shape else { throw TrainingError("EMA weight \(key) is \(tensor.shape), expected \(current.shape)") }
            weights[key] = tensor.contiguous().copied()
        }
        self.optimizationStep = optimizationStep
    }

    /// Writes the averages into `module`'s parameters (for sampling or export).
    public func copy(to module: Module) {
        for (key, parameter) in module.namedParameters() {
            if let average = weights[key] { parameter.value = average.copied() }
        }
    }
}
