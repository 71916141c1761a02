import DiffuseFormats
import DiffuseModels
import DiffuseNN
import DiffuseTensor
import Foundation

/// LoRA adapters on chosen `Linear` layers of one model — the UNet or the CLIP text encoder —
/// the part of a `LoRANetwork` that adapts it: each layer computes
/// y = W·x + b + (alpha / rank) · up(down(x)) (`Linear.adapter`), its own weights untouched
/// (frozen: they get no trainable leaves, and stay float16 when loaded so).
///
/// As a `Module` its parameters are the factors, `adapters.N.down` `[rank, in]` and
/// `adapters.N.up` `[out, rank]` in layer order.
public final class LoRAAdapters: Module {
    /// The model adapted, and its key prefix in kohya's file.
    public enum Component: String, Sendable {
        case unet = "UNet"
        case textEncoder = "text encoder"

        /// `lora_unet_` or `lora_te_` (kohya's names for SD 1.x / 2.x).
        public var kohyaPrefix: String { self == .unet ? "lora_unet_" : "lora_te_" }
    }

    public let adapters: [LowRankAdapter]
    /// The module name of each adapter's layer in its model's checkpoint, in the same order.
    public let layerNames: [String]
    private let _layers: [Linear]
    public let component: Component
    public let rank: Int
    public let alpha: Float

    /// Creates adapters (not yet installed) for the linear layers of `model` that `targets`
    /// chooses for `component`, initialized as PEFT does: `down` Kaiming-uniform (a = √5, so
    /// uniform in ±1/√in) from a generator seeded with `seed`, `up` zeros — the adapted model
    /// starts as the model.
    /// - Throws: `TrainingError` naming `loraRank` (below 1, or larger than a chosen layer's
    ///   smaller side), `loraAlpha`, or `loraTargets` (no layer chosen).
    public init(model: Module, component: Component, rank: Int, alpha: Float, targets: LoRATrainingTargets, seed: UInt64) throws {
        guard rank >= 1 else { throw TrainingError("`loraRank` must be at least 1 (got \(rank))", parameter: "loraRank") }
        guard alpha.isFinite, alpha > 0 else { throw TrainingError("`loraAlpha` must be a positive number (got \(alpha))", parameter: "loraAlpha") }
        var names: [ObjectIdentifier: String] = [:]
        for (key, parameter) in model.namedParameters() where key.hasSuffix(".weight") {
            names[ObjectIdentifier(parameter)] = String(key.dropLast(".weight".count))
        }
        var layers: [Linear] = [], layerNames: [String] = []
        var seen = Set<ObjectIdentifier>()
        for case let linear as Linear in model.modules() {
            guard let name = names[ObjectIdentifier(linear.weight)], targets.contains(name, in: component),
                  seen.insert(ObjectIdentifier(linear)).inserted else { continue }
            layers.append(linear)
            layerNames.append(name)
        }
        guard !layers.isEmpty else {
            throw TrainingError("`loraTargets` \"\(targets.specification)\" names no linear layer of the \(component.rawValue)", parameter: "loraTargets")
        }
        for (linear, name) in zip(layers, layerNames) where rank > min(linear.inFeatures, linear.outFeatures) {
            throw TrainingError("`loraRank` \(rank) is larger than the width of \(name) (\(linear.inFeatures) → \(linear.outFeatures))",
                                parameter: "loraRank")
        }
        var random = TrainingRandom(seed: seed)
        adapters = layers.map { linear in
            let adapter = LowRankAdapter(inFeatures: linear.inFeatures, outFeatures: linear.outFeatures, rank: rank, alpha: alpha)
            let bound = 1 / Float(linear.inFeatures).squareRoot()
            adapter.down.value = Tensor(shape: [rank, linear.inFeatures],
                                        (0 ..< rank * linear.inFeatures).map { _ in Float(random.uniform() * 2 - 1) * bound })
            adapter.up.value = Tensor.zeros([linear.outFeatures, rank])
            return adapter
        }
        _layers = layers
        self.layerNames = layerNames
        self.component = component
        self.rank = rank
        self.alpha = alpha
    }

    /// Puts each adapter on its layer (replacing any other adapter there).
    public func install() {
        for (linear, adapter) in zip(_layers, adapters) { linear.adapter = adapter }
    }

    /// Takes the adapters off their layers (the model is the base model again).
    public func remove() {
        for (linear, adapter) in zip(_layers, adapters) where linear.adapter === adapter { linear.adapter = nil }
    }

    /// kohya's key prefix of a layer: `lora_unet_` / `lora_te_` + the module name with underscores for dots.
    public func kohyaName(_ module: String) -> String { component.kohyaPrefix + module.replacingOccurrences(of: ".", with: "_") }

    /// The factors as kohya writes them, float32: `<prefix><module>.lora_down.weight` `[rank, in]`,
    /// `.lora_up.weight` `[out, rank]`, `.alpha` (a 0-dimensional tensor).
    public func kohyaEntries() -> [SafeTensorsWriter.Entry] {
        var entries: [SafeTensorsWriter.Entry] = []
        for (name, adapter) in zip(layerNames, adapters) {
            let prefix = kohyaName(name)
            for (suffix, parameter) in [(".lora_down.weight", adapter.down), (".lora_up.weight", adapter.up)] {
                let value = parameter.value.contiguous()
                entries.append(.init(name: prefix + suffix, shape: value.shape, floats: value.scalars))
            }
            entries.append(.init(name: prefix + ".alpha", shape: [], floats: [alpha]))
        }
        return entries
    }
}
