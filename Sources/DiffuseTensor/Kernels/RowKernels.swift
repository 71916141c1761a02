/// Per-row kernels shared by normalization, softmax and attention.
enum RowKernels {
    /// `y[i] = x[i] · scale + shift`, optionally followed by SiLU.
    @inline(__always)
    static func scaleShift(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
                           scale: Float, shift: Float, silu: Bool) {
        let s = Vec8(repeating: scale), b = Vec8(repeating: shift)
        var i = 0
        if silu {
            while i + 8 <= n { VectorMath.store(SiLUKernel.apply(VectorMath.load(x + i) * s + b), y + i); i += 8 }
            if i < n { VectorMath.storePartial(SiLUKernel.apply(VectorMath.loadPartial(x + i, n - i) * s + b), y + i, n - i) }
        } else {
            while i + 8 <= n { VectorMath.store(VectorMath.load(x + i) * s + b, y + i); i += 8 }
            while i < n { y[i] = x[i] * scale + shift; i += 1 }
        }
    }

    /// `y[i] = (x[i] − mean) · rstd · w[i] + b[i]`.
    @inline(__always)
    static func normalizeAffine(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, mean: Float, rstd: Float,
                                weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?) {
        let m = Vec8(repeating: mean), r = Vec8(repeating: rstd)
        var i = 0
        while i + 8 <= n {
            var v = (VectorMath.load(x + i) - m) * r
            if let weight { v *= VectorMath.load(weight + i) }
            if let bias { v += VectorMath.load(bias + i) }
            VectorMath.store(v, y + i)
            i += 8
        }
        while i < n {
            var v = (x[i] - mean) * rstd
            if let weight { v *= weight[i] }
            if let bias { v += bias[i] }
            y[i] = v
            i += 1
        }
    }

    /// In place: `x[i] = exp(x[i] − max)`; returns Σ.
    @inline(__always)
    static func expShifted(_ x: UnsafeMutablePointer<Float>, _ n: Int, max: Float) -> Float {
        let m = Vec8(repeating: max)
        var acc0 = Vec8(), acc1 = Vec8()
        var i = 0
        // x − max ≤ 0 here, so the non-positive exp (no upper clamp) applies; two rows of 8 per
        // turn keep two independent chains in flight.
        while i + 16 <= n {
            let e0 = VectorMath.expNonPositive(VectorMath.load(x + i) - m)
            let e1 = VectorMath.expNonPositive(VectorMath.load(x + i + 8) - m)
            VectorMath.store(e0, x + i)
            VectorMath.store(e1, x + i + 8)
            acc0 += e0
            acc1 += e1
            i += 16
        }
        if i + 8 <= n {
            let e = VectorMath.expNonPositive(VectorMath.load(x + i) - m)
            VectorMath.store(e, x + i)
            acc0 += e
            i += 8
        }
        var total = (acc0 + acc1).sum()
        if i < n {
            let e = VectorMath.exp(VectorMath.loadPartial(x + i, n - i) - m)
            for l in 0 ..< n - i { x[i + l] = e[l]; total += e[l] }
        }
        return total
    }

    /// In place: `x[i] *= s`.
    @inline(__always)
    static func scale(_ x: UnsafeMutablePointer<Float>, _ n: Int, by s: Float) {
        let v = Vec8(repeating: s)
        var i = 0
        while i + 8 <= n { VectorMath.store(VectorMath.load(x + i) * v, x + i); i += 8 }
        while i < n { x[i] *= s; i += 1 }
    }
}
