import DiffuseNN
import DiffuseTensor

/// One entry of the tiny autoencoder's layer lists (diffusers' and TAESD's `nn.Sequential`):
/// a module applied to `[N, C, H, W]`. Layers without parameters (activations, upsampling) are
/// entries too, so that list indices are the checkpoint's indices (`layers.3.conv.0.weight`).
public protocol TinyLayer: Module {
    func forward(_ x: Tensor) -> Tensor
}

extension Conv2d: TinyLayer {
    public func forward(_ x: Tensor) -> Tensor { self(x) }
}

/// An activation between layers (no parameters).
public final class TinyActivation: TinyLayer {
    /// The activations diffusers' `get_activation` names that Diffuse has kernels for.
    public enum Kind: String, Sendable, Equatable {
        case relu, silu, gelu

        /// diffusers' spelling (`swish` is SiLU); nil for one Diffuse lacks (`mish`).
        public init?(diffusersName: String) {
            switch diffusersName.lowercased() {
            case "relu": self = .relu
            case "silu", "swish": self = .silu
            case "gelu": self = .gelu
            default: return nil
            }
        }
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public func forward(_ x: Tensor) -> Tensor {
        switch kind {
        case .relu: return x.relu()
        case .silu: return x.silu()
        case .gelu: return x.gelu()
        }
    }
}

/// Nearest-neighbour upsampling by an integer factor (`nn.Upsample(scale_factor:, mode="nearest")`; no parameters).
public final class TinyUpsample: TinyLayer {
    public let factor: Int

    public init(factor: Int) { self.factor = factor }

    public func forward(_ x: Tensor) -> Tensor { x.upsampleNearest(factor: factor) }
}
