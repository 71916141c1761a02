import Foundation

/// Why a tokenizer could not be loaded. Every case names the file at fault, so a message such as
/// "malformed tokenizer file /models/sd15/tokenizer/vocab.json: …" tells the user what to fix.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// A file the tokenizer needs does not exist (or is a directory).
    case missingFile(URL)
    /// A file exists but could not be read.
    case unreadableFile(URL, reason: String)
    /// A file was read, but its content is not what the tokenizer expects.
    case malformedFile(URL, reason: String)

    /// The file the error is about.
    public var file: URL {
        switch self {
        case .missingFile(let url), .unreadableFile(let url, _), .malformedFile(let url, _):
            return url
        }
    }

    public var description: String {
        switch self {
        case .missingFile(let url):
            return "missing tokenizer file \(url.path)"
        case .unreadableFile(let url, let reason):
            return "cannot read tokenizer file \(url.path): \(reason)"
        case .malformedFile(let url, let reason):
            return "malformed tokenizer file \(url.path): \(reason)"
        }
    }
}
