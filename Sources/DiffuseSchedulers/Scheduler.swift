import DiffuseTensor

/// A diffusion sampler with diffusers' runtime API, so a pipeline can run diffusers' loop unchanged:
///
/// ```swift
/// var scheduler = try Schedulers.make(name: "euler_a", config: config)
/// try scheduler.setTimesteps(steps)
/// var random: any RandomSource = TorchRandomSource(seed: seed)
/// var latents = random.randn([1, 4, h / 8, w / 8]) * scheduler.initNoiseSigma
/// for t in scheduler.timesteps {
///     let input = scheduler.scaleModelInput(latents, timestep: t)
///     let noisePrediction = unet(input, t)              // plus classifier-free guidance
///     latents = scheduler.step(modelOutput: noisePrediction, timestep: t, sample: latents, random: &random)
/// }
/// ```
///
/// Each conforming type reproduces the diffusers 0.42.1 class of the same name as built by
/// `XScheduler.from_config(config)`. Latents are `Tensor`s of any shape (normally NCHW
/// `[batch, 4, height / 8, width / 8]`); all arithmetic is float32, as in diffusers on CPU.
public protocol Scheduler {
    /// The diffusers class this reproduces, e.g. `"EulerAncestralDiscreteScheduler"`.
    var className: String { get }
    /// The sampler's name in AUTOMATIC1111 infotext ("Euler a", "DPM++ 2M Karras", …).
    var displayName: String { get }
    /// The config this scheduler was built from, with every key kept.
    var config: SchedulerConfig { get }

    /// The timesteps the denoiser gets, in order (empty until `setTimesteps`). Values are in
    /// training-timestep units (0 … `num_train_timesteps − 1`); Karras-style schedules may give
    /// fractional values. Multistep samplers may repeat values (PNDM, Heun).
    var timesteps: [Float] { get }
    /// The standard deviation to scale initial noise by (`latents = randn(shape) * initNoiseSigma`).
    var initNoiseSigma: Float { get }
    /// How many denoiser evaluations one step of the underlying solver takes (diffusers' `order`:
    /// 2 for Heun, else 1); img2img truncation skips `order ×` the skipped steps.
    var order: Int { get }
    /// The number of inference steps last passed to `setTimesteps` (diffusers' `num_inference_steps`).
    var numInferenceSteps: Int? { get }
    /// The index into `timesteps` of the next `step` (nil before the first step of a run).
    var stepIndex: Int? { get }
    /// The index set with `setBeginIndex` (nil when unset).
    var beginIndex: Int? { get }

    /// Computes the schedule for `count` inference steps and resets the solver state.
    mutating func setTimesteps(_ count: Int) throws

    /// Scales the denoiser input for `timestep` (the identity for DDPM-style samplers; divides by
    /// `√(σ² + 1)` for the k-diffusion-style ones). `sample` keeps its shape.
    func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor

    /// One solver step from `sample` at `timestep` given the denoiser output for it; returns the
    /// sample for the next timestep (same shape). Draws `randn(modelOutput.shape)` from `random`
    /// exactly when diffusers' `step(…, generator=g)` does (ancestral, SDE and DDPM steps, DDIM with
    /// `eta > 0`, LCM and TCD with `eta > 0` after every step but the last).
    mutating func step(modelOutput: Tensor, timestep: Float, sample: Tensor, random: inout any RandomSource) -> Tensor

    /// Noises clean latents to `timestep` (diffusers' `add_noise`, used by img2img and inpainting).
    /// `noise` has the shape of `original`.
    func addNoise(original: Tensor, noise: Tensor, timestep: Float) -> Tensor

    /// Makes the first `step` start at `timesteps[index]` (diffusers' `set_begin_index`, called by
    /// img2img pipelines). A no-op for the samplers diffusers gives no `set_begin_index` (PNDM,
    /// DDIM, DDPM), which do not track a step index.
    mutating func setBeginIndex(_ index: Int)

    /// The timesteps an image-to-image (or inpainting) run takes after `setTimesteps(steps)`, with
    /// the scheduler prepared to start at the first of them; `strength` in 0 … 1. Empty when the
    /// strength leaves no step. The default is `truncatedTimesteps(steps:strength:)`
    /// (`StableDiffusionImg2ImgPipeline.get_timesteps`); `LCMScheduler` and `TCDScheduler` instead
    /// recompute a shorter schedule, as `set_timesteps(steps, strength=strength)` does in
    /// `LatentConsistencyModelImg2ImgPipeline`.
    mutating func img2imgTimesteps(steps: Int, strength: Double) -> [Float]
}

