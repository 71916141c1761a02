import Foundation

/// The training noise schedule shared by every sampler: βₜ, ᾱₜ = ∏(1 − βₛ) and σₜ = √((1 − ᾱₜ)/ᾱₜ)
/// for t = 0 … `num_train_timesteps − 1`, computed in float32 exactly as diffusers computes them
/// with PyTorch (its `linspace` with fused multiply-adds, `cumprod` accumulated in double).
public struct NoiseSchedule: Sendable {
    /// βₜ, length `num_train_timesteps`.
    public let betas: [Float]
    /// ᾱₜ = ∏ₛ≤ₜ (1 − βₛ), decreasing from ≈1 to ≈0.
    public let alphasCumprod: [Float]

    /// The beta schedule options every scheduler shares.
    struct Options {
        var numTrainTimesteps: Int
        var betaStart: Double
        var betaEnd: Double
        var betaSchedule: String
        var trainedBetas: [Double]?
        var rescaleBetasZeroSNR: Bool

        /// Reads `num_train_timesteps`, `beta_start`, `beta_end`, `beta_schedule`, `trained_betas`
        /// and (when the class has it) `rescale_betas_zero_snr`, with the class's defaults.
        init(_ reader: ConfigReader, betaStart: Double = 0.0001, betaEnd: Double = 0.02, betaSchedule: String = "linear",
             schedules: [String], hasZeroSNROption: Bool) throws {
            numTrainTimesteps = try reader.int("num_train_timesteps", default: 1000)
            self.betaStart = try reader.double("beta_start", default: betaStart)
            self.betaEnd = try reader.double("beta_end", default: betaEnd)
            trainedBetas = try reader.optionalDoubles("trained_betas")
            rescaleBetasZeroSNR = hasZeroSNROption ? try reader.bool("rescale_betas_zero_snr", default: false) : false
            if trainedBetas == nil {
                self.betaSchedule = try reader.choice("beta_schedule", default: betaSchedule, supported: schedules)
            } else {
                self.betaSchedule = try reader.string("beta_schedule", default: betaSchedule)
            }
            if numTrainTimesteps < 2 {
                throw SchedulerError.invalidConfig(key: "num_train_timesteps",
                                                   message: "\(reader.scheduler): num_train_timesteps must be at least 2, got \(numTrainTimesteps)")
            }
            if let trainedBetas, trainedBetas.count != numTrainTimesteps {
                throw SchedulerError.invalidConfig(key: "trained_betas",
                                                   message: "\(reader.scheduler): trained_betas has \(trainedBetas.count) values but num_train_timesteps is \(numTrainTimesteps)")
            }
        }
    }

    /// Builds the schedule. `terminalAlphaCumprod` replaces the last ᾱ when zero-SNR rescaling is on
    /// (the k-diffusion-style samplers use 2⁻²⁴ so that σ stays finite; DDIM/DDPM keep 0).
    init(_ options: Options, zeroSNRTerminalAlphaCumprod: Float? = nil) {
        var betas = Self.betas(options)
        if options.rescaleBetasZeroSNR { betas = Self.rescaleZeroTerminalSNR(betas) }
        var cumprod = Self.cumprod(betas.map { 1 - $0 })
        if options.rescaleBetasZeroSNR, let terminal = zeroSNRTerminalAlphaCumprod {
            cumprod[cumprod.count - 1] = terminal
        }
        self.betas = betas
        self.alphasCumprod = cumprod
    }

    /// Number of training timesteps.
    public var count: Int { betas.count }

    /// σₜ = √((1 − ᾱₜ)/ᾱₜ) for every training timestep (increasing with t), float32 as diffusers
    /// computes `((1 - alphas_cumprod) / alphas_cumprod) ** 0.5`.
    public var sigmas: [Float] {
        alphasCumprod.map { ((1 - $0) / $0).squareRoot() }
    }

