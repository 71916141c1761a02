import DiffuseFormats
import Foundation

/// A special token as a transformers tokenizer folder declares it: either a plain string
/// (`"pad_token": "!"`) or an `AddedToken` object (`{"content": "<|endoftext|>", "normalized":
/// true, …}`). Whether the token is `normalized` decides, in the `tokenizers` library, whether it is
/// looked for in the raw text (false: case-sensitive) or in the normalized, lowercased text (true).
struct TokenizerAddedToken: Equatable {
    var content: String
    /// Written as a plain string in the file (transformers then makes it a special,
    /// non-normalized token).
    var isPlainString: Bool
    var normalized: Bool
    var special: Bool
    var leftStrip = false
    var rightStrip = false
    var singleWord = false

    /// A token written as a plain string.
    init(plain content: String) {
        self.content = content
        self.isPlainString = true
        self.normalized = false
        self.special = true
    }

    /// Reads a token value of a configuration file. `inSpecialTokensMap` selects the defaults of
    /// `special_tokens_map.json` (objects are special tokens, not normalized unless they say so)
    /// over those of `tokenizer_config.json` (objects are `AddedToken(**object)`: not special and
    /// normalized unless they say so). `nil` for JSON null; an error naming `url` for anything else
    /// that is not a string or an object with a string `content`.
    init?(json value: JSONValue, inSpecialTokensMap: Bool, key: String, url: URL) throws {
        if value == .null { return nil }
        if let string = value.stringValue {
            self.init(plain: string)
            return
        }
        guard let object = value.objectValue, let content = object["content"]?.stringValue else {
            throw TokenizerError.malformedFile(
                url, reason: "\(String(reflecting: key)) is neither a string nor an object with a string \"content\"")
        }
        func flag(_ name: String) throws -> Bool? {
            guard let raw = object[name], raw != .null else { return nil }
            guard let bool = raw.boolValue else {
                throw TokenizerError.malformedFile(url, reason: "\"\(name)\" of \(String(reflecting: key)) is not a boolean")
            }
            return bool
        }
        let special = inSpecialTokensMap ? true : (try flag("special") ?? false)
        let normalized = try flag("normalized") ?? !special
        let leftStrip = try flag("lstrip") ?? false
        let rightStrip = try flag("rstrip") ?? false
        let singleWord = try flag("single_word") ?? false
        self.init(plain: content)
        self.isPlainString = false
        self.special = special
        self.normalized = normalized
        self.leftStrip = leftStrip
        self.rightStrip = rightStrip
        self.singleWord = singleWord
    }
}
