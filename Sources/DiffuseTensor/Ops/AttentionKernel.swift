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

    /// The default: the fused kernel at the widest vector this CPU has and `EngineSettings.avx512`
    /// allows, or `.blas` when `EngineSettings.attention` says so.
    public static let preferred: AttentionKernel =
        EngineSettings.current.attention == .blas ? .blas : .fused(width: vectorWidth)

    /// The widest vector, in floats, Diffuse's C kernels use: 16 on AVX-512 CPUs unless
    /// `EngineSettings.avx512` is off, else 8.
    public static let vectorWidth = Int(dk_vector_width(EngineSettings.current.avx512 ? 1 : 0))

    /// Every kernel this CPU can run, widest first.
    public static let available: [AttentionKernel] =
        (vectorWidth == 16 ? [.fused(width: 16)] : []) + [.fused(width: 8), .blas]

    public var description: String {
        switch self {
        case .fused(let width): return width == 16 ? "fused AVX-512" : "fused AVX2"
        case .blas: return "OpenBLAS blocks"
        }
    }
}