    static func betas(_ options: Options) -> [Float] {
        let n = options.numTrainTimesteps
        if let trained = options.trainedBetas { return trained.map { Float($0) } }
        switch options.betaSchedule {
        case "linear":
            return torchLinspace(Float(options.betaStart), Float(options.betaEnd), n)
        case "scaled_linear":
            return torchLinspace(Float(pow(options.betaStart, 0.5)), Float(pow(options.betaEnd, 0.5)), n).map { $0 * $0 }
        case "squaredcos_cap_v2":
            return betasForAlphaBar(n) { t in
                let c = cos((t + 0.008) / 1.008 * Double.pi / 2)
                return c * c
            }
        case "exp":
            return betasForAlphaBar(n) { t in exp(t * -12.0) }
        case "laplace":
            return betasForAlphaBar(n) { t in
                let lambda = -0.5 * (0.5 - t >= 0 ? 1.0 : -1.0) * log(1 - 2 * abs(0.5 - t) + 1e-6)
                let snr = exp(lambda)
                return (snr / (1 + snr)).squareRoot()
            }
        case "sigmoid":
            let scale = Float(options.betaEnd - options.betaStart), shift = Float(options.betaStart)
            return torchLinspace(-6, 6, n).map { x in (1 / (1 + exp(-x))) * scale + shift }
        default:
            fatalError("beta schedule \(options.betaSchedule) was not validated")
        }
    }

    /// `torch.linspace(start, end, steps, dtype=float32)` on CPU: the first half counts up from
    /// `start`, the second half down from `end`, each value one fused multiply-add.
    static func torchLinspace(_ start: Float, _ end: Float, _ steps: Int) -> [Float] {
        if steps == 1 { return [start] }
        let step = (end - start) / Float(steps - 1)
        let halfway = steps / 2
        return (0 ..< steps).map { i in
            i < halfway ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(steps - i - 1))
        }
    }

    /// diffusers' `betas_for_alpha_bar`: βᵢ = min(1 − ᾱ((i+1)/n) / ᾱ(i/n), 0.999), in double.
    static func betasForAlphaBar(_ n: Int, _ alphaBar: (Double) -> Double) -> [Float] {
        (0 ..< n).map { i in
            let t1 = Double(i) / Double(n), t2 = Double(i + 1) / Double(n)
            return Float(min(1 - alphaBar(t2) / alphaBar(t1), 0.999))
        }
    }

    /// `torch.cumprod` of a float32 tensor on CPU: accumulated in double, each prefix rounded to float.
    static func cumprod(_ values: [Float]) -> [Float] {
        var running = 1.0
        return values.map { value in
            running *= Double(value)
            return Float(running)
        }
    }

    /// `rescale_zero_terminal_snr` (Lin et al. 2023, Algorithm 1): shifts and scales √ᾱ so the last
    /// timestep has zero signal, in float32.
    static func rescaleZeroTerminalSNR(_ betas: [Float]) -> [Float] {
        var root = cumprod(betas.map { 1 - $0 }).map { $0.squareRoot() }
        let first = root[0], last = root[root.count - 1]
        let scale = first / (first - last)
        root = root.map { ($0 - last) * scale }
        let alphasBar = root.map { $0 * $0 }
        var alphas = [alphasBar[0]]
        for i in 1 ..< alphasBar.count { alphas.append(alphasBar[i] / alphasBar[i - 1]) }
        return alphas.map { 1 - $0 }
    }
}

/// The numpy-side helpers diffusers uses to place inference timesteps and sigmas (float64 unless
/// noted, with numpy's rounding: half to even).
enum ScheduleMath {
    /// `np.linspace(start, stop, num)` (float64; the last value is exactly `stop`).
    static func linspace(_ start: Double, _ stop: Double, _ num: Int) -> [Double] {
        guard num > 1 else { return num == 1 ? [start] : [] }
        let step = (stop - start) / Double(num - 1)
        var values = (0 ..< num).map { Double($0) * step + start }
        values[num - 1] = stop
        return values
    }

    /// `np.arange(start, stop, step)` for float arguments: `ceil((stop − start)/step)` values
    /// `start + i·δ` where δ is `(start + step) − start`, as numpy fills them.
    static func arange(_ start: Double, _ stop: Double, _ step: Double) -> [Double] {
        let count = Int(max(0, ((stop - start) / step).rounded(.up)))
        guard count > 0 else { return [] }
        let delta = (start + step) - start
        return (0 ..< count).map { i in i == 0 ? start : start + Double(i) * delta }
    }

    /// `np.round` (half to even).
    static func round(_ x: Double) -> Double { x.rounded(.toNearestOrEven) }

    /// `np.interp(x, arange(len(fp)), fp)` for a uniform integer grid.
    static func interp(_ x: Double, _ fp: [Float]) -> Double {
        let last = fp.count - 1
        if x <= 0 { return Double(fp[0]) }
        if x >= Double(last) { return Double(fp[last]) }
        let j = Int(x.rounded(.down))
        if Double(j) == x { return Double(fp[j]) }
        let slope = (Double(fp[j + 1]) - Double(fp[j])) / 1.0
        return slope * (x - Double(j)) + Double(fp[j])
    }

