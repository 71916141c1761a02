import Foundation

/// The contents of a diffusers `scheduler_config.json`, with every key kept (known or not), so a
/// config can be handed to any scheduler class the way `XScheduler.from_config(config)` does.
///
/// diffusers' loading rules that matter here are applied by the schedulers when they read it:
/// keys listed in `_use_default_values` are treated as absent (the new class then uses its own
/// default), keys a class does not know are ignored, and missing keys take that class's default.
public struct SchedulerConfig: Equatable, Sendable {
    /// Every key of the file, as written.
    public var values: [String: Value]

    /// A config with the given keys.
    public init(values: [String: Value] = [:]) {
        self.values = values
    }

    /// Parses the bytes of a `scheduler_config.json`.
    public init(jsonData: Data) throws {
        let decoded: Value
        do {
            decoded = try JSONDecoder().decode(Value.self, from: jsonData)
        } catch {
            throw SchedulerError.invalidConfig(key: "", message: "scheduler config is not valid JSON: \(error)")
        }
        guard case .object(let object) = decoded else {
            throw SchedulerError.invalidConfig(key: "", message: "scheduler config is not a JSON object")
        }
        self.values = object
        try validateNoiseSchedule()
    }

    /// Converts a dictionary as `JSONSerialization` returns it.
    public init(dictionary: [String: Any]) throws {
        self.values = try dictionary.mapValues(Value.init(any:))
        try validateNoiseSchedule()
    }

    /// The noise schedule's values that would make ᾱ (and so every sampler step) NaN or infinite:
    /// `beta_start`, `beta_end` and each of `trained_betas` must lie strictly between 0 and 1,
    /// `num_train_timesteps` in 2…100000. Absent keys (and those in `_use_default_values`) take the
    /// classes' valid defaults.
    ///
    /// - Throws: `SchedulerError.invalidConfig` naming the key and the value.
    public func validateNoiseSchedule() throws {
        func number(_ key: String) -> Double? {
            if case .number(let value)? = effectiveValue(key) { return value }
            return nil
        }
        for key in ["beta_start", "beta_end"] {
            if let beta = number(key), !(beta > 0 && beta < 1) {
                throw SchedulerError.invalidConfig(key: key, message: "scheduler config: \(key) is \(beta); it must lie strictly between 0 and 1")
            }
        }
        if case .array(let betas)? = effectiveValue("trained_betas") {
            for case .number(let beta) in betas where !(beta > 0 && beta < 1) {
                throw SchedulerError.invalidConfig(key: "trained_betas", message: "scheduler config: trained_betas has \(beta); each must lie strictly between 0 and 1")
            }
        }
        if let steps = number("num_train_timesteps"), !(2 ... 100_000).contains(steps) {
            throw SchedulerError.invalidConfig(key: "num_train_timesteps", message: "scheduler config: num_train_timesteps is \(Value.number(steps)); it must be in 2…100000")
        }
    }

    /// The `_class_name` entry (for example `"PNDMScheduler"`), if any.
    public var className: String? {
        if case .string(let name)? = values["_class_name"] { return name }
        return nil
    }

    /// The raw value of `key` as written (ignoring `_use_default_values`); setting nil removes it.
    public subscript(key: String) -> Value? {
        get { values[key] }
        set { values[key] = newValue }
    }

    /// The keys diffusers drops before building a scheduler: those listed in `_use_default_values`.
    public var keysUsingDefaults: Set<String> {
        guard case .array(let keys)? = values["_use_default_values"] else { return [] }
        return Set(keys.compactMap { if case .string(let key) = $0 { return key } else { return nil } })
    }

    /// The value a scheduler sees for `key`: nil when absent or listed in `_use_default_values`.
    public func effectiveValue(_ key: String) -> Value? {
        keysUsingDefaults.contains(key) ? nil : values[key]
    }

    /// A copy with `overrides` applied, like `from_config(config, **overrides)`: an overridden key
    /// is also taken off `_use_default_values`, so the override always counts.
    public func merging(_ overrides: [String: Value]) -> SchedulerConfig {
        var copy = self
        for (key, value) in overrides { copy.values[key] = value }
        if case .array(let keys)? = values["_use_default_values"] {
            copy.values["_use_default_values"] = .array(keys.filter { key in
                if case .string(let name) = key { return overrides[name] == nil }
                return true
            })
        }
        return copy
    }

    /// The config as JSON bytes (keys sorted).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(Value.object(values))
    }
}

extension SchedulerConfig {
    /// A JSON value, as found in a diffusers `scheduler_config.json`.
    public enum Value: Equatable, Sendable, Codable, CustomStringConvertible {
        /// `null` (Python's None).
        case null
        case bool(Bool)
        case number(Double)
        case string(String)
        case array([Value])
        case object([String: Value])

