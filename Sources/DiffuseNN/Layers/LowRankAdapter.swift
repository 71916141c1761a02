import DiffuseAutograd
import DiffuseTensor

/// A LoRA adapter of a linear layer: `scale · (x·downᵀ)·upᵀ`, added to the layer's output
/// (`Linear.adapter`), with scale = alpha / rank. `x` `[…, in] → […, out]`.
///
/// Keys: `down` `[rank, in]` (kohya's `lora_down`, PEFT's `lora_A`), `up` `[out, rank]`
/// (`lora_up`, `lora_B`). The layer's own weight is not touched: training the adapter trains
/// these two matrices only.
public final class LowRankAdapter: Module {
    public let down: Parameter
    public let up: Parameter
    /// The numerator of the scale (kohya's `.alpha`).
    public let alpha: Float

    /// Uninitialized factors for a layer of `inFeatures → outFeatures`.
    public init(inFeatures: Int, outFeatures: Int, rank: Int, alpha: Float) {
        precondition(rank >= 1, "LowRankAdapter: rank \(rank)")
        down = Parameter(shape: [rank, inFeatures])
        up = Parameter(shape: [outFeatures, rank])
        self.alpha = alpha
    }

    public var rank: Int { down.shape[0] }
    /// alpha / rank.
    public var scale: Float { alpha / Float(rank) }

    /// The adapter's contribution `scale · up(down(x))`, on `Tensor`s or `Variable`s.
    @inlinable
    public func callAsFunction<T: TensorValue>(_ x: T) -> T {
        x.linear(weight: T.lift(down), bias: nil).linear(weight: T.lift(up), bias: nil) * scale
    }
}
