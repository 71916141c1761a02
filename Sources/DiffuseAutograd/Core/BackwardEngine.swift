import DiffuseTensor

/// Runs the recorded operations in reverse (Kahn's algorithm on the part of the graph that leads to
/// the roots): a node runs once every consumer has passed its gradient back, then its saved tensors,
/// gradient buffers and edges are dropped at once.
enum BackwardEngine {
    /// - Parameters:
    ///   - roots: variables (requiring a gradient) with the objective's gradient for each.
    ///   - scope: when set (a checkpoint's recomputation), every node reached must have been created
    ///     in that scope; reaching another one means the block used an outside result it was not given.
    static func run(roots: [(Variable, Tensor)], scope: ObjectIdentifier?) {
        // 1. Find the nodes that lead to the roots and count, for each, the edges into it.
        var visited = Set<ObjectIdentifier>()
        var stack: [Node] = []
        func visit(_ node: Node) {
            if visited.insert(ObjectIdentifier(node)).inserted {
                require(!node.released,
                             "backward: the graph through \(node.name) was already differentiated and its saved tensors released")
                require(scope == nil || node.scope == scope,
                             "checkpoint: the block uses the result of \(node.name), computed outside it; pass that variable as an input of checkpoint")
                node.dependencies = 0
                stack.append(node)
            }
        }
        for (root, _) in roots { if let producer = root.producer { visit(producer.node) } }
        var rootNodes = stack
        while let node = stack.popLast() {
            for case .node(let next, _) in node.edges {
                visit(next)
                next.dependencies += 1
            }
        }

        // 2. Seed the roots.
        for (root, gradient) in roots {
            if let producer = root.producer {
                producer.node.accumulate(gradient, output: producer.output)
            } else {
                root.accumulateGradient(gradient)
            }
        }

        // 3. Run nodes whose consumers are all done, most recently readied first (depth first,
        //    which frees activations of the latest layers before touching earlier ones).
        var ready = rootNodes.filter { $0.dependencies == 0 }
        rootNodes = []
        while let node = ready.popLast() {
            runNode(node, ready: &ready)
        }
    }

    private static func runNode(_ node: Node, ready: inout [Node]) {
        let gradients = node.pending
        let backward = node.backward
        let edges = node.edges
        node.pending = []
        node.pendingOwned = []
        node.backward = nil
        node.edges = []
        node.released = true
        var inputGradients: [Tensor?] = []
        if let backward, gradients.contains(where: { $0 != nil }) {
            inputGradients = OpProfile.measure(named: node.name + " backward") { backward(gradients) }
            require(inputGradients.count == edges.count,
                         "backward: \(node.name) returned \(inputGradients.count) gradients for \(edges.count) inputs")
        }
        for (index, edge) in edges.enumerated() {
            let gradient = index < inputGradients.count ? inputGradients[index] : nil
            switch edge {
            case .none:
                break
            case .leaf(let variable):
                if let gradient { variable.accumulateGradient(gradient) }
            case .node(let next, let output):
                if let gradient { next.accumulate(gradient, output: output) }
                next.dependencies -= 1
                if next.dependencies == 0 { ready.append(next) }
            }
        }
    }
}
