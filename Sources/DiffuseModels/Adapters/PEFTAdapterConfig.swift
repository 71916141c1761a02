import Foundation

/// The adapter configuration diffusers writes into a LoRA file's header (`__metadata__`
/// `lora_adapter_metadata`: PEFT's `LoraConfig` per component, keys prefixed `unet.`,
/// `text_encoder.` and `text_encoder_2.`), from which a PEFT file's scale comes: `lora_alpha` (or the `alpha_pattern`
/// entry naming the module) / r, or / √r with `use_rslora`.
struct PEFTAdapterConfig {
    var loraAlpha: Double
    /// Module name (or its trailing dotted part) → alpha.
    var alphaPattern: [String: Double]
    var useRSLoRA: Bool

    /// The configurations by component; empty without `lora_adapter_metadata`.
    /// - Throws: `LoRAError` when the metadata is not a JSON object or a value has the wrong type,
    ///   or the adapter is DoRA (not supported).
    static func parse(_ metadata: [String: String], file: String) throws -> [LoRAKey.Component?: PEFTAdapterConfig] {
        guard let text = metadata["lora_adapter_metadata"] else { return [:] }
        let key = "__metadata__.lora_adapter_metadata"
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw LoRAError(file: file, key: key, "is not a JSON object")
        }
        var result: [LoRAKey.Component?: PEFTAdapterConfig] = [:]
        for (prefix, component) in [("unet", LoRAKey.Component.unet), ("text_encoder", .textEncoder), ("text_encoder_2", .textEncoder2)] {
            guard let alphaValue = object["\(prefix).lora_alpha"] else { continue }
            guard let alpha = (alphaValue as? NSNumber)?.doubleValue, alpha.isFinite else {
                throw LoRAError(file: file, key: key, "\(prefix).lora_alpha is not a number")
            }
            if (object["\(prefix).use_dora"] as? Bool) == true {
                throw LoRAError(file: file, key: key, "\(prefix).use_dora: DoRA adapters are not supported")
            }
            var pattern: [String: Double] = [:]
            for (name, value) in object["\(prefix).alpha_pattern"] as? [String: Any] ?? [:] {
                guard let number = (value as? NSNumber)?.doubleValue, number.isFinite else {
                    throw LoRAError(file: file, key: key, "\(prefix).alpha_pattern[\(name)] is not a number")
                }
                pattern[name] = number
            }
            result[component] = PEFTAdapterConfig(loraAlpha: alpha, alphaPattern: pattern,
                                                   useRSLoRA: (object["\(prefix).use_rslora"] as? Bool) ?? false)
        }
        return result
    }

    /// alpha / r (or / √r) for `module` of rank `rank`.
    func scale(module: String, rank: Int, file: String) throws -> Float {
        let alpha = alphaPattern.first { module == $0.key || module.hasSuffix("." + $0.key) }?.value ?? loraAlpha
        return Float(alpha / (useRSLoRA ? Double(rank).squareRoot() : Double(rank)))
    }
}
