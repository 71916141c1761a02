import DiffuseAutograd
import DiffuseTensor

/// Training state of a module tree: trainable leaves for its parameters and the gradients they
/// collect. The trainer calls `beginTraining()`, runs the model on `Variable`s, calls `backward()`
/// on the loss, reads `gradients()`, updates `parameter.value` (which writes the leaf), calls
/// `zeroGradients()`, and finally `endTraining()`.
extension Module {
    /// Gives every parameter a fresh trainable leaf (`requiresGrad: true`) holding its value.
    /// Parameters shared between modules get one leaf.
    public func beginTraining() {
        for (_, parameter) in namedParameters() where parameter.leaf == nil {
            parameter.leaf = Variable(parameter.value, requiresGrad: true)
        }
    }

    /// The accumulated gradient of every parameter that has one (a leaf reached by a backward
    /// pass), by checkpoint key, in declaration order. The tensors are the leaves' own `grad`
    /// buffers (later backward passes add into them; copy to keep a snapshot).
    public func gradients() -> [(key: String, gradient: Tensor)] {
        namedParameters().compactMap { key, parameter in parameter.leaf?.grad.map { (key: key, gradient: $0) } }
    }

    /// Forgets every leaf's accumulated gradient (the next backward pass starts from zero).
    public func zeroGradients() {
        for (_, parameter) in namedParameters() { parameter.leaf?.zeroGrad() }
    }

    /// Drops the leaves; each parameter keeps its trained value.
    public func endTraining() {
        for (_, parameter) in namedParameters() {
            let value = parameter.value
            parameter.leaf = nil
            parameter.value = value
        }
    }
}
