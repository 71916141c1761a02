import DiffuseTensor
import Foundation

/// How the inference sigmas are spread between σ_max and σ_min.
enum SigmaSpacing: Sendable {
    /// σ of the spaced timesteps, interpolated from the training sigmas.
    case timesteps
    /// Karras et al. (2022), ρ = 7; timesteps become fractional (`_sigma_to_t`).
    case karras
    /// Log-uniform.
    case exponential

    /// Reads `use_karras_sigmas`, `use_exponential_sigmas` and `use_beta_sigmas` (unsupported).
    init(_ reader: ConfigReader, hasExponential: Bool = true) throws {
        let karras = try reader.bool("use_karras_sigmas", default: false)
        let exponential = hasExponential ? try reader.bool("use_exponential_sigmas", default: false) : false
        let beta = hasExponential ? try reader.bool("use_beta_sigmas", default: false) : false
        if [karras, exponential, beta].filter({ $0 }).count > 1 {
            throw SchedulerError.invalidConfig(key: "use_karras_sigmas",
                                               message: "\(reader.scheduler): only one of use_karras_sigmas, use_exponential_sigmas, use_beta_sigmas can be true")
        }
        if beta {
            throw SchedulerError.unsupportedOption(scheduler: reader.scheduler, option: "use_beta_sigmas", value: "true",
                                                   reason: "beta-distributed sigmas are not implemented")
        }
        self = karras ? .karras : exponential ? .exponential : .timesteps
    }
}

/// The sigma bookkeeping of the k-diffusion-style samplers (Euler, Euler a, Heun, LMS): placing
/// timesteps and sigmas, the input scaling `x / √(σ² + 1)`, and `add_noise` (`x₀ + σ·ε`).
struct KDiffusionSigmas: Sendable {
    let schedule: NoiseSchedule
    /// Training sigmas (increasing with t), float32.
    let trainSigmas: [Float]
    /// `np.log(trainSigmas)` in float32.
    let logTrainSigmas: [Float]

    init(schedule: NoiseSchedule) {
        self.schedule = schedule
        trainSigmas = schedule.sigmas
        logTrainSigmas = trainSigmas.map { Foundation.log($0) }
    }

    /// The sigmas diffusers holds before `set_timesteps`: training sigmas, largest first, then 0.
    var initialSigmas: [Float] { trainSigmas.reversed() + [0] }

    /// Inference timesteps and sigmas (float64, before diffusers' float32 conversion) for `count`
    /// steps: timesteps by `timestep_spacing`, σ interpolated at them, then optionally respaced
    /// (Karras or exponential, with timesteps recomputed from σ). `bounds` overrides σ_min/σ_max of
    /// the respacing; `karrasUsesBounds` is false for LMS, whose Karras conversion ignores them.
    func place(count: Int, spacing: String, stepsOffset: Int, sigmaSpacing: SigmaSpacing,
               sigmaMin: Double?, sigmaMax: Double?, karrasUsesBounds: Bool = true,
               logLinear: Bool = false) -> (timesteps: [Double], sigmas: [Double]) {
        var timesteps = ScheduleMath.kdiffusionTimesteps(spacing: spacing, count: count, trainSteps: schedule.count,
                                                         stepsOffset: stepsOffset)
        var sigmas: [Double]
        if logLinear {
            // torch.linspace(log σ_max, log σ_min, count + 1).exp(), float32 throughout.
            let start = Foundation.log(trainSigmas[trainSigmas.count - 1]), end = Foundation.log(trainSigmas[0])
            sigmas = NoiseSchedule.torchLinspace(start, end, count + 1).map { Double(Foundation.exp($0)) }
        } else {
            sigmas = timesteps.map { ScheduleMath.interp($0, trainSigmas) }
        }
        switch sigmaSpacing {
        case .timesteps:
            break
        case .karras, .exponential:
            let low = (karrasUsesBounds || sigmaSpacing == .exponential ? sigmaMin : nil) ?? sigmas[sigmas.count - 1]
            let high = (karrasUsesBounds || sigmaSpacing == .exponential ? sigmaMax : nil) ?? sigmas[0]
            sigmas = sigmaSpacing == .karras
                ? ScheduleMath.karras(sigmaMin: low, sigmaMax: high, count: count)
                : ScheduleMath.exponential(sigmaMin: low, sigmaMax: high, count: count)
            timesteps = sigmas.map { ScheduleMath.sigmaToT($0, logSigmas: logTrainSigmas) }
        }
        return (timesteps, sigmas)
    }

    /// diffusers' `init_noise_sigma` for these samplers: σ_max, or √(σ_max² + 1) with "leading" spacing.
    static func initNoiseSigma(sigmas: [Float], spacing: String) -> Float {
        let maximum = sigmas.max() ?? 0
        return spacing == "leading" ? (maximum * maximum + 1).squareRoot() : maximum
    }

    /// `x / √(σ² + 1)`.
    static func scaleInput(_ sample: Tensor, sigma: Float) -> Tensor {
        sample.divided(by: (sigma * sigma + 1).squareRoot())
    }

    /// `x₀ + ε·σ`.
    static func addNoise(original: Tensor, noise: Tensor, sigma: Float) -> Tensor {
        original + noise * sigma
    }

    /// x₀ predicted from the model output at σ (diffusers' `pred_original_sample`).
    static func predictOriginal(_ modelOutput: Tensor, sample: Tensor, sigma: Float, predictionType: String) -> Tensor {
        switch predictionType {
        case "epsilon":
            return sample - modelOutput * sigma
        case "v_prediction":
            let denominator = sigma * sigma + 1
            return modelOutput * (-sigma / denominator.squareRoot()) + sample.divided(by: denominator)
        default:  // "sample", "original_sample"
            return modelOutput
        }
    }
}
