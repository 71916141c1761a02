import DiffuseTensor

/// Gradients of group normalization (with its optional fused SiLU) and layer normalization.
///
/// Both recompute each run's mean and 1/σ from the saved input instead of saving them. With
/// x̂ = (x − μ)/σ, y = x̂·w + b and dx̂ = dy·w over a run of M elements:
/// `dx = (1/σ)·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))`, `dw = Σ dy·x̂`, `db = Σ dy`.
enum NormalizationBackward {
    struct Gradients { var input: Tensor?; var weight: Tensor?; var bias: Tensor? }

    /// - Parameters:
    ///   - input, gradient: `[N, C, …]`, contiguous.
    ///   - weight, bias: `[C]` contiguous, or nil (1 and 0).
    ///   - silu: the forward applied SiLU after the affine map (its derivative is taken at the
    ///     recomputed pre-activation).
    ///   - needs: which of (input, weight, bias) gradients to compute.
    static func groupNorm(input: Tensor, gradient: Tensor, weight: Tensor?, bias: Tensor?, groups: Int, epsilon: Float,
                          silu: Bool, needs: (input: Bool, weight: Bool, bias: Bool)) -> Gradients {
        let n = input.shape[0], c = input.shape[1]
        let spatial = input.count / Swift.max(n * c, 1)
        let perGroup = c / groups
        let runLength = perGroup * spatial
        let xp = input.pointer, gp = gradient.pointer
        let wp = weight?.pointer, bp = bias?.pointer
        let dx = needs.input ? Tensor(uninitializedShape: input.shape) : nil
        let dxp = dx?.pointer
        // Per (image, channel) sums of dz and dz·x̂, reduced over images at the end.
        let channelSums = UnsafeMutablePointer<Float>.allocate(capacity: 2 * n * c)
        defer { channelSums.deallocate() }
        let sumDz = channelSums, sumDzX = channelSums + n * c

        Parallel.forRange(n * groups, minPerThread: Swift.max(1, (1 << 14) / Swift.max(runLength, 1))) { range in
            for item in range {
                let image = item / groups, group = item % groups
                let src = xp + item * runLength, grad = gp + item * runLength
                let (mean, rstd) = VectorLoops.moments(src, runLength, epsilon: epsilon)
                let mv = Vec8(repeating: mean), rv = Vec8(repeating: rstd)
                var groupDxhat: Float = 0, groupDxhatX: Float = 0
                for k in 0 ..< perGroup {
                    let channel = group * perGroup + k
                    let wc = wp?[channel] ?? 1, bc = bp?[channel] ?? 0
                    let wv = Vec8(repeating: wc), bv = Vec8(repeating: bc)
                    let xs = src + k * spatial, gs = grad + k * spatial
                    // With SiLU, dz = dy·SiLU′(z) is stored in dx for the second pass.
                    let dzs: UnsafeMutablePointer<Float>? = silu && dxp != nil ? dxp! + item * runLength + k * spatial : nil
                    var s0 = Vec8(), s1 = Vec8()
                    var i = 0
                    while i < spatial {
                        let m = Swift.min(8, spatial - i)
                        let xv = m == 8 ? VectorMath.load(xs + i) : VectorMath.loadPartial(xs + i, m)
                        var dz = m == 8 ? VectorMath.load(gs + i) : VectorMath.loadPartial(gs + i, m)
                        let xhat = (xv - mv) * rv
                        if silu {
                            dz = SiLUDerivative.apply(VectorMath.fma(xhat, wv, bv), dz)
                            if let dzs { if m == 8 { VectorMath.store(dz, dzs + i) } else { VectorMath.storePartial(dz, dzs + i, m) } }
                        }
                        s0 += dz
                        s1 = VectorMath.fma(dz, xhat, s1)
                        i += 8
                    }
                    let a = s0.sum(), b = s1.sum()
                    sumDz[image * c + channel] = a
                    sumDzX[image * c + channel] = b
                    groupDxhat += wc * a
                    groupDxhatX += wc * b
                }
                guard let dxp else { continue }
                let meanDxhat = Vec8(repeating: groupDxhat / Float(runLength))
                let meanDxhatX = Vec8(repeating: groupDxhatX / Float(runLength))
                for k in 0 ..< perGroup {
                    let channel = group * perGroup + k
                    let wv = Vec8(repeating: wp?[channel] ?? 1)
                    let xs = src + k * spatial
                    let dzs = UnsafePointer(silu ? dxp + item * runLength + k * spatial : grad + k * spatial)
                    let out = dxp + item * runLength + k * spatial
                    var i = 0
                    while i < spatial {
                        let m = Swift.min(8, spatial - i)
                        let xv = m == 8 ? VectorMath.load(xs + i) : VectorMath.loadPartial(xs + i, m)
                        let dz = m == 8 ? VectorMath.load(dzs + i) : VectorMath.loadPartial(dzs + i, m)
                        let xhat = (xv - mv) * rv
                        let v = rv * (dz * wv - meanDxhat - xhat * meanDxhatX)
                        if m == 8 { VectorMath.store(v, out + i) } else { VectorMath.storePartial(v, out + i, m) }
                        i += 8
                    }
                }
            }
        }
        func reduceOverImages(_ sums: UnsafeMutablePointer<Float>) -> Tensor {
            let out = Tensor(shape: [c], repeating: 0)
            for image in 0 ..< n { VectorLoops.add(sums + image * c, into: out.pointer, c) }
            return out
        }
        return Gradients(input: dx, weight: needs.weight ? reduceOverImages(sumDzX) : nil,
                         bias: needs.bias ? reduceOverImages(sumDz) : nil)
    }

