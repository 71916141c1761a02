import DiffuseSchedulers
import DiffuseTensor
import Foundation

/// What the network learns at each training step (DDPM's denoising objective): for a clean sample
/// x₀, a timestep t drawn uniformly from 0 ..< T and noise ε ~ N(0, I), the input is
/// xₜ = √ᾱₜ x₀ + √(1 − ᾱₜ) ε and the target is ε (`epsilon`), v = √ᾱₜ ε − √(1 − ᾱₜ) x₀
/// (`v_prediction`) or x₀ (`sample`) — the scheduler config's `prediction_type`, so a trained
/// model samples with the schedulers that read the same config.
public struct DiffusionObjective: Sendable {
    public enum Prediction: String, Sendable, CaseIterable { case epsilon, vPrediction = "v_prediction", sample }

    /// ᾱₜ of the training noise schedule (the config's `beta_schedule`: `linear`, `scaled_linear`,
    /// `squaredcos_cap_v2` …, computed as diffusers computes it).
    public let alphasCumprod: [Float]
    public let prediction: Prediction
    /// min-SNR-γ loss weighting (Hang et al. 2023): each sample's loss × min(SNR, γ)/SNR for ε
    /// (÷ (SNR + 1) for v, min(SNR, γ) for x₀); nil = unweighted.
    public var minSNRGamma: Double?
    /// Offset noise: ε += offset · N(0, 1) per sample and channel (constant over the image), which
    /// lets a model learn very dark or bright images; 0 = off (0.05–0.1 is typical).
    public var offsetNoise: Float

    /// The objective of a scheduler configuration (read as `DDPMScheduler.from_config` reads it).
    /// - Throws: `SchedulerError` for an unusable configuration.
    public init(schedulerConfig: SchedulerConfig, minSNRGamma: Double? = nil, offsetNoise: Float = 0) throws {
        alphasCumprod = try DDPMScheduler(config: schedulerConfig).schedule.alphasCumprod
        switch schedulerConfig.effectiveValue("prediction_type") {
        case .string("v_prediction")?: prediction = .vPrediction
        case .string("sample")?: prediction = .sample
        default: prediction = .epsilon
        }
        self.minSNRGamma = minSNRGamma
        self.offsetNoise = offsetNoise
    }

    /// T, the number of training timesteps.
    public var timestepCount: Int { alphasCumprod.count }

    /// SNR(t) = ᾱₜ / (1 − ᾱₜ).
    public func signalToNoise(_ t: Int) -> Double {
        let a = Double(alphasCumprod[t])
        return a / Swift.max(1 - a, 1e-20)
    }

    /// The loss weight of a sample at timestep t (1 without min-SNR).
    public func lossWeight(_ t: Int) -> Float {
        guard let gamma = minSNRGamma else { return 1 }
        let snr = signalToNoise(t)
        let clipped = Swift.min(snr, gamma)
        switch prediction {
        case .epsilon: return Float(clipped / snr)
        case .vPrediction: return Float(clipped / (snr + 1))
        case .sample: return Float(clipped)
        }
    }

    /// A training example batch built from clean samples.
    public struct Batch {
        /// xₜ, `[B, C, H, W]`.
        public var noisy: Tensor
        /// t per sample.
        public var timesteps: [Int]
        /// What the network should output, `[B, C, H, W]`.
        public var target: Tensor
        /// Per-sample loss weights `[B]`, nil when all are 1.
        public var weights: Tensor?
    }

    /// Draws t and ε for every sample of `clean` `[B, C, H, W]` and builds xₜ and the target.
    public func batch(clean: Tensor, random: inout TrainingRandom) -> Batch {
        let b = clean.shape[0], c = clean.shape[1]
        let timesteps = (0 ..< b).map { _ in random.int(below: timestepCount) }
        var noise = random.normal(clean.shape)
        if offsetNoise != 0 {
            noise = noise + random.normal([b, c, 1, 1]) * offsetNoise
        }
        return batch(clean: clean, noise: noise, timesteps: timesteps)
    }

    /// xₜ and the target for given noise and timesteps.
    public func batch(clean: Tensor, noise: Tensor, timesteps: [Int]) -> Batch {
        let b = clean.shape[0]
        precondition(timesteps.count == b && noise.shape == clean.shape, "DiffusionObjective: \(timesteps.count) timesteps, noise \(noise.shape), clean \(clean.shape)")
        let signal = Tensor(shape: [b, 1, 1, 1], timesteps.map { alphasCumprod[$0].squareRoot() })
        let spread = Tensor(shape: [b, 1, 1, 1], timesteps.map { (1 - alphasCumprod[$0]).squareRoot() })
        let noisy = signal * clean + spread * noise
        let target: Tensor
        switch prediction {
        case .epsilon: target = noise
        case .vPrediction: target = signal * noise - spread * clean
        case .sample: target = clean
        }
        let weights = minSNRGamma == nil ? nil : Tensor(shape: [b], timesteps.map(lossWeight))
        return Batch(noisy: noisy.contiguous(), timesteps: timesteps, target: target.contiguous(), weights: weights)
    }
}
