import DiffuseTensor

/// Sizes of a 2-D convolution `[N, Cin, H, W] * [Cout, Cin/groups, kh, kw] → [N, Cout, OH, OW]`.
struct ConvShape {
    let batch: Int, inChannels: Int, height: Int, width: Int
    let outChannels: Int, groups: Int, outHeight: Int, outWidth: Int
    let geometry: ConvGeometry

    var inputShape: [Int] { [batch, inChannels, height, width] }
    var weightShape: [Int] { [outChannels, inPerGroup, geometry.kernelHeight, geometry.kernelWidth] }
    var inPerGroup: Int { inChannels / groups }
    var outPerGroup: Int { outChannels / groups }
    var positions: Int { outHeight * outWidth }
    /// Rows of the patch matrix: `Cin/groups · kh · kw`.
    var patchRows: Int { inPerGroup * geometry.kernelHeight * geometry.kernelWidth }
    /// 1×1, stride 1, no padding: the patch matrix is the image itself.
    var isPointwise: Bool { geometry == ConvGeometry(kernel: (1, 1)) }
    /// Output positions per patch-matrix tile: about 1.5 M floats (6 MB), a multiple of 16.
    var tile: Int { Swift.min(positions, Swift.max(64, (1_572_864 / Swift.max(patchRows, 1)) & ~15)) }
}

/// Gradients of `Tensor.conv2d` with respect to its input, weight and bias: on Diffuse's Winograd
/// kernels (`WinogradConvolution`) when they are active and take the shape, else on oneDNN
/// (`OneDNNConvolution`) when it takes the shape, else with the im2col kernels below.
///
/// - input: `dCol = W_gᵀ · dY` per tile of output positions (GEMM), added back into the image with
///   col2im; images (× groups) are spread over the cores.
/// - weight: `dW_g += dY_tile · Colᵀ` over every tile of every image (im2col + GEMM), each core
///   summing into its own copy of dW, added up at the end.
/// - bias: sum of dY over images and positions.
enum Conv2dBackward {
    /// - Parameters: `dy` `[N, Cout, OH, OW]` and `weight` `[Cout, Cin/groups, kh, kw]`, both contiguous.
    /// - Returns: `[N, Cin, H, W]`.
    static func inputGradient(_ dy: Tensor, weight: Tensor, _ s: ConvShape) -> Tensor {
        if let dx = WinogradConvolution.inputGradient(dy, weight: weight, inputShape: s.inputShape, geometry: s.geometry,
                                                      groups: s.groups) { return dx }
        if let dx = OneDNNConvolution.inputGradient(dy, weight: weight, inputShape: s.inputShape, geometry: s.geometry,
                                                    groups: s.groups) { return dx }
        return im2colInputGradient(dy, weight: weight, s)
    }

    /// The weight gradient and, with `withBias` when oneDNN computes it alongside, the bias gradient
    /// (nil otherwise: the caller uses `biasGradient`).
    static func weightGradient(_ dy: Tensor, input: Tensor, _ s: ConvShape, withBias: Bool) -> (Tensor, Tensor?) {
        if let dw = WinogradConvolution.weightGradient(dy, input: input, weightShape: s.weightShape, geometry: s.geometry,
                                                       groups: s.groups) { return (dw, nil) }
        if let (dw, db) = OneDNNConvolution.weightGradient(dy, input: input, weightShape: s.weightShape, geometry: s.geometry,
                                                          groups: s.groups, withBias: withBias) { return (dw, db) }
        return (im2colWeightGradient(dy, input: input, s), nil)
    }

