import CDiffuseDNNL
import Foundation

/// Linear layers for inference on oneDNN's inner product, with the weight packed once into the
/// layout its kernels pick (`brgemm:avx512_core` here): at a text encoder's 154 rows these run
/// 1.4–1.9× faster than OpenBLAS's sgemm on the plain `[out, in]` weight, which has to repack it
/// on every call. The caller keeps the packed copy (`Linear` does, per weight version).
public enum OneDNNLinear {
    /// One inner product shape: `[rows, inFeatures] · [outFeatures, inFeatures]ᵀ (+ bias)`.
    public final class Plan: @unchecked Sendable {
        let pointer: OpaquePointer
        let scratchFloats: Int
        let packedFloats: Int
        let outFeatures: Int
        let hasBias: Bool
        /// Plans with the same layout take the same packed weight.
        public let layout: Int
        /// oneDNN's name for the implementation (e.g. `brgemm:avx512_core`).
        public var implementation: String { String(cString: dd_linear_implementation(pointer)) }

        init(_ pointer: OpaquePointer, outFeatures: Int, hasBias: Bool) {
            self.pointer = pointer
            self.outFeatures = outFeatures
            self.hasBias = hasBias
            scratchFloats = dd_linear_scratch_floats(pointer)
            packedFloats = dd_linear_packed_floats(pointer)
            layout = Int(dd_linear_layout(pointer))
        }

        /// The weight (`[outFeatures, inFeatures]`, contiguous) in this plan's layout, or nil on failure.
        public func pack(_ weight: Tensor) -> Tensor? {
            precondition(weight.isContiguous, "OneDNNLinear.pack: the weight must be contiguous")
            let packed = Tensor(uninitializedShape: [packedFloats])
            let status = OneDNNRuntime.run(scratchFloats: scratchFloats) { scratch in
                dd_linear_pack(pointer, weight.pointer, packed.pointer, scratch)
            }
            withExtendedLifetime(weight) {}
            return OneDNNLinear.check(status, "packing a weight") ? packed : nil
        }

        /// `x · wᵀ + bias` for `x` `[rows, inFeatures]` (contiguous) and a weight packed by `pack`
        /// (of a plan with the same layout) → `[rows, outFeatures]`; nil on failure.
        public func run(_ x: Tensor, packed: Tensor, bias: Tensor?) -> Tensor? {
            precondition(x.rank == 2 && x.isContiguous && packed.count == packedFloats && (bias != nil) == hasBias,
                         "OneDNNLinear.run: input \(x.shape), packed weight of \(packed.count) floats")
            let y = Tensor(uninitializedShape: [x.shape[0], outFeatures])
            let status = OneDNNRuntime.run(scratchFloats: scratchFloats) { scratch in
                dd_linear_forward(pointer, x.pointer, packed.pointer, bias?.pointer, y.pointer, scratch)
            }
            withExtendedLifetime((x, packed, bias)) {}
            return OneDNNLinear.check(status, "a [\(x.shape[0]), \(x.shape[1])] → \(outFeatures) inner product") ? y : nil
        }
    }

    private struct Key: Hashable { let rows, inFeatures, outFeatures: Int; let hasBias: Bool }
    private static let cacheLock = NSLock()
    private nonisolated(unsafe) static var cache: [Key: Plan?] = [:]

    /// The plan for a shape (built once, then cached), or nil when oneDNN declines it.
    public static func plan(rows: Int, inFeatures: Int, outFeatures: Int, hasBias: Bool) -> Plan? {
        let key = Key(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, hasBias: hasBias)
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let cached = cache[key] { return cached }
        let plan = dd_linear_create(Int64(rows), Int64(inFeatures), Int64(outFeatures), hasBias ? 1 : 0)
            .map { Plan($0, outFeatures: outFeatures, hasBias: hasBias) }
        cache[key] = .some(plan)
        return plan
    }

    private static func check(_ status: Int32, _ what: String) -> Bool {
        if status == 0 { return true }
        FileHandle.standardError.write(Data("warning: oneDNN failed \(what) (status \(status)); using sgemm\n".utf8))
        return false
    }
}
