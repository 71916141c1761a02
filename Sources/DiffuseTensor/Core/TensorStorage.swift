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
    /// Bytes reserved from `BufferPool` (0 when the memory belongs to `owner`).
    private let capacity: Int
    private let owner: AnyObject?

    /// Allocates `count` uninitialized floats (from `BufferPool`).
    public init(count: Int) {
        precondition(count >= 0, "TensorStorage: negative element count \(count)")
        let (raw, capacity) = BufferPool.allocate(bytes: Swift.max(count, 1) * MemoryLayout<Float>.stride)
        self.base = raw.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
        self.count = count
        self.capacity = capacity
        self.owner = nil
    }

    /// Wraps memory owned by `owner` (which must keep `base ..< base + count` valid while alive).
    public init(wrapping base: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.base = base
        self.count = count
        self.capacity = 0
        self.owner = owner
    }

    deinit {
        if capacity > 0 { BufferPool.release(UnsafeMutableRawPointer(base), capacity: capacity) }
    }
}
