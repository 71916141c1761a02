import ArgumentParser
import DiffuseNN
import DiffusePipelines

/// The options that choose and load a model, shared by `generate` and `serve`.
struct ModelOptions: ParsableArguments {
    @Option(help: "A diffusers folder or a single-file SD 1.x / 2.x .safetensors checkpoint (default: the bundled text-to-emoji model).")
    var model: String?

    @Option(help: "CLIP tokenizer folder for single-file checkpoints.")
    var tokenizer: String?

    @Option(help: "Single-file SD 2.x checkpoints: epsilon for the 512² base models (default v_prediction, as stable-diffusion-2-1).")
    var predictionType: String?

    @Option(help: "Decode the image in tiles of N×N latent pixels (N×8 image pixels for Stable Diffusion), blended over a quarter tile: bounds the VAE's memory for large images (e.g. 64).")
    var vaeTile: Int?

    @Option(help: "How to keep the weights in memory: float32, or float16 (half the memory, converted layer by layer as they are used; lossless for float16 checkpoints).")
    var weights: WeightPrecision = .float32

    /// Loads the model (`ModelLocation.load`) and sets its tiled VAE decoding.
    func load() throws -> StableDiffusion {
        let pipeline = try ModelLocation.load(model, tokenizer: tokenizer, weights: weights, predictionType: predictionType)
        if let vaeTile { pipeline.vaeTiling = try TiledDecoding(tile: vaeTile) }
        return pipeline
    }
}
