import DiffuseTensor

/// Where the gradient of one input of an operation goes.
enum Edge {
    /// The input needs no gradient.
    case none
    /// A leaf: the gradient is added into its `grad`.
    case leaf(Variable)
    /// Output `output` of another recorded operation.
    case node(Node, output: Int)
}

/// One recorded operation of the graph: how to turn the gradients of its outputs into gradients of
/// its inputs, and where those go.
///
/// The backward closure captures exactly the tensors it needs (the "saved tensors"); the engine
/// drops the closure, and with it those tensors, as soon as it has run, and clears `edges` so that
/// nothing upstream stays reachable.
final class Node {
    /// Operation name, for error messages.
    let name: String
    /// One per input, in the order of the operation's inputs.
    var edges: [Edge]
    /// Maps the output gradients (nil: no gradient reached that output) to the input gradients
    /// (nil: none, for inputs that do not need one). Nil once run.
    var backward: (([Tensor?]) -> [Tensor?])?
    /// Shapes of the outputs, to check the gradients that arrive.
    let outputShapes: [[Int]]
    /// The recomputation (of a `checkpoint`) that created this node, if any.
    let scope: ObjectIdentifier?

    // State of a backward pass.
    /// Gradients summed so far for each output.
    var pending: [Tensor?] = []
    /// Whether `pending[i]` is a tensor the engine allocated (and so may add into in place).
    var pendingOwned: [Bool] = []
    /// Consumers that have not yet passed their gradient back.
    var dependencies = 0
    /// Set when the backward pass has run this node (its saved tensors are gone).
    var released = false

    init(name: String, edges: [Edge], outputShapes: [[Int]], scope: ObjectIdentifier?,
         backward: @escaping ([Tensor?]) -> [Tensor?]) {
        self.name = name
        self.edges = edges
        self.outputShapes = outputShapes
        self.scope = scope
        self.backward = backward
    }

    /// Adds `gradient` to what output `output` has received.
    func accumulate(_ gradient: Tensor, output: Int) {
        require(gradient.shape == outputShapes[output],
                     "backward: \(name) output \(output) has shape \(outputShapes[output]) but received a gradient of shape \(gradient.shape)")
        if pending.isEmpty {
            pending = Array(repeating: nil, count: outputShapes.count)
            pendingOwned = Array(repeating: false, count: outputShapes.count)
        }
        if let existing = pending[output] {
            if pendingOwned[output] {
                GradientAccumulation.add(gradient, into: existing)
            } else {
                pending[output] = existing + gradient
                pendingOwned[output] = true
            }
        } else {
            pending[output] = gradient
        }
    }

    /// Releases a long chain of predecessors iteratively rather than by nested deinits, which
    /// could overflow a worker thread's stack for a graph thousands of operations deep.
    deinit {
        var stack: [Node] = []
        for case .node(let node, _) in edges { stack.append(node) }
        edges = []
        while var node = stack.popLast() {
            guard isKnownUniquelyReferenced(&node) else { continue }
            for case .node(let next, _) in node.edges { stack.append(next) }
            node.edges = []
        }
    }
}