    /// diffusers' `_convert_to_karras` (ρ = 7): `num` sigmas from `sigmaMax` down to `sigmaMin`.
    static func karras(sigmaMin: Double, sigmaMax: Double, count: Int) -> [Double] {
        let rho = 7.0
        let minInvRho = pow(sigmaMin, 1 / rho), maxInvRho = pow(sigmaMax, 1 / rho)
        return linspace(0, 1, count).map { ramp in pow(maxInvRho + ramp * (minInvRho - maxInvRho), rho) }
    }

    /// diffusers' `_convert_to_exponential`: `num` sigmas log-uniformly from `sigmaMax` to `sigmaMin`.
    static func exponential(sigmaMin: Double, sigmaMax: Double, count: Int) -> [Double] {
        linspace(log(sigmaMax), log(sigmaMin), count).map { exp($0) }
    }

    /// diffusers' `_sigma_to_t`: the (fractional) training timestep whose σ is `sigma`, by linear
    /// interpolation of log σ between neighbouring training timesteps. `logSigmas` is the float32
    /// `np.log(sigmas)` of the training sigmas (increasing).
    static func sigmaToT(_ sigma: Double, logSigmas: [Float]) -> Double {
        let logSigma = log(max(sigma, 1e-10))
        var low = 0
        for (i, value) in logSigmas.enumerated() where logSigma - Double(value) >= 0 { low = i }
        low = min(low, logSigmas.count - 2)
        let lowValue = Double(logSigmas[low]), highValue = Double(logSigmas[low + 1])
        var w = (lowValue - logSigma) / (lowValue - highValue)
        w = min(max(w, 0), 1)
        return (1 - w) * Double(low) + w * Double(low + 1)
    }

    /// The `timestep_spacing` values all samplers accept.
    static let spacings = ["linspace", "leading", "trailing"]

    /// The float64 inference timesteps (descending) that the k-diffusion-style samplers (Euler,
    /// Euler a, Heun, LMS) place for `count` steps, before conversion to float32.
    static func kdiffusionTimesteps(spacing: String, count: Int, trainSteps: Int, stepsOffset: Int) -> [Double] {
        switch spacing {
        case "linspace":
            // np.linspace(0, T - 1, count, dtype=float32)[::-1]: computed in double, stored as float.
            return linspace(0, Double(trainSteps - 1), count).reversed().map { Double(Float($0)) }
        case "leading":
            let ratio = trainSteps / count
            return (0 ..< count).reversed().map { Double($0 * ratio + stepsOffset) }
        default:  // trailing
            let ratio = Double(trainSteps) / Double(count)
            return arange(Double(trainSteps), 0, -ratio).map { Double(Float(round($0))) - 1 }
        }
    }

    /// The integer inference timesteps (descending) DDIM and DDPM place for `count` steps.
    static func ddimTimesteps(spacing: String, count: Int, trainSteps: Int, stepsOffset: Int) -> [Int] {
        switch spacing {
        case "linspace":
            return linspace(0, Double(trainSteps - 1), count).map { Int(round($0)) }.reversed()
        case "leading":
            let ratio = trainSteps / count
            return (0 ..< count).reversed().map { $0 * ratio + stepsOffset }
        default:  // trailing
            let ratio = Double(trainSteps) / Double(count)
            return arange(Double(trainSteps), 0, -ratio).map { Int(round($0)) - 1 }
        }
    }

    /// The integer inference timesteps (descending) DPM-Solver and UniPC place: `count + 1` points
    /// with the last one dropped. `lastTimestep` is `num_train_timesteps` unless `lambda_min_clipped`
    /// cuts it.
    static func multistepTimesteps(spacing: String, count: Int, trainSteps: Int, lastTimestep: Int,
                                   stepsOffset: Int) -> [Int] {
        switch spacing {
        case "linspace":
            return Array(linspace(0, Double(lastTimestep - 1), count + 1).map { Int(round($0)) }.reversed().dropLast())
        case "leading":
            let ratio = lastTimestep / (count + 1)
            return Array((0 ..< count + 1).reversed().map { $0 * ratio + stepsOffset }.dropLast())
        default:  // trailing
            let ratio = Double(trainSteps) / Double(count)
            return arange(Double(lastTimestep), 0, -ratio).map { Int(round($0)) - 1 }
        }
    }
}
