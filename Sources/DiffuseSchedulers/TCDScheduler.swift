import DiffuseTensor

/// Trajectory Consistency Distillation's strategic stochastic sampling (Zheng et al. 2024):
/// diffusers 0.42.1's `TCDScheduler`, for TCD-distilled checkpoints and TCD-LoRA.
///
/// Each step predicts x̂₀ and ε̂ from the model output and jumps to the intermediate timestep
/// s = ⌊(1 − η) · t_prev⌋ (float32, as diffusers computes it):
/// `x_s = √ᾱ_s · x̂₀ + √(1 − ᾱ_s) · ε̂`. With η > 0 and except at the last step, it then noises x_s
/// forward to the next timestep with fresh `randn(modelOutput.shape)`:
/// `√(ᾱ_prev / ᾱ_s) · x_s + √(1 − ᾱ_prev / ᾱ_s) · noise`. η = 0 is deterministic and draws nothing.
/// After the last step t_prev is 0. The timesteps are `ConsistencyTimesteps` (as LCM's).
///
/// Image-to-image follows `LatentConsistencyModelImg2ImgPipeline` (the pipeline diffusers runs
/// the consistency samplers' strength with): `img2imgTimesteps` recomputes the schedule with
/// `set_timesteps(steps, strength=strength)`, keeping `steps` steps and no begin index.
///
/// Config keys read (diffusers defaults): `num_train_timesteps` (1000), `beta_start` (0.00085),
/// `beta_end` (0.012), `beta_schedule` ("scaled_linear"; also "linear", "squaredcos_cap_v2"),
/// `trained_betas` (null), `original_inference_steps` (50), `set_alpha_to_one` (true),
/// `prediction_type` ("epsilon", "sample" or "v_prediction"), `rescale_betas_zero_snr` (false).
/// `clip_sample`, `clip_sample_range`, `thresholding`, `timestep_scaling`, `steps_offset` and
/// `timestep_spacing` are accepted and have no effect, as in diffusers' `TCDScheduler`.
public struct TCDScheduler: Scheduler {
    public let className = "TCDScheduler"
    public var displayName: String { "TCD" }
    public let config: SchedulerConfig
    /// The training noise schedule.
    public let schedule: NoiseSchedule
    /// η, the paper's γ (diffusers' `step(…, eta=)`, default 0.3): the share of each step taken
    /// stochastically, 0 (deterministic) … 1. Set it with `setEta(_:)`.
    public private(set) var eta: Float = 0.3

    public private(set) var timesteps: [Float] = []
    public let initNoiseSigma: Float = 1
    public let order = 1
    public private(set) var numInferenceSteps: Int?
    public var stepIndex: Int? { index.stepIndex }
    public var beginIndex: Int? { index.beginIndex }

    private let origin: ConsistencyTimesteps
    private let finalAlphaCumprod: Float
    private let predictionType: String
    private var index = StepIndexState(missing: .fail)

    /// Builds the scheduler as `TCDScheduler.from_config(config)` would.
    public init(config: SchedulerConfig) throws {
        let reader = ConfigReader(config: config, scheduler: "TCDScheduler")
        let options = try NoiseSchedule.Options(reader, betaStart: 0.00085, betaEnd: 0.012, betaSchedule: "scaled_linear",
                                                schedules: ["linear", "scaled_linear", "squaredcos_cap_v2"],
                                                hasZeroSNROption: true)
        self.config = config
        schedule = NoiseSchedule(options)
        origin = try ConsistencyTimesteps(reader, trainSteps: schedule.count)
        finalAlphaCumprod = try reader.bool("set_alpha_to_one", default: true) ? 1 : schedule.alphasCumprod[0]
        predictionType = try reader.choice("prediction_type", default: "epsilon", supported: ["epsilon", "sample", "v_prediction"])
    }

    /// Sets η; throws `invalidArgument` (message starting `"eta "`) outside 0 … 1, where
    /// diffusers' `step` fails its assertion.
    public mutating func setEta(_ value: Float) throws {
        guard value >= 0 && value <= 1 else {
            throw SchedulerError.invalidArgument("eta \(value) is outside 0 ... 1 (TCD's gamma: 0 is deterministic, 1 fully stochastic)")
        }
        eta = value
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
        guard let count = numInferenceSteps else { fatalError("TCDScheduler.step: call setTimesteps first") }
        let i = index.current(for: timestep, in: timesteps)
        let t = Int(timestep)
        requireTrainingTimestep(t, count: schedule.count, "TCDScheduler")
        let previous = i + 1 < timesteps.count ? Int(timesteps[i + 1]) : 0
        // torch.floor((1 - eta) * prev_timestep): the factor in double, the product in float32.
        let s = Int((Float(1 - Double(eta)) * Float(previous)).rounded(.down))
        requireTrainingTimestep(s, count: schedule.count, "TCDScheduler")
        let alphaProd = schedule.alphasCumprod[t]
        let alphaProdPrevious = previous >= 0 ? schedule.alphasCumprod[previous] : finalAlphaCumprod
        let alphaProdS = schedule.alphasCumprod[s]
        let betaProdS = 1 - alphaProdS

        let (predictedOriginal, predictedEpsilon) = predictedOriginalAndNoise(modelOutput, sample: sample, alphaProd: alphaProd,
                                                                             predictionType: predictionType)
        let noised = predictedOriginal * alphaProdS.squareRoot() + predictedEpsilon * betaProdS.squareRoot()

        var previousSample = noised
        if eta > 0 && i != count - 1 {
            let noise = random.randn(modelOutput.shape)
            let ratio = alphaProdPrevious / alphaProdS
            previousSample = noised * ratio.squareRoot() + noise * (1 - ratio).squareRoot()
        }
        index.stepIndex = i + 1
        return previousSample
    }

    public func addNoise(original: Tensor, noise: Tensor, timestep: Float) -> Tensor {
        DDPMNoising.addNoise(schedule: schedule, original: original, noise: noise, timestep: timestep)
    }

    public mutating func setBeginIndex(_ index: Int) { self.index.beginIndex = index }
}
