/// The one place that decides which kernel computes a forward convolution, for `Tensor.conv2d`
/// (a plain weight) and for layers that keep their weight packed in oneDNN's layout
/// (`ConvolutionWeightHolder`, e.g. DiffuseNN's `Conv2d`). The kernels are tried in this order and
/// the first that takes the call computes it:
///
/// 1. Diffuse's Winograd F(4×4, 3×3) (`WinogradConvolution`) — when the task's algorithm asks for
///    Winograd on this shape and oneDNN has no Winograd kernel on this CPU. A weight a layer has
///    already packed for oneDNN stays on oneDNN (its layout is oneDNN's).
/// 2. oneDNN with the layer's packed weight (packed at the first call, repacked when a shape's
///    primitive reads another layout).
/// 3. oneDNN with the plain weight (re-laid out at every call).
/// 4. One GEMM per image for 1×1 stride-1 convolutions; 5. im2col + GEMM for the rest.
///
/// A later kernel also runs when an earlier one fails at run time (oneDNN declines a band's
/// layout, say). `kernel(…)` names the kernel a call would take, which `diffuse doctor` prints.
public enum Convolution {
    /// A forward convolution kernel.
    public enum Kernel: Equatable, Sendable, CustomStringConvertible {
        /// Diffuse's Winograd F(4×4, 3×3) (AVX2 + FMA).
        case winograd
        /// oneDNN, with the implementation it picked (e.g. `brgconv:avx2`) and whether the weight is packed once.
        case oneDNN(implementation: String, packedWeight: Bool)
        /// One GEMM per image (1×1, stride 1).
        case pointwiseGEMM
        /// Patch matrices and GEMM.
        case im2col

        public var description: String {
            switch self {
            case .winograd: return "Diffuse's Winograd F(4×4, 3×3)"
            case let .oneDNN(implementation, packed): return packed ? "\(implementation) (packed weight)" : implementation
            case .pointwiseGEMM: return "GEMM (1×1)"
            case .im2col: return "im2col + GEMM"
            }
        }
    }

    /// The kernel that would compute a convolution of an input of shape `input` (`[N, Cin, H, W]`)
    /// by a weight of shape `weight` (`[Cout, Cin/groups, kh, kw]`) in this task; `packable` when
    /// the weight's holder keeps a packed copy, `packed` when it already holds one.
    public static func kernel(input: [Int], weight: [Int], geometry: ConvGeometry, groups: Int, hasBias: Bool,
                              packable: Bool = false, packed: Bool = false) -> Kernel {
        if !packed, WinogradConvolution.takes(input: input, weight: weight, geometry: geometry, groups: groups) {
            return .winograd
        }
        if OneDNNConvolution.enabled,
           let implementation = OneDNNConvolution.implementation(.forward, input: input, weight: weight, geometry: geometry,
                                                                 groups: groups, hasBias: hasBias) {
            return .oneDNN(implementation: implementation, packedWeight: packable)
        }
        return Im2ColConvolution.isPointwise(geometry) ? .pointwiseGEMM : .im2col
    }

    /// `[N, Cout, OH, OW]` = `x` (`[N, Cin, H, W]`, contiguous) convolved with `weight`
    /// (`[Cout, Cin/groups, kh, kw]`, contiguous) plus `bias` (`[Cout]`, contiguous); shapes already
    /// checked (`Tensor.conv2d` checks them).
    static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvGeometry, groups: Int) -> Tensor {
        if let out = WinogradConvolution.forward(x, weight: weight, bias: bias, geometry: geometry, groups: groups) { return out }
        if let out = OneDNNConvolution.forward(x, weight: weight, bias: bias, geometry: geometry, groups: groups) { return out }
        return Im2ColConvolution.forward(x, weight: weight, bias: bias, geometry: geometry, groups: groups)
    }

    /// The same convolution with the weight of `holder`, which keeps it packed for oneDNN when
    /// oneDNN takes the shape (packing it at the first call). `x` `[N, Cin, H, W]`; `bias` `[Cout]`.
    public static func forward(_ x: Tensor, holder: any ConvolutionWeightHolder, bias: Tensor?, geometry: ConvGeometry,
                               groups: Int) -> Tensor {
        OpProfile.measure("conv2d") { forwardPacking(x.contiguous(), holder: holder, bias: bias?.contiguous(), geometry: geometry, groups: groups) }
    }

    private static func forwardPacking(_ x: Tensor, holder: any ConvolutionWeightHolder, bias: Tensor?, geometry: ConvGeometry,
                                       groups: Int) -> Tensor {
        // Diffuse's Winograd kernels take the plain weight: a weight not packed yet stays plain for them.
        let winograd = WinogradConvolution.takes(input: x.shape, weight: holder.weightShape, geometry: geometry, groups: groups)
        var plainForWinograd = false
        let packed = holder.updatePackedWeight { current in
            if current == nil && winograd {
                plainForWinograd = true
                return nil
            }
            if let current {
                return current.repacked(input: x.shape, geometry: geometry, groups: groups, hasBias: bias != nil)
            }
            return PackedConvolutionWeight.pack(holder.plainWeight, input: x.shape, geometry: geometry, groups: groups,
                                                hasBias: bias != nil)
        }
        if !plainForWinograd, let packed,
           let out = OneDNNConvolution.forward(x, packed: packed, bias: bias, geometry: geometry, groups: groups) {
            return out
        }
        return x.conv2d(weight: holder.plainWeight, bias: bias, geometry: geometry, groups: groups)
    }
}

/// A layer's convolution weight that `Convolution.forward(_:holder:…)` may keep packed in oneDNN's
/// layout in place of the plain copy.
public protocol ConvolutionWeightHolder: AnyObject {
    /// The plain weight's shape, `[Cout, Cin/groups, kh, kw]`.
    var weightShape: [Int] { get }
    /// The plain weight (unpacked from the packed copy when that is what is held).
    var plainWeight: Tensor { get }
    /// Calls `body` with the packed copy held now (nil if none) under the holder's lock, holds
    /// what `body` returns from then on when it is a new copy, and returns it (nil: keep the
    /// plain weight for this call).
    func updatePackedWeight(_ body: (PackedConvolutionWeight?) -> PackedConvolutionWeight?) -> PackedConvolutionWeight?
}