    static func im2colInputGradient(_ dy: Tensor, weight: Tensor, _ s: ConvShape) -> Tensor {
        let items = s.batch * s.groups
        let positions = s.positions, kDim = s.patchRows, coutPG = s.outPerGroup, cinPG = s.inPerGroup
        let planeSize = s.height * s.width
        let wp = weight.pointer, dyp = dy.pointer
        let parallelItems = items >= Parallel.threadCount

        if s.isPointwise {
            // dX_g[cinPG, P] = W_gᵀ · dY_g.
            let dx = Tensor(uninitializedShape: [s.batch, s.inChannels, s.height, s.width])
            let dxp = dx.pointer
            func item(_ i: Int, threaded: Bool) {
                let image = i / s.groups, group = i % s.groups
                let a = BLAS.Operand(wp + group * coutPG * cinPG, ld: Swift.max(cinPG, 1), transposed: true)
                let b = BLAS.Operand(dyp + (image * s.outChannels + group * coutPG) * positions, ld: positions)
                let c = dxp + (image * s.inChannels + group * cinPG) * positions
                if threaded { BLAS.parallelGemm(m: cinPG, n: positions, k: coutPG, a, b, c, ldc: positions) }
                else { BLAS.gemm(m: cinPG, n: positions, k: coutPG, a, b, c, ldc: positions) }
            }
            if parallelItems { Parallel.forRange(items) { r in for i in r { item(i, threaded: false) } } }
            else { for i in 0 ..< items { item(i, threaded: true) } }
            return dx
        }

        let dx = Tensor(shape: [s.batch, s.inChannels, s.height, s.width], repeating: 0)
        let dxp = dx.pointer
        let tile = s.tile
        func tiles(image: Int, group: Int, dcol: UnsafeMutablePointer<Float>, threaded: Bool) {
            let a = BLAS.Operand(wp + group * coutPG * kDim, ld: kDim, transposed: true)
            let dyBase = dyp + (image * s.outChannels + group * coutPG) * positions
            let dxBase = dxp + (image * s.inChannels + group * cinPG) * planeSize
            var p0 = 0
            while p0 < positions {
                let len = Swift.min(tile, positions - p0)
                let b = BLAS.Operand(dyBase + p0, ld: positions)
                if threaded {
                    BLAS.parallelGemm(m: kDim, n: len, k: coutPG, a, b, dcol, ldc: len)
                    // Channels of the patch matrix land in disjoint planes.
                    Parallel.forRange(cinPG) { channels in
                        PatchMatrix.accumulate(dcol, into: dxBase, channels: channels, height: s.height, width: s.width,
                                               geometry: s.geometry, outWidth: s.outWidth, p0: p0, tile: len)
                    }
                } else {
                    BLAS.gemm(m: kDim, n: len, k: coutPG, a, b, dcol, ldc: len)
                    PatchMatrix.accumulate(dcol, into: dxBase, channels: 0 ..< cinPG, height: s.height, width: s.width,
                                           geometry: s.geometry, outWidth: s.outWidth, p0: p0, tile: len)
                }
                p0 += len
            }
        }
        if parallelItems {
            Parallel.forRange(items) { range in
                let dcol = UnsafeMutablePointer<Float>.allocate(capacity: kDim * tile)
                defer { dcol.deallocate() }
                for i in range { tiles(image: i / s.groups, group: i % s.groups, dcol: dcol, threaded: false) }
            }
        } else {
            let dcol = UnsafeMutablePointer<Float>.allocate(capacity: kDim * tile)
            defer { dcol.deallocate() }
            for i in 0 ..< items { tiles(image: i / s.groups, group: i % s.groups, dcol: dcol, threaded: true) }
        }
        return dx
    }

