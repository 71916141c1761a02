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
/// value is stored as float16 again when the model asked for float16 weights
/// (`Parameter.prefersFloat16`), else as float32; a packed layer packs it again at its next call. Extra memory while merged: the changed weights once more (in their storage form).
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
        // Each changed weight as a float32 copy, every change added to it, before any parameter is
        // touched: a file that cannot be read leaves the model as it was.
        var order: [ObjectIdentifier] = []
        var updated: [ObjectIdentifier: (parameter: Parameter, weight: Tensor)] = [:]
        for application in applications where application.multiplier != 0 {
            for layer in application.lora.layers {
                let parameter = layer.target.parameter
                let id = ObjectIdentifier(parameter)
                if updated[id] == nil {
                    // A plain parameter's value is its own storage: copy it. Other forms convert to a fresh tensor.
                    let value = parameter.value
                    let fresh = parameter.storage != nil && value.isContiguous ? value : Tensor(uninitializedShape: value.shape)
                    if fresh.storage !== value.storage {
                        let source = value.contiguous()
                        withExtendedLifetime(source) { fresh.pointer.update(from: source.pointer, count: source.count) }
                    }
                    updated[id] = (parameter, fresh)
                    order.append(id)
                }
                do {
                    try layer.accumulate(into: updated[id]!.weight, multiplier: application.multiplier, from: application.lora.weights)
                } catch let error as LoRAError {
                    throw error
                } catch {
                    throw LoRAError(file: application.lora.url.path, key: layer.keys.first, "cannot be read: \(error)")
                }
            }
        }
        originals = []
        for id in order {
            let (parameter, weight) = updated[id]!
            let half = parameter.prefersFloat16
            originals.append((parameter, parameter.storage.map { .storage($0) } ?? .tensor(parameter.value)))
            parameter.value = weight
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
