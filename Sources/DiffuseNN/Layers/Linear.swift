import DiffuseAutograd
import DiffuseTensor
import Foundation

/// y = x·Wᵀ + b over the last axis: `[…, inFeatures] → […, outFeatures]`.
/// Checkpoint keys: `weight` `[out, in]`, `bias` `[out]`.
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?

    /// Whether inference (`Tensor` inputs) runs on oneDNN's inner product with the weight packed
    /// once into the layout its kernels want (`OneDNNLinear`): 1.4–1.9× faster than sgemm at a
    /// text encoder's shapes. The packed copy (`PackedLinearWeight`) replaces the plain one in
    /// the parameter — no extra memory; reading `weight.value` unpacks it — and is made again when
    /// the weight is assigned or a shape needs another layout. Off by default; never used while
    /// the weight trains (has a leaf) or is stored as float16.
    public var packsWeights = false
    private let _packLock = NSLock()

    /// A LoRA adapter whose output is added to this layer's (y = x·Wᵀ + b + adapter(x)), or nil.
    /// Not a checkpoint entry of the layer (`Module` reflection skips the underscored property):
    /// the adapters are saved on their own (`LoRA` training).
    public var adapter: LowRankAdapter? {
        get { _adapter }
        set { _adapter = newValue }
    }
    @usableFromInline var _adapter: LowRankAdapter?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        weight = Parameter(shape: [outFeatures, inFeatures])
        self.bias = bias ? Parameter(shape: [outFeatures]) : nil
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// On `Tensor`s (inference) or `Variable`s (training).
    @inlinable
    public func callAsFunction<T: TensorValue>(_ x: T) -> T {
        let y: T
        if packsWeights, let tensor = x as? Tensor, let packed = packedForward(tensor) as? T {
            y = packed
        } else {
            y = x.linear(weight: T.lift(weight), bias: bias.map { T.lift($0) })
        }
        guard let adapter = _adapter else { return y }
        return y + adapter(x)
    }

    /// `activation(x·Wᵀ + b) + residual` at inference: `x` `[…, inFeatures]`, `residual` the
    /// output's shape `[…, outFeatures]`. With packed weights the activation and the residual are
    /// applied by the product itself as it writes its output (oneDNN post-ops: no extra passes
    /// over memory); otherwise they run as separate ops, with the same result within rounding.
    public func callAsFunction(_ x: Tensor, activation: FusedActivation?, adding residual: Tensor? = nil) -> Tensor {
        if packsWeights, _adapter == nil, let y = packedForward(x, activation: activation, residual: residual) { return y }
        var y: Tensor = self(x)
        if let activation { y = activation.apply(y) }
        if let residual { y = y + residual }
        return y
    }

    /// The packed path, or nil to take the plain one.
    @usableFromInline
    func packedForward(_ x: Tensor, activation: FusedActivation? = nil, residual: Tensor? = nil) -> Tensor? {
        OpProfile.measure("linear (packed)") { packedForwardUnprofiled(x, activation: activation, residual: residual) }
    }

    private func packedForwardUnprofiled(_ x: Tensor, activation: FusedActivation?, residual: Tensor?) -> Tensor? {
        let k = inFeatures
        guard weight.leaf == nil, !weight.isFloat16, bias?.isFloat16 != true, x.rank >= 1, x.shape[x.rank - 1] == k,
              x.count > 0 else { return nil }
        let rows = x.count / k
        if let residual, residual.shape != Array(x.shape.dropLast()) + [outFeatures] { return nil }
        guard let plan = OneDNNLinear.plan(rows: rows, inFeatures: k, outFeatures: outFeatures, hasBias: bias != nil,
                                           activation: activation, addsResidual: residual != nil) else {
            return nil
        }
        _packLock.lock()
        let packed: PackedLinearWeight
        if let current = weight.storage as? PackedLinearWeight, current.layout == plan.layout {
            packed = current
        } else if let fresh = plan.pack(weight.value.contiguous()) {
            weight.store(fresh)
            packed = fresh
        } else {
            _packLock.unlock()
            return nil
        }
        _packLock.unlock()
        guard let y = plan.run(x.contiguous().reshaped([rows, k]), packed: packed, bias: bias?.value.contiguous(),
                               residual: residual.map { $0.contiguous().reshaped([rows, outFeatures]) }) else {
            return nil
        }
        return y.reshaped(Array(x.shape.dropLast()) + [outFeatures])
    }
}

extension Module {
    /// Sets `packsWeights` on every `Linear` of the tree (for a model whose weights stay fixed,
    /// such as a text encoder at inference). Turning it off also unpacks the weights already
    /// packed, so that reading them (as the `Variable` path does) costs no conversion.
    public func packLinearWeights(_ on: Bool = true) {
        for case let linear as Linear in modules() {
            linear.packsWeights = on
            if !on, linear.weight.storage is PackedLinearWeight { linear.weight.value = linear.weight.value }
        }
    }
}
