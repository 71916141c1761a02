import Foundation

extension JSONValue: CustomStringConvertible {
    /// The value as compact JSON text.
    public var description: String { serialized }
}

extension JSONValue {
    /// A value `JSONValue(any:)` cannot convert.
    public struct ConversionError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Converts a value as `JSONSerialization` returns it, or a Swift literal of that shape:
    /// `NSNull`, `NSNumber` (booleans included), `Bool`, `Int`, `Double`, `String`, arrays and
    /// `[String: Any]` dictionaries (keys sorted).
    /// - Throws: `ConversionError` for any other type.
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
            } else if type == "d" || type == "f" {
                self = .double(number.doubleValue)
            } else {
                self = .int(number.int64Value)
            }
        case let string as String:
            self = .string(string)
        case let array as [Any]:
            self = .array(try array.map(JSONValue.init(any:)))
        case let object as [String: Any]:
            self = .object(sorting: try object.mapValues(JSONValue.init(any:)))
        default:
            throw ConversionError(description: "unsupported value \(value) of type \(type(of: value))")
        }
    }
}
