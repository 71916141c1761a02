import DiffuseTensor

/// Linear multistep (Adams–Bashforth in σ, up to 4th order; k-diffusion's `sample_lms`):
/// diffusers' `LMSDiscreteScheduler`. Deterministic.
///
/// Config keys read (diffusers defaults): `num_train_timesteps` (1000), `beta_start` (0.0001),
/// `beta_end` (0.02), `beta_schedule` ("linear"; also "scaled_linear", "squaredcos_cap_v2"),
/// `trained_betas` (null), `use_karras_sigmas` (false), `use_exponential_sigmas` (false),
/// `prediction_type` ("epsilon", "v_prediction" or "sample"), `timestep_spacing` ("linspace"),
/// `steps_offset` (0); `sigma_min` / `sigma_max` when present (exponential sigmas only).
public struct LMSDiscreteScheduler: Scheduler {
    public let className = "LMSDiscreteScheduler"
    public var displayName: String { sigmaSpacing == .karras ? "LMS Karras" : "LMS" }
    public let config: SchedulerConfig
    /// The training noise schedule.
    public var schedule: NoiseSchedule { kdiffusion.schedule }
    /// σ for each timestep, then 0.
    public private(set) var sigmas: [Float]
    /// The multistep order used at most (diffusers' `step(…, order=4)` default).
    public var maximumOrder = 4

    public private(set) var timesteps: [Float] = []
    public var initNoiseSigma: Float { KDiffusionSigmas.initNoiseSigma(sigmas: sigmas, spacing: timestepSpacing) }
    public let order = 1
    public private(set) var numInferenceSteps: Int?
    public var stepIndex: Int? { index.stepIndex }
    public var beginIndex: Int? { index.beginIndex }

    private let kdiffusion: KDiffusionSigmas
    private let predictionType: String
    private let sigmaSpacing: SigmaSpacing
    private let sigmaMin: Double?
    private let sigmaMax: Double?
    private let timestepSpacing: String
    private let stepsOffset: Int
    private var index = StepIndexState(missing: .fail)
    /// dx/dσ of the latest steps, oldest first.
    private var derivatives: [Tensor] = []

    /// Builds the scheduler as `LMSDiscreteScheduler.from_config(config)` would.
    public init(config: SchedulerConfig) throws {
        let reader = ConfigReader(config: config, scheduler: "LMSDiscreteScheduler")
        let options = try NoiseSchedule.Options(reader, schedules: ["linear", "scaled_linear", "squaredcos_cap_v2"],
                                                hasZeroSNROption: false)
        self.config = config
        kdiffusion = KDiffusionSigmas(schedule: NoiseSchedule(options))
        predictionType = try reader.choice("prediction_type", default: "epsilon", supported: ["epsilon", "v_prediction", "sample"])
        sigmaSpacing = try SigmaSpacing(reader)
        sigmaMin = try reader.optionalDouble("sigma_min")
        sigmaMax = try reader.optionalDouble("sigma_max")
        timestepSpacing = try reader.choice("timestep_spacing", default: "linspace", supported: ScheduleMath.spacings)
        stepsOffset = try reader.int("steps_offset", default: 0)
        sigmas = kdiffusion.initialSigmas
    }

    public mutating func setTimesteps(_ count: Int) throws {
        guard count >= 1 else { throw SchedulerError.invalidArgument("LMSDiscreteScheduler: step count must be at least 1") }
        let placed = kdiffusion.place(count: count, spacing: timestepSpacing, stepsOffset: stepsOffset,
                                      sigmaSpacing: sigmaSpacing, sigmaMin: sigmaMin, sigmaMax: sigmaMax,
                                      karrasUsesBounds: false)
        sigmas = placed.sigmas.map { Float($0) } + [0]
        timesteps = placed.timesteps.map { Float($0) }
        numInferenceSteps = count
        derivatives = []
        index.reset()
    }

    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor {
        KDiffusionSigmas.scaleInput(sample, sigma: sigma(at: index.current(for: timestep, in: timesteps), in: sigmas))
    }

