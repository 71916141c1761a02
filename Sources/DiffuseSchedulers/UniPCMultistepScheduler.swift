import DiffuseTensor
import Foundation

/// UniPC, the unified predictor–corrector multistep solver (Zhao et al. 2023): diffusers'
/// `UniPCMultistepScheduler` (defaults: B(h) = bh2, `solver_order` 2, predicting x₀). Deterministic.
///
/// Config keys read (diffusers defaults): `num_train_timesteps` (1000), `beta_start` (0.0001),
/// `beta_end` (0.02), `beta_schedule` ("linear"; also "scaled_linear", "squaredcos_cap_v2"),
/// `trained_betas` (null), `solver_order` (2), `prediction_type` ("epsilon", "sample" or
/// "v_prediction"), `predict_x0` (true), `solver_type` ("bh2" or "bh1"; "midpoint", "heun",
/// "logrho" are read as "bh2"), `lower_order_final` (true), `disable_corrector` ([]),
/// `use_karras_sigmas` (false), `use_exponential_sigmas` (false), `sigma_min` / `sigma_max`
/// (null), `timestep_spacing` ("linspace"), `steps_offset` (0), `final_sigmas_type` ("zero"),
/// `rescale_betas_zero_snr` (false). Thresholding, `solver_p`, beta / flow sigmas and dynamic
/// shifting throw.
public struct UniPCMultistepScheduler: Scheduler {
    public let className = "UniPCMultistepScheduler"
    public var displayName: String { "UniPC" }
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

    /// `solver_order`.
    public let solverOrder: Int
    private let predictionType: String
    private let predictX0: Bool
    private let bh1: Bool
    private let lowerOrderFinal: Bool
    private let disableCorrector: Set<Int>
    private let sigmaSpacing: SigmaSpacing
    private let sigmaMin: Double?
    private let sigmaMax: Double?
    private let finalSigmaIsMinimum: Bool
    private let timestepSpacing: String
    private let stepsOffset: Int
    private let logTrainSigmas: [Float]
    private var index = StepIndexState(missing: .lastIndex)
    /// The latest converted model outputs, oldest first (at most `solverOrder`).
    private var modelOutputs: [Tensor] = []
    private var lowerOrderCount = 0
    /// The order of the last predictor step, which the next corrector reuses.
    private var lastOrder = 1
    /// The sample the last predictor started from.
    private var lastSample: Tensor?

    /// Builds the scheduler as `UniPCMultistepScheduler.from_config(config)` would.
    public init(config: SchedulerConfig) throws {
        let name = "UniPCMultistepScheduler"
        let reader = ConfigReader(config: config, scheduler: name)
        let options = try NoiseSchedule.Options(reader, schedules: ["linear", "scaled_linear", "squaredcos_cap_v2"],
                                                hasZeroSNROption: true)
        try reader.requireFalse("thresholding", reason: "dynamic thresholding is not implemented")
        try reader.requireFalse("use_flow_sigmas", reason: "flow-matching sigmas are not implemented")
        try reader.requireFalse("use_dynamic_shifting", reason: "dynamic shifting is not implemented")
        try reader.requireAbsent("solver_p", reason: "an external predictor scheduler is not supported")
        try reader.requireAbsent("shift_terminal", reason: "diffusers allows it only with flow sigmas")
        self.config = config
        schedule = NoiseSchedule(options, zeroSNRTerminalAlphaCumprod: 0x1p-24)
        solverOrder = try reader.int("solver_order", default: 2)
        guard solverOrder >= 1 else {
            throw SchedulerError.unsupportedOption(scheduler: name, option: "solver_order", value: "\(solverOrder)",
                                                   reason: "must be at least 1")
        }
        predictionType = try reader.choice("prediction_type", default: "epsilon", supported: ["epsilon", "sample", "v_prediction"])
        predictX0 = try reader.bool("predict_x0", default: true)
        bh1 = try reader.choice("solver_type", default: "bh2", supported: ["bh1", "bh2", "midpoint", "heun", "logrho"]) == "bh1"
        lowerOrderFinal = try reader.bool("lower_order_final", default: true)
        disableCorrector = Set(try reader.ints("disable_corrector", default: []))
        sigmaSpacing = try SigmaSpacing(reader)
        sigmaMin = try reader.optionalDouble("sigma_min")
        sigmaMax = try reader.optionalDouble("sigma_max")
        finalSigmaIsMinimum = try reader.choice("final_sigmas_type", default: "zero", supported: ["zero", "sigma_min"]) == "sigma_min"
        // diffusers' last step to σ = 0 multiplies an infinity by zero (NaN) unless it predicts x₀
        // with B(h) = expm1(−h).
        if (bh1 || !predictX0) && !finalSigmaIsMinimum {
            let option = bh1 ? "solver_type" : "predict_x0", value = bh1 ? "\"bh1\"" : "false"
            throw SchedulerError.unsupportedOption(scheduler: name, option: option, value: value,
                                                   reason: "with final_sigmas_type \"zero\" diffusers' last step computes ∞ · 0, a NaN; use final_sigmas_type \"sigma_min\"")
        }
        timestepSpacing = try reader.choice("timestep_spacing", default: "linspace", supported: ScheduleMath.spacings)
        stepsOffset = try reader.int("steps_offset", default: 0)
        let trainSigmas = schedule.sigmas
        logTrainSigmas = trainSigmas.map { Foundation.log($0) }
        sigmas = trainSigmas
    }

