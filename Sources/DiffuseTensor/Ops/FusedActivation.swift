/// An activation a matrix product can apply to its output in the same pass (`Linear`'s fused
/// epilogue on oneDNN), or that `apply` runs as a separate elementwise op.
public enum FusedActivation: Sendable, Equatable {
    /// x·σ(1.702x), CLIP's `quick_gelu`.
    case quickGELU
    /// x·Φ(x), the erf form (PyTorch's `gelu`).
    case gelu
    /// The tanh approximation of GELU (`gelu_pytorch_tanh`).
    case geluTanh
    /// max(x, 0).
    case relu

    /// The activation as its own op.
    public func apply(_ x: Tensor) -> Tensor {
        switch self {
        case .quickGELU: return x.quickGELU()
        case .gelu: return x.gelu()
        case .geluTanh: return x.gelu(approximate: true)
        case .relu: return x.relu()
        }
    }
}
