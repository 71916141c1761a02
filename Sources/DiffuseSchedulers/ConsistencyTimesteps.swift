/// The timestep schedule of the consistency-distilled samplers, as diffusers 0.42.1's
/// `LCMScheduler.set_timesteps` and `TCDScheduler.set_timesteps` place it (without custom timesteps
/// or an `original_inference_steps` argument).
///
/// With `k = num_train_timesteps / original_inference_steps` (integer division), the distillation
/// schedule is k − 1, 2k − 1, …, n·k − 1 where n = `Int(original_inference_steps · strength)`;
/// `count` of them are taken from the top, at indices ⌊i · n / count⌋ (numpy's
/// `linspace(0, n, count, endpoint=False)`). For SD 1.5's 1000 training timesteps and the default
/// 50: 4 steps are 999, 759, 499, 259; with strength 0.5 they are 499, 379, 259, 139.
///
/// Config key read: `original_inference_steps` (50), which must be in 1 … `num_train_timesteps`.
struct ConsistencyTimesteps: Sendable {
    let trainSteps: Int
    let originalSteps: Int
    /// The diffusers class name, for messages.
    let scheduler: String

    init(_ reader: ConfigReader, trainSteps: Int) throws {
        originalSteps = try reader.int("original_inference_steps", default: 50)
        guard originalSteps >= 1 && originalSteps <= trainSteps else {
            throw SchedulerError.invalidConfig(key: "original_inference_steps",
                                               message: "\(reader.scheduler): original_inference_steps \(originalSteps) is not in 1 ... num_train_timesteps (\(trainSteps))")
        }
        self.trainSteps = trainSteps
        scheduler = reader.scheduler
    }

    /// The `count` timesteps (descending) for `strength` in 0 … 1 (1 for text-to-image). Throws
    /// `invalidArgument` where diffusers raises: fewer than one step, more steps than
    /// `original_inference_steps`, or more steps than the strength leaves distillation timesteps.
    func timesteps(count: Int, strength: Double) throws -> [Int] {
        guard count >= 1 else {
            throw SchedulerError.invalidArgument("\(scheduler): step count must be at least 1")
        }
        guard count <= originalSteps else {
            throw SchedulerError.invalidArgument("\(scheduler): \(count) steps are more than original_inference_steps (\(originalSteps)), "
                + "the distillation timesteps the steps are taken from")
        }
        let k = trainSteps / originalSteps
        let available = Int(Double(originalSteps) * strength)
        guard strength >= 0, available >= count else {
            throw SchedulerError.invalidArgument("\(scheduler): strength \(strength) leaves \(max(available, 0)) of the "
                + "\(originalSteps) original_inference_steps, fewer than the \(count) steps")
        }
        let origin = (1 ... available).reversed().map { $0 * k - 1 }
        let stride = Double(available) / Double(count)
        return (0 ..< count).map { i in origin[Int((Double(i) * stride).rounded(.down))] }
    }

    /// Places `count` steps for `strength` as a sampler's schedule: its `timesteps` and
    /// `numInferenceSteps`, its step index reset. Throws as `timesteps(count:strength:)`, leaving
    /// them unchanged.
    func place(count: Int, strength: Double, timesteps: inout [Float], numInferenceSteps: inout Int?,
               index: inout StepIndexState) throws {
        timesteps = try self.timesteps(count: count, strength: strength).map(Float.init)
        numInferenceSteps = count
        index.reset()
    }
}
