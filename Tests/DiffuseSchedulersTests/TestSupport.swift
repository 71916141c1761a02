import DiffuseSchedulers
import DiffuseTensor
import Foundation
import Testing

/// Locations of the committed fixtures: `Tests/Fixtures/schedulers`, found from this file's path.
enum Fixtures {
    static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.pathComponents.count > 1 && url.lastPathComponent != "Tests" {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("Fixtures").appendingPathComponent("schedulers")
    }()

    /// Decodes a JSON fixture file with `JSONSerialization`.
    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: root.appendingPathComponent(name))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError.malformed("\(name) is not a JSON object")
        }
        return object
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    static func malformed(_ message: String) -> FixtureError { FixtureError(description: message) }
}

/// Typed access to decoded JSON values; throws instead of trapping on a malformed fixture.
extension Dictionary where Key == String, Value == Any {
    func value<T>(_ key: String, as type: T.Type = T.self) throws -> T {
        guard let value = self[key] as? T else {
            throw FixtureError.malformed("fixture key \"\(key)\" is missing or not \(T.self)")
        }
        return value
    }

    func ints(_ key: String) throws -> [Int] {
        try value(key, as: [Any].self).map { element in
            guard let number = element as? NSNumber else { throw FixtureError.malformed("\(key): not a number") }
            return number.intValue
        }
    }

    func floats(_ key: String) throws -> [Float] {
        try value(key, as: [Any].self).map { element in
            guard let number = element as? NSNumber else { throw FixtureError.malformed("\(key): not a number") }
            return number.floatValue
        }
    }

    func uint32s(_ key: String) throws -> [UInt32] {
        try value(key, as: [Any].self).map { element in
            guard let number = element as? NSNumber else { throw FixtureError.malformed("\(key): not a number") }
            return number.uint32Value
        }
    }
}

/// 64-bit FNV-1a over the little-endian bytes of `bits`.
func fnv1a(_ bits: [UInt32]) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for word in bits {
        for shift in stride(from: 0, to: 32, by: 8) {
            hash ^= UInt64((word >> UInt32(shift)) & 0xFF)
            hash = hash &* 0x100_0000_01B3
        }
    }
    return hash
}

/// Distance in units in the last place between two finite floats.
func ulpDistance(_ a: Float, _ b: Float) -> Int {
    func ordered(_ x: Float) -> Int64 {
        let bits = Int64(Int32(bitPattern: x.bitPattern))
        return bits < 0 ? Int64(Int32.min) - bits : bits
    }
    return Int(abs(ordered(a) - ordered(b)))
}

/// Largest absolute elementwise difference.
func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "maxAbsDifference: \(a.count) vs \(b.count) values")
    return zip(a, b).reduce(0) { Swift.max($0, abs($1.0 - $1.1)) }
}
