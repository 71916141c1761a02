import DiffuseTensor

/// The value type a model computes with: `Tensor` for inference (no tape, no overhead) or
/// `Variable` for training (every operation recorded for the backward pass).
///
/// Model code written once as `func callAsFunction<T: TensorValue>(_ x: T) -> T` runs either way:
/// the requirements are exactly the operations the layers and UNets use, with the signatures
/// `Tensor` and `Variable` already share, so both conform by forwarding (no behaviour of their
/// own). Generic code passes every argument explicitly (requirements carry no defaults).
///
/// Parameters enter through `lift`: a `Tensor` model reads the parameter's value, a `Variable`
/// model its trainable leaf. Constants (timestep embeddings, masks) enter through `constant`.
public protocol TensorValue {
    /// Size of each dimension, outermost first.
    var shape: [Int] { get }

    // MARK: Entering the computation

    /// `value` as a constant of this type (no gradient flows to it).
    static func constant(_ value: Tensor) -> Self
    /// A parameter: its `value` for `Tensor`; its `leaf` for `Variable` when it has one (so the
    /// gradient lands on `leaf.grad`), otherwise a constant holding `value`.
    static func lift(_ value: Tensor, leaf: Variable?) -> Self
    /// A frozen parameter kept in another form than float32 (float16, packed): `value` is this
    /// read's float32 copy and `reread` makes another. For `Variable`, a constant that operations
    /// do not keep for their backward pass: they call `reread` there instead (`Variable(_:rereading:)`),
    /// so the tape never holds a float32 copy of the weight. For `Tensor`, `value`.
    static func lift(frozen value: Tensor, reread: @escaping () -> Tensor) -> Self
    /// Runs `body` on `inputs`; for `Variable`, as a gradient `checkpoint` (activations are
    /// recomputed in the backward pass instead of kept). `body` must read every non-parameter
    /// variable it depends on from `inputs`. For `Tensor` it is simply `body(inputs)`.
    static func checkpointed(_ inputs: [Self], _ body: @escaping ([Self]) -> [Self]) -> [Self]

    // MARK: Arithmetic (broadcasting)

    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static func * (a: Self, b: Self) -> Self
    static func / (a: Self, b: Self) -> Self
    static prefix func - (a: Self) -> Self
    static func + (a: Self, b: Float) -> Self
    static func - (a: Self, b: Float) -> Self
    static func * (a: Self, b: Float) -> Self
    static func / (a: Self, b: Float) -> Self
    static func + (a: Float, b: Self) -> Self
    static func - (a: Float, b: Self) -> Self
    static func * (a: Float, b: Self) -> Self

    // MARK: Activations

    func silu() -> Self
    func sigmoid() -> Self
    func gelu(approximate: Bool) -> Self
    func quickGELU() -> Self
    /// `[…, 2d] → […, d]`: `h · GELU(g)` of the two halves.
    func geglu() -> Self

    // MARK: Layers

    /// `self[…, in] · weightᵀ + bias`.
    func linear(weight: Self, bias: Self?) -> Self
    func conv2d(weight: Self, bias: Self?, stride: (Int, Int), padding: Padding2D, dilation: (Int, Int), groups: Int) -> Self
    func groupNorm(groups: Int, weight: Self?, bias: Self?, epsilon: Float, silu: Bool) -> Self
    func layerNorm(weight: Self?, bias: Self?, epsilon: Float) -> Self
    /// Rows of a `[vocabulary, dim]` table.
    func embedding(_ ids: [Int]) -> Self
    /// softmax(q·kᵀ · scale + mask) · v over `[B, H, N, D]` queries and `[B, H, M, D]` keys/values.
    static func scaledDotProductAttention(query: Self, key: Self, value: Self, scale: Float?, causal: Bool, mask: Tensor?) -> Self

    // MARK: Reductions

    /// The mean over `axes` (all when empty).
    func mean(axes: [Int], keepDims: Bool) -> Self

    // MARK: Shapes

    func reshaped(_ newShape: [Int]) -> Self
    func reshaped(_ dims: Int...) -> Self
    func permuted(_ order: [Int]) -> Self
    func permuted(_ order: Int...) -> Self
    func transposed(_ a: Int, _ b: Int) -> Self
    func narrowed(axis: Int, start: Int, length: Int) -> Self
    func chunked(_ chunks: Int, axis: Int) -> [Self]
    func unsqueezed(_ axis: Int) -> Self
    func squeezed(_ axis: Int) -> Self
    func contiguous() -> Self
    static func concatenate(_ values: [Self], axis: Int) -> Self

    // MARK: Resampling `[N, C, H, W]`

    func upsampleNearest(factor: Int) -> Self
    func resizeNearest(height: Int, width: Int) -> Self
    func padded(_ padding: Padding2D, value: Float) -> Self
}
