import Foundation

/// Which linear layers of a UNet get a LoRA adapter (`--lora-targets`), as PEFT's
/// `target_modules`: a layer is chosen when its module name is one of the names or ends with
/// "." + one of them.
///
/// - `attention` (the default, as diffusers' `train_text_to_image_lora.py`): `to_k`, `to_q`,
///   `to_v`, `to_out.0`;
/// - `attention+ff`: those and the feed-forward layers `ff.net.0.proj`, `ff.net.2`;
/// - `all-linear`: every linear layer (PEFT's "all-linear");
/// - otherwise a comma-separated list of module names (`to_q,to_v,proj_in`).
public struct LoRATrainingTargets: Sendable, Equatable {
    /// What was asked for, as given.
    public var specification: String
    /// Module-name suffixes, or nil for every linear layer.
    public var names: [String]?

    public static let attention = ["to_k", "to_q", "to_v", "to_out.0"]
    public static let feedForward = ["ff.net.0.proj", "ff.net.2"]

    /// Reads a `--lora-targets` value.
    /// - Throws: `TrainingError` (parameter `loraTargets`) for an empty name.
    public init(_ specification: String) throws {
        self.specification = specification
        switch specification {
        case "attention": names = Self.attention
        case "attention+ff": names = Self.attention + Self.feedForward
        case "all-linear": names = nil
        default:
            let list = specification.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard !list.contains(where: \.isEmpty) else {
                throw TrainingError("`loraTargets` \"\(specification)\" has an empty name: give attention, attention+ff, all-linear or comma-separated module names", parameter: "loraTargets")
            }
            names = list
        }
    }

    /// Whether the layer named `module` (`down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q`) is chosen.
    public func contains(_ module: String) -> Bool {
        guard let names else { return true }
        return names.contains { module == $0 || module.hasSuffix("." + $0) }
    }
}
