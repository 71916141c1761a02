import DiffuseFormats

/// Reads one scheduler class's options from a config, with that class's defaults, through the
/// shared `ConfigFile` reader: wrongly typed values are `SchedulerError.invalidConfig` naming the
/// file (with the class) and the key; options this port does not implement are `unsupportedOption`.
struct ConfigReader {
    let config: SchedulerConfig
    /// The diffusers class name, for messages.
    let scheduler: String
    /// The values the class sees (keys in `_use_default_values` dropped).
    private let file: ConfigFile

    init(config: SchedulerConfig, scheduler: String) {
        self.config = config
        self.scheduler = scheduler
        let dropped = config.keysUsingDefaults
        file = ConfigFile(values: config.values.filter { !dropped.contains($0.key) }, source: "\(config.source) (\(scheduler))")
    }

    /// Runs a read of the shared reader, its `ConfigError` as a `SchedulerError`.
    private func read<T>(_ body: (ConfigFile) throws -> T) throws -> T {
        do { return try body(file) } catch let error as ConfigError {
            throw SchedulerError.invalidConfig(key: error.key ?? "", message: error.description)
        }
    }

    func double(_ key: String, default fallback: Double) throws -> Double {
        try read { try $0.double(key, default: fallback) }
    }

    func optionalDouble(_ key: String) throws -> Double? {
        try read { try $0.optionalDouble(key) }
    }

    func int(_ key: String, default fallback: Int) throws -> Int {
        try read { try $0.int(key, default: fallback) }
    }

    /// A boolean; `null` counts as false, as Python's truthiness makes it.
    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        if file.values[key] == .null { return false }
        return try read { try $0.bool(key, default: fallback) }
    }

    func string(_ key: String, default fallback: String) throws -> String {
        try read { try $0.string(key, default: fallback) }
    }

    /// A string that must be one of `supported`; anything else is an unsupported option.
    func choice(_ key: String, default fallback: String, supported: [String]) throws -> String {
        let value = try string(key, default: fallback)
        guard supported.contains(value) else {
            throw SchedulerError.unsupportedOption(scheduler: scheduler, option: key, value: "\"\(value)\"",
                                                   reason: "supported values: \(supported.joined(separator: ", "))")
        }
        return value
    }

    func optionalDoubles(_ key: String) throws -> [Double]? {
        try read { try $0.optionalDoubles(key) }
    }

    func ints(_ key: String, default fallback: [Int]) throws -> [Int] {
        try read { try $0.ints(key, default: fallback) }
    }

    /// Throws `unsupportedOption` when a boolean option this port does not implement is set.
    func requireFalse(_ key: String, reason: String) throws {
        if try bool(key, default: false) {
            throw SchedulerError.unsupportedOption(scheduler: scheduler, option: key, value: "true", reason: reason)
        }
    }

    /// Throws `unsupportedOption` when an option this port does not implement has a non-null value.
    func requireAbsent(_ key: String, reason: String) throws {
        if let value = file.value(key) {
            throw SchedulerError.unsupportedOption(scheduler: scheduler, option: key, value: value.serialized, reason: reason)
        }
    }
}
