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
        if let n = values[key] as? NSNumber, n.doubleValue == n.doubleValue.rounded() { return n.intValue }
        throw wrongType(key, "an integer")
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
        if let list = values[key] as? [NSNumber] { return list.map(\.intValue) }
        throw wrongType(key, "a list of integers")
    }

    /// A number or a per-block list (diffusers accepts both for head counts and layer counts),
    /// expanded to `count` entries.
    public func intPerBlock(_ key: String, count: Int, default value: Int) throws -> [Int] {
        guard has(key) else { return Array(repeating: value, count: count) }
        if let n = values[key] as? NSNumber { return Array(repeating: n.intValue, count: count) }
        if let list = values[key] as? [NSNumber] {
            guard list.count == count else {
                throw ModelConfigError(source: source, key: key, problem: "has \(list.count) entries for \(count) blocks")
            }
            return list.map(\.intValue)
        }
        throw wrongType(key, "an integer or a list of integers")
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
