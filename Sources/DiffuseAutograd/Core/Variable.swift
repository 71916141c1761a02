import DiffuseTensor

/// A tensor that takes part in reverse-mode differentiation: a `value`, and for trainable leaves a
/// `grad` that `backward()` accumulates into.
///
/// Three kinds of variables exist:
/// - **leaves** (`Variable(tensor, requiresGrad: true)`): parameters and inputs whose gradient is
///   wanted; `backward()` adds into their `grad`.
/// - **constants** (`requiresGrad: false`, the default): data, targets, masks; no gradient flows to them.
/// - **results** of differentiable operations on a variable that requires a gradient: they remember
///   the operation that produced them (a node of the graph) and never hold a `grad` themselves.
///
/// Operations mirror the `Tensor` API (`x.conv2d(weight: w, bias: b, padding: Padding2D(1))`,
/// `a.matmul(b)`, `x.groupNorm(groups: 32, weight: g, bias: b, silu: true)`, `a + b`, …). A result
/// keeps only the tensors its backward pass needs; `backward()` frees them node by node and cuts the
/// graph behind itself, so holding on to the loss keeps nothing else alive.
///
/// Variables are not thread-safe: build and differentiate a graph on one thread (the kernels inside
/// every operation still use all cores).
public final class Variable {
    /// The forward value. Assigning a new value is how an optimizer updates a leaf between steps
    /// (the shape must stay the same); results of operations cannot be assigned.
    public var value: Tensor {
        didSet {
            require(producer == nil, "Variable.value: only leaves and constants can be assigned, not the result of \(producer!.node.name)")
            require(value.shape == oldValue.shape, "Variable.value: shape \(value.shape) differs from \(oldValue.shape)")
        }
    }

    /// The gradient accumulated by `backward()` (same shape as `value`, contiguous), or nil before
    /// the first backward pass and after `zeroGrad()`. Only leaves that require a gradient get one.
    ///
    /// Later backward passes add into this tensor's storage in place, so a copy of it that you keep
    /// changes too; take `grad!.copied()` to keep a snapshot.
    public internal(set) var grad: Tensor?

    /// Whether gradients flow to (or through) this variable.
    public let requiresGrad: Bool

    /// The operation that produced this variable and which of its outputs it is (nil for leaves and constants).
    let producer: (node: Node, output: Int)?

    /// For a constant made with `init(_:rereading:)`: reads its value again (nil otherwise).
    let reread: (() -> Tensor)?

    /// A leaf (`requiresGrad: true`) or a constant (`requiresGrad: false`).
    public init(_ value: Tensor, requiresGrad: Bool = false) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.producer = nil
        self.reread = nil
    }

    /// A constant whose value `reread` computes again on demand (a frozen weight stored as
    /// float16: `value` is one float32 conversion, `reread` makes another). Operations that need
    /// it in their backward pass keep `reread` instead of `value` (`SavedValue`), trading a
    /// conversion per backward use for not holding the float32 copy from forward to backward.
    public init(_ value: Tensor, rereading reread: @escaping () -> Tensor) {
        self.value = value
        self.requiresGrad = false
        self.producer = nil
        self.reread = reread
    }

    /// The result `output` of `node`.
    init(value: Tensor, node: Node, output: Int) {
        self.value = value
        self.requiresGrad = true
        self.producer = (node, output)
        self.reread = nil
    }

    /// A leaf or constant, not the result of a recorded operation.
    public var isLeaf: Bool { producer == nil }

    /// Size of each dimension of `value`, outermost first.
    public var shape: [Int] { value.shape }
    /// Number of dimensions.
    public var rank: Int { value.rank }
    /// Number of elements.
    public var count: Int { value.count }
    /// Size of `axis` (negative axes count from the end).
    public func size(_ axis: Int) -> Int { value.size(axis) }
    /// The single element of a one-element variable.
    public var item: Float { value.item }

    /// A constant with the same value: no gradient flows back through it.
    public func detached() -> Variable { Variable(value, requiresGrad: false) }

    /// Forgets the accumulated gradient (the next backward pass starts from zero).
    public func zeroGrad() { grad = nil }

    /// Adds `gradient` into `grad` (a private contiguous copy the first time, in place afterwards).
    func accumulateGradient(_ gradient: Tensor) {
        require(gradient.shape == value.shape, "backward: gradient of shape \(gradient.shape) for a leaf of shape \(value.shape)")
        if let grad {
            GradientAccumulation.add(gradient, into: grad)
        } else {
            grad = gradient.copied()
        }
    }
}

extension Variable: CustomStringConvertible {
    public var description: String {
        let kind = producer.map { "result of \($0.node.name)" } ?? (requiresGrad ? "leaf" : "constant")
        return "Variable(\(kind), \(value))"
    }
}
