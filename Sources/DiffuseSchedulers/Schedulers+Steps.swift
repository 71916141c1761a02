extension Schedulers {
    /// Makes the sampler and sets its timesteps for `steps` denoising steps, refusing step counts
    /// the samplers cannot follow.
    ///
    /// Near the number of training timesteps, spacing and `steps_offset` make schedules repeat or
    /// leave the trained range (e.g. PNDM or DDIM with 1000 steps and `steps_offset` 1, DPM++ 2M
    /// with 1000), which the index-based samplers treat as a programming error; diffusers fails
    /// there too. Half of the training timesteps is far above any useful step count and safe for
    /// every sampler.
    ///
    /// - Throws: `SchedulerError.invalidArgument` with a message starting `"steps N "`, or the
    ///   errors of `make(name:config:)`.
    public static func make(name: String?, config: SchedulerConfig, steps: Int) throws -> any Scheduler {
        var scheduler = try make(name: name, config: config)
        var trainSteps = 1000
        if let n = config["num_train_timesteps"]?.doubleValue, n >= 1, n < 1e9 { trainSteps = Int(n) }
        // DDPM steps from any timestep to the one `T / steps` below it (no step index), so it can
        // follow every training timestep — the reference "1000-step" sampler; the range check
        // below still catches offsets that leave the trained range.
        let limit = scheduler is DDPMScheduler ? trainSteps : trainSteps / 2
        guard steps <= limit else {
            throw SchedulerError.invalidArgument(limit == trainSteps
                ? "steps \(steps) is more than this model's \(trainSteps) training timesteps"
                : "steps \(steps) is more than half of this model's \(trainSteps) training timesteps")
        }
        do {
            try scheduler.setTimesteps(steps)
        } catch let error as SchedulerError {
            throw SchedulerError.invalidArgument("steps \(steps) cannot be used with \(scheduler.displayName): \(error)")
        }
        guard scheduler.timesteps.allSatisfy({ $0.isFinite && $0 >= 0 && $0 < Float(trainSteps) }) else {
            throw SchedulerError.invalidArgument("steps \(steps) is too many for \(scheduler.displayName) on this model "
                + "(its schedule would leave the \(trainSteps) training timesteps); use fewer steps")
        }
        return scheduler
    }

    /// `make(name:config:steps:)`, with TCD's η set when `eta` is given.
    /// - Throws: `SchedulerError.invalidArgument` with a message starting `"eta "` when `eta` is
    ///   outside 0 … 1 or given to a sampler that takes none, or the errors of `make(name:config:steps:)`.
    public static func make(name: String?, config: SchedulerConfig, steps: Int, eta: Float?) throws -> any Scheduler {
        let scheduler = try make(name: name, config: config, steps: steps)
        guard let eta else { return scheduler }
        guard var tcd = scheduler as? TCDScheduler else {
            throw SchedulerError.invalidArgument("eta is for the tcd sampler (this one is \(scheduler.displayName))")
        }
        try tcd.setEta(eta)
        return tcd
    }
}
