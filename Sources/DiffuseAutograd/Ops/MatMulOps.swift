import DiffuseTensor

/// Matrix products: `matmul` (batched, broadcasting) and `linear`.
extension Variable {
    /// Matrix product over the last two axes, `[…, m, k] · […, k, n] → […, m, n]`, broadcasting the
    /// leading (batch) axes. 1-D operands are treated as a row (left) or column (right) vector.
    ///
    /// Gradients: `dA = dC · Bᵀ`, `dB = Aᵀ · dC`, summed over broadcast batch axes (a 2-D right operand
    /// of a batched product gets one GEMM over all batch rows).
    public func matmul(_ other: Variable) -> Variable {
        if rank == 1 { return unsqueezed(0).matmul(other).squeezed(-2) }
        if other.rank == 1 { return matmul(other.unsqueezed(1)).squeezed(-1) }
        let a = other.requiresGrad ? value : nil, b = requiresGrad ? other.value : nil
        let sa = shape, sb = other.shape
        return Variable.recordOperation("matmul", inputs: [self, other], output: value.matmul(other.value)) { g, needs in
            var da: Tensor?, db: Tensor?
            if needs[0] { da = BroadcastReduction.sum(g.matmul(b!.transposed()), toShape: sa) }
            if needs[1] {
                let a = a!
                if sb.count == 2 && sa.count > 2 {
                    // [B…, m, k]ᵀ · [B…, m, n] summed over B… is one [k, B…·m] · [B…·m, n] product.
                    let k = sa[sa.count - 1], n = g.shape[g.rank - 1]
                    let rows = a.count / Swift.max(k, 1)
                    db = a.reshaped(rows, k).transposed().matmul(g.reshaped(rows, n))
                    if db!.shape != sb { db = BroadcastReduction.sum(db!, toShape: sb) }
                } else {
                    db = BroadcastReduction.sum(a.transposed().matmul(g), toShape: sb)
                }
            }
            return [da, db]
        }
    }

    /// A fully connected layer: `self[…, in] · weightᵀ + bias`, with `weight` `[out, in]` and `bias` `[out]`.
    ///
    /// Saves the input (for the weight gradient) and the weight (for the input gradient), each only
    /// when the other side needs its gradient — a re-readable weight (`Variable(_:rereading:)`) is
    /// read again in the backward pass instead. Backward is three top-level GEMM/reductions on all cores.
    public func linear(weight: Variable, bias: Variable? = nil) -> Variable {
        require(weight.rank == 2 && weight.shape[1] == shape[rank - 1], "linear: input \(shape) does not match weight \(weight.shape)")
        let x = value.contiguous()
        let output = x.linear(weight: weight.value, bias: bias?.value)
        let savedX = weight.requiresGrad ? x : nil, savedW = requiresGrad ? SavedValue(weight) : nil
        let biasShape = bias?.shape ?? []
        let inShape = shape, outFeatures = weight.shape[0], inFeatures = weight.shape[1]
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        return Variable.recordOperation("linear", inputs: inputs, output: output) { g, needs in
            let gc = g.contiguous()
            let rows = gc.count / Swift.max(outFeatures, 1)
            var keep: [Tensor] = []
            var dx: Tensor?, dw: Tensor?, db: Tensor?
            if needs[0] {
                // dx[rows, in] = g[rows, out] · W[out, in]
                let out = Tensor(uninitializedShape: inShape)
                let weight = savedW!.value
                keep.append(weight)
                let w = MatrixOperands.operand(weight, keep: &keep)
                BLAS.parallelGemm(m: rows, n: inFeatures, k: outFeatures, BLAS.Operand(gc.pointer, ld: Swift.max(outFeatures, 1)), w,
                                  out.pointer, ldc: Swift.max(inFeatures, 1))
                dx = out
            }
            if needs[1] {
                // dW[out, in] = gᵀ[out, rows] · x[rows, in]
                let out = Tensor(uninitializedShape: [outFeatures, inFeatures])
                BLAS.parallelGemm(m: outFeatures, n: inFeatures, k: rows,
                                  BLAS.Operand(gc.pointer, ld: Swift.max(outFeatures, 1), transposed: true),
                                  BLAS.Operand(savedX!.pointer, ld: Swift.max(inFeatures, 1)), out.pointer, ldc: Swift.max(inFeatures, 1))
                dw = out
            }
            if needs.count > 2 && needs[2] {
                db = BroadcastReduction.sum(gc.reshaped(rows, outFeatures), toShape: [outFeatures]).reshaped(biasShape)
            }
            withExtendedLifetime((keep, gc)) {}
            return needs.count > 2 ? [dx, dw, db] : [dx, dw]
        }
    }
}
