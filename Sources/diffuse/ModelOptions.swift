import ArgumentParser
import DiffuseNN
import DiffusePipelines
import Foundation

/// The options that choose and load a model, shared by `generate`, `serve`, `eval`, `bench` and
/// `index-captions`.
struct ModelOptions: ParsableArguments {
    @Option(help: "A diffusers folder or a single-file SD 1.x / 2.x .safetensors checkpoint (default: the bundled text-to-emoji model).")
    var model: String?

    @Option(help: "CLIP tokenizer folder for single-file checkpoints.")
    var tokenizer: String?

    /// What a single-file SD 2.x UNet predicts (the file does not say).
    enum PredictionType: String, CaseIterable, ExpressibleByArgument {
        case epsilon
        case vPrediction = "v_prediction"
    }

    @Option(help: "Single-file SD 2.x checkpoints: epsilon for the 512² base models (default v_prediction, as stable-diffusion-2-1).")
    var predictionType: PredictionType?

    @Option(help: "Decode the image in tiles of N×N latent pixels (N×8 image pixels for Stable Diffusion), blended over a quarter tile: bounds the VAE's memory for large images (e.g. 64).")
    var vaeTile: Int?

    @Option(help: ArgumentHelp("Decode (and encode init images) with this autoencoder instead of the model's: a diffusers AutoencoderTiny folder (TAESD: a 512² image in a fraction of the VAE's time), TAESD's own taesd_decoder.safetensors, or another AutoencoderKL folder.",
                               valueName: "path"))
    var vae: String?

    @Option(help: "How to keep the weights in memory: float32, or float16 (half the memory, converted layer by layer as they are used; lossless for float16 checkpoints).")
    var weights: WeightPrecision = .float32

    /// The model's folder or file: `--model`, else the bundled model's folder.
    func location() throws -> URL {
        try model.map { URL(fileURLWithPath: $0) } ?? ModelLocation.defaultModel()
    }

    /// Loads the model (`ModelLocation.load`) and sets its tiled VAE decoding.
    func load() throws -> DiffusionPipeline {
        let pipeline = try ModelLocation.load(model, tokenizer: tokenizer, weights: weights, predictionType: predictionType?.rawValue)
        if let vae {
            do {
                try pipeline.replaceDecoder(LatentDecoders.load(from: URL(fileURLWithPath: vae), precision: weights), source: vae)
            } catch let error as PipelineError {
                throw CLIError("--vae: \(error.description)")
            }
        }
        if let vaeTile { pipeline.vaeTiling = try TiledDecoding(tile: vaeTile) }
        return pipeline
    }
}
