/// Spatial resampling of `[N, C, H, W]` images.
extension Tensor {
    /// Nearest-neighbour upsampling by an integer `factor` (PyTorch `interpolate(mode="nearest")`).
    public func upsampleNearest(factor: Int = 2) -> Tensor {
        OpProfile.measure("upsample") {
            precondition(rank == 4 && factor >= 1, "upsampleNearest: input \(shape) must be [N, C, H, W], factor \(factor) ≥ 1")
            let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
            let x = contiguous()
            let out = Tensor(uninitializedShape: [n, c, h * factor, w * factor])
            let xp = x.pointer, yp = out.pointer
            let ow = w * factor
            Parallel.forRange(n * c * h, minPerThread: 64) { range in
                for row in range {
                    let src = xp + row * w
                    let dst = yp + row * factor * ow
                    if factor == 2 {
                        var j = 0
                        while j + 4 <= w {
                            let v = SIMD4<Float>(src[j], src[j + 1], src[j + 2], src[j + 3])
                            VectorMath.store(Vec8(lowHalf: SIMD4(v[0], v[0], v[1], v[1]), highHalf: SIMD4(v[2], v[2], v[3], v[3])), dst + 2 * j)
                            j += 4
                        }
                        while j < w { dst[2 * j] = src[j]; dst[2 * j + 1] = src[j]; j += 1 }
                    } else {
                        for j in 0 ..< ow { dst[j] = src[j / factor] }
                    }
                    for r in 1 ..< factor { (dst + r * ow).update(from: dst, count: ow) }
                }
            }
            return out
        }
    }

    /// Nearest-neighbour resizing to `height × width` (PyTorch `interpolate(mode="nearest", size=…)`):
    /// output pixel `(y, x)` reads source pixel `(floor(y · H / height), floor(x · W / width))`.
    /// The UNets use it when a skip connection is not exactly twice the size (odd input sizes);
    /// pipelines use it to bring masks to latent size.
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

    /// Average pooling with a `kernel` window moved by `stride` (no padding), as `avg_pool2d`.
    public func avgPool2d(kernel: Int = 2, stride: Int? = nil) -> Tensor {
        let s = stride ?? kernel
        precondition(rank == 4 && kernel >= 1 && s >= 1, "avgPool2d: input \(shape) must be [N, C, H, W]")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let oh = (h - kernel) / s + 1, ow = (w - kernel) / s + 1
        precondition(oh > 0 && ow > 0, "avgPool2d: window \(kernel) is larger than the \(h)×\(w) input")
        let x = contiguous()
        let out = Tensor(uninitializedShape: [n, c, oh, ow])
        let xp = x.pointer, yp = out.pointer
        let inv = 1 / Float(kernel * kernel)
        Parallel.forRange(n * c, minPerThread: 4) { range in
            for plane in range {
                let src = xp + plane * h * w, dst = yp + plane * oh * ow
                for oy in 0 ..< oh {
                    for ox in 0 ..< ow {
                        var total: Float = 0
                        for ky in 0 ..< kernel {
                            let row = src + (oy * s + ky) * w + ox * s
                            for kx in 0 ..< kernel { total += row[kx] }
                        }
                        dst[oy * ow + ox] = total * inv
                    }
                }
            }
        }
        return out
    }

    /// Zero padding around the last two axes (`F.pad(x, (left, right, top, bottom))`).
    public func padded(_ padding: Padding2D, value: Float = 0) -> Tensor {
        OpProfile.measure("pad") {
            precondition(rank >= 2, "padded: input \(shape) needs at least two axes")
            let h = shape[rank - 2], w = shape[rank - 1]
            let oh = h + padding.top + padding.bottom, ow = w + padding.left + padding.right
            let planes = count / Swift.max(h * w, 1)
            let x = contiguous()
            let out = Tensor(shape: Array(shape.dropLast(2)) + [oh, ow], repeating: value)
            let xp = x.pointer, yp = out.pointer
            Parallel.forRange(planes, minPerThread: 4) { range in
                for plane in range {
                    for y in 0 ..< h {
                        (yp + plane * oh * ow + (y + padding.top) * ow + padding.left).update(from: xp + plane * h * w + y * w, count: w)
                    }
                }
            }
            return out
        }
    }
}
