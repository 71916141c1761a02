import DiffuseFormats
import Foundation
import Testing

/// The one JSON parser: strict RFC 8259, a nesting limit, byte offsets in its errors, exact
/// integers, duplicate keys kept for the caller to refuse.
@Suite struct JSONParserTests {
    /// The error `text` gives, as "<message> at byte <offset>".
    func failure(_ text: String, maxDepth: Int = JSONValue.defaultMaxDepth) -> String? {
        do {
            _ = try JSONValue.parse(text, maxDepth: maxDepth)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test(arguments: [
        ("[1,]", "unexpected character ']' at byte 3"),
        (#"{"a": 1,}"#, "expected a string key at byte 8"),
        ("01", "unexpected data after the JSON value at byte 1"),
        ("NaN", "unexpected character 'N' at byte 0"),
        ("'a'", "unexpected character ''' at byte 0"),
        ("[1] // comment", "unexpected data after the JSON value at byte 4"),
        ("+1", "unexpected character '+' at byte 0"),
        (".5", "unexpected character '.' at byte 0"),
        ("1.", "invalid number: no digits after '.' at byte 2"),
        ("1e", "invalid number: no digits in exponent at byte 2"),
        ("1e400", "number 1e400 is out of range at byte 0"),
        ("\"a\tb\"", "control character in string at byte 2"),
        (#""\x""#, "invalid escape '\\x' at byte 3"),
        (#""abc"#, "unterminated string at byte 4"),
        ("tru", "invalid literal at byte 0"),
        (#"{"a" 1}"#, "expected ':' at byte 5"),
        ("[1 2]", "expected ',' or ']' at byte 3"),
        ("", "unexpected end of JSON at byte 0"),
    ])
    func nonJSONIsRefusedSayingWhere(_ text: String, _ expected: String) {
        #expect(failure(text) == expected, "\(text)")
    }

    @Test func whitespaceAroundTheValueIsAllowed() throws {
        #expect(try JSONValue.parse(" \t\r\n{\"a\": [1, 2]}   ") == ["a": [1, 2]])
    }

    @Test func nestingIsLimited() throws {
        func nested(_ depth: Int) -> String { String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }
        #expect(failure(nested(64)) == nil)
        #expect(failure(nested(65)) == "JSON nested deeper than 64 levels at byte 64")
        #expect(failure(nested(400), maxDepth: 512) == nil)
        #expect(failure(String(repeating: "[", count: 100_000), maxDepth: 512) == "JSON nested deeper than 512 levels at byte 512")
        #expect(failure(String(repeating: #"{"a":"#, count: 65) + "1" + String(repeating: "}", count: 65))
                == "JSON nested deeper than 64 levels at byte 320")
    }

    @Test func duplicateKeysAreKeptInOrder() throws {
        let value = try JSONValue.parse(#"{"a": 1, "b": 2, "a": 3}"#)
        #expect(value.objectMembers?.map { $0.0 } == ["a", "b", "a"])
        #expect(value.duplicateKey == "a")
        #expect(value["a"] == 1, "the subscript reads the first")
        #expect(value.objectValue == ["a": 3, "b": 2], "a dictionary keeps the last, as Python's json.load")
        #expect(try JSONValue.parse(#"{"a": {"b": 1, "b": 2}}"#).duplicateKey == nil, "only the object's own keys")
    }

    @Test func integersAreExact() throws {
        // 2⁵³ + 1 has no Double; Int64's ends are kept exactly.
        #expect(try JSONValue.parse("9007199254740993") == .int(9_007_199_254_740_993))
        #expect(try JSONValue.parse("9007199254740993").exactInt == 9_007_199_254_740_993)
        #expect(try JSONValue.parse("9223372036854775807") == .int(.max))
        #expect(try JSONValue.parse("-9223372036854775808") == .int(.min))
        guard case .double(let beyond) = try JSONValue.parse("9223372036854775808") else {
            Issue.record("a number past Int64 should be a double")
            return
        }
        #expect(beyond == 9_223_372_036_854_775_808.0)
        #expect(try JSONValue.parse("-0") == .int(0))
        let written = try JSONValue.parse("[3.0, 3e0, 2.5]")
        #expect(written.arrayValue?.map(\.exactInt) == [nil, nil, nil], "a fraction or exponent is not an exact integer")
        #expect(written.arrayValue?.map(\.intValue) == [3, 3, nil], "but 3.0 is an integer value")
        #expect(try JSONValue.parse("1e15").intValue == 1_000_000_000_000_000)
        #expect(try JSONValue.parse("1e300").intValue == nil)
    }

    @Test func unicodeEscapesAndSurrogatePairsDecode() throws {
        #expect(try JSONValue.parse(#""caf\u00e9 \u00E9""#) == "café é")
        #expect(try JSONValue.parse(#""\u0000\n\/\b\f\r\t\"\\""#) == "\u{0}\n/\u{8}\u{C}\r\t\"\\")
        #expect(try JSONValue.parse(#""\ud83d\ude00""#) == "😀")
        #expect(try JSONValue.parse("\"😀 é\"") == "😀 é", "UTF-8 passes through")
        #expect(failure(#""\ud83d""#) == "unpaired surrogate in \\u escape at byte 7")
        #expect(failure(#""\ude00""#) == "unpaired surrogate in \\u escape at byte 7")
        #expect(failure(#""\ud83d\u0041""#) == "unpaired surrogate in \\u escape at byte 13")
        #expect(failure(#""\u12G4""#) == "invalid hex digit in \\u escape at byte 5")
    }

    @Test func bytesThatAreNotUTF8AreRefusedByOffset() throws {
        let cases: [([UInt8], Int)] = [([0x22, 0x61, 0xFF, 0x22], 2), ([0x22, 0xC0, 0xAF, 0x22], 1), ([0x5B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x5D], 2)]
        for (bytes, offset) in cases {
            #expect { try JSONValue.parse(Data(bytes)) } throws: { "\($0)" == "invalid UTF-8 at byte \(offset)" }
        }
    }

    @Test func typeNamesAndAccessors() throws {
        let value = try JSONValue.parse(#"{"s": "x", "b": true, "n": null, "d": 2.5, "a": [1], "o": {}}"#)
        #expect(value.objectMembers?.map { $0.1.typeDescription } == ["a string", "a boolean", "null", "a number", "an array", "an object"])
        #expect(value["s"]?.stringValue == "x" && value["b"]?.boolValue == true && value["d"]?.doubleValue == 2.5)
        #expect(value["a"]?.arrayValue == [1] && value["o"]?.objectValue == [:] && value["missing"] == nil)
        #expect(value["s"]?.intValue == nil && value["b"]?.doubleValue == nil)
    }
}
