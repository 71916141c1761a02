import Foundation

/// Decodes PNG files (ISO/IEC 15948) to 8-bit `PNGImage`s, using zlib for inflation.
///
/// Supported: every standard color type and bit depth (gray 1/2/4/8/16, RGB 8/16, palette
/// 1/2/4/8, gray+alpha 8/16, RGBA 8/16), all five filter types, Adam7 interlacing, `PLTE`, `tRNS`
/// and the `tEXt`, `zTXt` and `iTXt` text chunks. Other ancillary chunks (gAMA, iCCP, pHYs, …) are
/// skipped; color management is not applied.
///
/// Output layout (`PNGImage.channels`):
/// - gray → 1 channel; with a `tRNS` gray key → 2 (gray + alpha, the key color gets alpha 0);
/// - RGB → 3; with a `tRNS` color key → 4;
/// - palette → 3 (RGB); with `tRNS` → 4 (RGBA; entries beyond the `tRNS` list are opaque);
/// - gray + alpha → 2; RGBA → 4.
///
/// Sample scaling to 8 bits: 1/2/4-bit gray is scaled exactly to 0...255 (×255, ×85, ×17);
/// 16-bit samples are rounded to the nearest 8-bit value, `(v * 255 + 32895) >> 16`, which equals
/// `round(v / 257)`.
///
/// Validation: signature; every chunk's length, type code and CRC-32; IHDR first, with valid
/// size, bit depth / color type combination, compression, filter and interlace methods; PLTE and
/// tRNS sizes and positions; unknown critical chunks rejected; the decompressed data must be long
/// enough (extra trailing data is ignored) and use valid filter types; palette indices must be in
/// range. `IEND` is required. Malformed ancillary text chunks are skipped rather than fatal.
public enum PNGDecoder {
    /// The largest accepted width or height.
    public static let maxDimension = 16384
    /// The default largest `width * height`: 64 Mpixel (2^26), 256 MB as RGBA bytes, so a small
    /// file that inflates to gigabytes (a decompression bomb) is refused from its IHDR.
    public static let defaultMaxPixels = 1 << 26

    /// Decodes PNG `data`. `name` (usually the path) is used in error messages.
    /// - Parameter maxPixels: the largest `width * height` accepted, checked from the IHDR before
    ///   any image data is inflated.
    /// - Throws: `PNGError` (`imageTooLarge` beyond `maxPixels` or `maxDimension` per side).
    public static func decode(_ data: Data, name: String, maxPixels: Int = defaultMaxPixels) throws -> PNGImage {
        try data.withUnsafeBytes { try decode(bytes: $0, name: name, maxPixels: maxPixels) }
    }

    // MARK: - Chunk walk

    struct Header {
        var width = 0, height = 0, bitDepth = 0, colorType = 0, interlaced = false

        var samplesPerPixel: Int {
            switch colorType {
            case 2: return 3
            case 4: return 2
            case 6: return 4
            default: return 1
            }
        }
        var bitsPerPixel: Int { samplesPerPixel * bitDepth }
        /// Bytes per complete pixel for filtering (at least 1).
        var filterStride: Int { max(1, bitsPerPixel / 8) }
        func rowBytes(_ width: Int) -> Int { (width * bitsPerPixel + 7) / 8 }
    }

