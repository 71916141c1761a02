import CDiffuseBLAS

/// Single-threaded SGEMM through OpenBLAS. Diffuse splits matrix products over the cores itself
/// (`MatMul`, `Conv2d`, attention), so OpenBLAS is pinned to one thread: nested or concurrent calls
/// never oversubscribe the cores.
public enum BLAS {
    private static let configured: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// A row-major matrix operand: `pointer`, leading dimension `ld`, and whether it is read transposed.
    public struct Operand {
        public var pointer: UnsafePointer<Float>
        public var ld: Int
        public var transposed: Bool
        public init(_ pointer: UnsafePointer<Float>, ld: Int, transposed: Bool = false) {
            self.pointer = pointer; self.ld = ld; self.transposed = transposed
        }
    }

    /// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, row-major, on the calling thread.
    @inline(__always)
    public static func gemm(m: Int, n: Int, k: Int, alpha: Float = 1, _ a: Operand, _ b: Operand,
                            beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = configured
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0 ..< m {
                let row = c + i * ldc
                if beta == 0 { row.update(repeating: 0, count: n) } else { for j in 0 ..< n { row[j] *= beta } }
            }
            return
        }
        cblas_sgemm(CblasRowMajor,
                    a.transposed ? CblasTrans : CblasNoTrans,
                    b.transposed ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha,
                    a.pointer, blasint(a.ld), b.pointer, blasint(b.ld), beta, c, blasint(ldc))
    }

    /// The same product with its rows (m ≥ n) or columns split over the cores; each part is one
    /// single-threaded GEMM.
    public static func parallelGemm(m: Int, n: Int, k: Int, alpha: Float = 1, _ a: Operand, _ b: Operand,
                                    beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        let flops = 2 * m * n * k
        let threads = flops < 4_000_000 ? 1 : Parallel.threadCount
        if threads <= 1 {
            gemm(m: m, n: n, k: k, alpha: alpha, a, b, beta: beta, c, ldc: ldc)
            return
        }
        if m >= n {
            // Rows of C come from rows of op(A).
            let parts = Swift.min(threads, Swift.max(1, m / 16))
            Parallel.forRange(parts) { range in
                for p in range {
                    let r0 = p * m / parts, r1 = (p + 1) * m / parts
                    let aStart = a.transposed ? a.pointer + r0 : a.pointer + r0 * a.ld
                    gemm(m: r1 - r0, n: n, k: k, alpha: alpha, Operand(aStart, ld: a.ld, transposed: a.transposed), b,
                         beta: beta, c + r0 * ldc, ldc: ldc)
                }
            }
        } else {
            // Columns of C come from columns of op(B); keep each part a multiple of 16 wide.
            let parts = Swift.min(threads, Swift.max(1, n / 16))
            Parallel.forRange(parts) { range in
                for p in range {
                    let c0 = (p * n / parts) & ~15, c1 = p + 1 == parts ? n : ((p + 1) * n / parts) & ~15
                    let bStart = b.transposed ? b.pointer + c0 * b.ld : b.pointer + c0
                    gemm(m: m, n: c1 - c0, k: k, alpha: alpha, a, Operand(bStart, ld: b.ld, transposed: b.transposed),
                         beta: beta, c + c0, ldc: ldc)
                }
            }
        }
    }
}
