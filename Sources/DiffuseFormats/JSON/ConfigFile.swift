import Foundation

/// The top-level object of a JSON configuration file (a diffusers/transformers `config.json`, a
/// `scheduler_config.json`), read key by key: each read gives the caller's default (diffusers'
/// default for that class) when the key is absent or `null`, and a present value of the wrong type
/// or outside its range is a `ConfigError` naming the file and the key.
public struct ConfigFile: Sendable, Equatable {
    /// Where the values came from (a file path), for messages.
    public let source: String
    /// The object's members (a repeated key keeps its last value, as Python's `json.load` does).
    public let values: [String: JSONValue]

    public init(values: [String: JSONValue], source: String) {
        self.values = values
        self.source = source
    }

    /// Reads and parses a JSON object file.
    /// - Throws: `ConfigError` naming the file: unreadable, not JSON (saying where), or not an object.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ConfigError(source: url.path, key: nil, problem: "cannot be read (\(error.localizedDescription))")
        }
        try self.init(data: data, source: url.path)
    }

    /// Parses `data` as a JSON object; `source` names it in errors.
    public init(data: Data, source: String) throws {
        let value: JSONValue
        do { value = try JSONValue.parse(data) } catch let error as JSONParseError {
            throw ConfigError(source: source, key: nil, problem: "is not valid JSON: \(error)")
        }
        guard let object = value.objectValue else {
            throw ConfigError(source: source, key: nil, problem: "is not a JSON object (it is \(value.typeDescription))")
        }
        self.init(values: object, source: source)
    }

    /// The value of `key`, nil when absent or `null`.
    public func value(_ key: String) -> JSONValue? {
        guard let value = values[key], value != .null else { return nil }
        return value
    }

    /// True when `key` is present and not null.
    public func has(_ key: String) -> Bool { value(key) != nil }

    /// An error about `key` of this file.
    public func error(_ key: String?, _ problem: String) -> ConfigError {
        ConfigError(source: source, key: key, problem: problem)
    }

    /// The error for a present value of the wrong type: `"key" should be <expected>, found <value>`.
    public func wrongType(_ key: String, _ expected: String) -> ConfigError {
        error(key, "should be \(expected), found \(Self.shortText(values[key] ?? .null))")
    }

    /// `value` as JSON text, cut to 80 characters for a one-line message.
    static func shortText(_ value: JSONValue) -> String {
        let text = value.serialized
        return text.count <= 80 ? text : String(text.prefix(77)) + "…"
    }

    /// The value of `key` as `read` takes it; nil when absent or null. A value `read` refuses
    /// (returns nil for) is the wrong type: an error saying `expected`.
    private func optional<T>(_ key: String, _ expected: String, _ read: (JSONValue) -> T?) throws -> T? {
        guard let value = value(key) else { return nil }
        guard let result = read(value) else { throw wrongType(key, expected) }
        return result
    }

    /// Every element of an array as `read` takes it, or nil when `value` is not an array or `read`
    /// refuses an element.
    private static func list<T>(_ value: JSONValue, _ read: (JSONValue) -> T?) -> [T]? {
        guard let items = value.arrayValue else { return nil }
        let list = items.compactMap(read)
        return list.count == items.count ? list : nil
    }

    // MARK: Scalars

    /// An integer (`3`, or `3.0`; at most 2⁵³ in magnitude).
    public func int(_ key: String, default fallback: Int) throws -> Int {
        try optionalInt(key) ?? fallback
    }

    /// An integer, or nil when absent or null.
    public func optionalInt(_ key: String) throws -> Int? {
        try optional(key, "an integer", \.intValue)
    }

    /// An integer in `range`: a value outside it names the key and the range.
    public func int(_ key: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        let n = try int(key, default: fallback)
        try requireRange(key, [n], range, list: false)
        return n
    }

    /// A number.
    public func double(_ key: String, default fallback: Double) throws -> Double {
        try optionalDouble(key) ?? fallback
    }

    /// A number, or nil when absent or null.
    public func optionalDouble(_ key: String) throws -> Double? {
        try optional(key, "a number", \.doubleValue)
    }

    /// A number, as `Float`.
    public func float(_ key: String, default fallback: Float) throws -> Float {
        try optionalDouble(key).map(Float.init) ?? fallback
    }

    /// A finite number in `range`.
    public func float(_ key: String, default fallback: Float, in range: ClosedRange<Float>) throws -> Float {
        let x = try float(key, default: fallback)
        guard x.isFinite, range.contains(x) else { throw outOfRange(key, "is \(x)", "\(range.lowerBound)…\(range.upperBound)") }
        return x
    }

    /// A boolean: `true` / `false`, or the numbers 1 / 0 (Python reads both as flags).
    public func bool(_ key: String, default fallback: Bool) throws -> Bool {
        try optional(key, "true or false") { value in
            switch value {
            case .bool(let flag): return flag
            case .int(let n) where n == 0 || n == 1: return n == 1
            default: return nil
            }
        } ?? fallback
    }

    /// A string.
    public func string(_ key: String, default fallback: String) throws -> String {
        try optional(key, "a string", \.stringValue) ?? fallback
    }

    /// A string, or nil when absent or null.
    public func optionalString(_ key: String) throws -> String? {
        try optional(key, "a string or null", \.stringValue)
    }

    // MARK: Lists

    /// A list of strings.
    public func strings(_ key: String, default fallback: [String]) throws -> [String] {
        try optional(key, "a list of strings") { Self.list($0, \.stringValue) } ?? fallback
    }

    /// A list of integers.
    public func ints(_ key: String, default fallback: [Int]) throws -> [Int] {
        try optional(key, "a list of integers") { Self.list($0, \.intValue) } ?? fallback
    }

    /// A list of integers, each in `range`.
    public func ints(_ key: String, default fallback: [Int], in range: ClosedRange<Int>) throws -> [Int] {
        let list = try ints(key, default: fallback)
        try requireRange(key, list, range, list: true)
        return list
    }

    /// A list of numbers, or nil when absent or null.
    public func optionalDoubles(_ key: String) throws -> [Double]? {
        try optional(key, "a list of numbers") { Self.list($0, \.doubleValue) }
    }

    /// A number or a per-block list (diffusers accepts both for head counts and layer counts),
    /// expanded to `count` entries.
    public func intPerBlock(_ key: String, count: Int, default fallback: Int) throws -> [Int] {
        guard let value = value(key) else { return Array(repeating: fallback, count: count) }
        if let n = value.intValue { return Array(repeating: n, count: count) }
        if let items = value.arrayValue, items.allSatisfy({ $0.doubleValue != nil }) {
            guard items.count == count else { throw error(key, "has \(items.count) entries for \(count) blocks") }
            if let list = Self.list(value, \.intValue) { return list }
        }
        throw wrongType(key, "an integer or a list of integers")
    }

    /// `intPerBlock` with every entry in `range`.
    public func intPerBlock(_ key: String, count: Int, default fallback: Int, in range: ClosedRange<Int>) throws -> [Int] {
        let list = try intPerBlock(key, count: count, default: fallback)
        try requireRange(key, list, range, list: true)
        return list
    }

    // MARK: Requirements

    /// Throws unless every one of `channels` is a multiple of `groups` (the value of `key`), as
    /// group normalization needs.
    public func requireGroups(_ key: String, _ groups: Int, divide channels: [Int], of channelsKey: String) throws {
        if let c = channels.first(where: { $0 % groups != 0 }) {
            throw error(key, "(\(groups)) does not divide \(channelsKey) entry \(c)")
        }
    }

    /// Throws unless `key` is absent, null or one of the strings `allowed`.
    public func require(_ key: String, in allowed: [String], feature: String) throws {
        if let value = try optionalString(key), !allowed.contains(value) {
            throw error(key, "is \(value), but Diffuse does not support \(feature) (supported: \(allowed.joined(separator: ", ")))")
        }
    }

    /// Throws unless `key` is absent, null or the number `expected`.
    public func require(_ key: String, equals expected: Double, feature: String) throws {
        guard has(key) else { return }
        let value = try float(key, default: Float(expected))
        if Double(value) != expected {
            throw error(key, "is \(value), but Diffuse does not support \(feature) (only \(expected))")
        }
    }

    /// Throws unless `key` is absent, null or the boolean `expected`.
    public func require(_ key: String, equals expected: Bool, feature: String) throws {
        if try bool(key, default: expected) != expected {
            throw error(key, "is \(!expected), but Diffuse does not support \(feature)")
        }
    }

    /// Throws when `key` is set (not null): an option Diffuse does not implement.
    public func requireUnset(_ key: String, feature: String) throws {
        if has(key) { throw error(key, "is set, but Diffuse does not support \(feature)") }
    }

    private func requireRange(_ key: String, _ values: [Int], _ range: ClosedRange<Int>, list: Bool) throws {
        if let bad = values.first(where: { !range.contains($0) }) {
            throw outOfRange(key, list ? "has an entry \(bad)" : "is \(bad)", "\(range.lowerBound)…\(range.upperBound)")
        }
    }

    private func outOfRange(_ key: String, _ found: String, _ range: String) -> ConfigError {
        error(key, "\(found), outside \(range)")
    }
}
