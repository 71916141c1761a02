import CDiffuseBLAS
import Glibc

/// SGEMM through OpenBLAS. OpenBLAS is pinned to one thread except inside `parallelGemm`: the
/// kernels that split work over the cores themselves (conv2d tiles, attention blocks, batched
/// matmul) call `gemm` from each worker, and nested calls never oversubscribe the cores.
public enum BLAS {
    private static let configured: Bool = {
        // After a threaded product OpenBLAS's idle workers keep polling for work (calling
        // sched_yield) for 2^28 cycles — about 0.1 s — before they sleep; on two cores that steals
        // time from the oneDNN and Diffuse threads that run next, between every pair of threaded
        // products. A timeout of 2^4 cycles (OpenBLAS's minimum) puts them to sleep at once. The
        // timeout is read from the environment when the workers start, so they are restarted
        // with it; a user's own OPENBLAS_THREAD_TIMEOUT is kept.
        if getenv("OPENBLAS_THREAD_TIMEOUT") == nil {
            setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0)
            openblas_read_env()
            _ = blas_thread_shutdown_()
            _ = blas_thread_init()
        }
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

    /// The same product on all cores, through OpenBLAS's own threads (which share the packed
    /// panels; splitting the product into single-threaded halves measured 20–40% slower on big K·N).
    /// Call it from the top level only, not from inside a `Parallel` region.
    public static func parallelGemm(m: Int, n: Int, k: Int, alpha: Float = 1, _ a: Operand, _ b: Operand,
                                    beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = configured
        let threads = 2 * m * n * k < 4_000_000 ? 1 : Parallel.threadCount
        if threads > 1 { openblas_set_num_threads(Int32(threads)) }
        gemm(m: m, n: n, k: k, alpha: alpha, a, b, beta: beta, c, ldc: ldc)
        if threads > 1 { openblas_set_num_threads(1) }
    }
}
