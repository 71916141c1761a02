import Foundation

/// Maps the OpenCLIP text tower of a Stable Diffusion 2.x single-file checkpoint
/// (`cond_stage_model.model.*`, as Stability's `FrozenOpenCLIPEmbedder` saves it) onto the keys of
/// transformers' `CLIPTextModel`, as diffusers' `convert_open_clip_checkpoint` does:
///
/// | OpenCLIP (after the prefix) | CLIPTextModel |
/// |---|---|
/// | `token_embedding.weight` | `text_model.embeddings.token_embedding.weight` |
/// | `positional_embedding` | `text_model.embeddings.position_embedding.weight` |
/// | `ln_final.{weight,bias}` | `text_model.final_layer_norm.*` |
/// | `transformer.resblocks.i.ln_1` / `ln_2` | `text_model.encoder.layers.i.layer_norm1` / `layer_norm2` |
/// | `….attn.in_proj_weight` `[3D, D]` (and `_bias`) | rows 0..<D, D..<2D, 2D..<3D as `self_attn.q_proj` / `k_proj` / `v_proj` |
/// | `….attn.out_proj` | `self_attn.out_proj` |
/// | `….mlp.c_fc` / `c_proj` | `mlp.fc1` / `fc2` |
///
/// SD 2.x conditions on the penultimate layer: its files carry 24 blocks and the text model has
/// 23, so blocks at or past `layers` are left out, as are `text_projection` and `logit_scale`
/// (used only by CLIP's contrastive head) and the `attn_mask` buffer.
public enum OpenCLIPCheckpointKeys {
    public static let prefix = "cond_stage_model.model."

    /// The mapping of a checkpoint's OpenCLIP tensors.
    public struct Mapping: Equatable, Sendable {
        /// CLIPTextModel key → checkpoint name.
        public var names: [String: String] = [:]
        /// For the q/k/v projections: which rows of the fused checkpoint tensor they are.
        public var rows: [String: Range<Int>] = [:]
        /// Checkpoint names deliberately not used (the extra block, the contrastive head).
        public var ignored: [String] = []
        /// Checkpoint names under the prefix that this mapping does not know.
        public var unknown: [String] = []
    }

    /// Maps every name under `prefix` (SD 2.x's, unless another is given: SDXL's
    /// `SDXLCheckpointKeys.secondEncoderPrefix`) for a text model with `layers` blocks of width `width`.
    public static func mapping(_ names: [String], layers: Int, width: Int, prefix: String = OpenCLIPCheckpointKeys.prefix) -> Mapping {
        var out = Mapping()
        let direct = [
            "token_embedding.weight": "embeddings.token_embedding.weight",
            "positional_embedding": "embeddings.position_embedding.weight",
            "ln_final.weight": "final_layer_norm.weight",
            "ln_final.bias": "final_layer_norm.bias",
        ]
        let blockLeaves = [
            "ln_1.weight": "layer_norm1.weight", "ln_1.bias": "layer_norm1.bias",
            "ln_2.weight": "layer_norm2.weight", "ln_2.bias": "layer_norm2.bias",
            "attn.out_proj.weight": "self_attn.out_proj.weight", "attn.out_proj.bias": "self_attn.out_proj.bias",
            "mlp.c_fc.weight": "mlp.fc1.weight", "mlp.c_fc.bias": "mlp.fc1.bias",
            "mlp.c_proj.weight": "mlp.fc2.weight", "mlp.c_proj.bias": "mlp.fc2.bias",
        ]
        for name in names where name.hasPrefix(prefix) {
            let key = String(name.dropFirst(prefix.count))
            if let target = direct[key] {
                out.names["text_model." + target] = name
                continue
            }
            if ["text_projection", "logit_scale", "attn_mask"].contains(key) {
                out.ignored.append(name)
                continue
            }
            let parts = key.split(separator: ".", maxSplits: 3).map(String.init)
            guard parts.count == 4, parts[0] == "transformer", parts[1] == "resblocks", let block = Int(parts[2]) else {
                out.unknown.append(name)
                continue
            }
            if block >= layers {
                out.ignored.append(name)
                continue
            }
            let layer = "text_model.encoder.layers.\(block)."
            let leaf = parts[3]
            if let target = blockLeaves[leaf] {
                out.names[layer + target] = name
            } else if leaf == "attn.in_proj_weight" || leaf == "attn.in_proj_bias" {
                let suffix = leaf.hasSuffix("weight") ? "weight" : "bias"
                for (i, projection) in ["q_proj", "k_proj", "v_proj"].enumerated() {
                    let target = layer + "self_attn.\(projection).\(suffix)"
                    out.names[target] = name
                    out.rows[target] = i * width ..< (i + 1) * width
                }
            } else {
                out.unknown.append(name)
            }
        }
        out.ignored.sort()
        out.unknown.sort()
        return out
    }
}
