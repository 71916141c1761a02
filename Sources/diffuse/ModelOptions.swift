import ArgumentParser
import DiffuseModels
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

    @Option(help: "How to keep the weights in memory: auto (as the checkpoint stores them: float16 tensors stay float16, read in place from the file and widened exactly as each layer runs — half the memory and no conversion before the first image; others float32), float32, or float16 (also rounds float32 checkpoints to half).")
    var weights: WeightPrecision = .asStored

    @Option(help: ArgumentHelp("Merge a LoRA (kohya/A1111, diffusers/PEFT or LyCORIS LoHa/LoKr/LoCon .safetensors) into the model with this multiplier (default 1); repeatable. A bare NAME is NAME.safetensors in --lora-dir.",
                               valueName: "file[:scale]"))
    var lora: [LoRAArgument] = []

    @Option(help: ArgumentHelp("Folder of LoRA files: where --lora NAME is found (and what the server lists at /sdapi/v1/loras and takes in requests' loras field).",
                               valueName: "dir"))
    var loraDir: String?

    func validate() throws {
        for argument in lora {
            if let problem = argument.problem { throw ValidationError("--lora: \(problem)") }
        }
        if let loraDir {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: loraDir, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--lora-dir: \(loraDir) is not a folder")
            }
        }
    }

    /// The `--lora` arguments as A1111 prompt tags (` <lora:NAME:SCALE>` each), for infotext; empty without them.
    var loraTags: String {
        lora.map { " " + $0.tag(name: URL(fileURLWithPath: $0.file).deletingPathExtension().lastPathComponent) }.joined()
    }

    /// The model's folder or file: `--model`, else the bundled model's folder.
    func location() throws -> URL {
        try model.map { URL(fileURLWithPath: $0) } ?? ModelLocation.defaultModel()
    }

    /// Loads the model (`ModelLocation.load`), sets its decoder and tiled VAE decoding, and merges
    /// the `--lora` files into its weights.
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
        if !lora.isEmpty {
            let applications = try lora.map { argument in
                do {
                    return LoRAApplication(try pipeline.loadLoRA(argument.resolve(in: loraDir)), multiplier: argument.scale ?? 1)
                } catch let error as LoRAError {
                    throw CLIError("--lora: \(error)")
                }
            }
            do {
                try pipeline.mergePermanently(applications)
            } catch let error as LoRAError {
                throw CLIError("--lora: \(error)")
            }
        }
        return pipeline
    }
}
