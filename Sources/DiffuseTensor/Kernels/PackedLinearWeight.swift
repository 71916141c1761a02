import CDiffuseDNNL

/// A linear layer's weight in the layout oneDNN's inner product reads (`OneDNNLinear.Plan.pack`),
/// kept instead of PyTorch's plain `[out, in]` by `Linear` at inference: the same number of floats
/// (plus the layout's padding), and `unpacked()` gives the plain weight back exactly.
public final class PackedLinearWeight: @unchecked Sendable {
    /// The plain weight's shape, `[outFeatures, inFeatures]`.
    public let shape: [Int]
    /// The packed floats (a flat tensor).
    let storage: Tensor
    /// A plan whose layout this is: plans with the same `layout` take it.
    private let plan: OneDNNLinear.Plan

    init(shape: [Int], storage: Tensor, plan: OneDNNLinear.Plan) {
        self.shape = shape
        self.storage = storage
        self.plan = plan
    }

    /// The layout id (`OneDNNLinear.Plan.layout`) it is packed in.
    public var layout: Int { plan.layout }

    /// Floats held.
    public var packedCount: Int { storage.count }

    /// The plain weight, `[outFeatures, inFeatures]` (a new tensor each call).
    public func unpacked() -> Tensor {
        OneDNNRuntime.unpack(shape, "a linear weight") { dd_linear_unpack(plan.pointer, storage.pointer, $0) }
    }
}