    /// - Parameters: `dy` `[N, Cout, OH, OW]` and `input` `[N, Cin, H, W]`, both contiguous.
    /// - Returns: `[Cout, Cin/groups, kh, kw]`.
    static func im2colWeightGradient(_ dy: Tensor, input: Tensor, _ s: ConvShape) -> Tensor {
        let positions = s.positions, kDim = s.patchRows, coutPG = s.outPerGroup, cinPG = s.inPerGroup
        let planeSize = s.height * s.width
        let weightCount = s.outChannels * kDim
        let dw = Tensor(shape: [s.outChannels, cinPG, s.geometry.kernelHeight, s.geometry.kernelWidth], repeating: 0)
        let dwp = dw.pointer, dyp = dy.pointer, xp = input.pointer
        let tile = s.isPointwise ? positions : s.tile
        let tilesPerImage = (positions + tile - 1) / tile
        let work = s.batch * s.groups * tilesPerImage

        /// dW_g += dY_tile · Colᵀ for work item `w` (image, group, tile), into `acc` (`[Cout, kDim]`).
        func accumulate(_ w: Int, into acc: UnsafeMutablePointer<Float>, col: UnsafeMutablePointer<Float>?, threaded: Bool) {
            let t = w % tilesPerImage, group = (w / tilesPerImage) % s.groups, image = w / (tilesPerImage * s.groups)
            let p0 = t * tile, len = Swift.min(tile, positions - p0)
            let image0 = xp + (image * s.inChannels + group * cinPG) * planeSize
            let patches: BLAS.Operand
            if let col {
                PatchMatrix.fill(col, image: image0, channels: cinPG, height: s.height, width: s.width,
                                 geometry: s.geometry, outWidth: s.outWidth, p0: p0, tile: len)
                patches = BLAS.Operand(col, ld: len, transposed: true)
            } else {
                patches = BLAS.Operand(image0 + p0, ld: positions, transposed: true)
            }
            let a = BLAS.Operand(dyp + (image * s.outChannels + group * coutPG) * positions + p0, ld: positions)
            let c = acc + group * coutPG * kDim
            if threaded { BLAS.parallelGemm(m: coutPG, n: kDim, k: len, a, patches, beta: 1, c, ldc: kDim) }
            else { BLAS.gemm(m: coutPG, n: kDim, k: len, a, patches, beta: 1, c, ldc: kDim) }
        }

        let chunks = Swift.min(Parallel.threadCount, work)
        if chunks <= 1 {
            let col = s.isPointwise ? nil : UnsafeMutablePointer<Float>.allocate(capacity: kDim * tile)
            defer { col?.deallocate() }
            for w in 0 ..< work { accumulate(w, into: dwp, col: col, threaded: true) }
            return dw
        }
        // Each chunk of work items sums into its own dW (chunk 0 into the result), added up at the end.
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: (chunks - 1) * weightCount)
        partials.initialize(repeating: 0, count: (chunks - 1) * weightCount)
        defer { partials.deallocate() }
        Parallel.forEach(chunks) { chunk in
            let acc = chunk == 0 ? dwp : partials + (chunk - 1) * weightCount
            let col = s.isPointwise ? nil : UnsafeMutablePointer<Float>.allocate(capacity: kDim * tile)
            defer { col?.deallocate() }
            for w in (chunk * work / chunks) ..< ((chunk + 1) * work / chunks) { accumulate(w, into: acc, col: col, threaded: false) }
        }
        Parallel.forRange(weightCount, minPerThread: 1 << 14) { r in
            for chunk in 0 ..< chunks - 1 {
                VectorLoops.add(partials + chunk * weightCount + r.lowerBound, into: dwp + r.lowerBound, r.count)
            }
        }
        return dw
    }

    /// - Parameter dy: `[N, Cout, OH, OW]`, contiguous. - Returns: `[Cout]`.
    static func biasGradient(_ dy: Tensor, _ s: ConvShape) -> Tensor {
        let db = Tensor(uninitializedShape: [s.outChannels])
        let dbp = db.pointer, dyp = dy.pointer
        let positions = s.positions
        Parallel.forRange(s.outChannels, minPerThread: Swift.max(1, (1 << 15) / Swift.max(positions * s.batch, 1))) { range in
            for c in range {
                var total: Float = 0
                for image in 0 ..< s.batch { total += VectorLoops.sum(dyp + (image * s.outChannels + c) * positions, positions) }
                dbp[c] = total
            }
        }
        return db
    }
}
