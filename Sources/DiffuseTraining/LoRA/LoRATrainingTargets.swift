import Foundation

/// Which linear layers get a LoRA adapter (`--lora-targets`), as PEFT's `target_modules`: a layer
/// is chosen when its module name is one of the names or ends with "." + one of them. The presets
/// name each model's own layers:
///
/// - `attention` (the default): the UNet's `to_k`, `to_q`, `to_v`, `to_out.0` (as diffusers'
///   `train_text_to_image_lora.py`), the text encoder's `q_proj`, `k_proj`, `v_proj`, `out_proj`
///   (as diffusers' `train_dreambooth_lora.py --train_text_encoder`);
/// - `attention+ff`: those and the feed-forward layers, the UNet's `ff.net.0.proj`, `ff.net.2`
///   and the text encoder's `mlp.fc1`, `mlp.fc2` (kohya's default set for the text encoder);
/// - `all-linear`: every linear layer (PEFT's "all-linear");
/// - otherwise a comma-separated list of module names, read in both models (`to_q,to_v,proj_in`).
public struct LoRATrainingTargets: Sendable, Equatable {
    /// What was asked for, as given.
    public var specification: String
    /// The UNet's module-name suffixes, or nil for every linear layer.
    public var names: [String]?
    /// The text encoder's module-name suffixes, or nil for every linear layer.
    public var textEncoderNames: [String]?

    public static let attention = ["to_k", "to_q", "to_v", "to_out.0"]
    public static let feedForward = ["ff.net.0.proj", "ff.net.2"]
    public static let textEncoderAttention = ["q_proj", "k_proj", "v_proj", "out_proj"]
    public static let textEncoderFeedForward = ["mlp.fc1", "mlp.fc2"]

    /// Reads a `--lora-targets` value.
    /// - Throws: `TrainingError` (parameter `loraTargets`) for an empty name.
    public init(_ specification: String) throws {
        self.specification = specification
        switch specification {
        case "attention":
            names = Self.attention
            textEncoderNames = Self.textEncoderAttention
        case "attention+ff":
            names = Self.attention + Self.feedForward
            textEncoderNames = Self.textEncoderAttention + Self.textEncoderFeedForward
        case "all-linear":
            names = nil
            textEncoderNames = nil
        default:
            let list = specification.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard !list.contains(where: \.isEmpty) else {
                throw TrainingError("`loraTargets` \"\(specification)\" has an empty name: give attention, attention+ff, all-linear or comma-separated module names", parameter: "loraTargets")
            }
            names = list
            textEncoderNames = list
        }
    }

    /// Whether the layer named `module` of `component` (`down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q`,
    /// `text_model.encoder.layers.0.self_attn.q_proj`) is chosen.
    public func contains(_ module: String, in component: LoRAAdapters.Component = .unet) -> Bool {
        guard let names = component == .unet ? names : textEncoderNames else { return true }
        return names.contains { module == $0 || module.hasSuffix("." + $0) }
    }
}
