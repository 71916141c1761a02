import DiffuseTensor

/// The patch matrix of a convolution (im2col) and its adjoint (col2im).
///
/// For output positions `p0 ..< p0 + tile` of one image, row `(c·kh + ky)·kw + kx` of the patch
/// matrix holds input pixel `(c, oy·sy − padTop + ky·dy, ox·sx − padLeft + kx·dx)` of each position
/// (0 outside the image); the matrix is `[channels·kh·kw, tile]`, row-major with leading dimension `tile`.
enum PatchMatrix {
    /// Writes the patch matrix of `image` (`[channels, height, width]`, contiguous) into `col`
    /// (the forward pass's `Im2Col`).
    @inline(__always)
    static func fill(_ col: UnsafeMutablePointer<Float>, image: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                     geometry g: ConvGeometry, outWidth: Int, p0: Int, tile: Int) {
        Im2Col.fill(col, image: image, channels: channels, height: height, width: width, geometry: g, outWidth: outWidth, p0: p0, tile: tile)
    }

    /// Adds the patch matrix `col` back into `image` (`[channels, height, width]`, contiguous): every
    /// entry goes to the pixel it was read from; entries read from the padding are dropped. Only the
    /// rows of `channels` are used, so disjoint channel ranges can run in parallel.
    static func accumulate(_ col: UnsafePointer<Float>, into image: UnsafeMutablePointer<Float>, channels: Range<Int>,
                           height: Int, width: Int, geometry g: ConvGeometry, outWidth: Int, p0: Int, tile: Int) {
        let kh = g.kernelHeight, kw = g.kernelWidth
        for c in channels {
            let plane = image + c * height * width
            for ky in 0 ..< kh {
                for kx in 0 ..< kw {
                    var src = col + ((c * kh + ky) * kw + kx) * tile
                    var p = p0
                    let end = p0 + tile
                    while p < end {
                        let oy = p / outWidth, ox0 = p - oy * outWidth
                        let run = Swift.min(outWidth - ox0, end - p)
                        let iy = oy * g.strideY - g.padTop + ky * g.dilationY
                        if iy >= 0 && iy < height {
                            let row = plane + iy * width
                            let ixStart = ox0 * g.strideX - g.padLeft + kx * g.dilationX
                            if g.strideX == 1 {
                                let lo = Swift.min(run, Swift.max(0, -ixStart))
                                let hi = Swift.max(lo, Swift.min(run, width - ixStart))
                                if hi > lo { VectorLoops.add(src + lo, into: row + ixStart + lo, hi - lo) }
                            } else {
                                for j in 0 ..< run {
                                    let ix = ixStart + j * g.strideX
                                    if ix >= 0 && ix < width { row[ix] += src[j] }
                                }
                            }
                        }
                        src += run
                        p += run
                    }
                }
            }
        }
    }
}