    private static func decode(bytes: UnsafeRawBufferPointer, name: String, maxPixels: Int) throws -> PNGImage {
        guard bytes.count >= 8, PNGFormat.signature.elementsEqual(bytes[0..<8]) else {
            throw PNGError.notPNG(file: name)
        }
        var header: Header? = nil
        var palette: [UInt8] = []      // RGB triples
        var transparency: [UInt8]? = nil
        var idat: [UInt8] = []
        var seenIDAT = false
        var text: [PNGTextEntry] = []
        var pos = 8
        chunkLoop: while true {
            guard bytes.count - pos >= 8 else {
                throw PNGError.truncated(file: name, detail: pos == bytes.count
                    ? "no IEND chunk" : "incomplete chunk header at byte \(pos)")
            }
            let length = Int(PNGFormat.readUInt32(bytes, pos))
            let typeBytes = UnsafeRawBufferPointer(rebasing: bytes[(pos + 4)..<(pos + 8)])
            let type = PNGFormat.typeName(typeBytes)
            guard typeBytes.allSatisfy({ ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A }) else {
                throw PNGError.badChunk(file: name, chunk: type, detail: "invalid chunk type code at byte \(pos + 4)")
            }
            guard length <= 0x7FFF_FFFF else {
                throw PNGError.badChunk(file: name, chunk: type, detail: "length \(length) exceeds 2^31-1")
            }
            guard bytes.count - pos - 8 >= length + 4 else {
                throw PNGError.truncated(file: name,
                    detail: "chunk \(type) at byte \(pos) needs \(length + 12) bytes, only \(bytes.count - pos) remain")
            }
            let body = UnsafeRawBufferPointer(rebasing: bytes[(pos + 8)..<(pos + 8 + length)])
            let stored = PNGFormat.readUInt32(bytes, pos + 8 + length)
            let computed = Zlib.crc32(body, crc: Zlib.crc32(typeBytes))
            guard stored == computed else {
                throw PNGError.crcMismatch(file: name, chunk: type, stored: stored, computed: computed)
            }
            pos += 12 + length

            if header == nil && type != "IHDR" {
                throw PNGError.badIHDR(file: name, detail: "first chunk is \(type), not IHDR")
            }
            switch type {
            case "IHDR":
                guard header == nil else { throw PNGError.badChunk(file: name, chunk: type, detail: "more than one IHDR") }
                header = try parseHeader(body, name: name, maxPixels: maxPixels)
            case "PLTE":
                guard let h = header, !seenIDAT, palette.isEmpty else {
                    throw PNGError.badChunk(file: name, chunk: type, detail: "PLTE after IDAT or repeated")
                }
                guard h.colorType != 0, h.colorType != 4 else {
                    throw PNGError.badChunk(file: name, chunk: type, detail: "PLTE is not allowed in a grayscale image")
                }
                guard length % 3 == 0, (3...768).contains(length) else {
                    throw PNGError.badChunk(file: name, chunk: type, detail: "length \(length) is not 3...768 and a multiple of 3")
                }
                if h.colorType == 3 && length / 3 > 1 << h.bitDepth {
                    throw PNGError.badChunk(file: name, chunk: type,
                        detail: "\(length / 3) entries is too many for bit depth \(h.bitDepth)")
                }
                palette = Array(body)
            case "tRNS":
                guard let h = header, !seenIDAT, transparency == nil else {
                    throw PNGError.badChunk(file: name, chunk: type, detail: "tRNS after IDAT or repeated")
                }
                transparency = try parseTransparency(body, header: h, paletteCount: palette.count / 3, name: name)
            case "IDAT":
                seenIDAT = true
                idat.append(contentsOf: body)
            case "IEND":
                break chunkLoop
            case "tEXt", "zTXt", "iTXt":
                if let entry = parseText(type, body) { text.append(entry) }
            default:
                if typeBytes[0] & 0x20 == 0 {
                    throw PNGError.unsupported(file: name, detail: "unknown critical chunk \(type)")
                }
            }
        }
        guard let h = header else { throw PNGError.missingChunk(file: name, chunk: "IHDR") }
        guard seenIDAT else { throw PNGError.missingChunk(file: name, chunk: "IDAT") }
        if h.colorType == 3 && palette.isEmpty { throw PNGError.missingChunk(file: name, chunk: "PLTE") }
        if h.colorType != 3 { palette = [] }  // a suggested palette for truecolor images is not used

        var raw = try inflateImageData(idat, header: h, name: name)
        idat = []
        let pixels = try PNGPixelDecoder(header: h, palette: palette, transparency: transparency, name: name)
            .decode(&raw)
        return PNGImage(uncheckedWidth: h.width, height: h.height, channels: pixels.channels,
                        pixels: pixels.samples, text: text)
    }

    private static func parseHeader(_ body: UnsafeRawBufferPointer, name: String, maxPixels: Int) throws -> Header {
        guard body.count == 13 else { throw PNGError.badIHDR(file: name, detail: "length is \(body.count), not 13") }
        let width = Int(PNGFormat.readUInt32(body, 0))
        let height = Int(PNGFormat.readUInt32(body, 4))
        guard width > 0, height > 0, width <= 0x7FFF_FFFF, height <= 0x7FFF_FFFF else {
            throw PNGError.badIHDR(file: name, detail: "invalid size \(width)x\(height)")
        }
        let bitDepth = Int(body[8]), colorType = Int(body[9])
        let allowed: [Int]
        switch colorType {
        case 0: allowed = [1, 2, 4, 8, 16]
        case 3: allowed = [1, 2, 4, 8]
        case 2, 4, 6: allowed = [8, 16]
        default: throw PNGError.badIHDR(file: name, detail: "invalid color type \(colorType)")
        }
        guard allowed.contains(bitDepth) else {
            throw PNGError.unsupported(file: name, detail: "bit depth \(bitDepth) is not valid for color type \(colorType)")
        }
        guard body[10] == 0 else { throw PNGError.badIHDR(file: name, detail: "unknown compression method \(body[10])") }
        guard body[11] == 0 else { throw PNGError.badIHDR(file: name, detail: "unknown filter method \(body[11])") }
        guard body[12] <= 1 else { throw PNGError.badIHDR(file: name, detail: "unknown interlace method \(body[12])") }
        guard width <= maxDimension, height <= maxDimension, width * height <= maxPixels else {
            throw PNGError.imageTooLarge(file: name, width: width, height: height, maxPixels: maxPixels)
        }
        return Header(width: width, height: height, bitDepth: bitDepth, colorType: colorType, interlaced: body[12] == 1)
    }

