import Foundation

/// Encodes `PNGImage`s as 8-bit, non-interlaced PNG.
///
/// Color type follows `channels` (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA). Each row gets the filter
/// (None, Sub, Up, Average or Paeth) whose output has the smallest sum of absolute values when
/// read as signed bytes — the heuristic libpng recommends. Text entries are written before the
/// image data, in order: as `tEXt` when the text is Latin-1, otherwise as uncompressed UTF-8
/// `iTXt` (what Pillow, and so AUTOMATIC1111, do).
public enum PNGEncoder {
    /// The largest IDAT chunk written; longer data is split across several chunks.
    static let idatChunkSize = 1 << 20

    /// Encodes `image`; `compressionLevel` is zlib's 0 (store) ... 9 (smallest).
    /// - Throws: `PNGError.invalidImage` (inconsistent image or bad level), `.invalidText`.
    public static func encode(_ image: PNGImage, compressionLevel: Int = 6) throws -> Data {
        guard (0...9).contains(compressionLevel) else {
            throw PNGError.invalidImage(detail: "compression level must be 0...9, not \(compressionLevel)")
        }
        // Re-validate: the properties are mutable, so the image may have been changed after init.
        let image = try PNGImage(width: image.width, height: image.height, channels: image.channels,
                                 pixels: image.pixels, text: image.text)
        guard image.width <= 0x7FFF_FFFF, image.height <= 0x7FFF_FFFF else {
            throw PNGError.invalidImage(detail: "size \(image.width)x\(image.height) is too large for PNG")
        }

        var out = PNGFormat.signature
        var ihdr: [UInt8] = []
        PNGFormat.appendUInt32(UInt32(image.width), to: &ihdr)
        PNGFormat.appendUInt32(UInt32(image.height), to: &ihdr)
        let colorType: UInt8 = [0, 0, 4, 2, 6][image.channels]
        ihdr += [8, colorType, 0, 0, 0]
        PNGFormat.appendChunk("IHDR", ihdr, to: &out)

        for entry in image.text {
            let keyword = try PNGFormat.validatedKeyword(entry.keyword)
            guard !entry.text.unicodeScalars.contains("\u{0}") else {
                throw PNGError.invalidText(keyword: entry.keyword, detail: "text contains a NUL character")
            }
            if let latin1 = PNGFormat.latin1Bytes(entry.text) {
                PNGFormat.appendChunk("tEXt", keyword + [0] + latin1, to: &out)
            } else {
                // iTXt: keyword NUL, compression flag 0, method 0, empty language NUL, empty
                // translated keyword NUL, UTF-8 text.
                PNGFormat.appendChunk("iTXt", keyword + [0, 0, 0, 0, 0] + Array(entry.text.utf8), to: &out)
            }
        }

        let filtered = filterRows(image)
        guard let compressed = filtered.withUnsafeBytes({ Zlib.deflate($0, level: Int32(compressionLevel)) }) else {
            throw PNGError.invalidImage(detail: "zlib compression failed")
        }
        var start = 0
        repeat {
            let end = min(start + idatChunkSize, compressed.count)
            PNGFormat.appendChunk("IDAT", Array(compressed[start..<end]), to: &out)
            start = end
        } while start < compressed.count
        PNGFormat.appendChunk("IEND", [], to: &out)
        return Data(out)
    }

    /// Filters every row, choosing per row the filter with the minimum sum of absolute
    /// differences; returns the scanlines with their filter bytes.
    private static func filterRows(_ image: PNGImage) -> [UInt8] {
        let bpp = image.channels
        let rowBytes = image.width * bpp
        var out = [UInt8](repeating: 0, count: image.height * (rowBytes + 1))
        var candidate = [UInt8](repeating: 0, count: rowBytes)
        var best = [UInt8](repeating: 0, count: rowBytes)
        let zeros = [UInt8](repeating: 0, count: rowBytes)
        image.pixels.withUnsafeBufferPointer { pixels in
            zeros.withUnsafeBufferPointer { zeroRow in
                for y in 0..<image.height {
                    let cur = pixels.baseAddress! + y * rowBytes
                    let prev = y > 0 ? pixels.baseAddress! + (y - 1) * rowBytes : zeroRow.baseAddress!
                    var bestFilter: UInt8 = 0
                    var bestScore = Int.max
                    for filter in UInt8(0)...4 {
                        let score = candidate.withUnsafeMutableBufferPointer { c in
                            apply(filter, cur: cur, prev: prev, count: rowBytes, bpp: bpp, into: c.baseAddress!)
                        }
                        if score < bestScore {
                            bestScore = score
                            bestFilter = filter
                            swap(&best, &candidate)
                        }
                    }
                    let base = y * (rowBytes + 1)
                    out[base] = bestFilter
                    out.withUnsafeMutableBufferPointer { o in
                        best.withUnsafeBufferPointer { b in
                            (o.baseAddress! + base + 1).update(from: b.baseAddress!, count: rowBytes)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Applies one filter to a row; returns the sum of the outputs' absolute values as signed bytes.
    private static func apply(_ filter: UInt8, cur: UnsafePointer<UInt8>, prev: UnsafePointer<UInt8>,
                              count: Int, bpp: Int, into dst: UnsafeMutablePointer<UInt8>) -> Int {
        var score = 0
        for i in 0..<count {
            let left = i >= bpp ? cur[i - bpp] : 0
            let upLeft = i >= bpp ? prev[i - bpp] : 0
            let predicted: UInt8
            switch filter {
            case 0: predicted = 0
            case 1: predicted = left
            case 2: predicted = prev[i]
            case 3: predicted = UInt8((UInt16(left) + UInt16(prev[i])) >> 1)
            default: predicted = paeth(left, prev[i], upLeft)
            }
            let v = cur[i] &- predicted
            dst[i] = v
            score += abs(Int(Int8(bitPattern: v)))
        }
        return score
    }
}
