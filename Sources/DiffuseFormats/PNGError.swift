/// Why a PNG could not be decoded, encoded or written. Decoding errors carry the file (path or the
/// `name` given to the decoder) and, where relevant, the chunk type; `description` is one line.
public enum PNGError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Reading or writing the file failed.
    case io(file: String, reason: String)
    /// The data does not start with the 8-byte PNG signature.
    case notPNG(file: String)
    /// The data ends inside a chunk, or before `IEND`.
    case truncated(file: String, detail: String)
    /// A chunk's stored CRC-32 does not match its contents.
    case crcMismatch(file: String, chunk: String, stored: UInt32, computed: UInt32)
    /// A chunk is malformed: bad length, bad type code, wrong position or wrong contents.
    case badChunk(file: String, chunk: String, detail: String)
    /// `IHDR` is missing, misplaced or has invalid fields (zero size, unknown color type, …).
    case badIHDR(file: String, detail: String)
    /// A valid PNG feature this decoder does not implement, or an invalid bit depth / color type
    /// combination.
    case unsupported(file: String, detail: String)
    /// A required chunk (`IDAT`, `PLTE` for palette images) is absent.
    case missingChunk(file: String, chunk: String)
    /// The image dimensions exceed `PNGDecoder.maxDimension` or the decode's pixel limit.
    case imageTooLarge(file: String, width: Int, height: Int, maxPixels: Int)
    /// The zlib stream in `IDAT` (or `zTXt`/`iTXt`) could not be inflated.
    case decompressionFailed(file: String, chunk: String, detail: String)
    /// The decompressed image data is invalid (bad filter type, too short, palette index out of
    /// range).
    case corruptImageData(file: String, detail: String)
    /// The image given to the encoder (or to `PNGImage.init`) is inconsistent.
    case invalidImage(detail: String)
    /// A text chunk keyword or value cannot be stored.
    case invalidText(keyword: String, detail: String)

    public var description: String {
        switch self {
        case .io(let f, let reason): return "\(f): \(reason)"
        case .notPNG(let f): return "\(f): not a PNG file (bad signature)"
        case .truncated(let f, let detail): return "\(f): PNG is truncated: \(detail)"
        case .crcMismatch(let f, let chunk, let stored, let computed):
            return "\(f): CRC mismatch in chunk \(chunk) (stored \(hex(stored)), computed \(hex(computed)))"
        case .badChunk(let f, let chunk, let detail): return "\(f): bad \(chunk) chunk: \(detail)"
        case .badIHDR(let f, let detail): return "\(f): bad IHDR: \(detail)"
        case .unsupported(let f, let detail): return "\(f): unsupported PNG: \(detail)"
        case .missingChunk(let f, let chunk): return "\(f): PNG has no \(chunk) chunk"
        case .imageTooLarge(let f, let w, let h, let limit):
            return "\(f): image size \(w)x\(h) exceeds the decoder's limit (\(PNGDecoder.maxDimension) per side, \(limit) pixels); refused before decompressing"
        case .decompressionFailed(let f, let chunk, let detail):
            return "\(f): cannot decompress \(chunk) data: \(detail)"
        case .corruptImageData(let f, let detail): return "\(f): corrupt image data: \(detail)"
        case .invalidImage(let detail): return "invalid image: \(detail)"
        case .invalidText(let keyword, let detail): return "invalid PNG text chunk '\(keyword)': \(detail)"
        }
    }

    /// The file the error is about (empty for encoder errors, which have none).
    public var file: String {
        switch self {
        case .io(let f, _), .notPNG(let f), .truncated(let f, _), .crcMismatch(let f, _, _, _),
             .badChunk(let f, _, _), .badIHDR(let f, _), .unsupported(let f, _), .missingChunk(let f, _),
             .imageTooLarge(let f, _, _, _), .decompressionFailed(let f, _, _), .corruptImageData(let f, _):
            return f
        case .invalidImage, .invalidText:
            return ""
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
