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

    public func callAsFunction(_ x: Tensor) -> Tensor {
        asymmetric ? conv(x.padded(Padding2D(top: 0, bottom: 1, left: 0, right: 1))) : conv(x)
    }
}

/// diffusers' `Upsample2D` with a convolution: nearest-neighbour ×2 (or to `size`), then 3×3 conv.
public final class Upsample2D: Module {
    public let conv: Conv2d

    public init(channels: Int, outChannels: Int? = nil) {
        conv = Conv2d(channels, outChannels ?? channels, kernel: 3, padding: 1)
    }

    /// `size`: the target height and width when it is not exactly twice the input (odd skip sizes).
    public func callAsFunction(_ x: Tensor, size: (Int, Int)? = nil) -> Tensor {
        if let size, size != (x.shape[2] * 2, x.shape[3] * 2) {
            return conv(x.resizeNearest(height: size.0, width: size.1))
        }
        return conv(x.upsampleNearest(factor: 2))
    }
}

extension Tensor {
    /// PyTorch `interpolate(mode="nearest", size=…)`: source index `floor(dst · in / out)`.
    public func resizeNearest(height: Int, width: Int) -> Tensor {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let x = contiguous()
        var values = [Float](repeating: 0, count: n * c * height * width)
        let scaleY = Float(h) / Float(height), scaleX = Float(w) / Float(width)
        for p in 0 ..< n * c {
            for oy in 0 ..< height {
                let iy = Swift.min(Int((Float(oy) * scaleY).rounded(.down)), h - 1)
                for ox in 0 ..< width {
                    let ix = Swift.min(Int((Float(ox) * scaleX).rounded(.down)), w - 1)
                    values[(p * height + oy) * width + ox] = x.pointer[(p * h + iy) * w + ix]
                }
            }
        }
        return Tensor(shape: [n, c, height, width], values)
    }
}
