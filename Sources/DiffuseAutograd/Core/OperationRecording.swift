import DiffuseTensor

/// Recording operations into the graph: how every differentiable operation is built.
extension Variable {
    /// Records a differentiable operation (the way every operation of this module is built; use it
    /// for custom ones).
    ///
    /// - Parameters:
    ///   - name: shown in error messages.
    ///   - inputs: the variables the outputs depend on.
    ///   - outputs: the computed values.
    ///   - backward: given the gradients of the outputs (nil where no gradient arrived; it is only
    ///     called when at least one did), returns one gradient per input with that input's shape,
    ///     or nil for inputs that need none. It must capture tensors, never the input variables
    ///     (which would keep their part of the graph alive). It runs at most once and is then released.
    /// - Returns: one variable per output. They require a gradient when recording is on and some
    ///   input requires one; otherwise they are constants and `backward` is dropped unused.
    public static func recordOperation(_ name: String, inputs: [Variable], outputs: [Tensor],
                                       backward: @escaping (_ outputGradients: [Tensor?]) -> [Tensor?]) -> [Variable] {
        record(name, inputs: inputs, outputs: outputs, always: false, backward: backward)
    }

    /// One-output form of `recordOperation`: `backward` receives the output's gradient and whether
    /// each input needs a gradient.
    public static func recordOperation(_ name: String, inputs: [Variable], output: Tensor,
                                       backward: @escaping (_ outputGradient: Tensor, _ needsGradient: [Bool]) -> [Tensor?]) -> Variable {
        let needs = inputs.map(\.requiresGrad)
        return record(name, inputs: inputs, outputs: [output], always: false) { gradients in
            backward(gradients[0]!, needs)
        }[0]
    }

    /// `always`: record even when no input requires a gradient (a checkpointed block may depend on
    /// parameters it captures rather than takes as inputs).
    static func record(_ name: String, inputs: [Variable], outputs: [Tensor], always: Bool,
                       backward: @escaping ([Tensor?]) -> [Tensor?]) -> [Variable] {
        let context = Autograd.context
        guard context.recording, always || inputs.contains(where: \.requiresGrad) else {
            return outputs.map { Variable($0) }
        }
        let edges: [Edge] = inputs.map { input in
            guard input.requiresGrad else { return .none }
            if let producer = input.producer { return .node(producer.node, output: producer.output) }
            return .leaf(input)
        }
        let node = Node(name: name, edges: edges, outputShapes: outputs.map(\.shape), scope: context.scope, backward: backward)
        return outputs.enumerated().map { Variable(value: $0.element, node: node, output: $0.offset) }
    }
}
