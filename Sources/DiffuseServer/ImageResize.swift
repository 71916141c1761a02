import DiffuseFormats

/// Stretches init images and masks to the requested output size (A1111's "Just resize").
enum ImageResize {
    /// The image at `width × height` by bilinear interpolation (pixel centres aligned); the same
    /// image when it already has that size.
    static func resized(_ image: PNGImage, width: Int, height: Int) throws -> PNGImage {
        if image.width == width && image.height == height { return image }
        let c = image.channels
        var out = [UInt8](repeating: 0, count: width * height * c)
        let sx = Double(image.width) / Double(width), sy = Double(image.height) / Double(height)
        image.pixels.withUnsafeBufferPointer { src in
            for y in 0 ..< height {
                let fy = Swift.max((Double(y) + 0.5) * sy - 0.5, 0)
                let y0 = Swift.min(Int(fy), image.height - 1), y1 = Swift.min(y0 + 1, image.height - 1)
                let wy = fy - Double(y0)
                for x in 0 ..< width {
                    let fx = Swift.max((Double(x) + 0.5) * sx - 0.5, 0)
                    let x0 = Swift.min(Int(fx), image.width - 1), x1 = Swift.min(x0 + 1, image.width - 1)
                    let wx = fx - Double(x0)
                    for k in 0 ..< c {
                        func at(_ px: Int, _ py: Int) -> Double { Double(src[(py * image.width + px) * c + k]) }
                        let top = at(x0, y0) * (1 - wx) + at(x1, y0) * wx
                        let bottom = at(x0, y1) * (1 - wx) + at(x1, y1) * wx
                        out[(y * width + x) * c + k] = UInt8(Swift.min(Swift.max((top * (1 - wy) + bottom * wy).rounded(), 0), 255))
                    }
                }
            }
        }
        return try PNGImage(width: width, height: height, channels: c, pixels: out)
    }

    /// The mask with black and white swapped (A1111's `inpainting_mask_invert`).
    static func inverted(_ mask: PNGImage) throws -> PNGImage {
        let gray = try mask.converted(toChannels: 1)
        return try PNGImage(width: gray.width, height: gray.height, channels: 1, pixels: gray.pixels.map { 255 - $0 })
    }
}
