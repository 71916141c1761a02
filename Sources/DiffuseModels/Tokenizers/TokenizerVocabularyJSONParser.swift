import Foundation

/// Parses a `vocab.json` — one JSON object mapping token strings to integer ids — straight from
/// its UTF-8 bytes: a hand-written scanner that builds the dictionary without intermediate
/// `NSDictionary`/`NSNumber` objects and reports a malformed file with the byte offset.
///
/// Accepts any JSON whitespace and every string escape (`\uXXXX` with surrogate pairs included).
/// A token that appears twice keeps its last id, as Python's `json.load` does.
struct TokenizerVocabularyJSONParser {
    private let bytes: [UInt8]
    private let url: URL
    private var position = 0

    /// Parses the vocabulary file at `url`, whose content is `bytes` (already checked to be UTF-8).
    static func parse(_ bytes: [UInt8], url: URL) throws -> [String: Int] {
        var parser = TokenizerVocabularyJSONParser(bytes: bytes, url: url)
        return try parser.parseObject()
    }

    private init(bytes: [UInt8], url: URL) {
        self.bytes = bytes
        self.url = url
    }

    private func failure(_ reason: String) -> TokenizerError {
        .malformedFile(url, reason: "\(reason) at byte \(position)")
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else { throw failure("expected \(what)") }
        position += 1
    }

    private mutating func parseObject() throws -> [String: Int] {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }  // UTF-8 byte order mark
        try expect(UInt8(ascii: "{"), "'{' (a JSON object of token -> id)")
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(bytes.count / 16)
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                skipWhitespace()
                let token = try parseString()
                try expect(UInt8(ascii: ":"), "':'")
                vocabulary[token] = try parseInteger(for: token)
                skipWhitespace()
                guard position < bytes.count else { throw failure("unterminated object") }
                let separator = bytes[position]
                position += 1
                if separator == UInt8(ascii: "}") { break }
                guard separator == UInt8(ascii: ",") else {
                    position -= 1
                    throw failure("expected ',' or '}'")
                }
            }
        }
        skipWhitespace()
        guard position == bytes.count else { throw failure("unexpected content after the object") }
        return vocabulary
    }

    private mutating func parseInteger(for token: String) throws -> Int {
        skipWhitespace()
        let start = position
        var value = 0
        while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
            value = value * 10 + Int(bytes[position] - 0x30)
            position += 1
            guard position - start <= 9 else { throw failure("id of \(String(reflecting: token)) is too large") }
        }
        guard position > start else {
            throw failure("the value of \(String(reflecting: token)) is not a non-negative integer id")
        }
        if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) {
            throw failure("the id of \(String(reflecting: token)) is not an integer")
        }
        return value
    }

    private mutating func parseString() throws -> String {
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
            throw failure("expected a string key")
        }
        position += 1
        let start = position
        // Fast path: no escapes.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let string = String(decoding: bytes[start..<position], as: UTF8.self)
                position += 1
                return string
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw failure("control character in a string") }
            position += 1
        }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: String(decoding: bytes[start..<position], as: UTF8.self).unicodeScalars)
        var utf8Run = position
        func flushRun(_ end: Int) {
            if end > utf8Run {
                scalars.append(contentsOf: String(decoding: bytes[utf8Run..<end], as: UTF8.self).unicodeScalars)
            }
        }
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                flushRun(position)
                position += 1
                return String(scalars)
            }
            if byte < 0x20 { throw failure("control character in a string") }
            guard byte == UInt8(ascii: "\\") else {
                position += 1
                continue
            }
            flushRun(position)
            position += 1
            guard position < bytes.count else { break }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                let unit = try parseHex4()
                if (0xD800..<0xDC00).contains(unit) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                          bytes[position + 1] == UInt8(ascii: "u") else {
                        throw failure("unpaired surrogate escape")
                    }
                    position += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate escape") }
                    let value = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    guard let scalar = Unicode.Scalar(value) else { throw failure("invalid escape") }
                    scalars.append(scalar)
                } else {
                    guard let scalar = Unicode.Scalar(unit) else { throw failure("unpaired surrogate escape") }
                    scalars.append(scalar)
                }
            default:
                position -= 1
                throw failure("invalid escape '\\\(Character(Unicode.Scalar(escape)))'")
            }
            utf8Run = position
        }
        throw failure("unterminated string")
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }
}
