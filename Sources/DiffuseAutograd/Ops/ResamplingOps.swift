import DiffuseTensor

/// Spatial resampling and padding of `[N, C, H, W]` images. None of them saves a tensor.
extension Variable {
    /// Nearest-neighbour upsampling by an integer `factor`; the gradient sums each `factor × factor` block.
    public func upsampleNearest(factor: Int = 2) -> Variable {
        Variable.recordOperation("upsampleNearest", inputs: [self], output: value.upsampleNearest(factor: factor)) { g, _ in
            [ResamplingBackward.upsampleNearest(g, factor: factor)]
        }
    }

    /// Nearest-neighbour resizing to `height × width` (PyTorch `interpolate(mode="nearest", size=…)`,
    /// forward `Tensor.resizeNearest`); each source pixel's gradient is the sum over the output
    /// pixels that read it. Lets the UNets train on sizes whose skip connections are not exactly
    /// twice the upsampled size (odd sizes).
    public func resizeNearest(height: Int, width: Int) -> Variable {
        let (h, w) = (shape[2], shape[3])
        return Variable.recordOperation("resizeNearest", inputs: [self], output: value.resizeNearest(height: height, width: width)) { g, _ in
            [ResamplingBackward.resizeNearest(g, height: h, width: w)]
        }
    }

    /// Average pooling with a `kernel` window moved by `stride` (default: `kernel`), no padding.
    public func avgPool2d(kernel: Int = 2, stride: Int? = nil) -> Variable {
        let s = stride ?? kernel
        let (h, w) = (shape[2], shape[3])
        return Variable.recordOperation("avgPool2d", inputs: [self], output: value.avgPool2d(kernel: kernel, stride: s)) { g, _ in
            [ResamplingBackward.avgPool2d(g, kernel: kernel, stride: s, height: h, width: w)]
        }
    }

    /// Constant padding around the last two axes (`F.pad(x, (left, right, top, bottom))`); the
    /// gradient is the inner window of the incoming one (a view).
    public func padded(_ padding: Padding2D, value fill: Float = 0) -> Variable {
        let h = shape[rank - 2], w = shape[rank - 1]
        return Variable.recordOperation("padded", inputs: [self], output: value.padded(padding, value: fill)) { g, _ in
            [g.narrowed(axis: -2, start: padding.top, length: h).narrowed(axis: -1, start: padding.left, length: w)]
        }
    }
}
