/// The samplers Diffuse runs, by the names `Schedulers.make` takes (see `make` for the diffusers
/// class each one means).
public enum SamplerName: String, CaseIterable, Sendable {
    case pndm, ddim, ddpm, euler
    case eulerAncestral = "euler_a"
    case heun, lms
    case dpmpp2m = "dpmpp_2m"
    case dpmpp2mKarras = "dpmpp_2m_karras"
    case unipc
    case lcm, tcd
}

/// Makes schedulers by sampler name from a diffusers scheduler config.
public enum Schedulers {
    /// The sampler names `make` accepts.
    public static let names: [String] = SamplerName.allCases.map(\.rawValue)

    /// The diffusers scheduler classes this module implements.
    public static let classNames: [String] = [
        "PNDMScheduler", "DDIMScheduler", "DDPMScheduler", "EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler",
        "HeunDiscreteScheduler", "LMSDiscreteScheduler", "DPMSolverMultistepScheduler", "UniPCMultistepScheduler",
        "LCMScheduler", "TCDScheduler",
    ]

    /// A scheduler that behaves as diffusers' `XScheduler.from_config(config)`:
    /// - `pndm`, `ddim`, `ddpm`, `euler` (EulerDiscrete), `euler_a` (EulerAncestralDiscrete),
    ///   `heun`, `lms`, `unipc`, `lcm` (LCM), `tcd` (TCD): that class with the config as is (its
    ///   unknown keys ignored, its missing keys at that class's defaults);
    /// - `dpmpp_2m`: DPMSolverMultistep with `algorithm_type` "dpmsolver++" and `solver_order` 2;
    /// - `dpmpp_2m_karras`: the same with `use_karras_sigmas` true;
    /// - nil: the class named by the config's `_class_name`.
    ///
    /// Throws `SchedulerError.unknownSampler` (listing the valid names) for other names,
    /// `unknownClassName` for a nil name with an unsupported `_class_name`, and
    /// `unsupportedOption` / `invalidConfig` for options this port does not implement.
    public static func make(name: String?, config: SchedulerConfig) throws -> any Scheduler {
        guard let name else {
            switch config.className {
            case "PNDMScheduler"?: return try PNDMScheduler(config: config)
            case "DDIMScheduler"?: return try DDIMScheduler(config: config)
            case "DDPMScheduler"?: return try DDPMScheduler(config: config)
            case "EulerDiscreteScheduler"?: return try EulerDiscreteScheduler(config: config)
            case "EulerAncestralDiscreteScheduler"?: return try EulerAncestralDiscreteScheduler(config: config)
            case "HeunDiscreteScheduler"?: return try HeunDiscreteScheduler(config: config)
            case "LMSDiscreteScheduler"?: return try LMSDiscreteScheduler(config: config)
            case "DPMSolverMultistepScheduler"?: return try DPMSolverMultistepScheduler(config: config)
            case "UniPCMultistepScheduler"?: return try UniPCMultistepScheduler(config: config)
            case "LCMScheduler"?: return try LCMScheduler(config: config)
            case "TCDScheduler"?: return try TCDScheduler(config: config)
            default: throw SchedulerError.unknownClassName(config.className, supported: classNames)
            }
        }
        switch name {
        case "pndm": return try PNDMScheduler(config: config)
        case "ddim": return try DDIMScheduler(config: config)
        case "ddpm": return try DDPMScheduler(config: config)
        case "euler": return try EulerDiscreteScheduler(config: config)
        case "euler_a": return try EulerAncestralDiscreteScheduler(config: config)
        case "heun": return try HeunDiscreteScheduler(config: config)
        case "lms": return try LMSDiscreteScheduler(config: config)
        case "dpmpp_2m":
            return try DPMSolverMultistepScheduler(config: config.merging(["algorithm_type": .string("dpmsolver++"),
                                                                          "solver_order": .number(2)]))
        case "dpmpp_2m_karras":
            return try DPMSolverMultistepScheduler(config: config.merging(["algorithm_type": .string("dpmsolver++"),
                                                                          "solver_order": .number(2),
                                                                          "use_karras_sigmas": .bool(true)]))
        case "unipc": return try UniPCMultistepScheduler(config: config)
        case "lcm": return try LCMScheduler(config: config)
        case "tcd": return try TCDScheduler(config: config)
        default: throw SchedulerError.unknownSampler(name: name, validNames: names)
        }
    }
}
