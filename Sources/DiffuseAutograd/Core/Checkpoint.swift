import DiffuseTensor

/// Gradient checkpointing: trade compute for memory by not keeping a block's activations.
///
/// The block runs once without recording (only its outputs are kept). When the backward pass
/// reaches it, it runs again from the saved inputs with recording on, and its gradients are
/// back-propagated through that fresh graph at once, which is released right after. Parameters the
/// block captures (leaves) receive their gradients directly.
///
/// The block must be deterministic (every kernel of `DiffuseTensor` is), and every variable it uses
/// that results from earlier recorded operations must be passed in `inputs` — capturing one is
/// detected during the backward pass and stops the program with a message.
///
/// - Parameters:
///   - inputs: the variables the block reads (their values are saved).
///   - body: the block; called once now and once more during the backward pass.
/// - Returns: the block's outputs (variables that require a gradient whenever recording is on).
public func checkpoint(_ inputs: [Variable], _ body: @escaping ([Variable]) -> [Variable]) -> [Variable] {
    guard Autograd.isRecording else { return body(inputs) }
    let values = inputs.map(\.value)
    let needs = inputs.map(\.requiresGrad)
    let outputs = Autograd.withoutRecording { body(inputs.map { $0.detached() }) }
    let outputShapes = outputs.map(\.shape)
    return Variable.record("checkpoint", inputs: inputs, outputs: outputs.map(\.value), always: true) { gradients in
        let scope = CheckpointScope()
        let leaves = zip(values, needs).map { Variable($0, requiresGrad: $1) }
        let recomputed = Autograd.recording(scope: ObjectIdentifier(scope)) { body(leaves) }
        require(recomputed.map(\.shape) == outputShapes,
                     "checkpoint: the recomputed block returned shapes \(recomputed.map(\.shape)), not \(outputShapes)")
        var roots: [(Variable, Tensor)] = []
        for (output, gradient) in zip(recomputed, gradients) {
            if let gradient, output.requiresGrad { roots.append((output, gradient)) }
        }
        BackwardEngine.run(roots: roots, scope: ObjectIdentifier(scope))
        withExtendedLifetime(scope) {}
        return leaves.map(\.grad)
    }
}

/// `checkpoint` for a block of one input and one output.
public func checkpoint(_ input: Variable, _ body: @escaping (Variable) -> Variable) -> Variable {
    checkpoint([input]) { [body($0[0])] }[0]
}

/// `checkpoint` for a block of two inputs (say, features and a time embedding) and one output.
public func checkpoint(_ a: Variable, _ b: Variable, _ body: @escaping (Variable, Variable) -> Variable) -> Variable {
    checkpoint([a, b]) { [body($0[0], $0[1])] }[0]
}

/// Identifies one recomputation (its address is unique while it is alive).
private final class CheckpointScope {}
