import DiffuseTensor

/// Gradient of GEGLU, `h · GELU(gate)` with `(h, gate)` the halves of the last axis.
enum GEGLUBackward {
    /// - Parameters: `input`: `[…, 2d]`; `gradient`: `[…, d]`. Returns `[…, 2d]`: `g·GELU(gate)` in
    ///   the first half, `g·h·GELU′(gate)` in the second.
    static func inputGradient(input: Tensor, gradient: Tensor) -> Tensor {
        let width = input.shape[input.rank - 1], d = width / 2
        let rows = input.count / Swift.max(width, 1)
        let x = input.contiguous(), g = gradient.contiguous()
        let out = Tensor(uninitializedShape: input.shape)
        let xp = x.pointer, gp = g.pointer, yp = out.pointer
        Parallel.forRange(rows, minPerThread: Swift.max(1, (1 << 14) / Swift.max(width, 1))) { range in
            for row in range {
                let h = xp + row * width, gate = h + d, gr = gp + row * d
                let dh = yp + row * width, dgate = dh + d
                var i = 0
                while i < d {
                    let n = Swift.min(8, d - i)
                    let hv = n == 8 ? VectorMath.load(h + i) : VectorMath.loadPartial(h + i, n)
                    let gv = n == 8 ? VectorMath.load(gate + i) : VectorMath.loadPartial(gate + i, n)
                    let grad = n == 8 ? VectorMath.load(gr + i) : VectorMath.loadPartial(gr + i, n)
                    let a = grad * GELUKernel.apply(gv)
                    let b = GELUDerivative.apply(gv, grad * hv)
                    if n == 8 {
                        VectorMath.store(a, dh + i); VectorMath.store(b, dgate + i)
                    } else {
                        VectorMath.storePartial(a, dh + i, n); VectorMath.storePartial(b, dgate + i, n)
                    }
                    i += 8
                }
            }
        }
        withExtendedLifetime((x, g)) {}
        return out
    }
}
