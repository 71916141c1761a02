import CDiffuseKernels
import Foundation

/// Which implementation `Attention.scaledDotProduct` runs. All of them compute the same function
/// (within float rounding); they differ in speed, so tests and `diffuse bench` can compare them.
public enum AttentionKernel: Sendable, Equatable, CustomStringConvertible {
    /// One pass over the keys per tile of query rows: scores, online softmax and the product with
    /// the values in registers and L1 (CDiffuseKernels), with vectors of `width` floats — 16 for
    /// AVX-512, 8 for AVX2 + FMA.
    case fused(width: Int)
    /// The older path: per block, an OpenBLAS product for the scores, a softmax pass, and another
    /// product for the values.
    case blas

    /// The default: the fused kernel at the widest vector this CPU has (`DIFFUSE_AVX512=0` keeps it
    /// at 8), or `.blas` when the environment sets `DIFFUSE_ATTENTION=blas`.
    public static let preferred: AttentionKernel =
        ProcessInfo.processInfo.environment["DIFFUSE_ATTENTION"] == "blas" ? .blas : .fused(width: Int(dk_vector_width()))

    /// Every kernel this CPU can run, widest first.
    public static let available: [AttentionKernel] =
        (dk_vector_width() == 16 ? [.fused(width: 16)] : []) + [.fused(width: 8), .blas]

    public var description: String {
        switch self {
        case .fused(let width): return width == 16 ? "fused AVX-512" : "fused AVX2"
        case .blas: return "OpenBLAS blocks"
        }
    }
}
