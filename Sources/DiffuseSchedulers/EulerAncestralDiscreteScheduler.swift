import DiffuseTensor

/// Ancestral Euler sampling (k-diffusion's `sample_euler_ancestral`): diffusers'
/// `EulerAncestralDiscreteScheduler`, "Euler a". Each step takes a deterministic Euler step down to
/// σ_down and adds fresh noise of standard deviation σ_up, drawing `randn(modelOutput.shape)` at
/// every step (including the last, where σ_up = 0).
///
/// Config keys read (diffusers defaults): `num_train_timesteps` (1000), `beta_start` (0.0001),
/// `beta_end` (0.02), `beta_schedule` ("linear"; also "scaled_linear", "squaredcos_cap_v2"),
/// `trained_betas` (null), `prediction_type` ("epsilon" or "v_prediction"), `timestep_spacing`
/// ("linspace"), `steps_offset` (0), `rescale_betas_zero_snr` (false).
public struct EulerAncestralDiscreteScheduler: Scheduler {
    public let className = "EulerAncestralDiscreteScheduler"
    public var displayName: String { "Euler a" }
    public let config: SchedulerConfig
    /// The training noise schedule.
    public var schedule: NoiseSchedule { kdiffusion.schedule }
    /// σ for each timestep, then 0.
    public private(set) var sigmas: [Float]

    public private(set) var timesteps: [Float] = []
    public var initNoiseSigma: Float { KDiffusionSigmas.initNoiseSigma(sigmas: sigmas, spacing: timestepSpacing) }
    public let order = 1
    public private(set) var numInferenceSteps: Int?
    public var stepIndex: Int? { index.stepIndex }
    public var beginIndex: Int? { index.beginIndex }

    private let kdiffusion: KDiffusionSigmas
    private let predictionType: String
    private let timestepSpacing: String
    private let stepsOffset: Int
    private var index = StepIndexState(missing: .fail)

    /// Builds the scheduler as `EulerAncestralDiscreteScheduler.from_config(config)` would.
    public init(config: SchedulerConfig) throws {
        let reader = ConfigReader(config: config, scheduler: "EulerAncestralDiscreteScheduler")
        let options = try NoiseSchedule.Options(reader, schedules: ["linear", "scaled_linear", "squaredcos_cap_v2"],
                                                hasZeroSNROption: true)
        self.config = config
        kdiffusion = KDiffusionSigmas(schedule: NoiseSchedule(options, zeroSNRTerminalAlphaCumprod: 0x1p-24))
        // diffusers accepts "sample" here but raises NotImplementedError in step.
        predictionType = try reader.choice("prediction_type", default: "epsilon", supported: ["epsilon", "v_prediction"])
        timestepSpacing = try reader.choice("timestep_spacing", default: "linspace", supported: ScheduleMath.spacings)
        stepsOffset = try reader.int("steps_offset", default: 0)
        sigmas = kdiffusion.initialSigmas
    }

    public mutating func setTimesteps(_ count: Int) throws {
        guard count >= 1 else {
            throw SchedulerError.invalidArgument("EulerAncestralDiscreteScheduler: step count must be at least 1")
        }
        let placed = kdiffusion.place(count: count, spacing: timestepSpacing, stepsOffset: stepsOffset,
                                      sigmaSpacing: .timesteps, sigmaMin: nil, sigmaMax: nil)
        sigmas = placed.sigmas.map { Float($0) } + [0]
        timesteps = placed.timesteps.map { Float($0) }
        numInferenceSteps = count
        index.reset()
    }

    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor {
        KDiffusionSigmas.scaleInput(sample, sigma: sigma(at: index.current(for: timestep, in: timesteps), in: sigmas))
    }

    public mutating func step(modelOutput: Tensor, timestep: Float, sample: Tensor, random: inout any RandomSource) -> Tensor {
        let i = index.current(for: timestep, in: timesteps)
        requireNextSigma(i, sigmas: sigmas, "EulerAncestralDiscreteScheduler")
        let sigma = sigmas[i]
        let original = KDiffusionSigmas.predictOriginal(modelOutput, sample: sample, sigma: sigma, predictionType: predictionType)
        let from = sigmas[i], to = sigmas[i + 1]
        let sigmaUp = (to * to * (from * from - to * to) / (from * from)).squareRoot()
        let sigmaDown = (to * to - sigmaUp * sigmaUp).squareRoot()
        let derivative = (sample - original).divided(by: sigma)
        let dt = sigmaDown - sigma
        var previous = sample + derivative * dt
        let noise = random.randn(modelOutput.shape)
        previous = previous + noise * sigmaUp
        index.stepIndex = i + 1
        return previous
    }

    public func addNoise(original: Tensor, noise: Tensor, timestep: Float) -> Tensor {
        KDiffusionSigmas.addNoise(original: original, noise: noise, sigma: sigma(at: index.forAddNoise(timestep, in: timesteps), in: sigmas))
    }

    public mutating func setBeginIndex(_ index: Int) { self.index.beginIndex = index }
}
