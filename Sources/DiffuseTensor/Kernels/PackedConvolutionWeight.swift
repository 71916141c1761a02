import CDiffuseDNNL

/// A convolution weight kept in the blocked layout oneDNN's forward kernels read, instead of
/// PyTorch's plain `[Cout, Cin/groups, kh, kw]`: a forward call with it skips re-laying out the
/// weight, which for a Stable Diffusion UNet step is ~2 GB of memory traffic (0.77 s of a 4 s
/// 256² step on the reference machine). The same number of floats as the plain weight, plus the
/// padding of channel counts to the layout's block (16 on AVX-512).
///
/// Packed for one primitive (one input shape); a primitive for another shape usually reads the
/// same layout (`OneDNNConvolution.forward(_:packed:…)` checks) and otherwise `repacked(for:…)`
/// converts it. `unpacked()` gives the plain weight back.
public final class PackedConvolutionWeight: @unchecked Sendable {
    /// The plain weight's shape, `[Cout, Cin/groups, kh, kw]`.
    public let shape: [Int]
    /// The packed floats (a flat tensor).
    let storage: Tensor
    /// The primitive it was packed for: its weight layout is this copy's.
    private let primitive: OneDNNConvolution.Primitive

    private init(shape: [Int], storage: Tensor, primitive: OneDNNConvolution.Primitive) {
        self.shape = shape
        self.storage = storage
        self.primitive = primitive
    }

    /// Floats held (the plain weight's count plus the layout's padding).
    public var packedCount: Int { storage.count }

    /// `weight` (`[Cout, Cin/groups, kh, kw]`, any strides) packed for a forward convolution of an
    /// input of shape `input` (`[N, Cin, H, W]`); nil when oneDNN is off, declines the shape or fails.
    public static func pack(_ weight: Tensor, input: [Int], geometry: ConvGeometry, groups: Int,
                            hasBias: Bool) -> PackedConvolutionWeight? {
        guard OneDNNConvolution.enabled,
              let key = OneDNNConvolution.Key(.forward, input: input, weight: weight.shape, geometry: geometry,
                                              groups: groups, hasBias: hasBias),
              let primitive = OneDNNConvolution.primitive(for: key) else { return nil }
        return pack(weight.contiguous(), for: primitive)
    }

    private static func pack(_ plain: Tensor, for primitive: OneDNNConvolution.Primitive) -> PackedConvolutionWeight? {
        let count = dd_conv_packed_weight_floats(primitive.pointer)
        guard count >= plain.count else { return nil }
        let storage = Tensor(uninitializedShape: [count])
        let status = OneDNNRuntime.run(scratchFloats: 0) { _ in
            dd_conv_pack_weights(primitive.pointer, plain.pointer, storage.pointer)
        }
        withExtendedLifetime(plain) {}
        return status == 0 ? PackedConvolutionWeight(shape: plain.shape, storage: storage, primitive: primitive) : nil
    }

    /// Whether `primitive` reads this copy's layout.
    func fits(_ other: OneDNNConvolution.Primitive) -> Bool {
        other === primitive || dd_conv_same_weight_layout(primitive.pointer, other.pointer) != 0
    }

    /// The plain weight, `[Cout, Cin/groups, kh, kw]` (a new tensor each call).
    public func unpacked() -> Tensor {
        OneDNNRuntime.unpack(shape, "a convolution weight") { dd_conv_unpack_weights(primitive.pointer, storage.pointer, $0) }
    }

    /// This weight packed for a forward convolution of an input of shape `input`: itself when that
    /// primitive reads the same layout, else a new copy; nil when oneDNN declines the shape.
    public func repacked(input: [Int], geometry: ConvGeometry, groups: Int, hasBias: Bool) -> PackedConvolutionWeight? {
        guard let key = OneDNNConvolution.Key(.forward, input: input, weight: shape, geometry: geometry, groups: groups,
                                              hasBias: hasBias),
              let other = OneDNNConvolution.primitive(for: key) else { return nil }
        if fits(other) { return self }
        return Self.pack(unpacked(), for: other)
    }
}
