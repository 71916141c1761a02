/// Forward convolutions on BLAS, the kernels every shape can take: 1×1 stride-1 convolutions are
/// one GEMM per image and group (`pointwise`); others build the patch matrix of a tile of output
/// pixels at a time (im2col, a few MB per thread) and multiply it by the weights, with tiles spread
/// over the cores.
enum Im2ColConvolution {
    /// Whether `geometry` is a 1×1, stride-1, unpadded convolution (one GEMM per image and group).
    static func isPointwise(_ geometry: ConvGeometry) -> Bool { geometry == ConvGeometry(kernel: (1, 1)) }

    /// `[N, Cout, OH, OW]` = `x` (`[N, Cin, H, W]`) convolved with `weight` (`[Cout, Cin/groups, kh, kw]`)
    /// plus `bias` (`[Cout]`); all contiguous, shapes already checked.
    static func forward(_ x: Tensor, weight wt: Tensor, bias biasTensor: Tensor?, geometry g: ConvGeometry, groups: Int) -> Tensor {
        let (n, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, cinPerGroup, kh, kw) = (wt.shape[0], wt.shape[1], wt.shape[2], wt.shape[3])
        let (oh, ow) = g.outputSize(height: h, width: w)
        let out = Tensor(uninitializedShape: [n, cout, oh, ow])
        let coutPerGroup = cout / groups
        let positions = oh * ow
        let kDim = cinPerGroup * kh * kw
        let biasPointer = biasTensor?.pointer

        // Tile of output positions per im2col patch matrix: about 1.5 M floats (6 MB), a multiple of 16.
        // Enough tiles that every core gets work.
        var tile = Swift.min(positions, Swift.max(64, (1_572_864 / Swift.max(kDim, 1)) & ~15))
        let minTilesPerImage = (Parallel.threadCount + n * groups - 1) / (n * groups)
        if minTilesPerImage > 1 { tile = Swift.min(tile, Swift.max(16, ((positions + minTilesPerImage - 1) / minTilesPerImage + 15) & ~15)) }
        let tilesPerImage = (positions + tile - 1) / tile
        let items = n * groups * tilesPerImage
        let xp = x.pointer, wp = wt.pointer, yp = out.pointer

        func addBias(_ y: UnsafeMutablePointer<Float>, channel0: Int, p0: Int, len: Int) {
            guard let b = biasPointer else { return }
            for co in 0 ..< coutPerGroup {
                let row = y + co * positions + p0
                let bv = Vec8(repeating: b[channel0 + co])
                var j = 0
                while j + 8 <= len { VectorMath.store(VectorMath.load(row + j) + bv, row + j); j += 8 }
                while j < len { row[j] += b[channel0 + co]; j += 1 }
            }
        }

        if isPointwise(g) {
            for image in 0 ..< n {
                for group in 0 ..< groups {
                    let src = xp + (image * cin + group * cinPerGroup) * positions
                    let dst = yp + (image * cout + group * coutPerGroup) * positions
                    BLAS.parallelGemm(m: coutPerGroup, n: positions, k: cinPerGroup,
                                      BLAS.Operand(wp + group * coutPerGroup * kDim, ld: kDim),
                                      BLAS.Operand(src, ld: positions), dst, ldc: positions)
                    Parallel.forRange(positions, minPerThread: 4096) { r in
                        addBias(dst, channel0: group * coutPerGroup, p0: r.lowerBound, len: r.count)
                    }
                }
            }
        } else {
            Parallel.forRange(items) { range in
                let col = UnsafeMutablePointer<Float>.allocate(capacity: kDim * tile)
                defer { col.deallocate() }
                for item in range {
                    let t = item % tilesPerImage, group = (item / tilesPerImage) % groups, image = item / (tilesPerImage * groups)
                    let p0 = t * tile, len = Swift.min(tile, positions - p0)
                    Im2Col.fill(col, image: xp + (image * cin + group * cinPerGroup) * h * w, channels: cinPerGroup,
                                height: h, width: w, geometry: g, outWidth: ow, p0: p0, tile: len)
                    let dst = yp + (image * cout + group * coutPerGroup) * positions
                    BLAS.gemm(m: coutPerGroup, n: len, k: kDim, BLAS.Operand(wp + group * coutPerGroup * kDim, ld: kDim),
                              BLAS.Operand(col, ld: len), dst + p0, ldc: positions)
                    addBias(dst, channel0: group * coutPerGroup, p0: p0, len: len)
                }
            }
        }
        withExtendedLifetime((x, wt, biasTensor)) {}
        return out
    }
}
