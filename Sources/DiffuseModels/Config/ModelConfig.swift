import Foundation

/// A diffusers/transformers `config.json`, read with each class's defaults for missing keys.
///
/// Values are looked up by key; a present value of the wrong type, or an option Diffuse does not
/// implement, is an error that names the file and the key.
public struct ModelConfig: @unchecked Sendable {
    /// Where the configuration came from (for messages).
    public let source: String
    /// The raw key–value pairs.
    public let values: [String: Any]

    public init(values: [String: Any], source: String) {
        self.values = values
        self.source = source
    }

    /// Reads and parses a JSON object file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelConfigError(source: url.path, key: nil, problem: "cannot be read (\(error.localizedDescription))")
        }
        try self.init(data: data, source: url.path)
    }

    public init(data: Data, source: String) throws {
        guard let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any] else {
            throw ModelConfigError(source: source, key: nil, problem: "is not a JSON object")
        }
        self.init(values: dict, source: source)
    }

    /// True when `key` is present and not null.
    public func has(_ key: String) -> Bool {
        guard let v = values[key] else { return false }
        return !(v is NSNull)
    }

    public func int(_ key: String, default value: Int) throws -> Int {
        guard has(key) else { return value }
        if let n = values[key] as? NSNumber, let i = Self.integer(n) { return i }
        throw wrongType(key, "an integer")
    }

    /// An integer in `range`: a value outside it names the key and the range.
    public func int(_ key: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
        let n = try int(key, default: value)
        try requireRange(key, [n], range, list: false)
        return n
    }

    /// A finite number in `range`.
    public func float(_ key: String, default value: Float, in range: ClosedRange<Float>) throws -> Float {
        let x = try float(key, default: value)
        guard x.isFinite, range.contains(x) else { throw outOfRange(key, "is \(x)", "\(range.lowerBound)…\(range.upperBound)") }
        return x
    }

    /// The largest channel count, width or table size a config may ask for, and the most layers
    /// per block: far above any published Stable Diffusion model (1280 channels, 2–3 layers),
    /// far below sizes whose weights could not be allocated.
    public static let maxWidth = 16384
    public static let maxLayers = 64

    /// `n` exactly, when it is an integer of at most 2^53 in magnitude.
    static func integer(_ n: NSNumber) -> Int? {
        let d = n.doubleValue
        guard d.isFinite, d == d.rounded(), abs(d) <= 9_007_199_254_740_992 else { return nil }
        return Int(d)
    }

    public func float(_ key: String, default value: Float) throws -> Float {
        guard has(key) else { return value }
        if let n = values[key] as? NSNumber { return n.floatValue }
        throw wrongType(key, "a number")
    }

    public func bool(_ key: String, default value: Bool) throws -> Bool {
        guard has(key) else { return value }
        if let b = values[key] as? Bool { return b }
        throw wrongType(key, "true or false")
    }

    public func string(_ key: String, default value: String) throws -> String {
        guard has(key) else { return value }
        if let s = values[key] as? String { return s }
        throw wrongType(key, "a string")
    }

    public func optionalString(_ key: String) throws -> String? {
        guard has(key) else { return nil }
        if let s = values[key] as? String { return s }
        throw wrongType(key, "a string or null")
    }

    public func strings(_ key: String, default value: [String]) throws -> [String] {
        guard has(key) else { return value }
        if let list = values[key] as? [Any], let strings = list as? [String] { return strings }
        throw wrongType(key, "a list of strings")
    }

    public func ints(_ key: String, default value: [Int]) throws -> [Int] {
        guard has(key) else { return value }
        if let list = values[key] as? [NSNumber] {
            let ints = list.compactMap(Self.integer)
            if ints.count == list.count { return ints }
        }
        throw wrongType(key, "a list of integers")
    }

    /// A list of integers, each in `range`.
    public func ints(_ key: String, default value: [Int], in range: ClosedRange<Int>) throws -> [Int] {
        let list = try ints(key, default: value)
        try requireRange(key, list, range, list: true)
        return list
    }

    /// A number or a per-block list (diffusers accepts both for head counts and layer counts),
    /// expanded to `count` entries.
    public func intPerBlock(_ key: String, count: Int, default value: Int) throws -> [Int] {
        guard has(key) else { return Array(repeating: value, count: count) }
        if let n = values[key] as? NSNumber, let i = Self.integer(n) { return Array(repeating: i, count: count) }
        if let list = values[key] as? [NSNumber] {
            guard list.count == count else {
                throw ModelConfigError(source: source, key: key, problem: "has \(list.count) entries for \(count) blocks")
            }
            let ints = list.compactMap(Self.integer)
            if ints.count == count { return ints }
        }
        throw wrongType(key, "an integer or a list of integers")
    }

    /// `intPerBlock` with every entry in `range`.
    public func intPerBlock(_ key: String, count: Int, default value: Int, in range: ClosedRange<Int>) throws -> [Int] {
        let list = try intPerBlock(key, count: count, default: value)
        try requireRange(key, list, range, list: true)
        return list
    }

    /// Throws unless every one of `channels` is a multiple of `groups` (the value of `key`), as
    /// group normalization needs.
    public func requireGroups(_ key: String, _ groups: Int, divide channels: [Int], of channelsKey: String) throws {
        if let c = channels.first(where: { $0 % groups != 0 }) {
            throw ModelConfigError(source: source, key: key, problem: "(\(groups)) does not divide \(channelsKey) entry \(c)")
        }
    }

    private func requireRange(_ key: String, _ values: [Int], _ range: ClosedRange<Int>, list: Bool) throws {
        if let bad = values.first(where: { !range.contains($0) }) {
            throw outOfRange(key, list ? "has an entry \(bad)" : "is \(bad)", "\(range.lowerBound)…\(range.upperBound)")
        }
    }

    private func outOfRange(_ key: String, _ found: String, _ range: String) -> ModelConfigError {
        ModelConfigError(source: source, key: key, problem: "\(found), outside \(range)")
    }

    /// Throws unless `key` is absent, null or one of the strings `allowed`.
    public func require(_ key: String, in allowed: [String], feature: String) throws {
        let value = try optionalString(key)
        if let value, !allowed.contains(value) {
            throw ModelConfigError(source: source, key: key, problem: "is \(value), but Diffuse does not support \(feature) (supported: \(allowed.joined(separator: ", ")))")
        }
    }

    /// Throws unless `key` is absent, null or the number `expected`.
    public func require(_ key: String, equals expected: Double, feature: String) throws {
        guard has(key) else { return }
        let value = try float(key, default: Float(expected))
        if Double(value) != expected {
            throw ModelConfigError(source: source, key: key, problem: "is \(value), but Diffuse does not support \(feature) (only \(expected))")
        }
    }

    /// Throws unless `key` is absent, null or the boolean `expected`.
    public func require(_ key: String, equals expected: Bool, feature: String) throws {
        if try bool(key, default: expected) != expected {
            throw ModelConfigError(source: source, key: key, problem: "is \(!expected), but Diffuse does not support \(feature)")
        }
    }

    /// Throws when `key` is set (not null): an option Diffuse does not implement.
    public func requireUnset(_ key: String, feature: String) throws {
        if has(key) {
            throw ModelConfigError(source: source, key: key, problem: "is set, but Diffuse does not support \(feature)")
        }
    }

    private func wrongType(_ key: String, _ expected: String) -> ModelConfigError {
        ModelConfigError(source: source, key: key, problem: "should be \(expected), found \(values[key].map { "\($0)" } ?? "nothing")")
    }
}

/// A configuration that cannot be used: names the file and the key.
public struct ModelConfigError: Error, CustomStringConvertible {
    public var source: String
    public var key: String?
    public var problem: String
    public var description: String { key.map { "\(source): \"\($0)\" \(problem)" } ?? "\(source) \(problem)" }
}