    public mutating func setTimesteps(_ count: Int) throws {
        guard count >= 1 else { throw SchedulerError.invalidArgument("UniPCMultistepScheduler: step count must be at least 1") }
        let trainSteps = schedule.count
        var steps = ScheduleMath.multistepTimesteps(spacing: timestepSpacing, count: count, trainSteps: trainSteps,
                                                    lastTimestep: trainSteps, stepsOffset: stepsOffset).map(Double.init)
        let trainSigmas = schedule.sigmas
        var placed: [Double]
        let last: Float
        switch sigmaSpacing {
        case .timesteps:
            placed = steps.map { ScheduleMath.interp($0, trainSigmas) }
            last = finalSigmaIsMinimum ? trainSigmas[0] : 0
        case .karras, .exponential:
            let low = sigmaMin ?? Double(trainSigmas[0]), high = sigmaMax ?? Double(trainSigmas[trainSigmas.count - 1])
            placed = sigmaSpacing == .karras
                ? ScheduleMath.karras(sigmaMin: low, sigmaMax: high, count: count)
                : ScheduleMath.exponential(sigmaMin: low, sigmaMax: high, count: count)
            steps = placed.map { ScheduleMath.sigmaToT($0, logSigmas: logTrainSigmas) }
            if sigmaSpacing == .karras { steps = steps.map(ScheduleMath.round) }
            last = finalSigmaIsMinimum ? Float(placed[placed.count - 1]) : 0
        }
        sigmas = placed.map { Float($0) } + [last]
        timesteps = steps.map { Float(Int64($0)) }
        numInferenceSteps = timesteps.count
        modelOutputs = []
        lowerOrderCount = 0
        lastOrder = 1
        lastSample = nil
        index.reset()
    }

    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor { sample }

    private func alphaSigma(_ sigma: Float) -> (alpha: Float, sigma: Float) {
        let alpha = 1 / (sigma * sigma + 1).squareRoot()
        return (alpha, sigma * alpha)
    }

    private func lambda(atIndex i: Int) -> Float {
        let (alpha, sigma) = alphaSigma(sigmas[i])
        return Foundation.log(alpha) - Foundation.log(sigma)
    }

