import DiffuseFormats
import Foundation
import Testing

/// The one JSON writer: Python's escaping, a compact and a pretty form, text that parses back to
/// the value written.
@Suite struct JSONWriterTests {
    @Test func stringsAreEscapedAsPythonsJSONDumps() {
        // json.dumps("q\"b\\s\n\r\t\b\f\x01\x1f é😀\u2028/", ensure_ascii=False)
        #expect(JSONValue.quoted("q\"b\\s\n\r\t\u{8}\u{C}\u{1}\u{1F} é😀\u{2028}/")
                == #""q\"b\\s\n\r\t\b\f\u0001\u001f é😀"# + "\u{2028}" + #"/""#)
    }

    @Test func compactAndPrettyForms() {
        let value: JSONValue = ["b": 1, "a": [true, nil, 2.5, "x"], "e": [], "o": [:], "n": ["k": -7]]
        #expect(value.serialized == #"{"b":1,"a":[true,null,2.5,"x"],"e":[],"o":{},"n":{"k":-7}}"#)
        #expect(value.prettyPrinted == """
            {
              "b": 1,
              "a": [
                true,
                null,
                2.5,
                "x"
              ],
              "e": [],
              "o": {},
              "n": {
                "k": -7
              }
            }
            """)
        #expect(JSONValue.object(sorting: ["b": 1, "a": 2, "_c": 3]).serialized == #"{"_c":3,"a":2,"b":1}"#)
    }

    @Test func numbersAreWrittenShortestAndNonFiniteAsNull() {
        let numbers: [JSONValue] = [.double(7), .double(-0.5), .double(0.1), .double(1e-5), .double(1e20), .double(.nan),
                                    .double(.infinity), .int(.max)]
        #expect(JSONValue.array(numbers).serialized == "[7,-0.5,0.1,1e-05,1e+20,null,null,9223372036854775807]")
    }

    @Test func writtenTextParsesBackToTheValue() throws {
        let value: JSONValue = [
            "text": "line\none \"quoted\" \\ tab\t nul\u{0} é 😀 \u{2028}", "ints": [0, -1, .int(.max), .int(.min)],
            "doubles": [0.1, -2.5e-7, 1.7976931348623157e308, 5e-324], "nested": [[[["deep": [nil, true, false]]]]],
            "": "empty key",
        ]
        #expect(try JSONValue.parse(value.serialized) == value)
        #expect(try JSONValue.parse(value.prettyPrinted) == value)
        let text = #"{"a":[1,2.5,"x\"\né",null,{"b":false}],"c":-7}"#
        #expect(try JSONValue.parse(text).serialized == text)
    }

    @Test func configFilesAreWrittenPrettyWithANewline() throws {
        try withTemporaryDirectory { folder in
            let url = folder.appendingPathComponent("config.json")
            try JSONValue.object(sorting: ["b": [1, 2], "a": "x"]).writeConfigFile(to: url)
            #expect(try String(contentsOf: url, encoding: .utf8) == "{\n  \"a\": \"x\",\n  \"b\": [\n    1,\n    2\n  ]\n}\n")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["config.json"], "no temporary file left")
        }
    }
}
