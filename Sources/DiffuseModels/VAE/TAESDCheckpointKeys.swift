import DiffuseNN

/// The key names of TAESD's own files (`taesd_encoder.safetensors`, `taesd_decoder.safetensors`,
/// as madebyollin/taesd publishes them beside the diffusers folder): each holds one
/// `nn.Sequential` with bare indices (`0.weight`, `1.conv.0.weight`, …). The encoder's indices
/// are diffusers' `encoder.layers.<i>`; the decoder's are one higher than diffusers'
/// `decoder.layers.<i>`, because TAESD's decoder starts with its clamp as a module (index 0).
public enum TAESDCheckpointKeys {
    public enum Half: Sendable {
        case encoder, decoder

        /// How many indices TAESD's file numbers a layer above diffusers' `layers.<i>`.
        var indexOffset: Int { self == .decoder ? 1 : 0 }
    }

    /// The TAESD name of a key of `EncoderTiny` / `DecoderTiny` (`layers.2.conv.0.weight` →
    /// `3.conv.0.weight` for the decoder); nil for a key outside `layers.`.
    public static func originalName(of key: String, in half: Half) -> String? {
        guard key.hasPrefix("layers.") else { return nil }
        let rest = key.dropFirst("layers.".count)
        guard let dot = rest.firstIndex(of: "."), let index = Int(rest[..<dot]) else { return nil }
        return "\(index + half.indexOffset)\(rest[dot...])"
    }

    /// Loads `module` (an `EncoderTiny` or `DecoderTiny`) from a TAESD file strictly: every
    /// parameter's TAESD name must be in `source` with its shape, and nothing else may be there.
    /// - Throws: `WeightLoadingError` naming the TAESD keys that are missing or unexpected, and
    ///   mis-shaped tensors by the module's key with the TAESD key in parentheses.
    public static func load(_ module: Module, half: Half, from source: WeightSource, precision: WeightPrecision = .float32) throws {
        var names: [String: String] = [:]
        for (key, _) in module.namedParameters() {
            if let original = originalName(of: key, in: half) { names[key] = original }
        }
        // The file's other tensors keep their own names (numbered, never a module key): unexpected.
        let mapped = Set(names.values)
        for name in source.tensorNames where !mapped.contains(name) { names[name] = name }
        do {
            try module.load(from: RenamedWeights(source, names: names), precision: precision)
        } catch var error as WeightLoadingError {
            error.missing = error.missing.map { names[$0] ?? $0 }
            throw error
        }
    }
}
