import DiffuseFormats
import DiffuseModels
import Foundation
import Testing

/// Config values that would build a network that traps (negative channels, group counts that do
/// not divide the channels, zero heads, a billion layers) are refused when the config is read,
/// with one line naming the file and the key.
@Suite struct ConfigValidationTests {
    /// Expects `make` to throw a `ModelConfigError` naming `source` and `key`.
    func expectRefusal<T>(_ key: String, source: String, _ make: () throws -> T, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try make()
            Issue.record("accepted a config with a bad \(key)", sourceLocation: sourceLocation)
        } catch let error as ModelConfigError {
            #expect(error.key == key && error.description.contains(source) && error.description.contains("\"\(key)\"")
                    && !error.description.contains("\n"), "\(error.description)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("threw \(error), not a ModelConfigError", sourceLocation: sourceLocation)
        }
    }

    static let smallConditional: [String: JSONValue] = [
        "block_out_channels": [32, 64], "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"], "norm_num_groups": 8, "attention_head_dim": 4, "cross_attention_dim": 16,
    ]

    @Test func conditionalUNetConfigRefusesUnbuildableValues() throws {
        let source = "unet/config.json"
        func config(_ changes: [String: JSONValue]) throws -> UNet2DConditionConfig {
            try UNet2DConditionConfig(ModelConfig(values: Self.smallConditional.merging(changes) { $1 }, source: source))
        }
        _ = try config([:])
        expectRefusal("block_out_channels", source: source) { try config(["block_out_channels": [-32, 64]]) }
        expectRefusal("in_channels", source: source) { try config(["in_channels": -4]) }
        expectRefusal("norm_num_groups", source: source) { try config(["norm_num_groups": 7]) }
        expectRefusal("norm_num_groups", source: source) { try config(["norm_num_groups": 0]) }
        expectRefusal("attention_head_dim", source: source) { try config(["attention_head_dim": 0]) }
        expectRefusal("attention_head_dim", source: source) { try config(["attention_head_dim": 33]) }
        expectRefusal("layers_per_block", source: source) { try config(["layers_per_block": 1e9]) }
        expectRefusal("layers_per_block", source: source) { try config(["layers_per_block": 1e30]) }
        expectRefusal("cross_attention_dim", source: source) { try config(["cross_attention_dim": -1]) }
        expectRefusal("norm_eps", source: source) { try config(["norm_eps": -1]) }
        expectRefusal("block_out_channels", source: source) {
            try config(["block_out_channels": [], "down_block_types": [], "up_block_types": []])
        }
    }

    @Test func unconditionalUNetConfigRefusesUnbuildableValues() throws {
        let source = "pixel/config.json"
        let base: [String: JSONValue] = ["block_out_channels": [16, 32], "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
                                   "up_block_types": ["AttnUpBlock2D", "UpBlock2D"], "norm_num_groups": 8, "attention_head_dim": 8]
        func config(_ changes: [String: JSONValue]) throws -> UNet2DConfig {
            try UNet2DConfig(ModelConfig(values: base.merging(changes) { $1 }, source: source))
        }
        _ = try config([:])
        expectRefusal("block_out_channels", source: source) { try config(["block_out_channels": [16, -32]]) }
        expectRefusal("norm_num_groups", source: source) { try config(["norm_num_groups": 5]) }
        expectRefusal("layers_per_block", source: source) { try config(["layers_per_block": 1_000_000_000]) }
        expectRefusal("attention_head_dim", source: source) { try config(["attention_head_dim": 0]) }
        // 40 channels in heads of 12: 3 heads that do not split them evenly.
        expectRefusal("attention_head_dim", source: source) { try config(["block_out_channels": [16, 40], "attention_head_dim": 12]) }
    }

    @Test func autoencoderAndTextEncoderConfigsRefuseUnbuildableValues() throws {
        let vae = "vae/config.json"
        let vaeBase: [String: JSONValue] = ["block_out_channels": [16, 32], "norm_num_groups": 8]
        func autoencoder(_ changes: [String: JSONValue]) throws -> AutoencoderKLConfig {
            try AutoencoderKLConfig(ModelConfig(values: vaeBase.merging(changes) { $1 }, source: vae))
        }
        _ = try autoencoder([:])
        expectRefusal("norm_num_groups", source: vae) { try autoencoder(["norm_num_groups": 12]) }
        expectRefusal("latent_channels", source: vae) { try autoencoder(["latent_channels": 0]) }
        expectRefusal("layers_per_block", source: vae) { try autoencoder(["layers_per_block": 1e9]) }
        expectRefusal("scaling_factor", source: vae) { try autoencoder(["scaling_factor": 0]) }

        let clip = "text_encoder/config.json"
        expectRefusal("num_attention_heads", source: clip) { try CLIPTextConfig(ModelConfig(values: ["num_attention_heads": 0], source: clip)) }
        expectRefusal("hidden_size", source: clip) { try CLIPTextConfig(ModelConfig(values: ["hidden_size": -512], source: clip)) }
        let bert = "minilm/config.json"
        expectRefusal("num_attention_heads", source: bert) { try BertConfig(ModelConfig(values: ["num_attention_heads": 0], source: bert)) }
        expectRefusal("num_hidden_layers", source: bert) { try BertConfig(ModelConfig(values: ["num_hidden_layers": 1e9], source: bert)) }
    }
}