        public init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else if let value = try? container.decode([Value].self) {
                self = .array(value)
            } else {
                self = .object(try container.decode([String: Value].self))
            }
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .null: try container.encodeNil()
            case .bool(let value): try container.encode(value)
            case .number(let value): try container.encode(value)
            case .string(let value): try container.encode(value)
            case .array(let value): try container.encode(value)
            case .object(let value): try container.encode(value)
            }
        }

        /// Converts a `JSONSerialization`-style value (`NSNull`, `NSNumber`, `Bool`, `Int`, `Double`,
        /// `String`, arrays and `[String: Any]` dictionaries).
        public init(any value: Any) throws {
            switch value {
            case is NSNull:
                self = .null
            case let number as NSNumber:
                // JSONSerialization boxes JSON booleans as NSNumbers of type "c" (char), and Swift
                // `Bool`s bridge the same way; `is Bool` cannot tell them apart (it is true for any
                // NSNumber on Linux).
                let type = String(cString: number.objCType)
                if type == "c" || type == "B", number.intValue == 0 || number.intValue == 1 {
                    self = .bool(number.boolValue)
                } else {
                    self = .number(number.doubleValue)
                }
            case let string as String:
                self = .string(string)
            case let array as [Any]:
                self = .array(try array.map(Value.init(any:)))
            case let object as [String: Any]:
                self = .object(try object.mapValues(Value.init(any:)))
            default:
                throw SchedulerError.invalidConfig(key: "", message: "unsupported value \(value) of type \(type(of: value))")
            }
        }

        /// The value in JSON-like notation, for messages.
        public var description: String {
            switch self {
            case .null: return "null"
            case .bool(let value): return String(value)
            case .number(let value):
                return value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
            case .string(let value): return "\"\(value)\""
            case .array(let value): return "[" + value.map(\.description).joined(separator: ", ") + "]"
            case .object(let value):
                return "{" + value.keys.sorted().map { "\"\($0)\": \(value[$0]!.description)" }.joined(separator: ", ") + "}"
            }
        }
    }
}

/// Reads one scheduler class's options from a config, with that class's defaults, and reports
/// wrongly typed values as errors naming the key.
struct ConfigReader {
    let config: SchedulerConfig
    /// The diffusers class name, for messages.
    let scheduler: String

    private func present(_ key: String) -> SchedulerConfig.Value? {
        switch config.effectiveValue(key) {
        case nil, .null?: return nil
        case let value?: return value
        }
    }

    private func wrongType(_ key: String, _ expected: String, _ value: SchedulerConfig.Value) -> SchedulerError {
        .invalidConfig(key: key, message: "\(scheduler): \"\(key)\" must be \(expected), got \(value)")
    }

    func double(_ key: String, default fallback: Double) throws -> Double {
        try optionalDouble(key) ?? fallback
    }

    func optionalDouble(_ key: String) throws -> Double? {
        guard let value = present(key) else { return nil }
        guard case .number(let number) = value else { throw wrongType(key, "a number", value) }
        return number
    }

    func int(_ key: String, default fallback: Int) throws -> Int {
        guard let value = present(key) else { return fallback }
        guard case .number(let number) = value, number.rounded() == number, abs(number) < 1e15 else {
            throw wrongType(key, "an integer", value)
        }
        return Int(number)
    }

    /// A boolean; `null` counts as false, as Python's truthiness makes it.
    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        if case .null? = config.effectiveValue(key) { return false }
        guard let value = present(key) else { return fallback }
        switch value {
        case .bool(let flag): return flag
        case .number(let number) where number == 0 || number == 1: return number == 1
        default: throw wrongType(key, "true or false", value)
        }
    }

    func string(_ key: String, default fallback: String) throws -> String {
        guard let value = present(key) else { return fallback }
        guard case .string(let string) = value else { throw wrongType(key, "a string", value) }
        return string
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
        guard let value = present(key) else { return nil }
        guard case .array(let elements) = value else { throw wrongType(key, "an array of numbers", value) }
        return try elements.map { element in
            guard case .number(let number) = element else { throw wrongType(key, "an array of numbers", value) }
            return number
        }
    }

    func ints(_ key: String, default fallback: [Int]) throws -> [Int] {
        guard let value = present(key) else { return fallback }
        guard case .array(let elements) = value else { throw wrongType(key, "an array of integers", value) }
        return try elements.map { element in
            guard case .number(let number) = element, number.rounded() == number else {
                throw wrongType(key, "an array of integers", value)
            }
            return Int(number)
        }
    }

    /// Throws `unsupportedOption` when a boolean option this port does not implement is set.
    func requireFalse(_ key: String, reason: String) throws {
        if try bool(key, default: false) {
            throw SchedulerError.unsupportedOption(scheduler: scheduler, option: key, value: "true", reason: reason)
        }
    }

    /// Throws `unsupportedOption` when an option this port does not implement has a non-null value.
    func requireAbsent(_ key: String, reason: String) throws {
        if let value = present(key) {
            throw SchedulerError.unsupportedOption(scheduler: scheduler, option: key, value: value.description, reason: reason)
        }
    }
}
