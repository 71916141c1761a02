/// Why a scheduler could not be made or configured.
public enum SchedulerError: Error, Equatable, CustomStringConvertible {
    /// The sampler name is not one `Schedulers.make` knows.
    case unknownSampler(name: String, validNames: [String])
    /// The config's `_class_name` is not a scheduler class this module implements.
    case unknownClassName(String?, supported: [String])
    /// The config asks for something diffusers supports but this port does not (or something
    /// diffusers itself rejects); never silently ignored.
    case unsupportedOption(scheduler: String, option: String, value: String, reason: String)
    /// A config value has the wrong type or is out of range.
    case invalidConfig(key: String, message: String)
    /// A call argument is out of range (for example zero inference steps).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .unknownSampler(let name, let valid):
            return "unknown sampler \"\(name)\"; valid names: \(valid.joined(separator: ", "))"
        case .unknownClassName(let name, let supported):
            return "scheduler config has _class_name \(name.map { "\"\($0)\"" } ?? "missing"); supported: \(supported.joined(separator: ", "))"
        case .unsupportedOption(let scheduler, let option, let value, let reason):
            return "\(scheduler): option \(option) = \(value) is not supported (\(reason))"
        case .invalidConfig(_, let message):
            return message
        case .invalidArgument(let message):
            return message
        }
    }
}
