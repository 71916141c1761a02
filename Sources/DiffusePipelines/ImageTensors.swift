import DiffuseFormats
import DiffuseTensor

/// Conversions between 8-bit images and the pipelines' tensors.
public enum ImageTensors {
    /// RGB image → `[1, 3, H, W]` in [-1, 1] (diffusers' `VaeImageProcessor.preprocess`).
    public static func tensor(from image: PNGImage) throws -> Tensor {
        let rgb = try image.converted(toChannels: 3)
        let (w, h) = (rgb.width, rgb.height)
        var values = [Float](repeating: 0, count: 3 * h * w)
        rgb.pixels.withUnsafeBufferPointer { p in
            for y in 0 ..< h {
                for x in 0 ..< w {
                    for c in 0 ..< 3 {
                        values[(c * h + y) * w + x] = Float(p[(y * w + x) * 3 + c]) / 255 * 2 - 1
                    }
                }
            }
        }
        return Tensor(shape: [1, 3, h, w], values)
    }

    /// Gray mask → `[1, 1, H, W]` in {0, 1}: diffusers binarizes at 0.5 (white = 1 = repaint).
    public static func mask(from image: PNGImage) throws -> Tensor {
        let gray = try image.converted(toChannels: 1)
        return Tensor(shape: [1, 1, gray.height, gray.width], gray.pixels.map { Float($0) / 255 < 0.5 ? 0 : 1 })
    }

    /// `[N, 3, H, W]` in about [-1, 1] → N RGB images: `round(clamp(x/2 + 0.5, 0, 1) · 255)`.
    ///
    /// - Throws: `PipelineError` when a value is NaN or infinite (a diverged model, infinite
    ///   guidance, a broken scheduler config): such a sample has no image.
    public static func images(from tensor: Tensor) throws -> [PNGImage] {
        let (n, h, w) = (tensor.shape[0], tensor.shape[2], tensor.shape[3])
        let x = tensor.contiguous()
        let bad = UnsafeBufferPointer(start: x.pointer, count: x.count).lazy.filter { !$0.isFinite }.count
        guard bad == 0 else {
            throw PipelineError("the generated image has \(bad) non-finite values (NaN or infinity) of \(x.count): the model, its weights or the guidance scale diverged")
        }
        return try (0 ..< n).map { i in
            var pixels = [UInt8](repeating: 0, count: h * w * 3)
            let base = x.pointer + i * 3 * h * w
            for c in 0 ..< 3 {
                for p in 0 ..< h * w {
                    let v = Swift.min(Swift.max(base[c * h * w + p] / 2 + 0.5, 0), 1)
                    pixels[p * 3 + c] = UInt8((v * 255).rounded(.toNearestOrEven))
                }
            }
            return try PNGImage(width: w, height: h, channels: 3, pixels: pixels)
        }
    }
}
