import Foundation

/// A JSON document, parsed (`JSONValue.parse`) or built (literals: `["status": "ok", "n": 3]`) and
/// written (`serialized`, `prettyPrinted`). Diffuse's one JSON representation: safetensors headers,
/// infotext quoting, server request and response bodies, model and scheduler configs and
/// `model_index.json` all use it.
///
/// Objects keep their members in document order, duplicates included, so a caller can refuse a
/// repeated key; numbers written without a fraction or exponent that fit in 64 bits are `.int`
/// (exact), every other number is `.double`.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number written without a fraction or exponent that fits in 64 bits.
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// Values are equal when they would read the same: `.int(2) == .double(2)`, and objects compare
    /// key by key in order.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b
        case let (.int(a), .double(b)), let (.double(b), .int(a)): return Double(a) == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)): return a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
        default: return false
        }
    }

    /// The JSON type's name: "null", "boolean", "number", "string", "array" or "object".
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// The JSON type with its article, for messages: "null", "a boolean", "a number", "a string",
    /// "an array", "an object".
    public var typeDescription: String {
        switch self {
        case .null: return "null"
        case .array, .object: return "an \(typeName)"
        default: return "a \(typeName)"
        }
    }

    /// The value of `key` when this is an object (the first one if the key repeats).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields.first(where: { $0.0 == key })?.1
    }

    /// `.int` for a Swift `Int`.
    public static func number(_ value: Int) -> JSONValue { .int(Int64(value)) }
    /// `.string`, or `.null` for nil.
    public static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    /// An object with `members`' keys in sorted order (a stable order for files written from a dictionary).
    public static func object(sorting members: [String: JSONValue]) -> JSONValue {
        .object(members.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }
}

// MARK: Typed accessors

extension JSONValue {
    /// The string, when this is one.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The boolean, when this is one.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The number as a `Double`, when this is a number.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// The number as an `Int` when it is an integer (`3`, or `3.0`, `3e0`) that `Int` and `Double`
    /// both hold exactly (|n| ≤ 2⁵³ for those written with a fraction or exponent).
    public var intValue: Int? {
        switch self {
        case .int(let i): return Int(exactly: i)
        case .double(let d) where d == d.rounded() && abs(d) <= 9_007_199_254_740_992: return Int(d)
        default: return nil
        }
    }

    /// The number as an `Int` only when it was written as an integer (no fraction or exponent).
    public var exactInt: Int? {
        if case .int(let i) = self { return Int(exactly: i) }
        return nil
    }

    /// The elements, when this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The members in order, when this is an object.
    public var objectMembers: [(String, JSONValue)]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The members as a dictionary, when this is an object; a repeated key keeps its last value
    /// (as Python's `json.load` does).
    public var objectValue: [String: JSONValue]? {
        guard case .object(let members) = self else { return nil }
        return Dictionary(members, uniquingKeysWith: { _, last in last })
    }

    /// The first key that appears twice in this object (not nested ones), if any.
    public var duplicateKey: String? {
        guard case .object(let members) = self else { return nil }
        var seen = Set<String>()
        return members.first(where: { !seen.insert($0.0).inserted })?.0
    }
}

// MARK: Literals

/// `ExpressibleBy…` conformances so values read naturally: `["status": "ok", "sizes": [[32, 32]]]`.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements) }
    public init(nilLiteral: ()) { self = .null }
}
