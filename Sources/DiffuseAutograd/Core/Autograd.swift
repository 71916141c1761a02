import DiffuseTensor

/// Switches for recording the graph, and the entry points of the backward pass.
///
/// Recording is on by default. Inside `withoutRecording { … }` operations on variables compute
/// their values only and return constants. (Plain `Tensor` code is never recorded: inference that
/// does not use `Variable` pays nothing for this module.)
public enum Autograd {
    struct Context: Sendable {
        var recording = true
        /// Set while a checkpointed block is recomputed during the backward pass.
        var scope: ObjectIdentifier?
    }

    @TaskLocal static var context = Context()

    /// Whether operations on variables that require a gradient currently record themselves.
    public static var isRecording: Bool { context.recording }

    /// Runs `body` with recording off: results of variable operations are constants.
    public static func withoutRecording<R>(_ body: () throws -> R) rethrows -> R {
        var inner = context
        inner.recording = false
        return try $context.withValue(inner, operation: body)
    }

    /// Runs `body` recording into the scope of a checkpoint's recomputation.
    static func recording<R>(scope: ObjectIdentifier, _ body: () throws -> R) rethrows -> R {
        try $context.withValue(Context(recording: true, scope: scope), operation: body)
    }

    /// Back-propagates from several outputs at once: `gradients[i]` (same shape as `outputs[i]`)
    /// is the gradient of the objective with respect to `outputs[i]`. Leaf gradients accumulate.
    ///
    /// Outputs that do not require a gradient are skipped. Every node on the way is run once and
    /// then released; backpropagating through the same graph a second time is an error.
    public static func backward(_ outputs: [Variable], gradients: [Tensor]) {
        require(outputs.count == gradients.count, "backward: \(outputs.count) outputs but \(gradients.count) gradients")
        var roots: [(Variable, Tensor)] = []
        for (output, gradient) in zip(outputs, gradients) where output.requiresGrad {
            require(gradient.shape == output.shape, "backward: gradient \(gradient.shape) for an output of shape \(output.shape)")
            roots.append((output, gradient))
        }
        BackwardEngine.run(roots: roots, scope: nil)
    }
}

extension Variable {
    /// Back-propagates from this one-element variable (a loss): every leaf it depends on gets
    /// d(self)/d(leaf) added to its `grad`.
    public func backward() {
        require(count == 1, "backward: \(shape) is not a scalar; pass the output gradient with backward(gradient:)")
        backward(gradient: Tensor(shape: shape, repeating: 1))
    }

    /// Back-propagates `gradient` (the objective's gradient with respect to this variable, same shape).
    public func backward(gradient: Tensor) {
        require(requiresGrad, "backward: the variable does not require a gradient (no leaf with requiresGrad: true led to it)")
        Autograd.backward([self], gradients: [gradient])
    }
}
