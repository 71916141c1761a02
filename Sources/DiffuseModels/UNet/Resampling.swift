import DiffuseAutograd
import DiffuseNN
import DiffuseTensor

/// diffusers' `Downsample2D` with a convolution: 3×3, stride 2. `padding` 1 (UNet) or 0 with an
/// extra row and column of zeros at the bottom/right (the VAE encoder's `padding=0`).
public final class Downsample2D: Module {
    public let conv: Conv2d
    private let asymmetric: Bool

    public init(channels: Int, outChannels: Int? = nil, padding: Int) {
        conv = Conv2d(channels, outChannels ?? channels, kernel: 3, stride: 2, padding: padding)
        asymmetric = padding == 0
    }

    /// On `Tensor`s (inference) or `Variable`s (training).
    public func callAsFunction<T: TensorValue>(_ x: T) -> T {
        asymmetric ? conv(x.padded(Padding2D(top: 0, bottom: 1, left: 0, right: 1), value: 0)) : conv(x)
    }
}

/// diffusers' `Upsample2D` with a convolution: nearest-neighbour ×2 (or to `size`), then 3×3 conv.
public final class Upsample2D: Module {
    public let conv: Conv2d

    public init(channels: Int, outChannels: Int? = nil) {
        conv = Conv2d(channels, outChannels ?? channels, kernel: 3, padding: 1)
    }

    /// `size`: the target height and width when it is not exactly twice the input (odd skip sizes).
    /// On `Tensor`s (inference) or `Variable`s (training; both paths are differentiable).
    public func callAsFunction<T: TensorValue>(_ x: T, size: (Int, Int)? = nil) -> T {
        if let size, size != (x.shape[2] * 2, x.shape[3] * 2) {
            return conv(x.resizeNearest(height: size.0, width: size.1))
        }
        return conv(x.upsampleNearest(factor: 2))
    }
}
