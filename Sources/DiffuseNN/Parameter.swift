import DiffuseAutograd
import DiffuseFormats
import DiffuseTensor
import Foundation

/// A learnable tensor owned by a module. A reference type, so loading weights or an optimizer step
/// updates it in place wherever the module tree holds it.
///
/// For training it also holds a `leaf`: the trainable `Variable` that a model run on `Variable`s
/// reads instead of a constant (`TensorValue.lift`), so the gradient lands on `leaf.grad`. While
/// a leaf is set it is the parameter's value: `value` reads and writes `leaf.value`.
public final class Parameter: @unchecked Sendable {
    private var stored: Tensor
    /// The value in another form (float16, a packed layout) when `store(_:)` or
    /// `storeAsFloat16()` was called (`stored` is then empty).
    private var alternate: (any ParameterStorage)?

    /// Guards `stored` and `alternate`: a model shared by the server's workers reads its
    /// parameters from several threads, and a deferred weight's first read replaces both.
    private let access = NSLock()

    /// The trainable variable standing for this parameter (`Module.beginTraining()` creates one with
    /// `requiresGrad: true`), or nil: a model on `Variable`s then reads the value as a constant.
    public var leaf: Variable? {
        didSet {
            if let leaf {
                access.withLock {
                    stored = leaf.value
                    alternate = nil
                }
            }
        }
    }

    /// The current value (the leaf's while there is one; assigning keeps the shape then). A
    /// parameter kept in another form (`storage`) converts it to a new float32 tensor on every read,
    /// except a `DeferredWeight`, which is read once and kept as float32.
    public var value: Tensor {
        get {
            if let leaf { return leaf.value }
            return access.withLock {
                guard let alternate else { return stored }
                let value = alternate.floats()
                if alternate is DeferredWeight {
                    stored = value
                    self.alternate = nil
                }
                return value
            }
        }
        set {
            access.withLock {
                stored = newValue
                alternate = nil
            }
            leaf?.value = newValue
        }
    }

    /// A parameter holding `value`.
    public init(_ value: Tensor) { stored = value }

    /// A parameter of `shape` with uninitialized storage: it must be loaded or initialized before use.
    public init(shape: [Int]) { stored = Tensor(uninitializedShape: shape) }

    public var shape: [Int] { leaf?.value.shape ?? access.withLock { alternate?.shape ?? stored.shape } }

    /// Whether the value is kept as float16 (see `storeAsFloat16`).
    public var isFloat16: Bool { access.withLock { alternate is HalfValues } }

    /// Whether the model asked for this weight in float16 (`WeightPrecision.float16`): a new value
    /// computed from it (a merged LoRA) is then kept as float16 too. False for a float16 tensor
    /// read in place only because the checkpoint stores it so (`.asStored`): a new value then stays
    /// float32, exact.
    public private(set) var prefersFloat16 = false

    /// The form the value is kept in when not a plain float32 tensor (float16, a layer's packed
    /// layout, a weight not yet read from its file), or nil.
    public var storage: (any ParameterStorage)? { access.withLock { alternate } }

    /// Keeps the value as `storage` from now on (which must hold the same value, in the same
    /// shape) and releases the plain tensor: for a layer that reads its weight in another layout
    /// than the checkpoint's. Ignored while the parameter trains (a leaf is set); assigning
    /// `value` stores a plain tensor again.
    public func store(_ storage: any ParameterStorage) {
        guard leaf == nil else { return }
        precondition(storage.shape == shape, "Parameter.store: \(storage.shape) for a parameter of shape \(shape)")
        access.withLock {
            alternate = storage
            stored = Tensor(uninitializedShape: [0])
        }
    }

    /// Keeps the value as IEEE half floats, rounded to nearest even: half the memory, at the cost of
    /// a conversion on every read (and of float16's precision, which loses nothing for a checkpoint
    /// shipped in float16). Ignored while the parameter trains (a leaf is set); assigning `value`
    /// stores float32 again.
    public func storeAsFloat16() {
        guard leaf == nil else { return }
        prefersFloat16 = true
        guard !isFloat16 else { return }
        store(HalfValues(value.contiguous()))
    }

    /// Keeps the value as the float16 values at `bits` (`shape`'s element count of them, in
    /// row-major order), which `owner` keeps valid and unchanged — a checkpoint's memory-mapped
    /// tensor, read in place instead of copied. `preferred`: the model asked for float16
    /// (`prefersFloat16`). Ignored while the parameter trains.
    public func storeFloat16(_ bits: UnsafePointer<UInt16>, owner: AnyObject, preferred: Bool) {
        guard leaf == nil else { return }
        prefersFloat16 = preferred
        store(HalfValues(wrapping: bits, shape: shape, owner: owner))
    }
}

/// A parameter's value kept in another form than a plain float32 tensor, read back as one.
public protocol ParameterStorage: AnyObject, Sendable {
    /// The value's shape.
    var shape: [Int] { get }
    /// The value as a new float32 tensor of `shape`.
    func floats() -> Tensor
}

extension PackedConvolutionWeight: ParameterStorage {
    public func floats() -> Tensor { unpacked() }
}

extension PackedLinearWeight: ParameterStorage {
    public func floats() -> Tensor { unpacked() }
}

/// Float16 bits of a tensor's values, converted back to float32 on demand: a copy the parameter
/// owns, or the values in place in a memory-mapped checkpoint (`owner` keeps the mapping).
final class HalfValues: ParameterStorage, @unchecked Sendable {
    let bits: UnsafePointer<UInt16>
    let shape: [Int]
    let count: Int
    /// What keeps `bits` alive when they are not this object's own (nil: they are, and freed with it).
    private let owner: AnyObject?

    /// A float16 copy of `tensor`, rounded to nearest even.
    init(_ tensor: Tensor) {
        shape = tensor.shape
        count = tensor.count
        let copy = UnsafeMutablePointer<UInt16>.allocate(capacity: Swift.max(count, 1))
        let source = tensor.pointer
        Parallel.forRange(count, minPerThread: 1 << 18) { r in
            HalfConversion.floatToFloat16(source + r.lowerBound, copy + r.lowerBound, r.count)
        }
        withExtendedLifetime(tensor) {}
        bits = UnsafePointer(copy)
        owner = nil
    }

    /// The `shape.reduce(1, *)` values at `bits`, which `owner` keeps valid and unchanged.
    init(wrapping bits: UnsafePointer<UInt16>, shape: [Int], owner: AnyObject) {
        self.bits = bits
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.owner = owner
    }

    func floats() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        Float16Widening.widen(bits, into: out.pointer, count: count)
        return out
    }

    deinit { if owner == nil { UnsafeMutablePointer(mutating: bits).deallocate() } }
}

extension TensorValue {
    /// `parameter` as this value type: its value for `Tensor`, its leaf (or a constant) for
    /// `Variable` — for a frozen float16 parameter a constant that the backward pass reads again
    /// instead of keeping its float32 copy (`lift(frozen:reread:)`).
    @inlinable
    public static func lift(_ parameter: Parameter) -> Self {
        if parameter.leaf == nil && parameter.isFloat16 { return lift(frozen: parameter.value, reread: { parameter.value }) }
        return lift(parameter.value, leaf: parameter.leaf)
    }
}
