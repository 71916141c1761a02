import DiffuseTensor

/// Group normalization, layer normalization and softmax.
extension Variable {
    /// GroupNorm over `[N, C, …]` (each of `groups` channel groups normalized over its channels and
    /// positions, then scaled by `weight[C]` and shifted by `bias[C]`); `silu: true` fuses the SiLU
    /// that follows most GroupNorms in UNets and VAEs. Forward is `Tensor.groupNorm`.
    ///
    /// Saves only the input (and the affine parameters): statistics and the pre-SiLU values are
    /// recomputed in the backward pass.
    public func groupNorm(groups: Int, weight: Variable?, bias: Variable?, epsilon: Float = 1e-5, silu: Bool = false) -> Variable {
        let x = value.contiguous()
        let output = x.groupNorm(groups: groups, weight: weight?.value, bias: bias?.value, epsilon: epsilon, silu: silu)
        let w = weight?.value.contiguous(), b = silu ? bias?.value.contiguous() : nil
        let weightShape = weight?.shape ?? [], biasShape = bias?.shape ?? []
        let inputs = [self] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
        let hasWeight = weight != nil, hasBias = bias != nil
        return Variable.recordOperation("groupNorm", inputs: inputs, output: output) { g, needs in
            let gradients = NormalizationBackward.groupNorm(
                input: x, gradient: g.contiguous(), weight: w, bias: b, groups: groups, epsilon: epsilon, silu: silu,
                needs: (needs[0], hasWeight && needs[1], hasBias && needs[hasWeight ? 2 : 1]))
            var result: [Tensor?] = [gradients.input]
            if hasWeight { result.append(gradients.weight?.reshaped(weightShape)) }
            if hasBias { result.append(gradients.bias?.reshaped(biasShape)) }
            return result
        }
    }

    /// LayerNorm over the last axis, with `weight` and `bias` of that axis's size. Forward is
    /// `Tensor.layerNorm`; saves the input and weight, recomputes the statistics.
    public func layerNorm(weight: Variable?, bias: Variable?, epsilon: Float = 1e-5) -> Variable {
        let x = value.contiguous()
        let output = x.layerNorm(weight: weight?.value, bias: bias?.value, epsilon: epsilon)
        let w = weight?.value.contiguous()
        let weightShape = weight?.shape ?? [], biasShape = bias?.shape ?? []
        let inputs = [self] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
        let hasWeight = weight != nil, hasBias = bias != nil
        return Variable.recordOperation("layerNorm", inputs: inputs, output: output) { g, needs in
            let gradients = NormalizationBackward.layerNorm(
                input: x, gradient: g.contiguous(), weight: w, epsilon: epsilon,
                needs: (needs[0], hasWeight && needs[1], hasBias && needs[hasWeight ? 2 : 1]))
            var result: [Tensor?] = [gradients.input]
            if hasWeight { result.append(gradients.weight?.reshaped(weightShape)) }
            if hasBias { result.append(gradients.bias?.reshaped(biasShape)) }
            return result
        }
    }

    /// Softmax along `axis` (default: the last). Saves its output.
    public func softmax(axis: Int = -1) -> Variable {
        let a = value.normalize(axis)
        if a != rank - 1 {
            return transposed(a, rank - 1).softmax(axis: -1).transposed(a, rank - 1)
        }
        let y = value.softmax(axis: -1)
        return Variable.recordOperation("softmax", inputs: [self], output: y) { g, _ in
            [SoftmaxBackward.inputGradient(output: y, gradient: g)]
        }
    }
}
