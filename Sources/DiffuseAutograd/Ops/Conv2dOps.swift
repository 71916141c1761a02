import DiffuseTensor

/// 2-D convolution (cross-correlation, as PyTorch's `conv2d`).
extension Variable {
    /// Convolves `self` (`[N, Cin, H, W]`) with `weight` (`[Cout, Cin/groups, kh, kw]`) plus `bias`
    /// (`[Cout]`); the forward pass is `Tensor.conv2d`.
    ///
    /// Saves the input (for the weight gradient) and the weight (for the input gradient), each only
    /// when needed — a re-readable weight (`Variable(_:rereading:)`) is read again in the backward
    /// pass instead; see `Conv2dBackward` for how the gradients are computed.
    public func conv2d(weight: Variable, bias: Variable? = nil, stride: (Int, Int) = (1, 1),
                       padding: Padding2D = Padding2D(0), dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Variable {
        let x = value.contiguous()
        let output = x.conv2d(weight: weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, groups: groups)
        let geometry = ConvGeometry(kernel: (weight.shape[2], weight.shape[3]), stride: stride, padding: padding, dilation: dilation)
        let s = ConvShape(batch: shape[0], inChannels: shape[1], height: shape[2], width: shape[3],
                          outChannels: weight.shape[0], groups: groups, outHeight: output.shape[2], outWidth: output.shape[3],
                          geometry: geometry)
        let savedX = weight.requiresGrad ? x : nil
        let savedW = requiresGrad ? SavedValue(weight) { $0.contiguous() } : nil
        let biasShape = bias?.shape ?? []
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        return Variable.recordOperation("conv2d", inputs: inputs, output: output) { g, needs in
            let dy = g.contiguous()
            let needsBias = needs.count > 2 && needs[2]
            let dx = needs[0] ? Conv2dBackward.inputGradient(dy, weight: savedW!.value.contiguous(), s) : nil
            var dw: Tensor?, db: Tensor?
            if needs[1] { (dw, db) = Conv2dBackward.weightGradient(dy, input: savedX!, s, withBias: needsBias) }
            if needsBias && db == nil { db = Conv2dBackward.biasGradient(dy, s) }
            return needs.count > 2 ? [dx, dw, db?.reshaped(biasShape)] : [dx, dw]
        }
    }
}
