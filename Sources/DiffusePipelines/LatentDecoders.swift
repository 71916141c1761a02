import DiffuseFormats
import DiffuseModels
import DiffuseNN
import Foundation

/// Loads an autoencoder given on its own (`diffuse generate --vae PATH`) as a `LatentDecoder`.
public enum LatentDecoders {
    /// `url` is a diffusers `AutoencoderTiny` folder (TAESD, TAESDXL), TAESD's own
    /// `taesd_decoder.safetensors` (with `taesd_encoder.safetensors` beside it, if there), a folder
    /// holding those, or a diffusers `AutoencoderKL` folder (a replacement Stable Diffusion VAE):
    /// the folder's `config.json` `_class_name` decides.
    /// - Throws: `PipelineError` naming the file and the class it does not load.
    public static func load(from url: URL, precision: WeightPrecision = .float32) throws -> any LatentDecoder {
        let configURL = url.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            return try AutoencoderTinyDecoder.load(from: url, precision: precision)
        }
        let config = try ModelConfig(contentsOf: configURL)
        switch try config.string("_class_name", default: "") {
        case "AutoencoderTiny":
            return try AutoencoderTinyDecoder.load(from: url, precision: precision)
        case "AutoencoderKL":
            let vae = AutoencoderKL(config: try AutoencoderKLConfig(config))
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted()
                .filter { $0.hasPrefix("diffusion_pytorch_model") && $0.hasSuffix(".safetensors") }
            guard !files.isEmpty else {
                throw PipelineError("\(url.path) has no diffusion_pytorch_model*.safetensors for its AutoencoderKL")
            }
            try vae.load(from: SafeTensorsWeights(files.map { url.appendingPathComponent($0) }), precision: precision)
            vae.packConvolutionWeights()
            return AutoencoderKLDecoder(vae)
        case let other:
            throw PipelineError("\(configURL.path): _class_name \(other.isEmpty ? "(none)" : other) is not an autoencoder Diffuse loads (AutoencoderTiny or AutoencoderKL)")
        }
    }
}
