import DiffuseTensor

/// Gradient of softmax along the last axis from its output y: `dx = y ∘ (dy − Σ dy·y)` per row.
enum SoftmaxBackward {
    /// - Parameters: `output` (y) and `gradient` (dy), same shape `[…, d]`, any strides.
    static func inputGradient(output: Tensor, gradient: Tensor) -> Tensor {
        let d = output.shape[output.rank - 1]
        let rows = output.count / Swift.max(d, 1)
        let y = output.contiguous(), g = gradient.contiguous()
        let out = Tensor(uninitializedShape: output.shape)
        let yp = y.pointer, gp = g.pointer, op = out.pointer
        Parallel.forRange(rows, minPerThread: Swift.max(1, (1 << 14) / Swift.max(d, 1))) { range in
            for row in range {
                let ys = yp + row * d, gs = gp + row * d, dst = op + row * d
                let dot = Vec8(repeating: VectorLoops.dot(ys, gs, d))
                var i = 0
                while i + 8 <= d {
                    VectorMath.store(VectorMath.load(ys + i) * (VectorMath.load(gs + i) - dot), dst + i)
                    i += 8
                }
                while i < d { dst[i] = ys[i] * (gs[i] - dot[0]); i += 1 }
            }
        }
        withExtendedLifetime((y, g)) {}
        return out
    }
}
