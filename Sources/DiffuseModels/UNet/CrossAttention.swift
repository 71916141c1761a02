import DiffuseAutograd
import DiffuseNN
import DiffuseTensor

/// diffusers' `Attention` as the UNet's transformer blocks use it: multi-head attention of `x`
/// (`[B, N, queryDim]`) over `context` (`[B, M, contextDim]`, or `x` itself for self-attention).
/// Keys: `to_q`, `to_k`, `to_v` (no bias by default), `to_out.0`.
public final class CrossAttention: Module {
    public static let keyOverrides = ["toOut": "to_out.0"]
    public let toQ: Linear
    public let toK: Linear
    public let toV: Linear
    public let toOut: Linear
    public let heads: Int
    public let headDim: Int

    public init(queryDim: Int, contextDim: Int? = nil, heads: Int, headDim: Int, bias: Bool = false, outBias: Bool = true) {
        let inner = heads * headDim
        toQ = Linear(queryDim, inner, bias: bias)
        toK = Linear(contextDim ?? queryDim, inner, bias: bias)
        toV = Linear(contextDim ?? queryDim, inner, bias: bias)
        toOut = Linear(inner, queryDim, bias: outBias)
        self.heads = heads
        self.headDim = headDim
    }

    /// On `Tensor`s (inference) or `Variable`s (training).
    public func callAsFunction<T: TensorValue>(_ x: T, context: T? = nil) -> T {
        let ctx = context ?? x
        let (b, n, m) = (x.shape[0], x.shape[1], ctx.shape[1])
        func split(_ t: T, _ length: Int) -> T { t.reshaped(b, length, heads, headDim).permuted(0, 2, 1, 3) }
        let q = split(toQ(x), n), k = split(toK(ctx), m), v = split(toV(ctx), m)
        // [B, H, N, D] view of [B, N, H, D]
        let attended = T.scaledDotProductAttention(query: q, key: k, value: v, scale: nil, causal: false, mask: nil)
        return toOut(attended.permuted(0, 2, 1, 3).reshaped(b, n, heads * headDim))
    }
}
