import DiffuseAutograd
import DiffuseTensor

/// 2-D convolution over `[N, Cin, H, W]`. Checkpoint keys: `weight` `[Cout, Cin, kh, kw]`, `bias` `[Cout]`.
public final class Conv2d: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: (Int, Int)
    public let padding: Padding2D

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true) {
        weight = Parameter(shape: [outChannels, inChannels, kernel, kernel])
        self.bias = bias ? Parameter(shape: [outChannels]) : nil
        self.stride = (stride, stride)
        self.padding = Padding2D(padding)
    }

    public var inChannels: Int { weight.shape[1] }
    public var outChannels: Int { weight.shape[0] }

    /// On `Tensor`s (inference) or `Variable`s (training).
    @inlinable
    public func callAsFunction<T: TensorValue>(_ x: T) -> T {
        x.conv2d(weight: T.lift(weight), bias: bias.map { T.lift($0) }, stride: stride, padding: padding, dilation: (1, 1), groups: 1)
    }
}
