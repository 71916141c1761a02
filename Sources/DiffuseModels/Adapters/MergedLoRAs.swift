import DiffuseNN
import DiffuseTensor

/// A LoRA and the multiplier it is applied with (A1111's `<lora:NAME:MULTIPLIER>`, diffusers'
/// `set_adapters` weight).
public struct LoRAApplication: @unchecked Sendable {
    public var lora: LoRA
    public var multiplier: Float

    public init(_ lora: LoRA, multiplier: Float = 1) {
        self.lora = lora
        self.multiplier = multiplier
    }

    /// Whether both apply the same file with the same multiplier.
    public func isSame(as other: LoRAApplication) -> Bool {
        lora.url.standardizedFileURL == other.lora.url.standardizedFileURL && multiplier == other.multiplier
    }
}

/// LoRAs merged into a model's weights, W ← W + Σ multiplier · scale · ΔW per layer (float32
/// arithmetic whatever the weight's storage), and the original weights to put back.
///
/// Each changed parameter keeps its original storage object — a plain float32 tensor, float16
/// bits or a packed layout (`Parameter.storage`) — so `restore()` is bit-exact and cheap. The new
/// value is stored as float16 again when the original was; a packed layer packs it again at its
/// next call. Extra memory while merged: the changed weights once more (in their storage form).
///
/// Not thread-safe with respect to the model: nothing may run the model while merging or
/// restoring (`DiffusionPipeline` serialises this).
public final class MergedLoRAs: @unchecked Sendable {
    /// What was merged, in order.
    public let applications: [LoRAApplication]
    private var originals: [(parameter: Parameter, original: Original)]
    /// Whether `restore()` has run.
    public private(set) var isRestored = false

    private enum Original {
        case tensor(Tensor)
        case storage(any ParameterStorage)
    }

    /// Merges `applications` into the weights of their target layers.
    /// - Throws: `LoRAError` when a file's tensors cannot be read (the weights are then unchanged).
    public init(_ applications: [LoRAApplication]) throws {
        self.applications = applications
        // Sum each parameter's deltas first, so reading a file fails before any weight changes.
        var order: [ObjectIdentifier] = []
        var sums: [ObjectIdentifier: (parameter: Parameter, delta: Tensor)] = [:]
        for application in applications where application.multiplier != 0 {
            for layer in application.lora.layers {
                let parameter = layer.target.parameter
                let delta: Tensor
                do {
                    delta = try layer.delta(from: application.lora.weights) * application.multiplier
                } catch let error as LoRAError {
                    throw error
                } catch {
                    throw LoRAError(file: application.lora.url.path, key: layer.keys.first, "cannot be read: \(error)")
                }
                let id = ObjectIdentifier(parameter)
                if let existing = sums[id] {
                    sums[id] = (parameter, existing.delta + delta)
                } else {
                    sums[id] = (parameter, delta)
                    order.append(id)
                }
            }
        }
        originals = []
        for id in order {
            let (parameter, delta) = sums[id]!
            let half = parameter.isFloat16
            originals.append((parameter, parameter.storage.map { .storage($0) } ?? .tensor(parameter.value)))
            parameter.value = parameter.value + delta
            if half { parameter.storeAsFloat16() }
        }
    }

    /// Puts the original weights back (once; later calls do nothing).
    public func restore() {
        guard !isRestored else { return }
        isRestored = true
        for (parameter, original) in originals.reversed() {
            switch original {
            case .tensor(let tensor): parameter.value = tensor
            case .storage(let storage): parameter.store(storage)
            }
        }
        originals = []
    }

    /// The number of weights changed.
    public var changedParameterCount: Int { originals.count }
}
