import DiffuseAutograd
import DiffuseTensor
import Foundation

/// 2-D convolution over `[N, Cin, H, W]`. Checkpoint keys: `weight` `[Cout, Cin, kh, kw]`, `bias` `[Cout]`.
public final class Conv2d: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: (Int, Int)
    public let padding: Padding2D

    /// Whether inference (`Tensor` inputs) keeps the weight in the blocked layout oneDNN's kernels
    /// read (`PackedConvolutionWeight`), packed at the first call, so that later calls skip
    /// re-laying it out. It replaces the plain copy (same memory); reading `weight.value` then
    /// converts back. Off by default; ignored while the weight trains (has a leaf), is stored as
    /// float16, or when oneDNN is off or declines the shape.
    public var packsWeights = false
    fileprivate let _packLock = NSLock()

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true) {
        weight = Parameter(shape: [outChannels, inChannels, kernel, kernel])
        self.bias = bias ? Parameter(shape: [outChannels]) : nil
        self.stride = (stride, stride)
        self.padding = Padding2D(padding)
    }

    public var inChannels: Int { weight.shape[1] }
    public var outChannels: Int { weight.shape[0] }

    /// On `Tensor`s (inference) or `Variable`s (training).
    @inlinable
    public func callAsFunction<T: TensorValue>(_ x: T) -> T {
        if packsWeights, let tensor = x as? Tensor, let y = packedForward(tensor) as? T { return y }
        return x.conv2d(weight: T.lift(weight), bias: bias.map { T.lift($0) }, stride: stride, padding: padding, dilation: (1, 1), groups: 1)
    }

    /// The packed path (`Convolution.forward(_:holder:…)`), or nil to take the plain one.
    @usableFromInline
    func packedForward(_ x: Tensor) -> Tensor? {
        guard weight.leaf == nil, !weight.isFloat16, bias?.isFloat16 != true, x.rank == 4, x.shape[1] == inChannels else {
            return nil
        }
        let geometry = ConvGeometry(kernel: (weight.shape[2], weight.shape[3]), stride: stride, padding: padding)
        return Convolution.forward(x, holder: self, bias: bias?.value, geometry: geometry, groups: 1)
    }
}

extension Conv2d: ConvolutionWeightHolder {
    public var weightShape: [Int] { weight.shape }
    public var plainWeight: Tensor { weight.value }
    public var packedWeight: PackedConvolutionWeight? { weight.storage as? PackedConvolutionWeight }

    public func updatePackedWeight(_ body: (PackedConvolutionWeight?) -> PackedConvolutionWeight?) -> PackedConvolutionWeight? {
        _packLock.lock()
        defer { _packLock.unlock() }
        let current = packedWeight
        let packed = body(current)
        if let packed, packed !== current { weight.store(packed) }
        return packed
    }
}

extension Module {
    /// Sets `packsWeights` on every `Conv2d` of the tree (for a model whose weights stay fixed,
    /// such as a UNet or a VAE at inference).
    public func packConvolutionWeights(_ on: Bool = true) {
        for case let conv as Conv2d in modules() { conv.packsWeights = on }
    }
}