    /// - Parameters:
    ///   - input, gradient: `[…, d]`, contiguous.
    ///   - weight: `[d]` contiguous, or nil (1).
    ///   - needs: which of (input, weight, bias) gradients to compute.
    static func layerNorm(input: Tensor, gradient: Tensor, weight: Tensor?, epsilon: Float,
                          needs: (input: Bool, weight: Bool, bias: Bool)) -> Gradients {
        let d = input.shape[input.rank - 1]
        let rows = input.count / Swift.max(d, 1)
        let xp = input.pointer, gp = gradient.pointer, wp = weight?.pointer
        let dx = needs.input ? Tensor(uninitializedShape: input.shape) : nil
        let dxp = dx?.pointer
        let wantsParameters = needs.weight || needs.bias
        // Each chunk of rows sums dw and db into its own [2, d] slice.
        let chunks = Swift.max(1, Swift.min(Parallel.threadCount, rows / 4))
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: chunks * 2 * d)
        partials.initialize(repeating: 0, count: chunks * 2 * d)
        defer { partials.deallocate() }

        Parallel.forEach(chunks) { chunk in
            let dwAcc = partials + chunk * 2 * d, dbAcc = dwAcc + d
            for row in (chunk * rows / chunks) ..< ((chunk + 1) * rows / chunks) {
                let xs = xp + row * d, gs = gp + row * d
                let (mean, rstd) = VectorLoops.moments(xs, d, epsilon: epsilon)
                let mv = Vec8(repeating: mean), rv = Vec8(repeating: rstd)
                var s0 = Vec8(), s1 = Vec8()
                var i = 0
                while i < d {
                    let m = Swift.min(8, d - i)
                    let xv = m == 8 ? VectorMath.load(xs + i) : VectorMath.loadPartial(xs + i, m)
                    let gv = m == 8 ? VectorMath.load(gs + i) : VectorMath.loadPartial(gs + i, m)
                    let xhat = (xv - mv) * rv
                    var dxhat = gv
                    if let wp { dxhat *= m == 8 ? VectorMath.load(wp + i) : VectorMath.loadPartial(wp + i, m) }
                    s0 += dxhat
                    s1 = VectorMath.fma(dxhat, xhat, s1)
                    if wantsParameters {
                        if m == 8 {
                            VectorMath.store(VectorMath.fma(gv, xhat, VectorMath.load(dwAcc + i)), dwAcc + i)
                            VectorMath.store(VectorMath.load(dbAcc + i) + gv, dbAcc + i)
                        } else {
                            for l in 0 ..< m { dwAcc[i + l] += gv[l] * xhat[l]; dbAcc[i + l] += gv[l] }
                        }
                    }
                    i += 8
                }
                guard let dxp else { continue }
                let meanDxhat = Vec8(repeating: s0.sum() / Float(d)), meanDxhatX = Vec8(repeating: s1.sum() / Float(d))
                let out = dxp + row * d
                i = 0
                while i < d {
                    let m = Swift.min(8, d - i)
                    let xv = m == 8 ? VectorMath.load(xs + i) : VectorMath.loadPartial(xs + i, m)
                    let gv = m == 8 ? VectorMath.load(gs + i) : VectorMath.loadPartial(gs + i, m)
                    let xhat = (xv - mv) * rv
                    var dxhat = gv
                    if let wp { dxhat *= m == 8 ? VectorMath.load(wp + i) : VectorMath.loadPartial(wp + i, m) }
                    let v = rv * (dxhat - meanDxhat - xhat * meanDxhatX)
                    if m == 8 { VectorMath.store(v, out + i) } else { VectorMath.storePartial(v, out + i, m) }
                    i += 8
                }
            }
        }
        func total(_ offset: Int) -> Tensor {
            let out = Tensor(shape: [d], repeating: 0)
            for chunk in 0 ..< chunks { VectorLoops.add(partials + chunk * 2 * d + offset, into: out.pointer, d) }
            return out
        }
        return Gradients(input: dx, weight: needs.weight ? total(0) : nil, bias: needs.bias ? total(d) : nil)
    }
}
