import DiffuseTensor

/// Denoising diffusion implicit models (Song et al. 2021): diffusers' `DDIMScheduler`, the default
/// sampler of Stable Diffusion 2.x.
///
/// Config keys read (diffusers defaults): `num_train_timesteps` (1000), `beta_start` (0.0001),
/// `beta_end` (0.02), `beta_schedule` ("linear"; also "scaled_linear", "squaredcos_cap_v2"),
/// `trained_betas` (null), `clip_sample` (true), `clip_sample_range` (1.0), `set_alpha_to_one`
/// (true), `steps_offset` (0), `prediction_type` ("epsilon", "sample" or "v_prediction"),
/// `timestep_spacing` ("leading"), `rescale_betas_zero_snr` (false). `thresholding: true` is not
/// supported and throws.
public struct DDIMScheduler: Scheduler {
    public let className = "DDIMScheduler"
    public var displayName: String { "DDIM" }
    public let config: SchedulerConfig
    /// The training noise schedule.
    public let schedule: NoiseSchedule
    /// η of the DDIM paper: 0 (the pipelines' default) is deterministic; 1 is DDPM-like and draws
    /// `randn(modelOutput.shape)` each step. diffusers passes it per step (`step(…, eta=)`).
    public var eta: Float = 0

    public private(set) var timesteps: [Float] = []
    public let initNoiseSigma: Float = 1
    public let order = 1
    public private(set) var numInferenceSteps: Int?
    public var stepIndex: Int? { nil }
    public var beginIndex: Int? { nil }

    private let finalAlphaCumprod: Float
    private let predictionType: String
    private let clipSample: Bool
    private let clipSampleRange: Float
    private let timestepSpacing: String
    private let stepsOffset: Int

    /// Builds the scheduler as `DDIMScheduler.from_config(config)` would.
    public init(config: SchedulerConfig) throws {
        let reader = ConfigReader(config: config, scheduler: "DDIMScheduler")
        let options = try NoiseSchedule.Options(reader, schedules: ["linear", "scaled_linear", "squaredcos_cap_v2"],
                                                hasZeroSNROption: true)
        try reader.requireFalse("thresholding", reason: "dynamic thresholding is not implemented")
        self.config = config
        schedule = NoiseSchedule(options)
        finalAlphaCumprod = try reader.bool("set_alpha_to_one", default: true) ? 1 : schedule.alphasCumprod[0]
        predictionType = try reader.choice("prediction_type", default: "epsilon", supported: ["epsilon", "sample", "v_prediction"])
        clipSample = try reader.bool("clip_sample", default: true)
        clipSampleRange = Float(try reader.double("clip_sample_range", default: 1))
        timestepSpacing = try reader.choice("timestep_spacing", default: "leading", supported: ScheduleMath.spacings)
        stepsOffset = try reader.int("steps_offset", default: 0)
    }

    public mutating func setTimesteps(_ count: Int) throws {
        guard count >= 1 && count <= schedule.count else {
            throw SchedulerError.invalidArgument("DDIMScheduler: step count \(count) is not in 1 ... \(schedule.count)")
        }
        timesteps = ScheduleMath.ddimTimesteps(spacing: timestepSpacing, count: count, trainSteps: schedule.count,
                                               stepsOffset: stepsOffset).map(Float.init)
        numInferenceSteps = count
    }

    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor { sample }

    public mutating func step(modelOutput: Tensor, timestep: Float, sample: Tensor, random: inout any RandomSource) -> Tensor {
        guard let count = numInferenceSteps else { fatalError("DDIMScheduler.step: call setTimesteps first") }
        let t = Int(timestep)
        requireTrainingTimestep(t, count: schedule.count, "DDIMScheduler")
        // diffusers steps back by T / n whatever the spacing.
        let previous = t - schedule.count / count
        let alphaProd = schedule.alphasCumprod[t]
        requireTrainingTimestep(max(previous, 0), count: schedule.count, "DDIMScheduler")
        let alphaProdPrevious = previous >= 0 ? schedule.alphasCumprod[previous] : finalAlphaCumprod
        let betaProd = 1 - alphaProd

        var (predictedOriginal, predictedEpsilon) = predictedOriginalAndNoise(modelOutput, sample: sample, alphaProd: alphaProd,
                                                                             predictionType: predictionType)
        if clipSample {
            predictedOriginal = predictedOriginal.clamped(-clipSampleRange, clipSampleRange)
        }

        let betaProdPrevious = 1 - alphaProdPrevious
        let variance = (betaProdPrevious / betaProd) * (1 - alphaProd / alphaProdPrevious)
        let standardDeviation = eta * variance.squareRoot()
        let direction = predictedEpsilon * (1 - alphaProdPrevious - standardDeviation * standardDeviation).squareRoot()
        var previousSample = predictedOriginal * alphaProdPrevious.squareRoot() + direction
        if eta > 0 {
            let noise = random.randn(modelOutput.shape)
            previousSample = previousSample + noise * standardDeviation
        }
        return previousSample
    }

    public func addNoise(original: Tensor, noise: Tensor, timestep: Float) -> Tensor {
        DDPMNoising.addNoise(schedule: schedule, original: original, noise: noise, timestep: timestep)
    }

    public mutating func setBeginIndex(_ index: Int) {}
}
