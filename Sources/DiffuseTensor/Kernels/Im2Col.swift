/// Geometry of a 2-D convolution (or pooling) window.
public struct ConvGeometry: Equatable, Sendable {
    public var kernelHeight: Int, kernelWidth: Int
    public var strideY: Int, strideX: Int
    public var padTop: Int, padBottom: Int, padLeft: Int, padRight: Int
    public var dilationY: Int, dilationX: Int

    public init(kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: Padding2D = Padding2D(0), dilation: (Int, Int) = (1, 1)) {
        kernelHeight = kernel.0; kernelWidth = kernel.1
        strideY = stride.0; strideX = stride.1
        padTop = padding.top; padBottom = padding.bottom; padLeft = padding.left; padRight = padding.right
        dilationY = dilation.0; dilationX = dilation.1
    }

    public func outputSize(height: Int, width: Int) -> (Int, Int) {
        ((height + padTop + padBottom - dilationY * (kernelHeight - 1) - 1) / strideY + 1,
         (width + padLeft + padRight - dilationX * (kernelWidth - 1) - 1) / strideX + 1)
    }
}

/// Zero padding added around an image: `top`, `bottom`, `left`, `right`, in pixels.
public struct Padding2D: Equatable, Sendable {
    public var top: Int, bottom: Int, left: Int, right: Int
    public init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top; self.bottom = bottom; self.left = left; self.right = right
    }
    /// The same padding on every side.
    public init(_ all: Int) { self.init(top: all, bottom: all, left: all, right: all) }
    /// `vertical` above and below, `horizontal` left and right.
    public init(vertical: Int, horizontal: Int) { self.init(top: vertical, bottom: vertical, left: horizontal, right: horizontal) }
}

/// The patch matrix of a convolution (im2col), shared by conv2d's forward and backward passes.
public enum Im2Col {
    /// Writes the patch matrix of output positions `p0 ..< p0 + tile` of one image into `col`
    /// (`[channels·kh·kw, tile]`, row-major with leading dimension `tile`).
    ///
    /// - `image`: `[channels, height, width]`, contiguous.
    public static func fill(_ col: UnsafeMutablePointer<Float>, image: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                     geometry g: ConvGeometry, outWidth: Int, p0: Int, tile: Int) {
        let kh = g.kernelHeight, kw = g.kernelWidth
        for c in 0 ..< channels {
            let plane = image + c * height * width
            for ky in 0 ..< kh {
                for kx in 0 ..< kw {
                    var dst = col + ((c * kh + ky) * kw + kx) * tile
                    var p = p0
                    let end = p0 + tile
                    while p < end {
                        let oy = p / outWidth, ox0 = p - oy * outWidth
                        let run = Swift.min(outWidth - ox0, end - p)
                        let iy = oy * g.strideY - g.padTop + ky * g.dilationY
                        if iy < 0 || iy >= height {
                            dst.update(repeating: 0, count: run)
                        } else {
                            let row = plane + iy * width
                            let ixStart = ox0 * g.strideX - g.padLeft + kx * g.dilationX
                            if g.strideX == 1 {
                                // Valid outputs: 0 <= ixStart + j < width.
                                let lo = Swift.min(run, Swift.max(0, -ixStart))
                                let hi = Swift.max(lo, Swift.min(run, width - ixStart))
                                if lo > 0 { dst.update(repeating: 0, count: lo) }
                                if hi > lo { (dst + lo).update(from: row + ixStart + lo, count: hi - lo) }
                                if run > hi { (dst + hi).update(repeating: 0, count: run - hi) }
                            } else {
                                for j in 0 ..< run {
                                    let ix = ixStart + j * g.strideX
                                    dst[j] = ix >= 0 && ix < width ? row[ix] : 0
                                }
                            }
                        }
                        dst += run
                        p += run
                    }
                }
            }
        }
    }
}
