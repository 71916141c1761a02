import DiffuseTensor

/// Pseudo numerical methods for diffusion models (Liu et al. 2022): diffusers' `PNDMScheduler`,
/// the default sampler of Stable Diffusion 1.x ("PLMS" when `skip_prk_steps` is true).
///
/// Config keys read (diffusers defaults): `num_train_timesteps` (1000), `beta_start` (0.0001),
/// `beta_end` (0.02), `beta_schedule` ("linear"; also "scaled_linear", "squaredcos_cap_v2"),
/// `trained_betas` (null), `skip_prk_steps` (false), `set_alpha_to_one` (false), `prediction_type`
/// ("epsilon" or "v_prediction"), `timestep_spacing` ("leading"), `steps_offset` (0).
public struct PNDMScheduler: Scheduler {
    public let className = "PNDMScheduler"
    public var displayName: String { "PNDM" }
    public let config: SchedulerConfig
    /// The training noise schedule.
    public let schedule: NoiseSchedule

    public private(set) var timesteps: [Float] = []
    public let initNoiseSigma: Float = 1
    public let order = 1
    public private(set) var numInferenceSteps: Int?
    public var stepIndex: Int? { nil }
    public var beginIndex: Int? { nil }

    private let finalAlphaCumprod: Float
    private let skipPRKSteps: Bool
    private let vPrediction: Bool
    private let timestepSpacing: String
    private let stepsOffset: Int

    /// Runge–Kutta warm-up timesteps (empty when `skip_prk_steps`).
    private var prkTimesteps: [Int] = []
    /// Past model outputs for the linear multistep formula (diffusers' `ets`).
    private var ets: [Tensor] = []
    private var counter = 0
    private var runningModelOutput: Tensor?
    private var savedSample: Tensor?

    /// Builds the scheduler as `PNDMScheduler.from_config(config)` would.
    public init(config: SchedulerConfig) throws {
        let reader = ConfigReader(config: config, scheduler: "PNDMScheduler")
        let options = try NoiseSchedule.Options(reader, schedules: ["linear", "scaled_linear", "squaredcos_cap_v2"],
                                                hasZeroSNROption: false)
        self.config = config
        schedule = NoiseSchedule(options)
        skipPRKSteps = try reader.bool("skip_prk_steps", default: false)
        finalAlphaCumprod = try reader.bool("set_alpha_to_one", default: false) ? 1 : schedule.alphasCumprod[0]
        vPrediction = try reader.choice("prediction_type", default: "epsilon", supported: ["epsilon", "v_prediction"]) == "v_prediction"
        timestepSpacing = try reader.choice("timestep_spacing", default: "leading", supported: ScheduleMath.spacings)
        stepsOffset = try reader.int("steps_offset", default: 0)
    }

    public mutating func setTimesteps(_ count: Int) throws {
        let trainSteps = schedule.count
        guard count >= 1 && count <= trainSteps else {
            throw SchedulerError.invalidArgument("PNDMScheduler: step count \(count) is not in 1 ... \(trainSteps)")
        }
        // Ascending, as diffusers keeps `_timesteps`.
        let base = Array(ScheduleMath.ddimTimesteps(spacing: timestepSpacing, count: count, trainSteps: trainSteps,
                                                    stepsOffset: stepsOffset).reversed())
        var plms: [Int]
        if skipPRKSteps {
            prkTimesteps = []
            // The first PLMS step is taken twice (diffusers' warm-up): [:-1], [-2:-1], [-1:].
            plms = Array(base.dropLast())
            if base.count >= 2 { plms.append(base[base.count - 2]) }
            plms.append(base[base.count - 1])
            plms.reverse()
        } else {
            guard base.count >= 4 else {
                throw SchedulerError.invalidArgument("PNDMScheduler: Runge–Kutta warm-up (skip_prk_steps = false) needs at least 4 steps, got \(count)")
            }
            let half = trainSteps / count / 2
            var pairs: [Int] = []
            for t in base.suffix(4) { pairs += [t, t + half] }
            var doubled: [Int] = []
            for t in pairs.dropLast() { doubled += [t, t] }
            prkTimesteps = Array(doubled.dropFirst().dropLast().reversed())
            plms = Array(base.dropLast(3).reversed())
        }
        timesteps = (prkTimesteps + plms).map(Float.init)
        numInferenceSteps = count
        ets = []
        counter = 0
        runningModelOutput = nil
        savedSample = nil
    }

    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor { sample }

    public mutating func step(modelOutput: Tensor, timestep: Float, sample: Tensor, random: inout any RandomSource) -> Tensor {
        require(numInferenceSteps != nil, "PNDMScheduler.step: call setTimesteps first")
        if counter < prkTimesteps.count && !skipPRKSteps {
            return stepPRK(modelOutput: modelOutput, timestep: Int(timestep), sample: sample)
        }
        return stepPLMS(modelOutput: modelOutput, timestep: Int(timestep), sample: sample)
    }

