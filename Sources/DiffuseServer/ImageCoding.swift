import DiffuseFormats
import Foundation

/// Images in request and response bodies: base64 PNG, with or without a `data:` URL prefix.
public enum ImageCoding {
    /// Decodes a base64 image field (`iVBOR…` or `data:image/png;base64,iVBOR…`).
    ///
    /// - Parameters:
    ///   - text: the field's value.
    ///   - field: the field named in errors (e.g. `init_images[0]`).
    ///   - maxSize: the largest width or height accepted.
    /// - Throws: `APIError.invalid` for bad base64, a file that is not a PNG (JPEG and WebP are
    ///   named as such), a corrupt PNG, or one larger than `maxSize`.
    public static func decode(_ text: String, field: String, maxSize: Int) throws -> PNGImage {
        var payload = Substring(text).drop(while: { $0.isWhitespace })
        if payload.hasPrefix("data:") {
            guard let comma = payload.firstIndex(of: ",") else {
                throw APIError.invalid(field, "\(field) is a data: URL without a comma before its data")
            }
            guard payload[..<comma].hasSuffix(";base64") else {
                throw APIError.invalid(field, "\(field) is a data: URL that is not base64-encoded")
            }
            payload = payload[payload.index(after: comma)...]
        }
        // Whitespace dropped, URL-safe letters mapped, padding restored (byte-wise: bodies are large).
        var base64 = [UInt8]()
        base64.reserveCapacity(payload.utf8.count + 3)
        for byte in payload.utf8 {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): continue
            case UInt8(ascii: "-"): base64.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): base64.append(UInt8(ascii: "/"))
            default: base64.append(byte)
            }
        }
        guard !base64.isEmpty else { throw APIError.invalid(field, "\(field) is empty") }
        while base64.count % 4 != 0 { base64.append(UInt8(ascii: "=")) }
        guard let data = Data(base64Encoded: Data(base64)), !data.isEmpty else {
            throw APIError.invalid(field, "\(field) is not valid base64")
        }
        return try decode(png: data, field: field, maxSize: maxSize)
    }

    /// Decodes the bytes of an image file (a multipart upload, or a decoded base64 field).
    /// - Throws: `APIError.invalid` as `decode(_:field:maxSize:)` does, for everything after base64.
    public static func decode(png data: Data, field: String, maxSize: Int) throws -> PNGImage {
        if let format = foreignFormat(data) {
            throw APIError.invalid(field, "\(field) is a \(format) image; Diffuse reads PNG only")
        }
        // Check the declared size before decoding, so a tiny file cannot claim a huge image.
        if let (width, height) = declaredSize(data), width > maxSize || height > maxSize {
            throw APIError.invalid(field, "\(field) is \(width)x\(height); the limit is \(maxSize) on each side")
        }
        let image: PNGImage
        do {
            image = try PNGDecoder.decode(data, name: field)
        } catch {
            throw APIError.invalid(field, "\(field) is not a usable PNG image: \(error)")
        }
        guard image.width <= maxSize, image.height <= maxSize else {
            throw APIError.invalid(field, "\(field) is \(image.width)x\(image.height); the limit is \(maxSize) on each side")
        }
        return image
    }

    /// The image as a PNG file, base64 without any prefix (A1111 and OpenAI `b64_json` style).
    public static func base64PNG(_ png: Data) -> String { png.base64EncodedString() }

    /// The image as a `data:image/png;base64,…` URL (for the web page).
    public static func dataURL(_ png: Data) -> String { "data:image/png;base64," + png.base64EncodedString() }

    /// Width and height from a PNG's IHDR chunk, if the data starts like a PNG.
    private static func declaredSize(_ data: Data) -> (Int, Int)? {
        let bytes = [UInt8](data.prefix(24))
        guard bytes.count == 24, bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
              Array(bytes[12 ..< 16]) == Array("IHDR".utf8) else { return nil }
        func be32(_ i: Int) -> Int { bytes[i ..< i + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (be32(16), be32(20))
    }

    /// Names common non-PNG formats by their signature.
    private static func foreignFormat(_ data: Data) -> String? {
        let bytes = [UInt8](data.prefix(12))
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "JPEG" }
        if bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8 ..< 12]) == Array("WEBP".utf8) { return "WebP" }
        if bytes.starts(with: Array("GIF8".utf8)) { return "GIF" }
        if bytes.starts(with: Array("BM".utf8)) { return "BMP" }
        return nil
    }
}
