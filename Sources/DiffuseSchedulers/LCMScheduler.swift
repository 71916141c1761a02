import DiffuseTensor

/// Latent Consistency Model multistep sampling (Luo et al. 2023): diffusers 0.42.1's
/// `LCMScheduler`, for LCM-distilled checkpoints and LCM-LoRA (which users run on their base
/// model's own `scheduler_config.json`, e.g. SD 1.5's PNDM config: the keys LCM does not know are
/// ignored, the missing ones take LCM's defaults).
///
/// Each step predicts x̂₀ from the model output, applies the consistency boundary condition
/// `denoised = c_out · x̂₀ + c_skip · x` with σ_data = 0.5 and the timestep scaled by
/// `timestep_scaling` (c_skip = σ_data² / (s² + σ_data²), c_out = s / √(s² + σ_data²), s = 10·t by
/// default), and — except at the last step — noises `denoised` to the next timestep with fresh
/// `randn(modelOutput.shape)`: `√ᾱ_prev · denoised + √(1 − ᾱ_prev) · noise`. The timesteps are
/// `ConsistencyTimesteps` (4 steps of SD 1.5: 999, 759, 499, 259).
///
/// Image-to-image follows `LatentConsistencyModelImg2ImgPipeline`: `img2imgTimesteps` recomputes
/// the schedule from the first `Int(original_inference_steps · strength)` distillation timesteps
/// (`set_timesteps(steps, strength=strength)`), keeping `steps` steps and no begin index.
///
/// Config keys read (diffusers defaults): `num_train_timesteps` (1000), `beta_start` (0.00085),
/// `beta_end` (0.012), `beta_schedule` ("scaled_linear"; also "linear", "squaredcos_cap_v2"),
/// `trained_betas` (null), `original_inference_steps` (50), `clip_sample` (false),
/// `clip_sample_range` (1.0), `set_alpha_to_one` (true), `prediction_type` ("epsilon", "sample" or
/// "v_prediction"), `timestep_scaling` (10.0), `rescale_betas_zero_snr` (false). `steps_offset` and
/// `timestep_spacing` do not change LCM's schedule (nor do they in diffusers). `thresholding: true`
/// is not supported and throws.
public struct LCMScheduler: Scheduler {
    public let className = "LCMScheduler"
    public var displayName: String { "LCM" }
    public let config: SchedulerConfig
    /// The training noise schedule.
    public let schedule: NoiseSchedule

    public private(set) var timesteps: [Float] = []
    public let initNoiseSigma: Float = 1
    public let order = 1
    public private(set) var numInferenceSteps: Int?
    public var stepIndex: Int? { index.stepIndex }
    public var beginIndex: Int? { index.beginIndex }

    private let origin: ConsistencyTimesteps
    private let finalAlphaCumprod: Float
    private let predictionType: String
    private let clipSample: Bool
    private let clipSampleRange: Float
    private let timestepScaling: Float
    private var index = StepIndexState(missing: .fail)

    /// Builds the scheduler as `LCMScheduler.from_config(config)` would.
    public init(config: SchedulerConfig) throws {
        let reader = ConfigReader(config: config, scheduler: "LCMScheduler")
        let options = try NoiseSchedule.Options(reader, betaStart: 0.00085, betaEnd: 0.012, betaSchedule: "scaled_linear",
                                                schedules: ["linear", "scaled_linear", "squaredcos_cap_v2"],
                                                hasZeroSNROption: true)
        try reader.requireFalse("thresholding", reason: "dynamic thresholding is not implemented")
        self.config = config
        schedule = NoiseSchedule(options)
        origin = try ConsistencyTimesteps(reader, trainSteps: schedule.count)
        finalAlphaCumprod = try reader.bool("set_alpha_to_one", default: true) ? 1 : schedule.alphasCumprod[0]
        predictionType = try reader.choice("prediction_type", default: "epsilon", supported: ["epsilon", "sample", "v_prediction"])
        clipSample = try reader.bool("clip_sample", default: false)
        clipSampleRange = Float(try reader.double("clip_sample_range", default: 1))
        timestepScaling = Float(try reader.double("timestep_scaling", default: 10))
    }

    /// Places `count` steps; throws `invalidArgument` for fewer than 1 or more than
    /// `original_inference_steps`, as diffusers raises.
    public mutating func setTimesteps(_ count: Int) throws {
        try origin.place(count: count, strength: 1, timesteps: &timesteps, numInferenceSteps: &numInferenceSteps, index: &index)
    }

    /// `set_timesteps(steps, strength=strength)`: `steps` timesteps from the first
    /// `Int(original_inference_steps · strength)` distillation timesteps, no begin index. Empty
    /// (schedule unchanged) where diffusers raises: when the strength leaves fewer distillation
    /// timesteps than `steps`.
    public mutating func img2imgTimesteps(steps: Int, strength: Double) -> [Float] {
        do {
            try origin.place(count: steps, strength: strength, timesteps: &timesteps, numInferenceSteps: &numInferenceSteps, index: &index)
            return timesteps
        } catch {
            return []
        }
    }

    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor { sample }

    public mutating func step(modelOutput: Tensor, timestep: Float, sample: Tensor, random: inout any RandomSource) -> Tensor {
        guard let count = numInferenceSteps else { fatalError("LCMScheduler.step: call setTimesteps first") }
        let i = index.current(for: timestep, in: timesteps)
        let t = Int(timestep)
        requireTrainingTimestep(t, count: schedule.count, "LCMScheduler")
        // The last step "steps" to its own timestep (its noise-free result does not use it).
        let previous = i + 1 < timesteps.count ? Int(timesteps[i + 1]) : t
        let alphaProd = schedule.alphasCumprod[t]
        let alphaProdPrevious = previous >= 0 ? schedule.alphasCumprod[previous] : finalAlphaCumprod
        let betaProd = 1 - alphaProd
        let betaProdPrevious = 1 - alphaProdPrevious
        let (cSkip, cOut) = boundaryScalings(t)

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
        let denoised = predictedOriginal * cOut + sample * cSkip

        var previousSample = denoised
        if i != count - 1 {
            let noise = random.randn(modelOutput.shape)
            previousSample = denoised * alphaProdPrevious.squareRoot() + noise * betaProdPrevious.squareRoot()
        }
        index.stepIndex = i + 1
        return previousSample
    }

    /// diffusers' `get_scalings_for_boundary_condition_discrete`, in float32 as it computes them
    /// from the timestep tensor: (c_skip, c_out).
    func boundaryScalings(_ t: Int) -> (Float, Float) {
        let sigmaData: Float = 0.5
        let scaled = Float(t) * timestepScaling
        let denominator = scaled * scaled + sigmaData * sigmaData
        return (sigmaData * sigmaData / denominator, scaled / denominator.squareRoot())
    }

    public func addNoise(original: Tensor, noise: Tensor, timestep: Float) -> Tensor {
        DDPMNoising.addNoise(schedule: schedule, original: original, noise: noise, timestep: timestep)
    }

    public mutating func setBeginIndex(_ index: Int) { self.index.beginIndex = index }
}
