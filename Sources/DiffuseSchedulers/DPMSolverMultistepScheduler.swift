import DiffuseTensor
import Foundation

/// DPM-Solver / DPM-Solver++ multistep (Lu et al. 2022): diffusers' `DPMSolverMultistepScheduler`.
/// With the defaults (`algorithm_type` "dpmsolver++", `solver_order` 2) this is "DPM++ 2M", and with
/// `use_karras_sigmas` "DPM++ 2M Karras". The SDE variants draw `randn(modelOutput.shape)` every step.
///
/// Config keys read (diffusers defaults): `num_train_timesteps` (1000), `beta_start` (0.0001),
/// `beta_end` (0.02), `beta_schedule` ("linear"; also "scaled_linear", "squaredcos_cap_v2"),
/// `trained_betas` (null), `solver_order` (2; 1 … 3), `prediction_type` ("epsilon", "sample" or
/// "v_prediction"), `algorithm_type` ("dpmsolver++"; also "dpmsolver", "sde-dpmsolver++",
/// "sde-dpmsolver"; "deis" is read as "dpmsolver++"), `solver_type` ("midpoint" or "heun"; "bh1",
/// "bh2", "logrho" are read as "midpoint"), `lower_order_final` (true), `euler_at_final` (false),
/// `use_karras_sigmas` (false), `use_exponential_sigmas` (false), `final_sigmas_type` ("zero"),
/// `lambda_min_clipped` (−∞), `timestep_spacing` ("linspace"), `steps_offset` (0),
/// `rescale_betas_zero_snr` (false); `sigma_min` / `sigma_max` when the config has them.
/// Thresholding, learned variance, beta / flow / λ-uniform sigmas and dynamic shifting throw.
public struct DPMSolverMultistepScheduler: Scheduler {
    public let className = "DPMSolverMultistepScheduler"
    public let config: SchedulerConfig
    /// The training noise schedule.
    public let schedule: NoiseSchedule
    /// σ for each timestep, then the final σ.
    public private(set) var sigmas: [Float]

    public private(set) var timesteps: [Float] = []
    public let initNoiseSigma: Float = 1
    public let order = 1
    public private(set) var numInferenceSteps: Int?
    public var stepIndex: Int? { index.stepIndex }
    public var beginIndex: Int? { index.beginIndex }

    /// `algorithm_type` after diffusers' aliasing.
    public let algorithmType: String
    /// `solver_order`.
    public let solverOrder: Int
    private let solverType: String
    private let predictionType: String
    private let lowerOrderFinal: Bool
    private let eulerAtFinal: Bool
    private let sigmaSpacing: SigmaSpacing
    private let sigmaMin: Double?
    private let sigmaMax: Double?
    private let finalSigmaIsMinimum: Bool
    private let lambdaMinClipped: Double
    private let timestepSpacing: String
    private let stepsOffset: Int
    private let betaSchedule: String
    private let logTrainSigmas: [Float]
    /// λₜ = log αₜ − log σₜ per training timestep (float32).
    private let trainLambdas: [Float]
    private var index = StepIndexState(missing: .lastIndex)
    /// The latest converted model outputs, oldest first (at most `solverOrder`).
    private var modelOutputs: [Tensor] = []
    private var lowerOrderCount = 0

    public var displayName: String {
        let plus = algorithmType.hasSuffix("++") ? "DPM++" : "DPM"
        let sde = algorithmType.hasPrefix("sde") ? " SDE" : ""
        return "\(plus) \(solverOrder)M\(sde)\(sigmaSpacing == .karras ? " Karras" : "")"
    }

