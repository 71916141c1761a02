import DiffuseFormats
import Foundation

/// Turns an emoji bitmap into a square RGB training image.
///
/// 1. **Composite on white** in sRGB (gamma-encoded) values, `(c·a + 255·(255 − a)) / 255` rounded
///    — how a browser or an OS draws the emoji on a white page, so the antialiased edges look as
///    designed (the formula of `PNGImage.converted(toChannels: 3, background: 255)`).
/// 2. **Pad to a square** with white, the image centered (an odd margin puts the extra pixel on the
///    right or bottom). Noto's 136×128 bitmaps get 4 white rows above and below.
/// 3. **Area-average** (box filter with exact fractional pixel coverage) down to `size`×`size` in
///    **linear light**: each output pixel is the mean of the source area it covers, computed on
///    linearised sRGB values and encoded back to sRGB. Averaging light rather than gamma-encoded
///    numbers keeps thin dark outlines and bright highlights at their true brightness (averaging
///    sRGB numbers darkens high-contrast edges); area averaging has no ringing, so flat colors stay
///    exact and nothing overshoots. It is separable: rows, then columns. Upsampling (a `size`
///    larger than the image) works too and then acts as a box-shaped interpolation.
///
/// Deterministic: the same input gives the same bytes on every run and machine (IEEE float
/// arithmetic in a fixed order, no threading inside one image).
public enum EmojiThumbnail {
    /// The square RGB (3-channel, 8-bit) image of `image` at `size`×`size` (1...4096).
    /// - Throws: `PNGError.invalidImage` for a bad `size`.
    public static func make(_ image: PNGImage, size: Int) throws -> PNGImage {
        guard (1...4096).contains(size) else { throw PNGError.invalidImage(detail: "thumbnail size must be 1...4096, not \(size)") }
        let rgba = try image.converted(toChannels: 4)  // no copy for RGBA input
        let width = rgba.width, height = rgba.height
        let side = max(width, height)
        let left = (side - width) / 2, top = (side - height) / 2

        // Composite over white in sRGB, then linearise, into a white (1.0) padded square.
        var square = [Float](repeating: 1, count: side * side * 3)
        let decode = srgbToLinear
        rgba.pixels.withUnsafeBufferPointer { src in
            square.withUnsafeMutableBufferPointer { dst in
                decode.withUnsafeBufferPointer { lut in
                    for y in 0..<height {
                        var s = y * width * 4, d = ((y + top) * side + left) * 3
                        for _ in 0..<width {
                            let a = Int(src[s + 3]), white = 255 * (255 - a) + 127
                            dst[d] = lut[(Int(src[s]) * a + white) / 255]
                            dst[d + 1] = lut[(Int(src[s + 1]) * a + white) / 255]
                            dst[d + 2] = lut[(Int(src[s + 2]) * a + white) / 255]
                            s += 4
                            d += 3
                        }
                    }
                }
            }
        }

        let taps = BoxTaps(from: side, to: size)
        let first = taps.first, count = taps.count, weights = taps.weights, stride = taps.stride
        // Horizontal: side rows × size columns.
        var rows = [Float](repeating: 0, count: side * size * 3)
        square.withUnsafeBufferPointer { src in
            rows.withUnsafeMutableBufferPointer { dst in
                for y in 0..<side {
                    for x in 0..<size {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        var s = (y * side + first[x]) * 3
                        for k in 0..<count[x] {
                            let w = weights[x * stride + k]
                            r += w * src[s]; g += w * src[s + 1]; b += w * src[s + 2]
                            s += 3
                        }
                        let d = (y * size + x) * 3
                        dst[d] = r; dst[d + 1] = g; dst[d + 2] = b
                    }
                }
            }
        }
        // Vertical: size × size, encoded to sRGB bytes.
        var out = [UInt8](repeating: 0, count: size * size * 3)
        let encode = thresholds, guesses = encodeGuesses
        rows.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                encode.withUnsafeBufferPointer { t in
                  guesses.withUnsafeBufferPointer { guess in
                for y in 0..<size {
                    for x in 0..<size {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        var s = (first[y] * size + x) * 3
                        for k in 0..<count[y] {
                            let w = weights[y * stride + k]
                            r += w * src[s]; g += w * src[s + 1]; b += w * src[s + 2]
                            s += size * 3
                        }
                        let d = (y * size + x) * 3
                        dst[d] = linearToSRGB(r, t, guess); dst[d + 1] = linearToSRGB(g, t, guess)
                        dst[d + 2] = linearToSRGB(b, t, guess)
                    }
                }
                  }
                }
            }
        }
        return try PNGImage(width: size, height: size, channels: 3, pixels: out)
    }

    /// The box filter along one axis: for each of `outCount` output pixels over `inCount` source
    /// pixels, the first source pixel it covers and the normalized coverage of each covered pixel
    /// (`count[j]` weights at `weights[j * stride]`).
    struct BoxTaps {
        var first: [Int] = []
        var count: [Int] = []
        var weights: [Float] = []
        var stride = 0

        init(from inCount: Int, to outCount: Int) {
            let scale = Double(inCount) / Double(outCount)
            stride = Int(scale.rounded(.up)) + 1
            weights = [Float](repeating: 0, count: outCount * stride)
            for j in 0..<outCount {
                let lo = Double(j) * scale, hi = Double(j + 1) * scale
                let start = Int(lo.rounded(.down))
                let end = min(inCount - 1, Int(hi.rounded(.up)) - 1)
                first.append(start)
                count.append(max(start, end) - start + 1)
                for i in start...max(start, end) {
                    let overlap = min(hi, Double(i + 1)) - max(lo, Double(i))
                    weights[j * stride + (i - start)] = Float(max(0, overlap) / scale)
                }
            }
        }
    }

    /// The sRGB transfer function's inverse for each 8-bit value (IEC 61966-2-1).
    static let srgbToLinear: [Float] = (0..<256).map { v in
        let c = Double(v) / 255
        return Float(c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4))
    }

    /// `srgbToLinear` at the midpoints between consecutive 8-bit values: value `k` is the first
    /// whose upper threshold `thresholds[k]` (the linear value of sRGB `(k + 0.5) / 255`) exceeds the
    /// input.
    static let thresholds: [Float] = (0..<255).map { k in
        let c = (Double(k) + 0.5) / 255
        return Float(c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4))
    }

    /// The number of bins of `encodeGuesses`.
    static let guessBins = 4096

    /// For each bin `[i, i + 1) / guessBins` of linear values, the 8-bit sRGB value of its lower
    /// end: a starting point from which `linearToSRGB` steps up over at most a few thresholds.
    static let encodeGuesses: [UInt8] = (0..<guessBins).map { i in
        let v = Float(i) / Float(guessBins)
        return UInt8(thresholds.firstIndex { v < $0 } ?? 255)
    }

    /// Linear light (0...1) → 8-bit sRGB rounded to the nearest value, clamped: the smallest `k`
    /// with `value < thresholds[k]` (255 if none), found from the bin's guess. Exact (the same
    /// result as `round(255 · sRGB(value))`), with no `pow` per sample.
    @inline(__always)
    static func linearToSRGB(_ value: Float, _ t: UnsafeBufferPointer<Float>, _ guess: UnsafeBufferPointer<UInt8>) -> UInt8 {
        let bin = Int(min(max(value, 0), 1) * Float(guessBins))
        var k = Int(guess[min(bin, guessBins - 1)])
        while k < 255 && value >= t[k] { k += 1 }
        while k > 0 && value < t[k - 1] { k -= 1 }  // only if float rounding put `value` in the next bin
        return UInt8(k)
    }
}
