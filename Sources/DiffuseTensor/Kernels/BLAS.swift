import CDiffuseBLAS
import CDiffuseDNNL
import Glibc

/// SGEMM. `gemm` runs on the calling thread only, through OpenBLAS: the kernels that split work
/// over the cores themselves (conv2d tiles, attention blocks, batched matmul) call it from each
/// worker, and nested calls never oversubscribe the cores. `parallelGemm` runs one product on all
/// cores, through oneDNN's `dnnl_sgemm` (or OpenBLAS's threads: `EngineSettings.gemm`).
///
/// Why two libraries: Debian's OpenBLAS 0.3.21 runs its AVX2 kernels even on AVX-512 CPUs, where
/// `dnnl_sgemm`'s JIT kernels use AVX-512; from inside the workers (one thread each) oneDNN's
/// products were slower next to its own convolutions, so the per-worker products stay on OpenBLAS
/// (figures in BENCHMARKS.md).
public enum BLAS {
    /// Which library runs `parallelGemm`.
    public enum Backend: String, Sendable, CaseIterable { case onednn, openblas }

    /// `EngineSettings.gemm`, read once.
    public static let parallelBackend: Backend = EngineSettings.current.gemm

    private static let openBLASConfigured: Bool = {
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
        product(m: m, n: n, k: k, alpha: alpha, a, b, beta: beta, c, ldc: ldc, threads: 1)
    }

    /// The same product on all cores, through the backend's own threads (which share the packed
    /// panels; splitting the product into single-threaded halves measured 20–40% slower on big K·N).
    /// Call it from the top level only, not from inside a `Parallel` region.
    public static func parallelGemm(m: Int, n: Int, k: Int, alpha: Float = 1, _ a: Operand, _ b: Operand,
                                    beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        let threads = 2 * m * n * k < 4_000_000 ? 1 : Parallel.threadCount
        product(m: m, n: n, k: k, alpha: alpha, a, b, beta: beta, c, ldc: ldc, threads: threads)
    }

    private static func product(m: Int, n: Int, k: Int, alpha: Float, _ a: Operand, _ b: Operand,
                                beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0 ..< m {
                let row = c + i * ldc
                if beta == 0 { row.update(repeating: 0, count: n) } else { for j in 0 ..< n { row[j] *= beta } }
            }
            return
        }
        switch threads > 1 ? parallelBackend : .openblas {
        case .onednn:
            let status = dd_sgemm(a.transposed ? 1 : 0, b.transposed ? 1 : 0, Int64(m), Int64(n), Int64(k), alpha,
                                  a.pointer, Int64(a.ld), b.pointer, Int64(b.ld), beta, c, Int64(ldc), Int32(threads))
            precondition(status == 0, "oneDNN sgemm failed (status \(status)) for m \(m), n \(n), k \(k), lda \(a.ld), ldb \(b.ld), ldc \(ldc)")
        case .openblas:
            _ = openBLASConfigured
            if threads > 1 { openblas_set_num_threads(Int32(threads)) }
            cblas_sgemm(CblasRowMajor,
                        a.transposed ? CblasTrans : CblasNoTrans,
                        b.transposed ? CblasTrans : CblasNoTrans,
                        blasint(m), blasint(n), blasint(k), alpha,
                        a.pointer, blasint(a.ld), b.pointer, blasint(b.ld), beta, c, blasint(ldc))
            if threads > 1 { openblas_set_num_threads(1) }
        }
    }
}
