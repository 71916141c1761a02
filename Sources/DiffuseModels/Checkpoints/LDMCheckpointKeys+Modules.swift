extension LDMCheckpointKeys {
    /// The original (CompVis / LDM) name of a diffusers UNet module — the inverse of `unetKey` for
    /// modules: `down_blocks.1.attentions.0.proj_in` → `input_blocks.4.1.proj_in`,
    /// `down_blocks.0.resnets.1.conv1` → `input_blocks.2.0.in_layers.2`, `up_blocks.0.upsamplers.0.conv`
    /// → `output_blocks.2.1.conv` (`.2.conv` when the up block has attentions). The answer is
    /// checked by mapping it back with `unetKey`; nil when that does not give `module` again.
    ///
    /// - Parameters:
    ///   - layersPerBlock: the UNet's `layers_per_block` (up blocks have one more layer).
    ///   - upBlockHasAttentions: whether the up block of that index has attention layers.
    public static func ldmUNetModule(_ module: String, layersPerBlock: Int, upBlockHasAttentions: (Int) -> Bool) -> String? {
        let parts = module.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        func rest(_ from: Int) -> String { parts[from...].joined(separator: ".") }
        let width = layersPerBlock + 1
        var name: String?
        switch parts[0] {
        case "conv_in" where parts.count == 1: name = "input_blocks.0.0"
        case "conv_norm_out" where parts.count == 1: name = "out.0"
        case "conv_out" where parts.count == 1: name = "out.2"
        case "time_embedding" where parts.count == 2:
            name = ["linear_1": "time_embed.0", "linear_2": "time_embed.2"][parts[1]]
        case "down_blocks", "up_blocks":
            guard parts.count >= 4, let block = Int(parts[1]), let layer = Int(parts[3]) else { return nil }
            let down = parts[0] == "down_blocks"
            let blocks = down ? "input_blocks" : "output_blocks"
            let index = down ? 1 + block * width + layer : block * width + layer
            switch parts[2] {
            case "resnets": name = "\(blocks).\(index).0." + ldmResnetPart(rest(4))
            case "attentions": name = "\(blocks).\(index).1." + rest(4)
            case "downsamplers" where down && layer == 0 && parts.count == 5 && parts[4] == "conv":
                name = "input_blocks.\((block + 1) * width).0.op"
            case "upsamplers" where !down && layer == 0 && parts.count == 5 && parts[4] == "conv":
                name = "output_blocks.\(block * width + layersPerBlock).\(upBlockHasAttentions(block) ? 2 : 1).conv"
            default: return nil
            }
        case "mid_block":
            guard parts.count >= 4, let layer = Int(parts[2]) else { return nil }
            switch (parts[1], layer) {
            case ("resnets", 0): name = "middle_block.0." + ldmResnetPart(rest(3))
            case ("attentions", 0): name = "middle_block.1." + rest(3)
            case ("resnets", 1): name = "middle_block.2." + ldmResnetPart(rest(3))
            default: return nil
            }
        default:
            return nil
        }
        guard let name, unetKey(name + ".weight", layersPerBlock: layersPerBlock) == module + ".weight" else { return nil }
        return name
    }

    /// diffusers resnet sub-module → LDM (`conv1` → `in_layers.2`, …); others unchanged.
    static func ldmResnetPart(_ part: String) -> String {
        let map = ["norm1": "in_layers.0", "conv1": "in_layers.2", "norm2": "out_layers.0", "conv2": "out_layers.3",
                   "time_emb_proj": "emb_layers.1", "conv_shortcut": "skip_connection"]
        return map[part] ?? part
    }
}