    /// Builds the scheduler as `DPMSolverMultistepScheduler.from_config(config)` would.
    public init(config: SchedulerConfig) throws {
        let name = "DPMSolverMultistepScheduler"
        let reader = ConfigReader(config: config, scheduler: name)
        let options = try NoiseSchedule.Options(reader, schedules: ["linear", "scaled_linear", "squaredcos_cap_v2"],
                                                hasZeroSNROption: true)
        try reader.requireFalse("thresholding", reason: "dynamic thresholding is not implemented")
        try reader.requireFalse("use_lu_lambdas", reason: "λ-uniform steps are not implemented")
        try reader.requireFalse("use_flow_sigmas", reason: "flow-matching sigmas are not implemented")
        try reader.requireFalse("use_dynamic_shifting", reason: "dynamic shifting is not implemented")
        try reader.requireAbsent("variance_type", reason: "learned-variance model outputs are not implemented")
        self.config = config
        schedule = NoiseSchedule(options, zeroSNRTerminalAlphaCumprod: 0x1p-24)
        betaSchedule = options.betaSchedule
        solverOrder = try reader.int("solver_order", default: 2)
        guard (1 ... 3).contains(solverOrder) else {
            throw SchedulerError.unsupportedOption(scheduler: name, option: "solver_order", value: "\(solverOrder)",
                                                   reason: "DPM-Solver has orders 1, 2 and 3")
        }
        predictionType = try reader.choice("prediction_type", default: "epsilon", supported: ["epsilon", "sample", "v_prediction"])
        var algorithm = try reader.choice("algorithm_type", default: "dpmsolver++",
                                          supported: ["dpmsolver++", "dpmsolver", "sde-dpmsolver++", "sde-dpmsolver", "deis"])
        if algorithm == "deis" { algorithm = "dpmsolver++" }
        algorithmType = algorithm
        var solver = try reader.choice("solver_type", default: "midpoint", supported: ["midpoint", "heun", "bh1", "bh2", "logrho"])
        if !["midpoint", "heun"].contains(solver) { solver = "midpoint" }
        solverType = solver
        if algorithm == "sde-dpmsolver" && solverOrder == 3 {
            throw SchedulerError.unsupportedOption(scheduler: name, option: "solver_order", value: "3",
                                                   reason: "diffusers has no third-order update for sde-dpmsolver")
        }
        lowerOrderFinal = try reader.bool("lower_order_final", default: true)
        eulerAtFinal = try reader.bool("euler_at_final", default: false)
        sigmaSpacing = try SigmaSpacing(reader)
        sigmaMin = try reader.optionalDouble("sigma_min")
        sigmaMax = try reader.optionalDouble("sigma_max")
        finalSigmaIsMinimum = try reader.choice("final_sigmas_type", default: "zero", supported: ["zero", "sigma_min"]) == "sigma_min"
        if !finalSigmaIsMinimum && !algorithm.hasSuffix("++") {
            throw SchedulerError.unsupportedOption(scheduler: name, option: "final_sigmas_type", value: "\"zero\"",
                                                   reason: "diffusers rejects it for algorithm_type \(algorithm); use \"sigma_min\"")
        }
        lambdaMinClipped = try reader.double("lambda_min_clipped", default: -.infinity)
        timestepSpacing = try reader.choice("timestep_spacing", default: "linspace", supported: ScheduleMath.spacings)
        stepsOffset = try reader.int("steps_offset", default: 0)
        let trainSigmas = schedule.sigmas
        logTrainSigmas = trainSigmas.map { Foundation.log($0) }
        trainLambdas = schedule.alphasCumprod.map { Foundation.log($0.squareRoot()) - Foundation.log((1 - $0).squareRoot()) }
        sigmas = trainSigmas
    }

    public mutating func setTimesteps(_ count: Int) throws {
        guard count >= 1 else { throw SchedulerError.invalidArgument("DPMSolverMultistepScheduler: step count must be at least 1") }
        let trainSteps = schedule.count
        // torch.searchsorted(flip(λ), lambda_min_clipped): how many of the smallest λ lie below it.
        let clipped = trainLambdas.reversed().prefix { Double($0) < lambdaMinClipped }.count
        let lastTimestep = trainSteps - clipped
        var steps = ScheduleMath.multistepTimesteps(spacing: timestepSpacing, count: count, trainSteps: trainSteps,
                                                    lastTimestep: lastTimestep, stepsOffset: stepsOffset).map(Double.init)
        let trainSigmas = schedule.sigmas
        var placed: [Double]
        switch sigmaSpacing {
        case .timesteps:
            placed = steps.map { ScheduleMath.interp($0, trainSigmas) }
        case .karras, .exponential:
            // Bounds come from the whole training range (diffusers flips the training sigmas).
            let low = sigmaMin ?? Double(trainSigmas[0]), high = sigmaMax ?? Double(trainSigmas[trainSigmas.count - 1])
            placed = sigmaSpacing == .karras
                ? ScheduleMath.karras(sigmaMin: low, sigmaMax: high, count: count)
                : ScheduleMath.exponential(sigmaMin: low, sigmaMax: high, count: count)
            steps = placed.map { ScheduleMath.sigmaToT($0, logSigmas: logTrainSigmas) }
            if sigmaSpacing == .karras && betaSchedule != "squaredcos_cap_v2" {
                steps = steps.map(ScheduleMath.round)
            }
        }
        let last = finalSigmaIsMinimum ? trainSigmas[0] : 0
        sigmas = placed.map { Float($0) } + [last]
        // diffusers stores the timesteps as int64 (truncating fractional ones).
        timesteps = steps.map { Float(Int64($0)) }
        numInferenceSteps = timesteps.count
        modelOutputs = []
        lowerOrderCount = 0
        index.reset()
    }

    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor { sample }

