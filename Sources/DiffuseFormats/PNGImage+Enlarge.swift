extension PNGImage {
    /// The image enlarged by an integer `factor` with nearest-neighbour sampling (each pixel
    /// becomes a factor × factor block, so small images stay crisp); text chunks are kept.
    /// - Throws: `PNGError` if the enlarged image would be invalid (factor < 1 or too large).
    public func enlarged(by factor: Int) throws -> PNGImage {
        if factor == 1 { return self }
        guard factor > 1 else { throw PNGError.invalidImage(detail: "enlargement factor \(factor) is below 1") }
        let bytesPerPixel = pixels.count / Swift.max(1, width * height)
        let (w, h) = (width * factor, height * factor)
        var out = [UInt8](repeating: 0, count: w * h * bytesPerPixel)
        for y in 0 ..< h {
            let sourceRow = (y / factor) * width
            for x in 0 ..< w {
                let s = (sourceRow + x / factor) * bytesPerPixel, d = (y * w + x) * bytesPerPixel
                for c in 0 ..< bytesPerPixel { out[d + c] = pixels[s + c] }
            }
        }
        return try PNGImage(width: w, height: h, channels: channels, pixels: out, text: text)
    }
}
