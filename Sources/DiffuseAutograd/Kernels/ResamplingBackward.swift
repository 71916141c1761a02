import DiffuseTensor

/// Gradients of nearest-neighbour upsampling and average pooling of `[N, C, H, W]` images.
enum ResamplingBackward {
    /// Sums each `factor × factor` block of `gradient` (`[N, C, H·f, W·f]`) into one pixel: `[N, C, H, W]`.
    static func upsampleNearest(_ gradient: Tensor, factor: Int) -> Tensor {
        let g = gradient.contiguous()
        let (n, c, oh, ow) = (g.shape[0], g.shape[1], g.shape[2], g.shape[3])
        let h = oh / factor, w = ow / factor
        let out = Tensor(uninitializedShape: [n, c, h, w])
        let gp = g.pointer, yp = out.pointer
        Parallel.forRange(n * c * h, minPerThread: 64) { range in
            for row in range {
                let dst = yp + row * w
                let src = gp + row * factor * ow
                dst.update(repeating: 0, count: w)
                for r in 0 ..< factor {
                    let line = src + r * ow
                    if factor == 2 {
                        var j = 0
                        while j + 4 <= w {
                            let v = VectorMath.load(line + 2 * j)
                            let pairs = SIMD4<Float>(v[0] + v[1], v[2] + v[3], v[4] + v[5], v[6] + v[7])
                            dst[j] += pairs[0]; dst[j + 1] += pairs[1]; dst[j + 2] += pairs[2]; dst[j + 3] += pairs[3]
                            j += 4
                        }
                        while j < w { dst[j] += line[2 * j] + line[2 * j + 1]; j += 1 }
                    } else {
                        for j in 0 ..< w {
                            var total: Float = 0
                            for k in 0 ..< factor { total += line[j * factor + k] }
                            dst[j] += total
                        }
                    }
                }
            }
        }
        withExtendedLifetime(g) {}
        return out
    }

    /// Adds each output pixel's gradient (`[N, C, OH, OW]`) into the source pixel nearest-neighbour
    /// resizing read it from (`floor(o · in / out)`, as `Tensor.resizeNearest`): `[N, C, height, width]`.
    static func resizeNearest(_ gradient: Tensor, height: Int, width: Int) -> Tensor {
        let g = gradient.contiguous()
        let (n, c, oh, ow) = (g.shape[0], g.shape[1], g.shape[2], g.shape[3])
        let out = Tensor(shape: [n, c, height, width], repeating: 0)
        let scaleY = Float(height) / Float(oh), scaleX = Float(width) / Float(ow)
        let rows = (0 ..< oh).map { Swift.min(Int((Float($0) * scaleY).rounded(.down)), height - 1) }
        let columns = (0 ..< ow).map { Swift.min(Int((Float($0) * scaleX).rounded(.down)), width - 1) }
        let gp = g.pointer, yp = out.pointer
        rows.withUnsafeBufferPointer { rows in
            columns.withUnsafeBufferPointer { columns in
                Parallel.forRange(n * c, minPerThread: 4) { range in
                    for plane in range {
                        let src = gp + plane * oh * ow, dst = yp + plane * height * width
                        for oy in 0 ..< oh {
                            let line = dst + rows[oy] * width, from = src + oy * ow
                            for ox in 0 ..< ow { line[columns[ox]] += from[ox] }
                        }
                    }
                }
            }
        }
        withExtendedLifetime(g) {}
        return out
    }

    /// Spreads each output gradient evenly over its `kernel × kernel` window (windows that overlap
    /// when `stride < kernel` add up): `[N, C, OH, OW]` → `[N, C, height, width]`.
    static func avgPool2d(_ gradient: Tensor, kernel: Int, stride: Int, height: Int, width: Int) -> Tensor {
        let g = gradient.contiguous()
        let (n, c, oh, ow) = (g.shape[0], g.shape[1], g.shape[2], g.shape[3])
        let out = Tensor(shape: [n, c, height, width], repeating: 0)
        let gp = g.pointer, yp = out.pointer
        let inv = 1 / Float(kernel * kernel)
        Parallel.forRange(n * c, minPerThread: 4) { range in
            for plane in range {
                let src = gp + plane * oh * ow, dst = yp + plane * height * width
                for oy in 0 ..< oh {
                    for ox in 0 ..< ow {
                        let v = src[oy * ow + ox] * inv
                        for ky in 0 ..< kernel {
                            let row = dst + (oy * stride + ky) * width + ox * stride
                            for kx in 0 ..< kernel { row[kx] += v }
                        }
                    }
                }
            }
        }
        withExtendedLifetime(g) {}
        return out
    }
}
