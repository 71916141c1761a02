import DiffuseModels
import Foundation

/// The committed tokenizer fixtures (`Tests/Fixtures/tokenizers`, written by
/// tools/make_tokenizer_fixtures.py), found from this file's path.
enum TokenizerFixtures {
    static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.pathComponents.count > 1 && url.lastPathComponent != "Tests" {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("Fixtures").appendingPathComponent("tokenizers")
    }()

    static func url(_ parts: String...) -> URL {
        parts.reduce(root) { $0.appendingPathComponent($1) }
    }

    /// The SD 1.x-style CLIP tokenizer folder (pad token `<|endoftext|>`).
    static var clipDirectory: URL { url("clip") }

    /// all-MiniLM-L6-v2's `vocab.txt`.
    static var miniLMVocabulary: URL { url("minilm", "vocab.txt") }

    /// Decodes `expected/<name>` as `T`.
    static func expected<T: Decodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: url("expected", name)))
    }

    /// `expected/<name>` as a `JSONSerialization` object.
    static func expectedObject(_ name: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url("expected", name)))
        guard let dictionary = object as? [String: Any] else { throw FixtureError("\(name) is not an object") }
        return dictionary
    }

    /// A temporary tokenizer folder holding clip/'s vocab.json and merges.txt and, when given, the
    /// configuration files (as JSON objects; `nil` leaves the file out). Removed when `body` returns.
    static func withCLIPFolder<R>(tokenizerConfig: Any?, specialTokensMap: Any?, _ body: (URL) throws -> R) throws -> R {
        try withTemporaryDirectory { folder in
            for name in ["vocab.json", "merges.txt"] {
                try FileManager.default.copyItem(at: clipDirectory.appendingPathComponent(name),
                                                 to: folder.appendingPathComponent(name))
            }
            for (name, object) in [("tokenizer_config.json", tokenizerConfig), ("special_tokens_map.json", specialTokensMap)] {
                guard let object, !(object is NSNull) else { continue }
                try JSONSerialization.data(withJSONObject: object).write(to: folder.appendingPathComponent(name))
            }
            return try body(folder)
        }
    }

    /// A temporary tokenizer folder with clip/'s vocabulary and clip-sd2/'s configuration (pad "!").
    static func withSD2Folder<R>(_ body: (URL) throws -> R) throws -> R {
        try withTemporaryDirectory { folder in
            for (source, name) in [("clip", "vocab.json"), ("clip", "merges.txt"),
                                   ("clip-sd2", "tokenizer_config.json"), ("clip-sd2", "special_tokens_map.json")] {
                try FileManager.default.copyItem(at: url(source, name), to: folder.appendingPathComponent(name))
            }
            return try body(folder)
        }
    }
}

/// One prompt of an expected-value file and what transformers gives for it.
struct ExpectedTokenization: Decodable {
    let text: String
    let ids: [Int]
    let tokens: [String]
}

/// An `expected/clip-*.json` file.
struct CLIPExpectations: Decodable {
    let source: String
    let pad_token_id: Int
    let max_length: Int
    let cases: [ExpectedTokenization]
}

/// `expected/minilm.json`.
struct WordPieceExpectations: Decodable {
    struct Setting: Decodable {
        let name: String
        let lowercase: Bool
        let max_length: Int
        let cases: [ExpectedTokenization]
    }
    let source: String
    let settings: [Setting]
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A fresh, empty temporary directory, removed when `body` returns.
func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("DiffuseTokenizerTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

/// A prompt as Swift source would write it, for failure messages.
func describe(_ text: String) -> String {
    String(reflecting: text)
}
