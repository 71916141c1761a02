import DiffuseAutograd
import DiffuseTensor

/// A learnable tensor owned by a module. A reference type, so loading weights or an optimizer step
/// updates it in place wherever the module tree holds it.
///
/// For training it also holds a `leaf`: the trainable `Variable` that a model run on `Variable`s
/// reads instead of a constant (`TensorValue.lift`), so the gradient lands on `leaf.grad`. While
/// a leaf is set it is the parameter's value: `value` reads and writes `leaf.value`.
public final class Parameter: @unchecked Sendable {
    private var stored: Tensor

    /// The trainable variable standing for this parameter (`Module.beginTraining()` creates one with
    /// `requiresGrad: true`), or nil: a model on `Variable`s then reads the value as a constant.
    public var leaf: Variable? {
        didSet { if let leaf { stored = leaf.value } }
    }

    /// The current value (the leaf's while there is one; assigning keeps the shape then).
    public var value: Tensor {
        get { leaf?.value ?? stored }
        set {
            stored = newValue
            leaf?.value = newValue
        }
    }

    /// A parameter holding `value`.
    public init(_ value: Tensor) { self.stored = value }

    /// A parameter of `shape` with uninitialized storage: it must be loaded or initialized before use.
    public init(shape: [Int]) { self.stored = Tensor(uninitializedShape: shape) }

    public var shape: [Int] { value.shape }
}

extension TensorValue {
    /// `parameter` as this value type: its value for `Tensor`, its leaf (or a constant) for `Variable`.
    @inlinable
    public static func lift(_ parameter: Parameter) -> Self { lift(parameter.value, leaf: parameter.leaf) }
}
