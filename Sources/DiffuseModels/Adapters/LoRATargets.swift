import DiffuseNN

/// The layers of a loaded pipeline that a LoRA file may change — every weight of rank 2 or 4
/// (linear layers, convolutions) of the UNet and the text encoder — found by each name the LoRA
/// schemes give them (`LoRAKey`): diffusers' module names as `namedParameters()` reports them,
/// the same with underscores for dots (kohya), and for the UNet the original LDM names
/// (`input_blocks.4.1.proj_in`, `middle_block.0.in_layers.2`, `output_blocks.2.1.conv`), dotted or
/// underscored. Text-encoder names are also found without their leading `text_model.` (how
/// transformers ≥ 5.6 writes CLIP keys).
///
/// Names are looked up in this table, never guessed: an underscored name that two modules
/// share would resolve to neither.
public final class LoRATargets: @unchecked Sendable {
    /// One layer: its model, its weight's key (`….to_q.weight`) and the parameter.
    public struct Target: @unchecked Sendable {
        public var component: LoRAKey.Component
        public var key: String
        public var parameter: Parameter
    }

    private var names: [LoRAKey.Component: [LoRAKey.Spelling: [String: Target?]]] = [:]

    /// The layers of `unet` (with LDM names when `layersPerBlock` is given: a `UNet2DConditionModel`),
    /// `textEncoder` (a CLIP text model) and `textEncoder2` (SDXL's second, `lora_te2_` /
    /// `text_encoder_2.`); any may be nil.
    public init(unet: Module?, layersPerBlock: Int?, textEncoder: Module?, textEncoder2: Module? = nil) {
        if let unet {
            let parameters = Self.layers(unet)
            let upBlocksWithAttentions = Set(parameters.compactMap { entry -> Int? in
                let parts = entry.key.split(separator: ".")
                return parts.count > 2 && parts[0] == "up_blocks" && parts[2] == "attentions" ? Int(parts[1]) : nil
            })
            for (module, parameter) in parameters {
                let target = Target(component: .unet, key: module + ".weight", parameter: parameter)
                add(target, as: module)
                if let layersPerBlock, let ldm = LDMCheckpointKeys.ldmUNetModule(module, layersPerBlock: layersPerBlock,
                                                                                  upBlockHasAttentions: upBlocksWithAttentions.contains) {
                    add(target, as: ldm)
                }
            }
        }
        for (component, model) in [(LoRAKey.Component.textEncoder, textEncoder), (.textEncoder2, textEncoder2)] {
            guard let model else { continue }
            for (module, parameter) in Self.layers(model) {
                let target = Target(component: component, key: module + ".weight", parameter: parameter)
                add(target, as: module)
                if module.hasPrefix("text_model.") { add(target, as: String(module.dropFirst("text_model.".count))) }
            }
        }
    }

    /// Module name → weight parameter, for every `….weight` of rank 2 or 4.
    private static func layers(_ model: Module) -> [(key: String, parameter: Parameter)] {
        model.namedParameters().compactMap { entry in
            guard entry.key.hasSuffix(".weight"), [2, 4].contains(entry.parameter.shape.count) else { return nil }
            return (String(entry.key.dropLast(".weight".count)), entry.parameter)
        }
    }

    private func add(_ target: Target, as module: String) {
        for (spelling, name) in [(LoRAKey.Spelling.dotted, module), (.underscored, module.replacingOccurrences(of: ".", with: "_"))] {
            let existing = names[target.component, default: [:]][spelling, default: [:]][name]
            if let existing, existing?.key != target.key {
                names[target.component]![spelling]![name] = .some(nil)   // two modules under one name: neither
            } else {
                names[target.component, default: [:]][spelling, default: [:]][name] = target
            }
        }
    }

    /// The layer a parsed key names, or nil.
    public func target(for key: LoRAKey) -> Target? {
        names[key.component]?[key.spelling]?[key.module] ?? nil
    }

    /// Whether the pipeline has a model for `component`.
    public func has(_ component: LoRAKey.Component) -> Bool { names[component] != nil }
}
