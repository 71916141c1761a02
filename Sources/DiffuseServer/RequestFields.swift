import DiffuseFormats
import Foundation

/// The fields of a JSON request body (or of a form, whose values are all text), read by name with
/// their types checked: every failure is an `APIError.invalid` naming the field, the type expected
/// and the type given. A field that is absent or `null` reads as nil (the route's default applies).
public struct RequestFields: Sendable {
    /// The body's fields, in order.
    public let fields: [(String, JSONValue)]
    /// True for form fields: numbers and booleans are read from their text.
    public let isForm: Bool

    /// The text fields of a form (`multipart/form-data`); an empty value reads as absent.
    public init(form: [(String, String)]) {
        self.fields = form.map { ($0.0, $0.1.isEmpty ? .null : .string($0.1)) }
        self.isForm = true
    }

    /// The deepest nesting a body may have (Foundation's `JSONDecoder` limit, which bodies were
    /// held to before): deeper bodies are refused before they can exhaust the stack.
    public static let maxDepth = 512

    /// The members of a JSON object nested in a request.
    public init(object members: [(String, JSONValue)]) {
        self.fields = members
        self.isForm = false
    }

    /// Parses `data` as a JSON object.
    /// - Throws: `APIError.badBody` for an empty body, malformed JSON or a non-object.
    public init(body data: Data) throws {
        guard !data.isEmpty else { throw APIError.badBody("request body is empty; expected a JSON object") }
        let value: JSONValue
        do {
            value = try JSONValue.parse(data, maxDepth: Self.maxDepth)
        } catch let error as JSONParseError {
            throw APIError.badBody("malformed JSON body: \(error)")
        }
        guard case .object(let fields) = value else {
            throw APIError.badBody("request body must be a JSON object, not \(value.typeDescription)")
        }
        self.fields = fields
        self.isForm = false
    }

    /// The raw value of a field; nil if absent or `null`.
    public func value(_ name: String) -> JSONValue? {
        guard let value = fields.first(where: { $0.0 == name })?.1, value != .null else { return nil }
        return value
    }

    /// A string field.
    public func string(_ name: String) throws -> String? {
        guard let value = value(name) else { return nil }
        guard case .string(let s) = value else { throw mismatch(name, "a string", value) }
        return s
    }

    /// A boolean field.
    public func bool(_ name: String) throws -> Bool? {
        guard let value = value(name) else { return nil }
        if isForm, case .string(let text) = value, let b = Bool(text.lowercased()) { return b }
        guard case .bool(let b) = value else { throw mismatch(name, "a boolean", value) }
        return b
    }

    /// A whole-number field (`20` or `20.0`; not `20.5` or `"20"`), within `range` if given.
    public func int(_ name: String, in range: ClosedRange<Int64>? = nil) throws -> Int64? {
        guard let value = value(name) else { return nil }
        let result: Int64
        switch value {
        case .int(let i): result = i
        case .double(let d) where d.isFinite && d == d.rounded() && abs(d) < 9.2e18: result = Int64(d)
        case .double(let d): throw APIError.invalid(name, "\(name) must be a whole number, not \(d)")
        case .string(let text) where isForm:
            guard let i = Int64(text.trimmingCharacters(in: .whitespaces)) else {
                throw APIError.invalid(name, "\(name) must be a whole number, not \"\(text)\"")
            }
            result = i
        default: throw mismatch(name, "a whole number", value)
        }
        if let range, !range.contains(result) {
            throw APIError.invalid(name, "\(name) must be between \(range.lowerBound) and \(range.upperBound), not \(result)")
        }
        return result
    }

    /// A number field (finite), within `range` if given.
    public func double(_ name: String, in range: ClosedRange<Double>? = nil) throws -> Double? {
        guard let value = value(name) else { return nil }
        let result: Double
        switch value {
        case .int(let i): result = Double(i)
        case .double(let d): result = d
        case .string(let text) where isForm:
            guard let d = Double(text.trimmingCharacters(in: .whitespaces)), d.isFinite else {
                throw APIError.invalid(name, "\(name) must be a finite number, not \"\(text)\"")
            }
            result = d
        default: throw mismatch(name, "a number", value)
        }
        if let range, !range.contains(result) {
            throw APIError.invalid(name, "\(name) must be between \(range.lowerBound) and \(range.upperBound), not \(result)")
        }
        return result
    }

    /// An array-of-strings field.
    public func strings(_ name: String) throws -> [String]? {
        guard let value = value(name) else { return nil }
        guard case .array(let items) = value else { throw mismatch(name, "an array of strings", value) }
        return try items.enumerated().map { index, item in
            guard case .string(let s) = item else { throw mismatch("\(name)[\(index)]", "a string", item) }
            return s
        }
    }

    private func mismatch(_ name: String, _ expected: String, _ got: JSONValue) -> APIError {
        APIError.invalid(name, "\(name) must be \(expected), not \(got.typeDescription)")
    }
}