    /// ∫ from σ_t to σ_{t+1} of the Lagrange basis polynomial for node `current` over the nodes
    /// σ_t, σ_{t−1}, …, σ_{t−order+1}.
    ///
    /// The integrand has degree < 4, so any Gauss rule with ≥ 2 points would be exact in exact
    /// arithmetic. diffusers, however, evaluates it with float32 tensor operations and integrates
    /// with `scipy.integrate.quad`, which accepts QUADPACK's first 21-point Gauss–Kronrod estimate
    /// (`dqk21`) for such a smooth integrand. Replaying both (float32 integrand at the Kronrod
    /// nodes, double sums in `dqk21`'s order) reproduces diffusers' coefficients bit for bit,
    /// where exact integration would differ from them by up to ~1.5e-7 relative.
    private func coefficient(order: Int, t: Int, current: Int) -> Double {
        let nodes = (0 ..< order).map { sigmas[t - $0] }
        func basis(_ tau: Double) -> Double {
            var product: Float = 1
            for k in 0 ..< order where k != current {
                product = product * ((Float(tau) - nodes[k]) / (nodes[current] - nodes[k]))
            }
            return Double(product)
        }
        return GaussKronrod21.integrate(basis, from: Double(sigmas[t]), to: Double(sigmas[t + 1]))
    }

    public mutating func step(modelOutput: Tensor, timestep: Float, sample: Tensor, random: inout any RandomSource) -> Tensor {
        let i = index.current(for: timestep, in: timesteps)
        requireNextSigma(i, sigmas: sigmas, "LMSDiscreteScheduler")
        let sigma = sigmas[i]
        let original = KDiffusionSigmas.predictOriginal(modelOutput, sample: sample, sigma: sigma, predictionType: predictionType)
        derivatives.append((sample - original).divided(by: sigma))
        if derivatives.count > maximumOrder { derivatives.removeFirst() }
        let order = min(i + 1, maximumOrder)
        // Coefficient k pairs with the k-th newest derivative; as in diffusers, a run started at
        // begin index > 0 has fewer derivatives than the order, and the extra coefficients go unused.
        var previous = sample
        var update: Tensor?
        for (k, derivative) in derivatives.reversed().prefix(order).enumerated() {
            let term = derivative * Float(coefficient(order: order, t: i, current: k))
            update = update.map { $0 + term } ?? term
        }
        if let update { previous = previous + update }
        index.stepIndex = i + 1
        return previous
    }

    public func addNoise(original: Tensor, noise: Tensor, timestep: Float) -> Tensor {
        KDiffusionSigmas.addNoise(original: original, noise: noise, sigma: sigma(at: index.forAddNoise(timestep, in: timesteps), in: sigmas))
    }

    public mutating func setBeginIndex(_ index: Int) { self.index.beginIndex = index }
}

/// QUADPACK's 21-point Gauss–Kronrod rule (`dqk21`; abscissae and weights by L. W. Fullerton,
/// Bell Labs, 1981), summed in the same order as the Fortran routine.
enum GaussKronrod21 {
    /// Kronrod abscissae on (−1, 1), positive half, largest first; the last is the centre.
    private static let abscissae: [Double] = [
        0.995657163025808080735527280689003, 0.973906528517171720077964012084452,
        0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
        0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
        0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
        0.294392862701460198131126603103866, 0.148874338981631210884826001129720,
        0,
    ]
    /// Kronrod weights for `abscissae`.
    private static let weights: [Double] = [
        0.011694638867371874278064396062192, 0.032558162307964727478818972459390,
        0.054755896574351996031381300244580, 0.075039674810919952767043140916190,
        0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
        0.123491976262065851077958109831074, 0.134709217311473325928054001771707,
        0.142775938577060080797094273138717, 0.147739104901338491374841515972068,
        0.149445554002916905664936468389821,
    ]

    /// ∫ₐᵇ f (b < a allowed: the integral changes sign).
    static func integrate(_ f: (Double) -> Double, from a: Double, to b: Double) -> Double {
        let centre = 0.5 * (a + b), halfLength = 0.5 * (b - a)
        var sum = weights[10] * f(centre)
        // dqk21 adds the Gauss nodes (even Fortran indices) first, then the Kronrod-only ones.
        for j in stride(from: 1, through: 9, by: 2) {
            let offset = halfLength * abscissae[j]
            sum = sum + weights[j] * (f(centre - offset) + f(centre + offset))
        }
        for j in stride(from: 0, through: 8, by: 2) {
            let offset = halfLength * abscissae[j]
            sum = sum + weights[j] * (f(centre - offset) + f(centre + offset))
        }
        return sum * halfLength
    }
}
