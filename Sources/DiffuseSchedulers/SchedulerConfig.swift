import DiffuseFormats
import Foundation

/// The contents of a diffusers `scheduler_config.json`, with every key kept (known or not), so a
/// config can be handed to any scheduler class the way `XScheduler.from_config(config)` does.
///
/// diffusers' loading rules that matter here are applied by the schedulers when they read it:
/// keys listed in `_use_default_values` are treated as absent (the new class then uses its own
/// default), keys a class does not know are ignored, and missing keys take that class's default.
public struct SchedulerConfig: Equatable, Sendable {
    /// A value of the config: Diffuse's one JSON value type.
    public typealias Value = JSONValue

    /// Every key of the file, as written.
    public var values: [String: JSONValue]
    /// Where the config came from (a file path, or "scheduler config"), for messages; two configs
    /// with the same values are equal wherever they came from.
    public var source: String

    /// A config with the given keys.
    public init(values: [String: JSONValue] = [:], source: String = "scheduler config") {
        self.values = values
        self.source = source
    }

    /// Reads a `scheduler_config.json`; errors name the file.
    /// - Throws: `SchedulerError.invalidConfig` for an unreadable file, text that is not a JSON
    ///   object, or a noise schedule that cannot work (`validateNoiseSchedule`).
    public init(contentsOf url: URL) throws {
        try self.init(reading: { try ConfigFile(contentsOf: url) })
    }

    /// Parses the bytes of a `scheduler_config.json`; `source` names it in errors.
    public init(jsonData: Data, source: String = "scheduler config") throws {
        try self.init(reading: { try ConfigFile(data: jsonData, source: source) })
    }

    private init(reading read: () throws -> ConfigFile) throws {
        let file: ConfigFile
        do { file = try read() } catch let error as ConfigError {
            throw SchedulerError.invalidConfig(key: error.key ?? "", message: error.description)
        }
        self.init(values: file.values, source: file.source)
        try validateNoiseSchedule()
    }

    /// Converts a dictionary as `JSONSerialization` returns it (or a Swift literal of that shape).
    public init(dictionary: [String: Any]) throws {
        do {
            self.values = try dictionary.mapValues(JSONValue.init(any:))
        } catch let error as JSONValue.ConversionError {
            throw SchedulerError.invalidConfig(key: "", message: "scheduler config: \(error)")
        }
        self.source = "scheduler config"
        try validateNoiseSchedule()
    }

    public static func == (lhs: SchedulerConfig, rhs: SchedulerConfig) -> Bool { lhs.values == rhs.values }

    /// The noise schedule's values that would make ᾱ (and so every sampler step) NaN or infinite:
    /// `beta_start`, `beta_end` and each of `trained_betas` must lie strictly between 0 and 1,
    /// `num_train_timesteps` in 2…100000. Absent keys (and those in `_use_default_values`) take the
    /// classes' valid defaults.
    ///
    /// - Throws: `SchedulerError.invalidConfig` naming the key and the value.
    public func validateNoiseSchedule() throws {
        func number(_ key: String) -> Double? { effectiveValue(key)?.doubleValue }
        for key in ["beta_start", "beta_end"] {
            if let beta = number(key), !(beta > 0 && beta < 1) {
                throw SchedulerError.invalidConfig(key: key, message: "\(source): \(key) is \(beta); it must lie strictly between 0 and 1")
            }
        }
        if case .array(let betas)? = effectiveValue("trained_betas") {
            for beta in betas.compactMap(\.doubleValue) where !(beta > 0 && beta < 1) {
                throw SchedulerError.invalidConfig(key: "trained_betas", message: "\(source): trained_betas has \(beta); each must lie strictly between 0 and 1")
            }
        }
        if let steps = number("num_train_timesteps"), !(2 ... 100_000).contains(steps) {
            throw SchedulerError.invalidConfig(key: "num_train_timesteps", message: "\(source): num_train_timesteps is \(JSONValue.double(steps)); it must be in 2…100000")
        }
    }

    /// The `_class_name` entry (for example `"PNDMScheduler"`), if any.
    public var className: String? { values["_class_name"]?.stringValue }

    /// The raw value of `key` as written (ignoring `_use_default_values`); setting nil removes it.
    public subscript(key: String) -> JSONValue? {
        get { values[key] }
        set { values[key] = newValue }
    }

    /// The keys diffusers drops before building a scheduler: those listed in `_use_default_values`.
    public var keysUsingDefaults: Set<String> {
        Set(values["_use_default_values"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    /// The value a scheduler sees for `key`: nil when absent or listed in `_use_default_values`.
    public func effectiveValue(_ key: String) -> JSONValue? {
        keysUsingDefaults.contains(key) ? nil : values[key]
    }

    /// A copy with `overrides` applied, like `from_config(config, **overrides)`: an overridden key
    /// is also taken off `_use_default_values`, so the override always counts.
    public func merging(_ overrides: [String: JSONValue]) -> SchedulerConfig {
        var copy = self
        for (key, value) in overrides { copy.values[key] = value }
        if case .array(let keys)? = values["_use_default_values"] {
            copy.values["_use_default_values"] = .array(keys.filter { key in
                key.stringValue.map { overrides[$0] == nil } ?? true
            })
        }
        return copy
    }

    /// The config as a JSON object, keys sorted.
    public var json: JSONValue { .object(sorting: values) }

    /// The config as compact JSON bytes (keys sorted).
    public func jsonData() throws -> Data { Data(json.serialized.utf8) }
}
