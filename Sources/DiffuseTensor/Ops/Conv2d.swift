/// 2-D convolution (cross-correlation, as PyTorch's `conv2d`).
extension Tensor {
    /// Convolves `self` (`[N, Cin, H, W]`) with `weight` (`[Cout, Cin/groups, kh, kw]`) plus `bias` (`[Cout]`).
    ///
    /// Runs on Diffuse's Winograd kernels (`WinogradConvolution`) when the task asks for Winograd
    /// and oneDNN has none on this CPU, else on oneDNN (`OneDNNConvolution`) when it takes the
    /// shape. Otherwise 1×1 stride-1 convolutions are one GEMM per image, and others build the patch matrix of a tile of output
    /// pixels at a time (im2col, a few MB per thread) and multiply it by the weights, with tiles
    /// spread over the cores.
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                       padding: Padding2D = Padding2D(0), dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
        OpProfile.measure("conv2d") {
            precondition(rank == 4 && weight.rank == 4, "conv2d: input \(shape) and weight \(weight.shape) must be 4-D")
            let (n, cin, h, w) = (shape[0], shape[1], shape[2], shape[3])
            let (cout, cinPerGroup, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
            precondition(groups > 0 && cin % groups == 0 && cout % groups == 0 && cinPerGroup == cin / groups,
                         "conv2d: input \(shape), weight \(weight.shape) and groups \(groups) do not match")
            let g = ConvGeometry(kernel: (kh, kw), stride: stride, padding: padding, dilation: dilation)
            let (oh, ow) = g.outputSize(height: h, width: w)
            precondition(oh > 0 && ow > 0, "conv2d: output would be \(oh)×\(ow) for input \(h)×\(w) and kernel \(kh)×\(kw)")
            let x = contiguous(), wt = weight.contiguous()
            let out = Tensor(uninitializedShape: [n, cout, oh, ow])
            let coutPerGroup = cout / groups
            let positions = oh * ow
            let kDim = cinPerGroup * kh * kw
            let biasTensor = bias?.contiguous()
            if let biasTensor {
                precondition(biasTensor.count == cout, "conv2d: bias of \(biasTensor.count) elements for \(cout) output channels")
            }
            if let out = WinogradConvolution.forward(x, weight: wt, bias: biasTensor, geometry: g, groups: groups) { return out }
            if let out = OneDNNConvolution.forward(x, weight: wt, bias: biasTensor, geometry: g, groups: groups) { return out }
            let biasPointer = biasTensor?.pointer
            let pointwise = g == ConvGeometry(kernel: (1, 1))

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

            if pointwise {
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
            withExtendedLifetime(biasTensor) {}
            return out
        }
    }
}
