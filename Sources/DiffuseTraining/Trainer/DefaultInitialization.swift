import DiffuseNN
import DiffuseTensor

/// PyTorch's default initialization of layers, seeded, for training from scratch: weights and
/// biases of a layer whose weight has rank ≥ 2 (linear, convolution, embedding) uniform in
/// ±1/√fan_in, fan_in being the weight's size past its first axis; other weights (normalization
/// scales) 1 and their biases 0; the layers in `zeroLayers` all 0. Values are drawn parameter by
/// parameter in the given order, so a seed always gives the same tensors.
enum DefaultInitialization {
    /// - Parameters:
    ///   - parameters: the module tree's parameters (`Module.namedParameters()`).
    ///   - zeroLayers: layer keys (a parameter key without `.weight` / `.bias`) to start at zero.
    static func apply(to parameters: [(key: String, parameter: Parameter)], seed: UInt64, zeroLayers: Set<String> = []) {
        var random = TrainingRandom(seed: seed ^ 0x5EED)
        var fanIns: [String: Int] = [:]
        for (key, parameter) in parameters where key.hasSuffix(".weight") && parameter.shape.count >= 2 {
            fanIns[String(key.dropLast(".weight".count))] = parameter.shape.dropFirst().reduce(1, *)
        }
        for (key, parameter) in parameters {
            let shape = parameter.shape
            let layer = key.hasSuffix(".weight") ? String(key.dropLast(".weight".count))
                : key.hasSuffix(".bias") ? String(key.dropLast(".bias".count)) : key
            if zeroLayers.contains(layer) {
                parameter.value = Tensor.zeros(shape)
            } else if let fanIn = fanIns[layer] {
                let bound = 1 / Float(fanIn).squareRoot()
                parameter.value = Tensor(shape: shape, (0 ..< Tensor.elementCount(shape)).map { _ in Float(random.uniform() * 2 - 1) * bound })
            } else {
                parameter.value = key.hasSuffix(".weight") ? Tensor.ones(shape) : Tensor.zeros(shape)
            }
        }
    }
}