    /// (αₜ, σₜ) of the variance-preserving process for the k-diffusion σ.
    private func alphaSigma(_ sigma: Float) -> (alpha: Float, sigma: Float) {
        let alpha = 1 / (sigma * sigma + 1).squareRoot()
        return (alpha, sigma * alpha)
    }

    private func lambda(_ alphaSigma: (alpha: Float, sigma: Float)) -> Float {
        Foundation.log(alphaSigma.alpha) - Foundation.log(alphaSigma.sigma)
    }

    /// The model output as the solver's variable: x₀ for the ++ variants, ε otherwise.
    private func convert(_ modelOutput: Tensor, sample: Tensor, stepIndex i: Int) -> Tensor {
        let (alpha, sigma) = alphaSigma(sigmas[i])
        if algorithmType.hasSuffix("++") {
            switch predictionType {
            case "epsilon": return (sample - modelOutput * sigma).divided(by: alpha)
            case "sample": return modelOutput
            default: return sample * alpha - modelOutput * sigma
            }
        }
        switch predictionType {
        case "epsilon": return modelOutput
        case "sample": return (sample - modelOutput * alpha).divided(by: sigma)
        default: return modelOutput * alpha + sample * sigma
        }
    }

    private func firstOrderUpdate(_ m0: Tensor, sample: Tensor, noise: Tensor?, stepIndex i: Int) -> Tensor {
        let t = alphaSigma(sigmas[i + 1]), s = alphaSigma(sigmas[i])
        let h = lambda(t) - lambda(s)
        switch algorithmType {
        case "dpmsolver++":
            return sample * (t.sigma / s.sigma) - m0 * (t.alpha * (Foundation.exp(-h) - 1))
        case "dpmsolver":
            return sample * (t.alpha / s.alpha) - m0 * (t.sigma * (Foundation.exp(h) - 1))
        case "sde-dpmsolver++":
            return sample * (t.sigma / s.sigma * Foundation.exp(-h)) + m0 * (t.alpha * (1 - Foundation.exp(-2 * h)))
                + sde(noise) * (t.sigma * (1 - Foundation.exp(-2 * h)).squareRoot())
        default:  // sde-dpmsolver
            return sample * (t.alpha / s.alpha) - m0 * (2 * (t.sigma * (Foundation.exp(h) - 1)))
                + sde(noise) * (t.sigma * (Foundation.exp(2 * h) - 1).squareRoot())
        }
    }

    private func secondOrderUpdate(sample: Tensor, noise: Tensor?, stepIndex i: Int) -> Tensor {
        let t = alphaSigma(sigmas[i + 1]), s0 = alphaSigma(sigmas[i]), s1 = alphaSigma(sigmas[i - 1])
        let lambdaT = lambda(t), lambda0 = lambda(s0), lambda1 = lambda(s1)
        let m0 = modelOutputs[modelOutputs.count - 1], m1 = modelOutputs[modelOutputs.count - 2]
        let h = lambdaT - lambda0, h0 = lambda0 - lambda1
        let r0 = h0 / h
        let d0 = m0, d1 = (m0 - m1) * (1 / r0)
        let midpoint = solverType == "midpoint"
        switch algorithmType {
        case "dpmsolver++":
            let a = t.alpha * (Foundation.exp(-h) - 1)
            let base = sample * (t.sigma / s0.sigma) - d0 * a
            return midpoint ? base - d1 * (0.5 * a) : base + d1 * (t.alpha * ((Foundation.exp(-h) - 1) / h + 1))
        case "dpmsolver":
            let a = t.sigma * (Foundation.exp(h) - 1)
            let base = sample * (t.alpha / s0.alpha) - d0 * a
            return midpoint ? base - d1 * (0.5 * a) : base - d1 * (t.sigma * ((Foundation.exp(h) - 1) / h - 1))
        case "sde-dpmsolver++":
            let a = t.alpha * (1 - Foundation.exp(-2 * h))
            let base = sample * (t.sigma / s0.sigma * Foundation.exp(-h)) + d0 * a
            let second = midpoint ? d1 * (0.5 * a) : d1 * (t.alpha * ((1 - Foundation.exp(-2 * h)) / (-2 * h) + 1))
            return base + second + sde(noise) * (t.sigma * (1 - Foundation.exp(-2 * h)).squareRoot())
        default:  // sde-dpmsolver
            let a = t.sigma * (Foundation.exp(h) - 1)
            let base = sample * (t.alpha / s0.alpha) - d0 * (2 * a)
            let second = midpoint ? d1 * a : d1 * (2 * (t.sigma * ((Foundation.exp(h) - 1) / h - 1)))
            return base - second + sde(noise) * (t.sigma * (Foundation.exp(2 * h) - 1).squareRoot())
        }
    }

