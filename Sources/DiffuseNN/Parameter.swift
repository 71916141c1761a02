import DiffuseTensor

/// A learnable tensor owned by a module. A reference type, so loading weights or an optimizer step
/// updates it in place wherever the module tree holds it.
public final class Parameter: @unchecked Sendable {
    /// The current value.
    public var value: Tensor

    /// A parameter holding `value`.
    public init(_ value: Tensor) { self.value = value }

    /// A parameter of `shape` with uninitialized storage: it must be loaded or initialized before use.
    public init(shape: [Int]) { self.value = Tensor(uninitializedShape: shape) }

    public var shape: [Int] { value.shape }
}
