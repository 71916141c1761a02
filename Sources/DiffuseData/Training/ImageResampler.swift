import DiffuseFormats

/// Resizes training images: the short side to `size` by area averaging in linear light (the
/// filter `EmojiThumbnail` uses; box interpolation when enlarging), then the center `size`×`size`
/// square (what diffusers' training scripts do with `Resize` + `CenterCrop`). RGB output,
/// alpha composited on white.
public enum ImageResampler {
    public static func resizeAndCenterCrop(_ image: PNGImage, size: Int) throws -> PNGImage {
        let rgb = try image.converted(toChannels: 3, background: 255)
        let (w, h) = (rgb.width, rgb.height)
        let scale = Double(size) / Double(Swift.min(w, h))
        let newW = Swift.max(size, Int((Double(w) * scale).rounded())), newH = Swift.max(size, Int((Double(h) * scale).rounded()))
        let lut = EmojiThumbnail.srgbToLinear
        var linear = [Float](repeating: 0, count: w * h * 3)
        for i in 0 ..< w * h * 3 { linear[i] = lut[Int(rgb.pixels[i])] }
        // Columns (w → newW), then rows (h → newH), only over the kept crop window.
        let cols = EmojiThumbnail.BoxTaps(from: w, to: newW), rows = EmojiThumbnail.BoxTaps(from: h, to: newH)
        let left = (newW - size) / 2, top = (newH - size) / 2
        var horizontal = [Float](repeating: 0, count: h * size * 3)
        for y in 0 ..< h {
            for x in 0 ..< size {
                let j = x + left
                var acc = (Float(0), Float(0), Float(0))
                for k in 0 ..< cols.count[j] {
                    let wgt = cols.weights[j * cols.stride + k], s = (y * w + cols.first[j] + k) * 3
                    acc.0 += wgt * linear[s]; acc.1 += wgt * linear[s + 1]; acc.2 += wgt * linear[s + 2]
                }
                let d = (y * size + x) * 3
                horizontal[d] = acc.0; horizontal[d + 1] = acc.1; horizontal[d + 2] = acc.2
            }
        }
        var out = [UInt8](repeating: 0, count: size * size * 3)
        let thresholds = EmojiThumbnail.thresholds, guesses = EmojiThumbnail.encodeGuesses
        thresholds.withUnsafeBufferPointer { t in
            guesses.withUnsafeBufferPointer { g in
                for y in 0 ..< size {
                    let j = y + top
                    for x in 0 ..< size {
                        var acc = (Float(0), Float(0), Float(0))
                        for k in 0 ..< rows.count[j] {
                            let wgt = rows.weights[j * rows.stride + k], s = ((rows.first[j] + k) * size + x) * 3
                            acc.0 += wgt * horizontal[s]; acc.1 += wgt * horizontal[s + 1]; acc.2 += wgt * horizontal[s + 2]
                        }
                        let d = (y * size + x) * 3
                        out[d] = EmojiThumbnail.linearToSRGB(acc.0, t, g)
                        out[d + 1] = EmojiThumbnail.linearToSRGB(acc.1, t, g)
                        out[d + 2] = EmojiThumbnail.linearToSRGB(acc.2, t, g)
                    }
                }
            }
        }
        return try PNGImage(width: size, height: size, channels: 3, pixels: out)
    }
}
