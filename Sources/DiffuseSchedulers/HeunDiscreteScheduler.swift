import DiffuseTensor

/// Heun's second-order method on the probability-flow ODE (Karras et al. 2022, Algorithm 1):
/// diffusers' `HeunDiscreteScheduler`. Every step but the last needs two denoiser evaluations, so
/// `timesteps` repeats each timestep after the first and `order` is 2. Deterministic.
///
/// Config keys read (diffusers defaults): `num_train_timesteps` (1000), `beta_start` (0.00085),
/// `beta_end` (0.012), `beta_schedule` ("linear"; also "scaled_linear", "squaredcos_cap_v2",
/// "exp"), `trained_betas` (null), `prediction_type` ("epsilon", "v_prediction" or "sample"),
/// `use_karras_sigmas` (false), `use_exponential_sigmas` (false), `clip_sample` (false),
/// `clip_sample_range` (1.0), `timestep_spacing` ("linspace"), `steps_offset` (0); and
/// `sigma_min` / `sigma_max` when the config has them (diffusers keeps unknown keys in the config
/// and its Karras conversion looks them up).
public struct HeunDiscreteScheduler: Scheduler {
    public let className = "HeunDiscreteScheduler"
    public var displayName: String { "Heun" }
    public let config: SchedulerConfig
    /// The training noise schedule.
    public var schedule: NoiseSchedule { kdiffusion.schedule }
    /// σ for each entry of `timesteps`, then 0.
    public private(set) var sigmas: [Float]

    public private(set) var timesteps: [Float] = []
    public var initNoiseSigma: Float { KDiffusionSigmas.initNoiseSigma(sigmas: sigmas, spacing: timestepSpacing) }
    public let order = 2
    public private(set) var numInferenceSteps: Int?
    public var stepIndex: Int? { index.stepIndex }
    public var beginIndex: Int? { index.beginIndex }

    private let kdiffusion: KDiffusionSigmas
    private let predictionType: String
    private let sigmaSpacing: SigmaSpacing
    private let sigmaMin: Double?
    private let sigmaMax: Double?
    private let clipSample: Bool
    private let clipSampleRange: Float
    private let timestepSpacing: String
    private let stepsOffset: Int
    private var index = StepIndexState(missing: .fail)

    /// State between the two halves of a step: dx/dσ at the start, the σ step, and the start sample.
    private var firstDerivative: Tensor?
    private var firstDt: Float?
    private var firstSample: Tensor?

    /// Builds the scheduler as `HeunDiscreteScheduler.from_config(config)` would.
    public init(config: SchedulerConfig) throws {
        let reader = ConfigReader(config: config, scheduler: "HeunDiscreteScheduler")
        let options = try NoiseSchedule.Options(reader, betaStart: 0.00085, betaEnd: 0.012,
                                                schedules: ["linear", "scaled_linear", "squaredcos_cap_v2", "exp"],
                                                hasZeroSNROption: false)
        self.config = config
        kdiffusion = KDiffusionSigmas(schedule: NoiseSchedule(options))
        predictionType = try reader.choice("prediction_type", default: "epsilon", supported: ["epsilon", "v_prediction", "sample"])
        sigmaSpacing = try SigmaSpacing(reader)
        sigmaMin = try reader.optionalDouble("sigma_min")
        sigmaMax = try reader.optionalDouble("sigma_max")
        clipSample = try reader.bool("clip_sample", default: false)
        clipSampleRange = Float(try reader.double("clip_sample_range", default: 1))
        timestepSpacing = try reader.choice("timestep_spacing", default: "linspace", supported: ScheduleMath.spacings)
        stepsOffset = try reader.int("steps_offset", default: 0)
        sigmas = kdiffusion.initialSigmas
    }

    public mutating func setTimesteps(_ count: Int) throws {
        guard count >= 1 else { throw SchedulerError.invalidArgument("HeunDiscreteScheduler: step count must be at least 1") }
        let placed = kdiffusion.place(count: count, spacing: timestepSpacing, stepsOffset: stepsOffset,
                                      sigmaSpacing: sigmaSpacing, sigmaMin: sigmaMin, sigmaMax: sigmaMax)
        let base = placed.sigmas.map { Float($0) } + [0]
        // [σ₀, σ₁, σ₁, σ₂, σ₂, …, σₙ₋₁, σₙ₋₁, 0] and [t₀, t₁, t₁, …, tₙ₋₁, tₙ₋₁].
        var repeated = [base[0]]
        for sigma in base[1 ..< base.count - 1] { repeated += [sigma, sigma] }
        sigmas = repeated + [base[base.count - 1]]
        let steps = placed.timesteps.map { Float($0) }
        timesteps = [steps[0]] + steps.dropFirst().flatMap { [$0, $0] }
        numInferenceSteps = count
        firstDerivative = nil
        firstDt = nil
        firstSample = nil
        index.reset()
    }

    /// True when the next `step` is the first (Euler) half of a Heun step.
    public var isFirstOrderStep: Bool { firstDt == nil }

    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor {
        KDiffusionSigmas.scaleInput(sample, sigma: sigma(at: index.current(for: timestep, in: timesteps), in: sigmas))
    }

    public mutating func step(modelOutput: Tensor, timestep: Float, sample: Tensor, random: inout any RandomSource) -> Tensor {
        let i = index.current(for: timestep, in: timesteps)
        let firstOrder = isFirstOrderStep
        if firstOrder { requireNextSigma(i, sigmas: sigmas, "HeunDiscreteScheduler") }
        require(firstOrder || (i >= 1 && i < sigmas.count), "HeunDiscreteScheduler.step: step index \(i) out of range")
        let sigma = firstOrder ? sigmas[i] : sigmas[i - 1]
        let sigmaNext = firstOrder ? sigmas[i + 1] : sigmas[i]
        let sigmaInput = firstOrder ? sigma : sigmaNext
        var original = KDiffusionSigmas.predictOriginal(modelOutput, sample: sample, sigma: sigmaInput, predictionType: predictionType)
        if clipSample {
            original = original.clamped(-clipSampleRange, clipSampleRange)
        }
        let result: Tensor
        if firstOrder {
            let derivative = (sample - original).divided(by: sigma)
            let dt = sigmaNext - sigma
            firstDerivative = derivative
            firstDt = dt
            firstSample = sample
            result = sample + derivative * dt
        } else {
            guard let previousDerivative = firstDerivative, let dt = firstDt, let start = firstSample else {
                fatalError("HeunDiscreteScheduler: missing first-order state")
            }
            let derivative = (previousDerivative + (sample - original).divided(by: sigmaNext)).divided(by: 2)
            firstDerivative = nil
            firstDt = nil
            firstSample = nil
            result = start + derivative * dt
        }
        index.stepIndex = i + 1
        return result
    }

    public func addNoise(original: Tensor, noise: Tensor, timestep: Float) -> Tensor {
        KDiffusionSigmas.addNoise(original: original, noise: noise, sigma: sigma(at: index.forAddNoise(timestep, in: timesteps), in: sigmas))
    }

    public mutating func setBeginIndex(_ index: Int) { self.index.beginIndex = index }
}
