/// Why building the emoji dataset failed (font and name-file errors are thrown as
/// `OpenTypeError` and `EmojiTestFileError`).
public enum EmojiDatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The requested image size is out of range.
    case invalidSize(Int)
    /// The font has no `CBLC`/`CBDT` color bitmaps.
    case noColorBitmaps(font: String)
    /// A glyph's embedded PNG could not be decoded or converted.
    case badImage(glyph: Int, codePoints: String, detail: String)
    /// Creating the output folder or writing, listing or removing a file failed.
    case io(path: String, reason: String)

    /// One line naming the problem.
    public var description: String {
        switch self {
        case .invalidSize(let size): return "image size must be 1...4096, not \(size)"
        case .noColorBitmaps(let font): return "\(font): the font has no color bitmaps (CBLC/CBDT tables)"
        case .badImage(let glyph, let codePoints, let detail): return "glyph \(glyph) (\(codePoints)): bad embedded PNG: \(detail)"
        case .io(let path, let reason): return "\(path): \(reason)"
        }
    }
}
