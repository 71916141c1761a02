import DiffuseTensor

/// Euler's method on the probability-flow ODE (Karras et al. 2022, Algorithm 2 without churn):
/// diffusers' `EulerDiscreteScheduler`. Deterministic: draws no noise.
///
/// Config keys read (diffusers defaults): `num_train_timesteps` (1000), `beta_start` (0.0001),
/// `beta_end` (0.02), `beta_schedule` ("linear"; also "scaled_linear", "squaredcos_cap_v2"),
/// `trained_betas` (null), `prediction_type` ("epsilon", "v_prediction", "sample" or
/// "original_sample"), `interpolation_type` ("linear" or "log_linear"), `use_karras_sigmas`
/// (false), `use_exponential_sigmas` (false), `sigma_min` / `sigma_max` (null: from the schedule),
/// `timestep_spacing` ("linspace"), `timestep_type` ("discrete"), `steps_offset` (0),
/// `rescale_betas_zero_snr` (false), `final_sigmas_type` ("zero" or "sigma_min").
/// `use_beta_sigmas` and continuous v-prediction timesteps throw.
public struct EulerDiscreteScheduler: Scheduler {
    public let className = "EulerDiscreteScheduler"
    public var displayName: String { "Euler" }
    public let config: SchedulerConfig
    /// The training noise schedule.
    public var schedule: NoiseSchedule { kdiffusion.schedule }
    /// σ for each timestep, plus the final σ (0 unless `final_sigmas_type` is "sigma_min").
    public private(set) var sigmas: [Float]

    public private(set) var timesteps: [Float] = []
    public var initNoiseSigma: Float { KDiffusionSigmas.initNoiseSigma(sigmas: sigmas, spacing: timestepSpacing) }
    public let order = 1
    public private(set) var numInferenceSteps: Int?
    public var stepIndex: Int? { index.stepIndex }
    public var beginIndex: Int? { index.beginIndex }

    private let kdiffusion: KDiffusionSigmas
    private let predictionType: String
    private let logLinear: Bool
    private let sigmaSpacing: SigmaSpacing
    private let sigmaMin: Double?
    private let sigmaMax: Double?
    private let timestepSpacing: String
    private let stepsOffset: Int
    private let finalSigmaIsMinimum: Bool
    private var index = StepIndexState(missing: .fail)

    /// Builds the scheduler as `EulerDiscreteScheduler.from_config(config)` would.
    public init(config: SchedulerConfig) throws {
        let reader = ConfigReader(config: config, scheduler: "EulerDiscreteScheduler")
        let options = try NoiseSchedule.Options(reader, schedules: ["linear", "scaled_linear", "squaredcos_cap_v2"],
                                                hasZeroSNROption: true)
        self.config = config
        kdiffusion = KDiffusionSigmas(schedule: NoiseSchedule(options, zeroSNRTerminalAlphaCumprod: 0x1p-24))
        predictionType = try reader.choice("prediction_type", default: "epsilon",
                                           supported: ["epsilon", "v_prediction", "sample", "original_sample"])
        logLinear = try reader.choice("interpolation_type", default: "linear", supported: ["linear", "log_linear"]) == "log_linear"
        sigmaSpacing = try SigmaSpacing(reader)
        sigmaMin = try reader.optionalDouble("sigma_min")
        sigmaMax = try reader.optionalDouble("sigma_max")
        timestepSpacing = try reader.choice("timestep_spacing", default: "linspace", supported: ScheduleMath.spacings)
        let timestepType = try reader.choice("timestep_type", default: "discrete", supported: ["discrete", "continuous"])
        if timestepType == "continuous" && predictionType == "v_prediction" {
            throw SchedulerError.unsupportedOption(scheduler: reader.scheduler, option: "timestep_type", value: "\"continuous\"",
                                                   reason: "continuous (0.25·log σ) timesteps for v-prediction are not implemented")
        }
        stepsOffset = try reader.int("steps_offset", default: 0)
        finalSigmaIsMinimum = try reader.choice("final_sigmas_type", default: "zero", supported: ["zero", "sigma_min"]) == "sigma_min"
        sigmas = kdiffusion.initialSigmas
    }

    public mutating func setTimesteps(_ count: Int) throws {
        guard count >= 1 else { throw SchedulerError.invalidArgument("EulerDiscreteScheduler: step count must be at least 1") }
        let placed = kdiffusion.place(count: count, spacing: timestepSpacing, stepsOffset: stepsOffset,
                                      sigmaSpacing: sigmaSpacing, sigmaMin: sigmaMin, sigmaMax: sigmaMax, logLinear: logLinear)
        let last = finalSigmaIsMinimum ? kdiffusion.trainSigmas[0] : 0
        sigmas = placed.sigmas.map { Float($0) } + [last]
        timesteps = placed.timesteps.map { Float($0) }
        numInferenceSteps = count
        index.reset()
    }

    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor {
        KDiffusionSigmas.scaleInput(sample, sigma: sigma(at: index.current(for: timestep, in: timesteps), in: sigmas))
    }

    public mutating func step(modelOutput: Tensor, timestep: Float, sample: Tensor, random: inout any RandomSource) -> Tensor {
        let i = index.current(for: timestep, in: timesteps)
        requireNextSigma(i, sigmas: sigmas, "EulerDiscreteScheduler")
        let sigma = sigmas[i]
        let original = KDiffusionSigmas.predictOriginal(modelOutput, sample: sample, sigma: sigma, predictionType: predictionType)
        let derivative = (sample - original).divided(by: sigma)
        let dt = sigmas[i + 1] - sigma
        index.stepIndex = i + 1
        return sample + derivative * dt
    }

    public func addNoise(original: Tensor, noise: Tensor, timestep: Float) -> Tensor {
        KDiffusionSigmas.addNoise(original: original, noise: noise, sigma: sigma(at: index.forAddNoise(timestep, in: timesteps), in: sigmas))
    }

    public mutating func setBeginIndex(_ index: Int) { self.index.beginIndex = index }
}