    private func thirdOrderUpdate(sample: Tensor, noise: Tensor?, stepIndex i: Int) -> Tensor {
        let t = alphaSigma(sigmas[i + 1]), s0 = alphaSigma(sigmas[i])
        let s1 = alphaSigma(sigmas[i - 1]), s2 = alphaSigma(sigmas[i - 2])
        let lambdaT = lambda(t), lambda0 = lambda(s0), lambda1 = lambda(s1), lambda2 = lambda(s2)
        let n = modelOutputs.count
        let m0 = modelOutputs[n - 1], m1 = modelOutputs[n - 2], m2 = modelOutputs[n - 3]
        let h = lambdaT - lambda0, h0 = lambda0 - lambda1, h1 = lambda1 - lambda2
        let r0 = h0 / h, r1 = h1 / h
        let d0 = m0
        let d10 = (m0 - m1) * (1 / r0), d11 = (m1 - m2) * (1 / r1)
        let d1 = d10 + (d10 - d11) * (r0 / (r0 + r1))
        let d2 = (d10 - d11) * (1 / (r0 + r1))
        switch algorithmType {
        case "dpmsolver++":
            return sample * (t.sigma / s0.sigma) - d0 * (t.alpha * (Foundation.exp(-h) - 1))
                + d1 * (t.alpha * ((Foundation.exp(-h) - 1) / h + 1))
                - d2 * (t.alpha * ((Foundation.exp(-h) - 1 + h) / (h * h) - 0.5))
        case "dpmsolver":
            return sample * (t.alpha / s0.alpha) - d0 * (t.sigma * (Foundation.exp(h) - 1))
                - d1 * (t.sigma * ((Foundation.exp(h) - 1) / h - 1))
                - d2 * (t.sigma * ((Foundation.exp(h) - 1 - h) / (h * h) - 0.5))
        default:  // sde-dpmsolver++
            let e = Foundation.exp(-2 * h)
            return sample * (t.sigma / s0.sigma * Foundation.exp(-h)) + d0 * (t.alpha * (1 - e))
                + d1 * (t.alpha * ((1 - e) / (-2 * h) + 1))
                + d2 * (t.alpha * ((1 - e - 2 * h) / ((2 * h) * (2 * h)) - 0.5))
                + sde(noise) * (t.sigma * (1 - e).squareRoot())
        }
    }

    /// The noise of an SDE update (drawn in `step` for the SDE algorithm types).
    private func sde(_ noise: Tensor?) -> Tensor {
        guard let noise else { fatalError("DPMSolverMultistepScheduler: SDE update without noise") }
        return noise
    }

    public mutating func step(modelOutput: Tensor, timestep: Float, sample: Tensor, random: inout any RandomSource) -> Tensor {
        require(numInferenceSteps != nil, "DPMSolverMultistepScheduler.step: call setTimesteps first")
        let i = index.current(for: timestep, in: timesteps)
        requireNextSigma(i, sigmas: sigmas, "DPMSolverMultistepScheduler")
        let isLast = i == timesteps.count - 1
        let lowerOrderFinalStep = isLast && (eulerAtFinal || (lowerOrderFinal && timesteps.count < 15) || !finalSigmaIsMinimum)
        let lowerOrderSecondStep = i == timesteps.count - 2 && lowerOrderFinal && timesteps.count < 15

        let converted = convert(modelOutput, sample: sample, stepIndex: i)
        modelOutputs.append(converted)
        if modelOutputs.count > solverOrder { modelOutputs.removeFirst() }
        let noise = algorithmType.hasPrefix("sde") ? random.randn(modelOutput.shape) : nil

        let previous: Tensor
        if solverOrder == 1 || lowerOrderCount < 1 || lowerOrderFinalStep {
            previous = firstOrderUpdate(converted, sample: sample, noise: noise, stepIndex: i)
        } else if solverOrder == 2 || lowerOrderCount < 2 || lowerOrderSecondStep {
            previous = secondOrderUpdate(sample: sample, noise: noise, stepIndex: i)
        } else {
            previous = thirdOrderUpdate(sample: sample, noise: noise, stepIndex: i)
        }
        if lowerOrderCount < solverOrder { lowerOrderCount += 1 }
        index.stepIndex = i + 1
        return previous
    }

    public func addNoise(original: Tensor, noise: Tensor, timestep: Float) -> Tensor {
        let (alpha, sigma) = alphaSigma(sigma(at: index.forAddNoise(timestep, in: timesteps), in: sigmas))
        return original * alpha + noise * sigma
    }

    public mutating func setBeginIndex(_ index: Int) { self.index.beginIndex = index }
}
