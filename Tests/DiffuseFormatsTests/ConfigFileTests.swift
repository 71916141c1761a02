import DiffuseFormats
import Foundation
import Testing

/// The one config reader: typed keys with defaults, errors that name the file and the key.
@Suite struct ConfigFileTests {
    static let config = ConfigFile(values: [
        "n": 3, "whole": 4.0, "x": 0.5, "flag": true, "one": 1, "name": "relu", "list": [1, 2], "names": ["a", "b"],
        "null": nil, "word": "four", "mixed": [1, "2"], "half": 2.5, "huge": 1e300,
    ], source: "unet/config.json")

    /// The one-line message `read` throws.
    func message(_ read: (ConfigFile) throws -> Any) -> String? {
        do {
            _ = try read(Self.config)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func typedReadsAndDefaults() throws {
        let c = Self.config
        #expect(try c.int("n", default: 0) == 3 && c.int("whole", default: 0) == 4)
        #expect(try c.int("missing", default: 7) == 7 && c.int("null", default: 7) == 7, "absent and null take the default")
        #expect(try c.double("x", default: 0) == 0.5 && c.float("n", default: 0) == 3)
        #expect(try c.bool("flag", default: false) && c.bool("one", default: false) && !c.bool("null", default: false))
        #expect(try c.string("name", default: "") == "relu" && c.optionalString("null") == nil)
        #expect(try c.ints("list", default: []) == [1, 2] && c.strings("names", default: []) == ["a", "b"])
        #expect(try c.optionalDoubles("list") == [1, 2] && c.optionalInt("missing") == nil)
        #expect(try c.intPerBlock("n", count: 3, default: 1) == [3, 3, 3] && c.intPerBlock("list", count: 2, default: 1) == [1, 2])
        #expect(c.has("n") && !c.has("null") && !c.has("missing"))
    }

    @Test func errorsNameTheFileAndTheKey() {
        #expect(message { try $0.int("word", default: 0) } == #"unet/config.json: "word" should be an integer, found "four""#)
        #expect(message { try $0.int("half", default: 0) } == #"unet/config.json: "half" should be an integer, found 2.5"#)
        #expect(message { try $0.int("huge", default: 0) } == #"unet/config.json: "huge" should be an integer, found 1e+300"#)
        #expect(message { try $0.double("name", default: 0) } == #"unet/config.json: "name" should be a number, found "relu""#)
        #expect(message { try $0.bool("n", default: false) } == #"unet/config.json: "n" should be true or false, found 3"#)
        #expect(message { try $0.string("list", default: "") } == #"unet/config.json: "list" should be a string, found [1,2]"#)
        #expect(message { try $0.ints("mixed", default: []) } == #"unet/config.json: "mixed" should be a list of integers, found [1,"2"]"#)
        #expect(message { try $0.strings("list", default: []) } == #"unet/config.json: "list" should be a list of strings, found [1,2]"#)
        #expect(message { try $0.intPerBlock("list", count: 3, default: 1) } == #"unet/config.json: "list" has 2 entries for 3 blocks"#)
        #expect(message { try $0.int("n", default: 0, in: 4 ... 8) } == #"unet/config.json: "n" is 3, outside 4…8"#)
        #expect(message { try $0.ints("list", default: [], in: 2 ... 8) } == #"unet/config.json: "list" has an entry 1, outside 2…8"#)
        #expect(message { try $0.require("name", in: ["silu"], feature: "relu") }
                == #"unet/config.json: "name" is relu, but Diffuse does not support relu (supported: silu)"#)
        #expect(message { try $0.requireUnset("n", feature: "n") } == #"unet/config.json: "n" is set, but Diffuse does not support n"#)
    }

    @Test func filesThatAreNotJSONObjectsAreNamed() throws {
        try withTemporaryDirectory { folder in
            let url = folder.appendingPathComponent("config.json")
            func error(_ text: String) -> String {
                do {
                    try Data(text.utf8).write(to: url)
                    _ = try ConfigFile(contentsOf: url)
                    return "accepted"
                } catch {
                    return "\(error)"
                }
            }
            #expect(error(#"{"a": 1,}"#) == "\(url.path) is not valid JSON: expected a string key at byte 8")
            #expect(error("[1]") == "\(url.path) is not a JSON object (it is an array)")
            #expect(error(#"{"a": 1, "a": 2}"#) == "accepted")
            let repeated = try ConfigFile(contentsOf: url)
            #expect(repeated.values == ["a": 2], "a repeated key keeps its last value, as in Python")
            let missing = folder.appendingPathComponent("missing.json")
            #expect { try ConfigFile(contentsOf: missing) } throws: { "\($0)".hasPrefix("\(missing.path) cannot be read") }
        }
    }
}