extension Scheduler {
    /// `truncatedTimesteps(steps:strength:)`.
    public mutating func img2imgTimesteps(steps: Int, strength: Double) -> [Float] {
        truncatedTimesteps(steps: steps, strength: strength)
    }

    /// What `StableDiffusionImg2ImgPipeline.get_timesteps` does after `setTimesteps(steps)`: keeps
    /// the last `Int(steps · strength)` steps, calls `setBeginIndex` on the first one kept, and
    /// returns the timesteps to run (`strength` in 0 … 1).
    public mutating func truncatedTimesteps(steps: Int, strength: Double) -> [Float] {
        let initTimestep = min(Int(Double(steps) * strength), steps)
        let start = max(steps - initTimestep, 0)
        let first = min(start * order, timesteps.count)
        setBeginIndex(start * order)
        return Array(timesteps[first...])
    }
}

/// diffusers' step-index bookkeeping for the samplers that keep one (`_step_index`, `_begin_index`,
/// `index_for_timestep`).
struct StepIndexState: Sendable {
    /// What `index_for_timestep` does when the timestep is not in the schedule.
    enum MissingTimestep: Sendable {
        /// Euler/Heun/LMS: diffusers raises IndexError; here a fatal error.
        case fail
        /// DPM-Solver/UniPC: the last index.
        case lastIndex
    }

    var stepIndex: Int?
    var beginIndex: Int?
    let missing: MissingTimestep

    init(missing: MissingTimestep) {
        self.missing = missing
    }

    /// Index of `timestep` in `timesteps`; when it occurs more than once, the second occurrence,
    /// so that a run starting in the middle of a repeated-timestep schedule does not skip a step.
    func index(of timestep: Float, in timesteps: [Float]) -> Int {
        var found: [Int] = []
        for (i, t) in timesteps.enumerated() where t == timestep {
            found.append(i)
            if found.count == 2 { break }
        }
        if found.count > 1 { return found[1] }
        if let first = found.first { return first }
        switch missing {
        case .lastIndex:
            return timesteps.count - 1
        case .fail:
            fatalError("timestep \(timestep) is not one of the scheduler's timesteps \(timesteps)")
        }
    }

    /// The index the current step uses (`_init_step_index` when none is set yet).
    func current(for timestep: Float, in timesteps: [Float]) -> Int {
        if let stepIndex { return stepIndex }
        if let beginIndex { return beginIndex }
        return index(of: timestep, in: timesteps)
    }

    /// The index `add_noise` uses for `timestep`.
    func forAddNoise(_ timestep: Float, in timesteps: [Float]) -> Int {
        guard let beginIndex else { return index(of: timestep, in: timesteps) }
        return stepIndex ?? beginIndex
    }

    mutating func reset() {
        stepIndex = nil
        beginIndex = nil
    }
}

/// Stops the program with `message` when `condition` is false, in every build configuration
/// (`precondition` would be compiled out under `-Ounchecked`; Diffuse builds with `-O`, and this
/// keeps the check should that change).
@inline(__always)
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError(message()) }
}

/// Checks that step index `i` has a next sigma (σ[i + 1]); fails with a clear message otherwise,
/// e.g. when `step` is called more often than there are timesteps.
func requireNextSigma(_ i: Int, sigmas: [Float], _ scheduler: String) {
    require(i >= 0 && i + 1 < sigmas.count,
            "\(scheduler).step: step index \(i) is past the end of the \(sigmas.count - 1)-step schedule")
}

/// `sigmas[i]`, failing with a clear message when `i` is out of range.
func sigma(at i: Int, in sigmas: [Float]) -> Float {
    require(i >= 0 && i < sigmas.count, "scheduler: step index \(i) is outside the \(sigmas.count) sigmas of the schedule")
    return sigmas[i]
}

/// Checks that `t` is a training timestep.
func requireTrainingTimestep(_ t: Int, count: Int, _ scheduler: String) {
    require(t >= 0 && t < count, "\(scheduler): timestep \(t) is outside the training range 0 ..< \(count)")
}

extension Tensor {
    /// `self / divisor`, elementwise, with a true division (not a multiplication by `1 / divisor`).
    func divided(by divisor: Float) -> Tensor {
        self / Tensor(scalar: divisor)
    }
}
