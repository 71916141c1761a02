/// 2-D convolution (cross-correlation, as PyTorch's `conv2d`).
extension Tensor {
    /// Convolves `self` (`[N, Cin, H, W]`) with `weight` (`[Cout, Cin/groups, kh, kw]`) plus `bias` (`[Cout]`),
    /// on the kernel `Convolution` picks for the shape.
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                       padding: Padding2D = Padding2D(0), dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
        conv2d(weight: weight, bias: bias, geometry: ConvGeometry(kernel: (weight.shape[2], weight.shape[3]), stride: stride,
                                                                  padding: padding, dilation: dilation), groups: groups)
    }

    /// `conv2d` with the kernel size, stride, padding and dilation as one `geometry` (whose kernel
    /// size must be the weight's).
    public func conv2d(weight: Tensor, bias: Tensor?, geometry g: ConvGeometry, groups: Int) -> Tensor {
        OpProfile.measure("conv2d") {
            precondition(rank == 4 && weight.rank == 4, "conv2d: input \(shape) and weight \(weight.shape) must be 4-D")
            let (cin, h, w) = (shape[1], shape[2], shape[3])
            let (cout, cinPerGroup, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
            precondition(groups > 0 && cin % groups == 0 && cout % groups == 0 && cinPerGroup == cin / groups,
                         "conv2d: input \(shape), weight \(weight.shape) and groups \(groups) do not match")
            precondition(g.kernelHeight == kh && g.kernelWidth == kw, "conv2d: geometry of a \(g.kernelHeight)×\(g.kernelWidth) kernel for weight \(weight.shape)")
            let (oh, ow) = g.outputSize(height: h, width: w)
            precondition(oh > 0 && ow > 0, "conv2d: output would be \(oh)×\(ow) for input \(h)×\(w) and kernel \(kh)×\(kw)")
            let biasTensor = bias?.contiguous()
            if let biasTensor {
                precondition(biasTensor.count == cout, "conv2d: bias of \(biasTensor.count) elements for \(cout) output channels")
            }
            return Convolution.forward(contiguous(), weight: weight.contiguous(), bias: biasTensor, geometry: g, groups: groups)
        }
    }
}
