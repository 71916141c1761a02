import Foundation

/// Maps the key names of original (CompVis / LDM) single-file Stable Diffusion checkpoints onto
/// diffusers' names, as diffusers' `convert_ldm_unet_checkpoint`, `convert_ldm_vae_checkpoint` and
/// `convert_ldm_clip_checkpoint` do. Keys it does not recognise map to nil.
public enum LDMCheckpointKeys {
    public static let unetPrefix = "model.diffusion_model."
    public static let vaePrefix = "first_stage_model."
    public static let clipPrefixes = ["cond_stage_model.transformer.text_model.", "cond_stage_model.transformer."]

    /// The diffusers UNet key for an LDM UNet key (without `model.diffusion_model.`).
    public static func unetKey(_ key: String, layersPerBlock: Int) -> String? {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2 else { return nil }
        func rest(_ from: Int) -> String { parts[from...].joined(separator: ".") }
        switch parts[0] {
        case "time_embed":
            return ["0": "time_embedding.linear_1", "2": "time_embedding.linear_2"][parts[1]].map { $0 + "." + rest(2) }
        case "out":
            return ["0": "conv_norm_out", "2": "conv_out"][parts[1]].map { $0 + "." + rest(2) }
        case "input_blocks":
            guard parts.count >= 4, let i = Int(parts[1]), let sub = Int(parts[2]) else { return nil }
            if i == 0 { return sub == 0 ? "conv_in." + rest(3) : nil }
            let block = (i - 1) / (layersPerBlock + 1), layer = (i - 1) % (layersPerBlock + 1)
            if layer == layersPerBlock {
                // The downsampler: input_blocks.i.0.op → down_blocks.b.downsamplers.0.conv
                return parts[3] == "op" ? "down_blocks.\(block).downsamplers.0.conv." + rest(4) : nil
            }
            if sub == 0 { return "down_blocks.\(block).resnets.\(layer)." + resnetKey(rest(3)) }
            if sub == 1 { return "down_blocks.\(block).attentions.\(layer)." + rest(3) }
            return nil
        case "middle_block":
            guard parts.count >= 3, let sub = Int(parts[1]) else { return nil }
            switch sub {
            case 0: return "mid_block.resnets.0." + resnetKey(rest(2))
            case 1: return "mid_block.attentions.0." + rest(2)
            case 2: return "mid_block.resnets.1." + resnetKey(rest(2))
            default: return nil
            }
        case "output_blocks":
            guard parts.count >= 4, let i = Int(parts[1]), let sub = Int(parts[2]) else { return nil }
            let block = i / (layersPerBlock + 1), layer = i % (layersPerBlock + 1)
            if sub == 0 { return "up_blocks.\(block).resnets.\(layer)." + resnetKey(rest(3)) }
            // The upsampler is the last module of the block's last layer: `…conv.weight`.
            if parts[3] == "conv" { return "up_blocks.\(block).upsamplers.0.conv." + rest(4) }
            if sub == 1 { return "up_blocks.\(block).attentions.\(layer)." + rest(3) }
            return nil
        default:
            return nil
        }
    }

    /// LDM resnet sub-keys → diffusers (`in_layers.0` → `norm1`, …).
    static func resnetKey(_ key: String) -> String {
        let map = ["in_layers.0": "norm1", "in_layers.2": "conv1", "out_layers.0": "norm2", "out_layers.3": "conv2",
                   "emb_layers.1": "time_emb_proj", "skip_connection": "conv_shortcut",
                   "norm1": "norm1", "conv1": "conv1", "norm2": "norm2", "conv2": "conv2", "nin_shortcut": "conv_shortcut"]
        for (old, new) in map where key.hasPrefix(old + ".") { return new + key.dropFirst(old.count) }
        return key
    }

    /// The diffusers VAE key for an LDM VAE key (without `first_stage_model.`); `upBlocks` is the
    /// number of decoder up blocks (the LDM decoder numbers them in reverse).
    public static func vaeKey(_ key: String, upBlocks: Int) -> String? {
        let parts = key.split(separator: ".").map(String.init)
        guard parts.count >= 2 else { return nil }
        if parts[0] == "quant_conv" || parts[0] == "post_quant_conv" { return key }
        guard parts[0] == "encoder" || parts[0] == "decoder" else { return nil }
        let side = parts[0]
        func rest(_ from: Int) -> String { parts[from...].joined(separator: ".") }
        switch parts[1] {
        case "conv_in", "conv_out": return key
        case "norm_out": return "\(side).conv_norm_out." + rest(2)
        case "down", "up":
            guard parts.count >= 5, let i = Int(parts[2]) else { return nil }
            let index = parts[1] == "up" ? upBlocks - 1 - i : i
            let blocks = parts[1] == "up" ? "up_blocks" : "down_blocks"
            if parts[3] == "block", let j = Int(parts[4]) {
                return "\(side).\(blocks).\(index).resnets.\(j)." + resnetKey(rest(5))
            }
            if parts[3] == "downsample" || parts[3] == "upsample" {
                return "\(side).\(blocks).\(index).\(parts[3])rs.0." + rest(4)
            }
            return nil
        case "mid":
            guard parts.count >= 4 else { return nil }
            switch parts[2] {
            case "block_1": return "\(side).mid_block.resnets.0." + resnetKey(rest(3))
            case "block_2": return "\(side).mid_block.resnets.1." + resnetKey(rest(3))
            case "attn_1":
                let names = ["norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"]
                return names[parts[3]].map { "\(side).mid_block.attentions.0.\($0)." + rest(4) }
            default: return nil
            }
        default:
            return nil
        }
    }

    /// The diffusers (transformers) CLIP text-model key for an SD 1.x single-file key.
    public static func clipKey(_ key: String) -> String? {
        for prefix in clipPrefixes where key.hasPrefix(prefix) {
            return "text_model." + key.dropFirst(prefix.count)
        }
        return nil
    }
}
