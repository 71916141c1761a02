/// One tensor key of a LoRA file split into the layer it changes and the part of the change it
/// holds, over the naming schemes that tools write:
///
/// - kohya / AUTOMATIC1111: `lora_unet_<module>` and `lora_te_` / `lora_te1_` / `lora_te2_<module>`
///   with underscores for dots, then `.lora_down.weight`, `.lora_up.weight`, `.alpha` (or `.scale`);
/// - diffusers / PEFT: `unet.<module>.lora_A.weight` / `.lora_B.weight` (or `.lora_A.default.weight`),
///   `text_encoder.<module>…`;
/// - diffusers' older attention processors: `unet.<block>.attn1.processor.to_q_lora.down.weight`
///   (`to_out_lora` is `to_out.0`; in the text encoder `to_q_lora` is `q_proj`, `to_out_lora`
///   `out_proj`) and `….mlp.fc1.lora_linear_layer.up.weight`;
/// - LyCORIS: LoHa `.hada_w1_a`, `.hada_w1_b`, `.hada_w2_a`, `.hada_w2_b`; LoKr `.lokr_w1` or
///   `.lokr_w1_a` + `.lokr_w1_b`, and `.lokr_w2` or `.lokr_w2_a` + `.lokr_w2_b`; LoCon is the
///   kohya layout on convolutions.
public struct LoRAKey: Hashable, Sendable {
    /// Which model of the pipeline the layer belongs to.
    public enum Component: String, Sendable, CaseIterable {
        case unet
        case textEncoder = "text encoder"
        /// SDXL's second text encoder (`lora_te2_`, `text_encoder_2.`): no SD 1.x / 2.x layer.
        case textEncoder2 = "second text encoder"
    }

    /// How the module name is spelt.
    public enum Spelling: Sendable { case dotted, underscored }

    /// The part of a layer's change a tensor holds.
    public enum Role: String, Sendable, CaseIterable {
        case down, up, mid, alpha
        /// A1111's and stable-diffusion.cpp's whole scale, in place of alpha / rank.
        case scale
        case hadaW1A = "hada_w1_a", hadaW1B = "hada_w1_b", hadaW2A = "hada_w2_a", hadaW2B = "hada_w2_b"
        case hadaT1 = "hada_t1", hadaT2 = "hada_t2"
        case lokrW1 = "lokr_w1", lokrW1A = "lokr_w1_a", lokrW1B = "lokr_w1_b"
        case lokrW2 = "lokr_w2", lokrW2A = "lokr_w2_a", lokrW2B = "lokr_w2_b", lokrT2 = "lokr_t2"
    }

    public var component: Component
    /// The module name as the file spells it, prefixes and role suffix removed
    /// (`down_blocks_0_attentions_0_proj_in`, `down_blocks.0.attentions.0.proj_in`).
    public var module: String
    public var spelling: Spelling
    public var role: Role
    /// Whether the file used diffusers' component prefixes (`unet.`, `text_encoder.`): PEFT's
    /// alpha then comes from the header's adapter metadata.
    public var diffusersPrefix: Bool

    /// Suffixes ending a key, longest first, with the role they give.
    static let suffixes: [(String, Role)] = [
        (".lora_down.weight", .down), (".lora_up.weight", .up), (".lora_mid.weight", .mid),
        (".lora_A.default.weight", .down), (".lora_B.default.weight", .up),
        (".lora_A.weight", .down), (".lora_B.weight", .up),
        (".down.weight", .down), (".up.weight", .up), (".alpha", .alpha), (".scale", .scale),
    ] + Role.allCases.filter { $0.rawValue.hasPrefix("hada_") || $0.rawValue.hasPrefix("lokr_") }.map { ("." + $0.rawValue, $0) }

    /// Parses `key`; nil when it follows none of the schemes (no known suffix or prefix).
    public init?(_ key: String) {
        guard let (suffix, role) = Self.suffixes.first(where: { key.hasSuffix($0.0) }) else { return nil }
        var name = String(key.dropLast(suffix.count))
        // `.down.weight` / `.up.weight` alone belong to the older diffusers layouts only.
        if suffix == ".down.weight" || suffix == ".up.weight" {
            guard name.hasSuffix("_lora") || name.hasSuffix(".lora_linear_layer") || name.hasSuffix(".lora") else { return nil }
        }
        let prefixes: [(String, Component, Spelling, Bool)] = [
            ("lora_unet_", .unet, .underscored, false), ("lora_te1_", .textEncoder, .underscored, false),
            ("lora_te2_", .textEncoder2, .underscored, false), ("lora_te_", .textEncoder, .underscored, false),
            ("unet.", .unet, .dotted, true), ("text_encoder_2.", .textEncoder2, .dotted, true),
            ("text_encoder.", .textEncoder, .dotted, true),
        ]
        if let (prefix, component, spelling, diffusers) = prefixes.first(where: { name.hasPrefix($0.0) }) {
            name.removeFirst(prefix.count)
            (self.component, self.spelling, self.diffusersPrefix) = (component, spelling, diffusers)
        } else if ["down_blocks.", "mid_block.", "up_blocks."].contains(where: { name.hasPrefix($0) }) {
            // The oldest attention-processor files name UNet modules without a prefix.
            (component, spelling, diffusersPrefix) = (.unet, .dotted, true)
        } else {
            return nil
        }
        if spelling == .dotted {
            if name.hasPrefix("base_model.model.") { name.removeFirst("base_model.model.".count) }
            name = Self.attentionProcessorModule(name, component: component)
        }
        self.module = name
        self.role = role
    }

    /// diffusers' attention-processor names → the module they change: `attn1.processor.to_q_lora`
    /// → `attn1.to_q`, `to_out_lora` → `to_out.0` (UNet) or `out_proj` (text encoder), `fc1.lora_linear_layer`
    /// → `fc1`, `to_q.lora` → `to_q`.
    static func attentionProcessorModule(_ name: String, component: Component) -> String {
        var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        parts.removeAll { $0 == "processor" }
        if parts.last == "lora_linear_layer" || parts.last == "lora" { parts.removeLast() }
        if let last = parts.last, last.hasSuffix("_lora") {
            let projection = String(last.dropLast("_lora".count))
            let textNames = ["to_q": "q_proj", "to_k": "k_proj", "to_v": "v_proj", "to_out": "out_proj"]
            if component == .unet {
                parts[parts.count - 1] = projection == "to_out" ? "to_out.0" : projection
            } else {
                parts[parts.count - 1] = textNames[projection] ?? projection
            }
        }
        return parts.joined(separator: ".")
    }
}
