import DiffuseModels
import Foundation

/// A rough upper estimate of the working memory one generation needs on top of the loaded
/// weights, and the memory the machine can give it; `DiffusionPipeline.validate` refuses requests
/// whose estimate exceeds what is available instead of letting an allocation fail mid-run.
///
/// The estimate, in bytes (4 per float), with B = images × 2 under guidance, h × w the sample
/// size (image / VAE factor or patch size), cᵢ and Lᵢ the UNet's channels and layers per level i
/// (level i at h/2ⁱ × w/2ⁱ):
///
///     UNet:  4 · B · (Σᵢ cᵢ·hᵢwᵢ·(Lᵢ + 1)  +  40 · maxᵢ cᵢ·hᵢwᵢ)
///            the skip connections kept for the up path, and forty tensors' worth of the largest
///            level (resnet temporaries, attention's q, k, v, GEGLU's 8·c inner width, and the
///            freed buffers the buffer pool keeps for reuse)
///     VAE:   4 · images · 6 · maxᵢ cᵢ·HW/4^max(i−1, 0)   (decoder levels, each upsampled to the
///            next level's size; per tile when decoding in tiles)
///     images: images · H·W · (3 floats + 4 bytes)
///
/// Doubles throughout, so absurd sizes (2⁶⁰ pixels) give a huge estimate, never an overflow.
/// The factors (40, 6) are set so that the estimate covers the peak resident memory measured
/// above that of the loaded model; it overestimates rather than under.
public enum GenerationMemory {
    /// Bytes of working memory for `count` images of `width` × `height` pixels.
    public static func workingBytes(_ model: DiffusionPipeline, width: Int, height: Int, count: Int, guided: Bool) -> Double {
        let factor = model.vaeScaleFactor
        let images = Double(count), batch = images * (guided ? 2 : 1)
        let unet = 4 * batch * unetFloats(model.unet, height: height / factor, width: width / factor)
        let pixels = Double(width) * Double(height)
        var vae = 4 * images * 3 * pixels
        if let autoencoder = model.vae {
            let tiled = model.vaeTiling.map { Double($0.tile * factor) } ?? .infinity
            let decodedPixels = min(Double(width), tiled) * min(Double(height), tiled)
            var widest = 0.0
            for (i, channels) in autoencoder.config.blockOutChannels.enumerated() {
                widest = max(widest, Double(channels) * decodedPixels / pow(4, Double(max(i - 1, 0))))
            }
            vae = 4 * images * 6 * widest
        }
        let output = images * pixels * (3 * 4 + 4)
        return unet + vae + output
    }

    /// Floats of the UNet's activations for one sample of `height` × `width` (its own size:
    /// latents or patches): the skip connections, and forty tensors of the largest level.
    public static func unetFloats(_ unet: any NoisePredictor, height: Int, width: Int) -> Double {
        var skips = 0.0, largest = 0.0
        for (i, level) in unetLevels(unet).enumerated() {
            let area = Double(height) * Double(width) / pow(4, Double(i))
            skips += Double(level.channels) * area * Double(level.layers + 1)
            largest = max(largest, Double(level.channels) * area)
        }
        return skips + 40 * largest
    }

    /// Channels and resnet layers of each UNet level, from the widest resolution down.
    static func unetLevels(_ unet: any NoisePredictor) -> [(channels: Int, layers: Int)] {
        if let u = unet as? UNet2DConditionModel {
            return zip(u.config.blockOutChannels, u.config.layersPerBlock).map { ($0, $1) }
        }
        if let u = unet as? UNet2DModel {
            return u.config.blockOutChannels.map { ($0, u.config.layersPerBlock) }
        }
        return [(64 * unet.inputChannels, 2)]
    }

    /// Bytes the machine can give a new allocation: `MemAvailable` of /proc/meminfo (free memory
    /// plus reclaimable caches), else the physical memory; nil when neither is known.
    public static func availableBytes() -> Double? {
        if let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") {
            return kilobytes * 1024
        }
        let physical = ProcessInfo.processInfo.physicalMemory
        return physical > 0 ? Double(physical) : nil
    }

    /// "12.3 GB" (decimal gigabytes), or "more than 10¹⁵ GB" for absurd estimates.
    public static func describe(_ bytes: Double) -> String {
        bytes < 1e24 ? String(format: "%.1f GB", bytes / 1e9) : "more than 10¹⁵ GB"
    }
}
