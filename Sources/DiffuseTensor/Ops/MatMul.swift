/// Matrix products: `matmul` (batched, broadcasting) and `linear`.
extension Tensor {
    /// Reads the last two axes as a BLAS operand without copying when the layout allows
    /// (row-major or column-major with any leading dimension); otherwise returns nil.
    func matrixOperand(at offset: Int) -> BLAS.Operand? {
        let rows = shape[rank - 2], cols = shape[rank - 1]
        let rs = strides[rank - 2], cs = strides[rank - 1]
        let base = UnsafePointer(storage.base + offset)
        if (cs == 1 || cols == 1) && (rows == 1 || rs >= cols) { return BLAS.Operand(base, ld: rows == 1 ? Swift.max(cols, 1) : rs) }
        if (rs == 1 || rows == 1) && (cols == 1 || cs >= rows) { return BLAS.Operand(base, ld: cols == 1 ? Swift.max(rows, 1) : cs, transposed: true) }
        return nil
    }

    /// Matrix product over the last two axes, `[…, m, k] · […, k, n] → […, m, n]`, broadcasting the
    /// leading (batch) axes. 1-D operands are treated as a row (left) or column (right) vector.
    public func matmul(_ other: Tensor) -> Tensor {
        OpProfile.measure("matmul") {
            var a = self, b = other
            let vectorLeft = a.rank == 1, vectorRight = b.rank == 1
            if vectorLeft { a = a.unsqueezed(0) }
            if vectorRight { b = b.unsqueezed(1) }
            let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
            precondition(b.shape[b.rank - 2] == k, "matmul: inner sizes differ: \(shape) · \(other.shape)")
            if a.matrixOperand(at: a.offset) == nil { a = a.contiguous() }
            if b.matrixOperand(at: b.offset) == nil { b = b.contiguous() }
            let batchShape = Broadcasting.shape(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2)))
            let batch = batchShape.reduce(1, *)
            let aBatchStrides = Broadcasting.strides(of: a.batchView, in: batchShape)
            let bBatchStrides = Broadcasting.strides(of: b.batchView, in: batchShape)
            var outShape = batchShape + [m, n]
            let out = Tensor(uninitializedShape: outShape)
            let c = out.pointer
            func offsets(_ index: Int) -> (Int, Int) {
                var rest = index, oa = a.offset, ob = b.offset
                for axis in stride(from: batchShape.count - 1, through: 0, by: -1) {
                    let i = rest % batchShape[axis]
                    rest /= batchShape[axis]
                    oa += i * aBatchStrides[axis]; ob += i * bBatchStrides[axis]
                }
                return (oa, ob)
            }
            if batch >= Parallel.threadCount && batch > 1 {
                Parallel.forRange(batch) { range in
                    for i in range {
                        let (oa, ob) = offsets(i)
                        BLAS.gemm(m: m, n: n, k: k, a.matrixOperand(at: oa)!, b.matrixOperand(at: ob)!, c + i * m * n, ldc: n)
                    }
                }
            } else {
                for i in 0 ..< batch {
                    let (oa, ob) = offsets(i)
                    BLAS.parallelGemm(m: m, n: n, k: k, a.matrixOperand(at: oa)!, b.matrixOperand(at: ob)!, c + i * m * n, ldc: n)
                }
            }
            if vectorRight { outShape.removeLast() }
            if vectorLeft { outShape.remove(at: outShape.count - (vectorRight ? 1 : 2)) }
            return out.reshaped(outShape)
        }
    }

    /// The leading (batch) axes only, for broadcasting arithmetic.
    private var batchView: Tensor {
        Tensor(storage: storage, shape: Array(shape.dropLast(2)), strides: Array(strides.dropLast(2)), offset: offset)
    }

    /// A fully connected layer: `self[…, in] · weightᵀ + bias`, with `weight` `[out, in]` and `bias` `[out]`.
    public func linear(weight: Tensor, bias: Tensor? = nil) -> Tensor {
        OpProfile.measure("linear") {
            precondition(weight.rank == 2 && weight.shape[1] == shape[rank - 1],
                         "linear: input \(shape) does not match weight \(weight.shape)")
            let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
            let x = contiguous()
            let w = weight.matrixOperand(at: weight.offset) == nil ? weight.contiguous() : weight
            let rows = count / Swift.max(inFeatures, 1)
            let out = Tensor(uninitializedShape: Array(shape.dropLast()) + [outFeatures])
            let y = out.pointer
            var beta: Float = 0
            if let bias {
                precondition(bias.count == outFeatures, "linear: bias of \(bias.count) elements for \(outFeatures) outputs")
                let b = bias.contiguous().pointer
                Parallel.forRange(rows, minPerThread: 256) { r in
                    for i in r { (y + i * outFeatures).update(from: b, count: outFeatures) }
                }
                beta = 1
            }
            var wOperand = w.matrixOperand(at: w.offset)!
            wOperand.transposed.toggle()
            BLAS.parallelGemm(m: rows, n: outFeatures, k: inFeatures, BLAS.Operand(x.pointer, ld: Swift.max(inFeatures, 1)),
                              wOperand, beta: beta, y, ldc: outFeatures)
            return out
        }
    }
}