    /// The model output as the solver's variable: x₀ when `predict_x0`, else ε.
    private func convert(_ modelOutput: Tensor, sample: Tensor, stepIndex i: Int) -> Tensor {
        let (alpha, sigma) = alphaSigma(sigmas[i])
        if predictX0 {
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

    /// The shared part of the B(h) updates: h·φ₁ = expm1(ĥ), B(h), and the right-hand sides bₖ.
    private func coefficients(h: Float, order: Int) -> (hPhi1: Float, bh: Float, b: [Float]) {
        let hh = predictX0 ? -h : h
        let hPhi1 = Foundation.expm1(hh)
        var hPhiK = hPhi1 / hh - 1
        var factorial = 1
        let bh = bh1 ? hh : Foundation.expm1(hh)
        var b: [Float] = []
        for i in 1 ... order {
            b.append(hPhiK * Float(factorial) / bh)
            factorial *= i + 1
            hPhiK = hPhiK / hh - Float(1.0 / Double(factorial))
        }
        return (hPhi1, bh, b)
    }

    /// Rows rᵏ⁻¹ (k = 1 … order) of the Vandermonde-like system in the ratios `rks`.
    private func powers(_ rks: [Float], order: Int) -> [[Float]] {
        var rows: [[Float]] = []
        var row = [Float](repeating: 1, count: rks.count)
        for _ in 0 ..< order {
            rows.append(row)
            row = zip(row, rks).map { $0 * $1 }
        }
        return rows
    }

    /// The explicit UniP update from `sample` at step i to step i + 1.
    private func predictor(sample: Tensor, order: Int, stepIndex i: Int) -> Tensor {
        let n = modelOutputs.count
        let m0 = modelOutputs[n - 1]
        let t = alphaSigma(sigmas[i + 1]), s0 = alphaSigma(sigmas[i])
        let lambda0 = lambda(atIndex: i)
        let h = lambda(atIndex: i + 1) - lambda0
        var rks: [Float] = []
        var d1s: [Tensor] = []
        for k in 1 ..< max(order, 1) {
            let rk = (lambda(atIndex: i - k) - lambda0) / h
            rks.append(rk)
            d1s.append((modelOutputs[n - 1 - k] - m0).divided(by: rk))
        }
        rks.append(1)
        let (hPhi1, bh, b) = coefficients(h: h, order: order)
        var result = predictX0
            ? sample * (t.sigma / s0.sigma) - m0 * (t.alpha * hPhi1)
            : sample * (t.alpha / s0.alpha) - m0 * (t.sigma * hPhi1)
        if !d1s.isEmpty {
            let rhos: [Float]
            if order == 2 {
                rhos = [0.5]
            } else {
                let r = powers(rks, order: order)
                rhos = LinearSolve.solve(r.dropLast().map { Array($0.dropLast()) }, Array(b.dropLast()))
            }
            let residual = weightedSum(rhos, d1s)
            result = result - residual * ((predictX0 ? t.alpha : t.sigma) * bh)
        }
        return result
    }

    /// The implicit UniC correction of `thisSample` (step i) given the model output there.
    private func corrector(thisModelOutput: Tensor, lastSample: Tensor, thisSample: Tensor, order: Int, stepIndex i: Int) -> Tensor {
        let n = modelOutputs.count
        let m0 = modelOutputs[n - 1]
        let t = alphaSigma(sigmas[i]), s0 = alphaSigma(sigmas[i - 1])
        let lambda0 = lambda(atIndex: i - 1)
        let h = lambda(atIndex: i) - lambda0
        var rks: [Float] = []
        var d1s: [Tensor] = []
        for k in 1 ..< max(order, 1) {
            let rk = (lambda(atIndex: i - (k + 1)) - lambda0) / h
            rks.append(rk)
            d1s.append((modelOutputs[n - 1 - k] - m0).divided(by: rk))
        }
        rks.append(1)
        let (hPhi1, bh, b) = coefficients(h: h, order: order)
        let rhos = order == 1 ? [Float(0.5)] : LinearSolve.solve(powers(rks, order: order), b)
        let base = predictX0
            ? lastSample * (t.sigma / s0.sigma) - m0 * (t.alpha * hPhi1)
            : lastSample * (t.alpha / s0.alpha) - m0 * (t.sigma * hPhi1)
        var correction = (thisModelOutput - m0) * rhos[rhos.count - 1]
        if !d1s.isEmpty {
            correction = weightedSum(Array(rhos.dropLast()), d1s) + correction
        }
        return base - correction * ((predictX0 ? t.alpha : t.sigma) * bh)
    }

    private func weightedSum(_ weights: [Float], _ tensors: [Tensor]) -> Tensor {
        var sum = tensors[0] * weights[0]
        for k in 1 ..< tensors.count { sum = sum + tensors[k] * weights[k] }
        return sum
    }

    public mutating func step(modelOutput: Tensor, timestep: Float, sample: Tensor, random: inout any RandomSource) -> Tensor {
        require(numInferenceSteps != nil, "UniPCMultistepScheduler.step: call setTimesteps first")
        let i = index.current(for: timestep, in: timesteps)
        requireNextSigma(i, sigmas: sigmas, "UniPCMultistepScheduler")
        let converted = convert(modelOutput, sample: sample, stepIndex: i)
        var sample = sample
        if i > 0, !disableCorrector.contains(i - 1), let lastSample {
            sample = corrector(thisModelOutput: converted, lastSample: lastSample, thisSample: sample, order: lastOrder, stepIndex: i)
        }
        modelOutputs.append(converted)
        if modelOutputs.count > solverOrder { modelOutputs.removeFirst() }
        var thisOrder = lowerOrderFinal ? min(solverOrder, timesteps.count - i) : solverOrder
        thisOrder = min(thisOrder, lowerOrderCount + 1)
        lastOrder = thisOrder
        lastSample = sample
        let previous = predictor(sample: sample, order: thisOrder, stepIndex: i)
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

/// Small dense linear systems in float32 (LAPACK `sgesv`'s method: LU with partial pivoting).
enum LinearSolve {
    static func solve(_ matrix: [[Float]], _ rhs: [Float]) -> [Float] {
        let n = rhs.count
        var a = matrix, b = rhs
        for column in 0 ..< n {
            var pivot = column
            for row in column + 1 ..< n where abs(a[row][column]) > abs(a[pivot][column]) { pivot = row }
            a.swapAt(column, pivot)
            b.swapAt(column, pivot)
            for row in column + 1 ..< n {
                let factor = a[row][column] / a[column][column]
                for k in column ..< n { a[row][k] -= factor * a[column][k] }
                b[row] -= factor * b[column]
            }
        }
        var x = [Float](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var value = b[row]
            for k in row + 1 ..< n { value -= a[row][k] * x[k] }
            x[row] = value / a[row][row]
        }
        return x
    }
}