    private mutating func stepPRK(modelOutput: Tensor, timestep: Int, sample: Tensor) -> Tensor {
        let count = numInferenceSteps ?? 1
        let diffToPrevious = counter % 2 != 0 ? 0 : schedule.count / count / 2
        let previous = timestep - diffToPrevious
        let current = prkTimesteps[counter / 4 * 4]
        var output = modelOutput
        switch counter % 4 {
        case 0:
            runningModelOutput = accumulate(runningModelOutput, modelOutput * Float(1.0 / 6.0))
            ets.append(modelOutput)
            savedSample = sample
        case 1, 2:
            runningModelOutput = accumulate(runningModelOutput, modelOutput * Float(1.0 / 3.0))
        default:
            output = accumulate(runningModelOutput, modelOutput * Float(1.0 / 6.0))
            runningModelOutput = nil
        }
        let result = previousSample(savedSample ?? sample, timestep: current, previous: previous, modelOutput: output)
        counter += 1
        return result
    }

    private mutating func stepPLMS(modelOutput: Tensor, timestep: Int, sample: Tensor) -> Tensor {
        let ratio = schedule.count / (numInferenceSteps ?? 1)
        var current = timestep
        var previous = timestep - ratio
        if counter != 1 {
            ets = Array(ets.suffix(3))
            ets.append(modelOutput)
        } else {
            previous = timestep
            current = timestep + ratio
        }
        var sample = sample
        let output: Tensor
        let n = ets.count
        if n == 1 && counter == 0 {
            output = modelOutput
            savedSample = sample
        } else if n == 1 && counter == 1 {
            output = (modelOutput + ets[n - 1]).divided(by: 2)
            sample = savedSample ?? sample
            savedSample = nil
        } else if n == 2 {
            output = (ets[n - 1] * 3 - ets[n - 2]).divided(by: 2)
        } else if n == 3 {
            output = (ets[n - 1] * 23 - ets[n - 2] * 16 + ets[n - 3] * 5).divided(by: 12)
        } else {
            output = (ets[n - 1] * 55 - ets[n - 2] * 59 + ets[n - 3] * 37 - ets[n - 4] * 9) * Float(1.0 / 24.0)
        }
        let result = previousSample(sample, timestep: current, previous: previous, modelOutput: output)
        counter += 1
        return result
    }

    private func accumulate(_ running: Tensor?, _ term: Tensor) -> Tensor {
        running.map { $0 + term } ?? term
    }

    /// Formula (9) of the PNDM paper: x_{t−δ} from x_t and ε.
    private func previousSample(_ sample: Tensor, timestep: Int, previous: Int, modelOutput: Tensor) -> Tensor {
        requireTrainingTimestep(timestep, count: schedule.count, "PNDMScheduler")
        requireTrainingTimestep(max(previous, 0), count: schedule.count, "PNDMScheduler")
        let alphaProd = schedule.alphasCumprod[timestep]
        let alphaProdPrevious = previous >= 0 ? schedule.alphasCumprod[previous] : finalAlphaCumprod
        let betaProd = 1 - alphaProd
        let betaProdPrevious = 1 - alphaProdPrevious
        var epsilon = modelOutput
        if vPrediction {
            epsilon = modelOutput * alphaProd.squareRoot() + sample * betaProd.squareRoot()
        }
        let sampleCoefficient = (alphaProdPrevious / alphaProd).squareRoot()
        let denominator = alphaProd * betaProdPrevious.squareRoot() + (alphaProd * betaProd * alphaProdPrevious).squareRoot()
        return sample * sampleCoefficient - (epsilon * (alphaProdPrevious - alphaProd)).divided(by: denominator)
    }

    public func addNoise(original: Tensor, noise: Tensor, timestep: Float) -> Tensor {
        DDPMNoising.addNoise(schedule: schedule, original: original, noise: noise, timestep: timestep)
    }

    public mutating func setBeginIndex(_ index: Int) {}
}

/// `add_noise` of the DDPM-style samplers (PNDM, DDIM, DDPM): √ᾱₜ·x₀ + √(1 − ᾱₜ)·ε.
enum DDPMNoising {
    static func addNoise(schedule: NoiseSchedule, original: Tensor, noise: Tensor, timestep: Float) -> Tensor {
        let t = Int(timestep)
        requireTrainingTimestep(t, count: schedule.count, "add_noise")
        let alphaProd = schedule.alphasCumprod[t]
        return original * alphaProd.squareRoot() + noise * (1 - alphaProd).squareRoot()
    }
}
