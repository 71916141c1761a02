import DiffuseTensor

/// Reading 2-D tensors as BLAS operands.
enum MatrixOperands {
    /// `matrix` (`[rows, cols]`) as a BLAS operand without copying when it is row-major or
    /// column-major with any leading dimension; otherwise a contiguous copy, kept alive in `keep`.
    static func operand(_ matrix: Tensor, keep: inout [Tensor]) -> BLAS.Operand {
        require(matrix.rank == 2, "operand: \(matrix.shape) is not a matrix")
        let rows = matrix.shape[0], cols = matrix.shape[1]
        let rs = matrix.strides[0], cs = matrix.strides[1]
        if (cs == 1 || cols == 1) && (rows == 1 || rs >= cols) {
            return BLAS.Operand(matrix.pointer, ld: rows == 1 ? Swift.max(cols, 1) : rs)
        }
        if (rs == 1 || rows == 1) && (cols == 1 || cs >= rows) {
            return BLAS.Operand(matrix.pointer, ld: cols == 1 ? Swift.max(rows, 1) : cs, transposed: true)
        }
        let copy = matrix.contiguous()
        keep.append(copy)
        return BLAS.Operand(copy.pointer, ld: Swift.max(cols, 1))
    }
}
