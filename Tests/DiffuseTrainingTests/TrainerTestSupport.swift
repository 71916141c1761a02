import DiffuseData
import DiffuseFormats
import DiffuseModels
import DiffusePipelines
import DiffuseSchedulers
import DiffuseTensor
import DiffuseTraining
import Foundation

/// A stand-in text encoder for trainer tests: each known word of a prompt adds a fixed pattern to
/// three 12-wide token states; the empty prompt gives zeros.
final class ColourWordEncoder: PromptEncoder {
    static let words = ["red", "blue", "green", "apple", "sky"]
    var dimension: Int { 12 }
    var pooledDimension: Int? { nil }
    var kind: String { "test words" }

    func encode(_ prompts: [String]) -> PromptEmbedding { PromptEmbedding(tokens: Self.states(prompts), pooled: nil) }

    static func states(_ prompts: [String]) -> Tensor {
        var values: [Float] = []
        for prompt in prompts {
            var state = [Float](repeating: 0, count: 3 * 12)
            for word in prompt.lowercased().split(separator: " ") {
                guard let w = Self.words.firstIndex(of: String(word)) else { continue }
                for j in 0 ..< 36 where (j + w) % 5 == 0 { state[j] += 1 }
                state[w] += 2
            }
            values += state
        }
        return Tensor(shape: [prompts.count, 3, 12], values)
    }
}

/// A stand-in encoder whose token states say nothing (zeros): the words reach the UNet only
/// through the pooled vector `[B, 12]` (the first of `ColourWordEncoder`'s three states), so a
/// model that learns them must use its class embedding.
final class PooledOnlyWordEncoder: PromptEncoder {
    var dimension: Int { 12 }
    var pooledDimension: Int? { 12 }
    var kind: String { "pooled test words" }

    func encode(_ prompts: [String]) -> PromptEmbedding {
        let states = ColourWordEncoder.states(prompts)
        return PromptEmbedding(tokens: Tensor.zeros(states.shape), pooled: states.narrowed(axis: 1, start: 0, length: 1).reshaped([prompts.count, 12]))
    }
}

enum TrainerTestSupport {
    /// A fresh temporary folder.
    static func temporaryFolder(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("diffuse-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes `NNNN.png` + `NNNN.txt` for each (caption, colour), `size`² solid colour with a soft diagonal
    /// gradient so flips change something.
    static func writeDataset(_ items: [(caption: String, rgb: (Int, Int, Int))], size: Int, to folder: URL) throws {
        for (i, item) in items.enumerated() {
            var pixels: [UInt8] = []
            for y in 0 ..< size {
                for x in 0 ..< size {
                    let shade = (x * 2 + y) * 24 / (3 * size)
                    for c in [item.rgb.0, item.rgb.1, item.rgb.2] { pixels.append(UInt8(Swift.max(0, Swift.min(255, c - shade)))) }
                }
            }
            let name = String(format: "%04d", i)
            try PNGImage(width: size, height: size, channels: 3, pixels: pixels).write(to: folder.appendingPathComponent(name + ".png"))
            try item.caption.write(to: folder.appendingPathComponent(name + ".txt"), atomically: true, encoding: .utf8)
        }
    }

    /// A two-level text-conditioned pixel UNet (cross-attention in the first block, 12-wide context).
    static let conditionalConfig: [String: JSONValue] = [
        "_class_name": "UNet2DConditionModel", "sample_size": 8, "in_channels": 3, "out_channels": 3,
        "block_out_channels": [16, 32], "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"], "layers_per_block": 1, "cross_attention_dim": 12,
        "attention_head_dim": 2, "norm_num_groups": 8,
    ]

    /// `conditionalConfig` with a projection class embedding for 12-wide pooled vectors.
    static var pooledConfig: [String: JSONValue] {
        var c = conditionalConfig
        c["class_embed_type"] = "projection"
        c["projection_class_embeddings_input_dim"] = 12
        return c
    }

    /// A two-level unconditional pixel UNet2DModel.
    static let unconditionalConfig: [String: JSONValue] = [
        "_class_name": "UNet2DModel", "sample_size": 8, "in_channels": 3, "out_channels": 3,
        "block_out_channels": [8, 16], "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
        "up_block_types": ["AttnUpBlock2D", "UpBlock2D"], "layers_per_block": 1, "norm_num_groups": 4, "attention_head_dim": 8,
    ]

    static let schedulerJSON: [String: JSONValue] = [
        "_class_name": "DPMSolverMultistepScheduler", "num_train_timesteps": 1000, "beta_schedule": "linear",
        "prediction_type": "v_prediction",
    ]

    /// A trainer over `data` writing to `output`, with a freshly initialized UNet (seeded).
    static func trainer(config: [String: JSONValue], data: URL, output: URL, configuration: TrainingConfiguration,
                        encoder: (any PromptEncoder)? = ColourWordEncoder()) throws -> DiffusionTrainer {
        let unet = try TrainableUNet(config: ModelConfig(values: config, source: "test config"))
        unet.initializeWeights(seed: configuration.seed)
        let export = ModelExport(unetClassName: unet.className, unetConfig: config, schedulerConfig: SchedulerConfig(values: schedulerJSON),
                                 textEncoder: nil, vaeSource: nil)
        return try DiffusionTrainer(unet: unet, textEncoder: encoder, vae: nil, schedulerConfig: SchedulerConfig(values: schedulerJSON),
                                    export: export, dataset: ImageCaptionDataset(directory: data, size: configuration.resolution),
                                    configuration: configuration, output: output)
    }

    /// Every tensor of a safetensors file.
    static func tensors(_ url: URL) throws -> [String: [Float]] {
        let file = try SafeTensorsFile(url: url)
        var out: [String: [Float]] = [:]
        for name in file.tensorNames { out[name] = try file.floats(name) }
        return out
    }

    /// The mean colour (0…255) of an RGB image.
    static func meanColour(_ image: PNGImage) throws -> (r: Double, g: Double, b: Double) {
        let rgb = try image.converted(toChannels: 3)
        var sums = [0.0, 0.0, 0.0]
        for (i, v) in rgb.pixels.enumerated() { sums[i % 3] += Double(v) }
        let n = Double(rgb.width * rgb.height)
        return (sums[0] / n, sums[1] / n, sums[2] / n)
    }
}