    private static func parseTransparency(_ body: UnsafeRawBufferPointer, header h: Header, paletteCount: Int,
                                          name: String) throws -> [UInt8] {
        switch h.colorType {
        case 3:
            guard paletteCount > 0 else { throw PNGError.badChunk(file: name, chunk: "tRNS", detail: "tRNS before PLTE") }
            guard body.count <= paletteCount else {
                throw PNGError.badChunk(file: name, chunk: "tRNS", detail: "\(body.count) entries for a \(paletteCount)-color palette")
            }
        case 0:
            guard body.count == 2 else { throw PNGError.badChunk(file: name, chunk: "tRNS", detail: "length \(body.count), expected 2") }
        case 2:
            guard body.count == 6 else { throw PNGError.badChunk(file: name, chunk: "tRNS", detail: "length \(body.count), expected 6") }
        default:
            throw PNGError.badChunk(file: name, chunk: "tRNS", detail: "not allowed for color type \(h.colorType) (has alpha)")
        }
        return Array(body)
    }

    /// Inflates the concatenated IDAT data to the exact size the header implies.
    private static func inflateImageData(_ idat: [UInt8], header h: Header, name: String) throws -> [UInt8] {
        var expected = 0
        if h.interlaced {
            for pass in PNGFormat.adam7 {
                let w = PNGFormat.passExtent(h.width, start: pass.x0, step: pass.dx)
                let rows = PNGFormat.passExtent(h.height, start: pass.y0, step: pass.dy)
                if w > 0 && rows > 0 { expected += rows * (1 + h.rowBytes(w)) }
            }
        } else {
            expected = h.height * (1 + h.rowBytes(h.width))
        }
        do {
            return try idat.withUnsafeBytes { try Zlib.inflate($0, expected: expected) }
        } catch let error as Zlib.InflateError {
            switch error {
            case .corrupt(let message):
                throw PNGError.decompressionFailed(file: name, chunk: "IDAT", detail: message)
            case .truncated(let produced):
                throw PNGError.decompressionFailed(file: name, chunk: "IDAT",
                    detail: "zlib stream ends early after \(produced) of \(expected) bytes")
            case .tooShort(let produced, _):
                throw PNGError.corruptImageData(file: name, detail: "decompressed data is \(produced) bytes, expected \(expected)")
            case .tooLong(let limit):
                throw PNGError.decompressionFailed(file: name, chunk: "IDAT", detail: "more than \(limit) bytes")
            }
        }
    }

    /// Parses a text chunk; nil if malformed (text chunks are ancillary, so they are skipped).
    private static func parseText(_ type: String, _ body: UnsafeRawBufferPointer) -> PNGTextEntry? {
        guard let nul = body.firstIndex(of: 0), (1...79).contains(nul) else { return nil }
        let keyword = PNGFormat.latin1String(body[0..<nul])
        let rest = UnsafeRawBufferPointer(rebasing: body[(nul + 1)...])
        switch type {
        case "tEXt":
            return PNGTextEntry(keyword: keyword, text: PNGFormat.latin1String(rest))
        case "zTXt":
            guard rest.count >= 1, rest[0] == 0,
                  let inflated = try? Zlib.inflate(UnsafeRawBufferPointer(rebasing: rest[1...]),
                                                   limit: PNGFormat.maxInflatedTextBytes)
            else { return nil }
            return PNGTextEntry(keyword: keyword, text: PNGFormat.latin1String(inflated))
        default:  // iTXt: flag, method, language NUL, translated keyword NUL, UTF-8 text
            guard rest.count >= 2 else { return nil }
            let compressed = rest[0] == 1
            guard rest[0] <= 1, rest[1] == 0 else { return nil }
            let afterFlags = UnsafeRawBufferPointer(rebasing: rest[2...])
            guard let languageEnd = afterFlags.firstIndex(of: 0) else { return nil }
            let afterLanguage = UnsafeRawBufferPointer(rebasing: afterFlags[(languageEnd + 1)...])
            guard let translatedEnd = afterLanguage.firstIndex(of: 0) else { return nil }
            let payload = UnsafeRawBufferPointer(rebasing: afterLanguage[(translatedEnd + 1)...])
            let utf8: [UInt8]
            if compressed {
                guard let inflated = try? Zlib.inflate(payload, limit: PNGFormat.maxInflatedTextBytes) else { return nil }
                utf8 = inflated
            } else {
                utf8 = Array(payload)
            }
            guard utf8.withUnsafeBytes({ isValidUTF8($0) }) else { return nil }
            return PNGTextEntry(keyword: keyword, text: String(decoding: utf8, as: UTF8.self))
        }
    }
}
