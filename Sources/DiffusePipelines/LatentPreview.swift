import DiffuseFormats
import DiffuseTensor

/// A cheap RGB approximation of Stable Diffusion latents, for live previews: each latent pixel
/// becomes one RGB pixel through a fixed 4 → 3 linear map (AUTOMATIC1111's "Approx cheap"
/// coefficients, fitted to the SD 1.x / 2.x KL-f8 VAE), far cheaper than a VAE decode.
public enum LatentPreview {
    /// Row `c` gives latent channel `c`'s contribution to (R, G, B); the sum lands in about [-1, 1].
    public static let factors: [[Float]] = [
        [0.298, 0.207, 0.208],
        [0.187, 0.286, 0.173],
        [-0.158, 0.189, 0.264],
        [-0.184, -0.271, -0.473],
    ]

    /// Image `index` of `[N, 4, h, w]` latents (as `GenerationProgress.latents` gives them) as an
    /// `w × h` RGB image: `round(clamp((Σ latent[c] · factors[c] + 1) / 2, 0, 1) · 255)`.
    ///
    /// - Throws: `PipelineError` if the latents are not `[N, 4, h, w]` or `index` is out of range.
    public static func image(from latents: Tensor, index: Int = 0) throws -> PNGImage {
        guard latents.rank == 4, latents.shape[1] == factors.count else {
            throw PipelineError("latent preview needs [N, 4, h, w] latents, got \(latents.shape)")
        }
        guard (0 ..< latents.shape[0]).contains(index) else {
            throw PipelineError("latent preview index \(index) is outside 0..<\(latents.shape[0])")
        }
        let (h, w) = (latents.shape[2], latents.shape[3])
        let x = latents.narrowed(axis: 0, start: index, length: 1).contiguous()
        let plane = h * w
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        let base = x.pointer
        for p in 0 ..< plane {
            for rgb in 0 ..< 3 {
                var v: Float = 0
                for c in 0 ..< factors.count { v += base[c * plane + p] * factors[c][rgb] }
                if v.isNaN { v = 0 }  // a diverged sampler must not crash the preview
                let unit = Swift.min(Swift.max((v + 1) / 2, 0), 1)
                pixels[p * 3 + rgb] = UInt8((unit * 255).rounded())
            }
        }
        return try PNGImage(width: w, height: h, channels: 3, pixels: pixels)
    }
}
