import DiffuseTensor
import Foundation

/// Denoising diffusion probabilistic models (Ho et al. 2020): diffusers' `DDPMScheduler`, ancestral
/// sampling that draws `randn(modelOutput.shape)` at every step except the one at t = 0.
///
/// Config keys read (diffusers defaults): `num_train_timesteps` (1000), `beta_start` (0.0001),
/// `beta_end` (0.02), `beta_schedule` ("linear"; also "scaled_linear", "squaredcos_cap_v2",
/// "laplace", "sigmoid"), `trained_betas` (null), `variance_type` ("fixed_small";
/// also "fixed_small_log", "fixed_large"), `clip_sample` (true),
/// `clip_sample_range` (1.0), `prediction_type` ("epsilon", "sample" or "v_prediction"),
/// `timestep_spacing` ("leading"), `steps_offset` (0), `rescale_betas_zero_snr` (false).
/// `thresholding: true`, the learned variance types and "fixed_large_log" (for which diffusers
/// computes √(log βₜ), a NaN) throw.
public struct DDPMScheduler: Scheduler {
    public let className = "DDPMScheduler"
    public var displayName: String { "DDPM" }
    public let config: SchedulerConfig
    /// The training noise schedule.
    public let schedule: NoiseSchedule

    public private(set) var timesteps: [Float] = []
    public let initNoiseSigma: Float = 1
    public let order = 1
    public private(set) var numInferenceSteps: Int?
    public var stepIndex: Int? { nil }
    public var beginIndex: Int? { nil }

    private let varianceType: String
    private let predictionType: String
    private let clipSample: Bool
    private let clipSampleRange: Float
    private let timestepSpacing: String
    private let stepsOffset: Int

    /// Builds the scheduler as `DDPMScheduler.from_config(config)` would.
    public init(config: SchedulerConfig) throws {
        let reader = ConfigReader(config: config, scheduler: "DDPMScheduler")
        let options = try NoiseSchedule.Options(
            reader, schedules: ["linear", "scaled_linear", "squaredcos_cap_v2", "laplace", "sigmoid"], hasZeroSNROption: true)
        try reader.requireFalse("thresholding", reason: "dynamic thresholding is not implemented")
        self.config = config
        schedule = NoiseSchedule(options)
        varianceType = try reader.choice("variance_type", default: "fixed_small",
                                         supported: ["fixed_small", "fixed_small_log", "fixed_large"])
        predictionType = try reader.choice("prediction_type", default: "epsilon", supported: ["epsilon", "sample", "v_prediction"])
        clipSample = try reader.bool("clip_sample", default: true)
        clipSampleRange = Float(try reader.double("clip_sample_range", default: 1))
        timestepSpacing = try reader.choice("timestep_spacing", default: "leading", supported: ScheduleMath.spacings)
        stepsOffset = try reader.int("steps_offset", default: 0)
    }

    public mutating func setTimesteps(_ count: Int) throws {
        guard count >= 1 && count <= schedule.count else {
            throw SchedulerError.invalidArgument("DDPMScheduler: step count \(count) is not in 1 ... \(schedule.count)")
        }
        timesteps = ScheduleMath.ddimTimesteps(spacing: timestepSpacing, count: count, trainSteps: schedule.count,
                                               stepsOffset: stepsOffset).map(Float.init)
        numInferenceSteps = count
    }

    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor { sample }

    /// The timestep after `t` in the schedule (−1 after the last; `t − 1` before `setTimesteps`).
    private func previousTimestep(_ t: Int) -> Int {
        guard numInferenceSteps != nil else { return t - 1 }
        guard let index = timesteps.firstIndex(of: Float(t)) else {
            fatalError("DDPMScheduler: timestep \(t) is not one of the scheduler's timesteps")
        }
        return index == timesteps.count - 1 ? -1 : Int(timesteps[index + 1])
    }

    public mutating func step(modelOutput: Tensor, timestep: Float, sample: Tensor, random: inout any RandomSource) -> Tensor {
        let t = Int(timestep)
        requireTrainingTimestep(t, count: schedule.count, "DDPMScheduler")
        let previous = previousTimestep(t)
        requireTrainingTimestep(max(previous, 0), count: schedule.count, "DDPMScheduler")
        let alphaProd = schedule.alphasCumprod[t]
        let alphaProdPrevious: Float = previous >= 0 ? schedule.alphasCumprod[previous] : 1
        let betaProd = 1 - alphaProd
        let betaProdPrevious = 1 - alphaProdPrevious
        let currentAlpha = alphaProd / alphaProdPrevious
        let currentBeta = 1 - currentAlpha

        var predictedOriginal: Tensor
        switch predictionType {
        case "epsilon":
            predictedOriginal = (sample - modelOutput * betaProd.squareRoot()).divided(by: alphaProd.squareRoot())
        case "sample":
            predictedOriginal = modelOutput
        default:  // v_prediction
            predictedOriginal = sample * alphaProd.squareRoot() - modelOutput * betaProd.squareRoot()
        }
        if clipSample {
            predictedOriginal = predictedOriginal.clamped(-clipSampleRange, clipSampleRange)
        }

        // Formula (7) of the DDPM paper.
        let originalCoefficient = (alphaProdPrevious.squareRoot() * currentBeta) / betaProd
        let sampleCoefficient = currentAlpha.squareRoot() * betaProdPrevious / betaProd
        var previousSample = predictedOriginal * originalCoefficient + sample * sampleCoefficient

        if t > 0 {
            let noise = random.randn(modelOutput.shape)
            // Posterior variance β̃ₜ (clamped like diffusers) or βₜ.
            let posterior = max((1 - alphaProdPrevious) / (1 - alphaProd) * currentBeta, 1e-20)
            let scale: Float
            switch varianceType {
            case "fixed_small": scale = posterior.squareRoot()
            case "fixed_small_log": scale = Foundation.exp(0.5 * Foundation.log(posterior))
            default: scale = currentBeta.squareRoot()  // fixed_large
            }
            previousSample = previousSample + noise * scale
        }
        return previousSample
    }

    public func addNoise(original: Tensor, noise: Tensor, timestep: Float) -> Tensor {
        DDPMNoising.addNoise(schedule: schedule, original: original, noise: noise, timestep: timestep)
    }

    public mutating func setBeginIndex(_ index: Int) {}
}
