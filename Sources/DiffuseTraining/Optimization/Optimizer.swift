import DiffuseNN
import DiffuseTensor

/// An update rule over a module's parameters, keyed by checkpoint name. Optimizers keep their
/// per-parameter state as named tensors, so a training checkpoint can save and restore it exactly.
public protocol Optimizer: AnyObject {
    /// Updates every parameter that has a gradient, in place, with `learningRate` for this step.
    /// `gradients` are keyed like `Module.namedParameters()`.
    func update(_ parameters: [(key: String, parameter: Parameter)], gradients: [String: Tensor], learningRate: Float)

    /// Updates made so far.
    var stepCount: Int { get }

    /// The optimizer's state as named tensors (with `stepCount` in `metadata`), for checkpoints.
    func stateTensors() -> [String: Tensor]
    var metadata: [String: String] { get }

    /// Restores `stateTensors()` / `metadata` of an earlier run.
    /// - Throws: `TrainingError` naming a missing or mis-shaped state tensor.
    func restore(tensors: [String: Tensor], metadata: [String: String]) throws
}
