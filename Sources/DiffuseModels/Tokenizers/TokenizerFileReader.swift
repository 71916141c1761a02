import DiffuseFormats
import Foundation

/// Reads the files of a tokenizer folder, turning every failure into a `TokenizerError` that names
/// the file.
enum TokenizerFileReader {
    /// Whether a regular file (not a directory) exists at `url`.
    static func fileExists(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// The bytes of `url`; `TokenizerError.missingFile` if there is no such file.
    static func data(_ url: URL) throws -> Data {
        guard fileExists(url) else { throw TokenizerError.missingFile(url) }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableFile(url, reason: error.localizedDescription)
        }
    }

    /// The bytes of `url`, checked to be valid UTF-8.
    static func utf8Bytes(_ url: URL) throws -> [UInt8] {
        let data = try data(url)
        let bytes = [UInt8](data)
        guard isValidUTF8(bytes) else {
            throw TokenizerError.malformedFile(url, reason: "not valid UTF-8")
        }
        return bytes
    }

    /// Whether `bytes` is well-formed UTF-8 (no stray continuation bytes, overlong forms,
    /// surrogates or scalars past U+10FFFF).
    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// The top-level JSON object of `url` (for the small configuration files; vocabularies use
    /// `TokenizerVocabularyJSONParser`); a repeated key keeps its last value, as in Python.
    static func jsonObject(_ url: URL) throws -> [String: JSONValue] {
        let data = try data(url)
        let object: JSONValue
        do {
            object = try JSONValue.parse(data)
        } catch {
            throw TokenizerError.malformedFile(url, reason: "invalid JSON (\(error))")
        }
        guard let dictionary = object.objectValue else {
            throw TokenizerError.malformedFile(url, reason: "the top-level JSON value is not an object")
        }
        return dictionary
    }
}
