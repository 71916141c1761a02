import Foundation

/// A reference-counted buffer of `Float` values that one or more `Tensor` views share.
///
/// Memory is 64-byte aligned (one cache line, two AVX2 vectors). A storage may also wrap memory
/// it does not own (for example a memory-mapped file); `owner` keeps that memory alive.
public final class TensorStorage: @unchecked Sendable {
    /// First element of the buffer.
    public let base: UnsafeMutablePointer<Float>
    /// Number of `Float` elements in the buffer.
    public let count: Int
    private let ownsMemory: Bool
    private let owner: AnyObject?

    /// Allocates `count` uninitialized floats.
    public init(count: Int) {
        precondition(count >= 0, "TensorStorage: negative element count \(count)")
        var raw: UnsafeMutableRawPointer?
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let status = posix_memalign(&raw, 64, bytes)
        guard status == 0, let raw else {
            fatalError("TensorStorage: cannot allocate \(bytes) bytes (posix_memalign status \(status))")
        }
        self.base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        self.ownsMemory = true
        self.owner = nil
    }

    /// Wraps memory owned by `owner` (which must keep `base ..< base + count` valid while alive).
    public init(wrapping base: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.base = base
        self.count = count
        self.ownsMemory = false
        self.owner = owner
    }

    deinit {
        if ownsMemory { free(base) }
    }
}
