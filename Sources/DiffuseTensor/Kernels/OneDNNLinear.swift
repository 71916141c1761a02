import CDiffuseDNNL
import Foundation

/// Linear layers for inference on oneDNN's inner product, with the weight packed once into the
/// layout its kernels pick (`brgemm:avx512_core` here): at a text encoder's 154 rows these run
/// 1.4–1.9× faster than OpenBLAS's sgemm on the plain `[out, in]` weight, which has to repack it
/// on every call. The caller keeps the packed copy (`Linear` keeps it in place of the plain one).
public enum OneDNNLinear {
    /// One inner product shape: `activation([rows, inFeatures] · [outFeatures, inFeatures]ᵀ (+ bias))
    /// (+ residual)`, the activation and the residual added in the same pass over the output.
    public final class Plan: @unchecked Sendable {
        let pointer: OpaquePointer
        let scratchFloats: Int
        let packedFloats: Int
        let outFeatures: Int
        let hasBias: Bool
        let addsResidual: Bool
        /// Plans with the same layout take the same packed weight.
        public let layout: Int
        /// oneDNN's name for the implementation (e.g. `brgemm:avx512_core`).
        public var implementation: String { String(cString: dd_linear_implementation(pointer)) }

        init(_ pointer: OpaquePointer, outFeatures: Int, hasBias: Bool, addsResidual: Bool) {
            self.pointer = pointer
            self.outFeatures = outFeatures
            self.hasBias = hasBias
            self.addsResidual = addsResidual
            scratchFloats = dd_linear_scratch_floats(pointer)
            packedFloats = dd_linear_packed_floats(pointer)
            layout = Int(dd_linear_layout(pointer))
        }

        /// The weight (`[outFeatures, inFeatures]`, contiguous) in this plan's layout, or nil on failure.
        public func pack(_ weight: Tensor) -> PackedLinearWeight? {
            precondition(weight.isContiguous && weight.rank == 2 && weight.shape[0] == outFeatures,
                         "OneDNNLinear.pack: a contiguous [\(outFeatures), in] weight, not \(weight.shape)")
            let packed = Tensor(uninitializedShape: [packedFloats])
            let status = OneDNNRuntime.run(scratchFloats: scratchFloats) { scratch in
                dd_linear_pack(pointer, weight.pointer, packed.pointer, scratch)
            }
            withExtendedLifetime(weight) {}
            guard OneDNNLinear.check(status, "packing a weight") else { return nil }
            return PackedLinearWeight(shape: weight.shape, storage: packed, plan: self)
        }

        /// `activation(x · wᵀ + bias) + residual` for `x` `[rows, inFeatures]` (contiguous), a
        /// weight packed by `pack` of a plan with the same `layout` and, for a plan that adds one, a
        /// contiguous `residual` `[rows, outFeatures]` → `[rows, outFeatures]`; nil on failure.
        public func run(_ x: Tensor, packed weight: PackedLinearWeight, bias: Tensor?, residual: Tensor? = nil) -> Tensor? {
            let packed = weight.storage
            precondition(x.rank == 2 && x.isContiguous && weight.layout == layout && packed.count == packedFloats
                         && (bias != nil) == hasBias,
                         "OneDNNLinear.run: input \(x.shape), packed weight of \(packed.count) floats")
            precondition((residual != nil) == addsResidual && residual.map {
                $0.isContiguous && $0.shape == [x.shape[0], outFeatures] } != false,
                         "OneDNNLinear.run: residual \(residual?.shape ?? []) for a [\(x.shape[0]), \(outFeatures)] output")
            let y = Tensor(uninitializedShape: [x.shape[0], outFeatures])
            let status = OneDNNRuntime.run(scratchFloats: scratchFloats) { scratch in
                dd_linear_forward(pointer, x.pointer, packed.pointer, bias?.pointer, residual?.pointer, y.pointer, scratch)
            }
            withExtendedLifetime((x, weight, bias, residual)) {}
            return OneDNNLinear.check(status, "a [\(x.shape[0]), \(x.shape[1])] → \(outFeatures) inner product") ? y : nil
        }
    }

    private struct Key: Hashable {
        let rows, inFeatures, outFeatures: Int
        let hasBias: Bool
        let activation: FusedActivation?
        let addsResidual: Bool
    }
    private static let cacheLock = NSLock()
    private nonisolated(unsafe) static var cache: [Key: Plan?] = [:]

    /// The plan for a shape and epilogue (built once, then cached), or nil when oneDNN declines it.
    public static func plan(rows: Int, inFeatures: Int, outFeatures: Int, hasBias: Bool,
                            activation: FusedActivation? = nil, addsResidual: Bool = false) -> Plan? {
        let key = Key(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, hasBias: hasBias,
                      activation: activation, addsResidual: addsResidual)
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let cached = cache[key] { return cached }
        let code: dd_activation = switch activation {
        case nil: DD_ACTIVATION_NONE
        case .quickGELU: DD_ACTIVATION_QUICK_GELU
        case .gelu: DD_ACTIVATION_GELU
        case .geluTanh: DD_ACTIVATION_GELU_TANH
        case .relu: DD_ACTIVATION_RELU
        }
        let plan = dd_linear_create(Int64(rows), Int64(inFeatures), Int64(outFeatures), hasBias ? 1 : 0, code,
                                    addsResidual ? 1 : 0)
            .map { Plan($0, outFeatures: outFeatures, hasBias: hasBias, addsResidual: addsResidual) }
        cache[key] = .some(plan)
        return plan
    }

    static func check(_ status: Int32, _ what: String) -> Bool {
        if status == 0 { return true }
        FileHandle.standardError.write(Data("warning: oneDNN failed \(what) (status \(status)); using sgemm\n".utf8))
        return false
    }
}
