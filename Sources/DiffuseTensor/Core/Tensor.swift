import Foundation

/// An n-dimensional array of `Float` values: a view (shape, strides, offset) onto a shared `TensorStorage`.
///
/// Images are NCHW (`[batch, channels, height, width]`); sequences are `[batch, tokens, features]`.
/// Views (`reshaped`, `permuted`, `narrowed`, `transposed`) share storage and cost nothing; every
/// operation returns a new tensor and never writes into its inputs, except the `…InPlace` ones.
public struct Tensor: @unchecked Sendable {
    public let storage: TensorStorage
    /// Size of each dimension, outermost first.
    public let shape: [Int]
    /// Distance in elements between neighbours along each dimension.
    public let strides: [Int]
    /// Index in `storage` of the element at all-zero coordinates.
    public let offset: Int

    /// A view onto `storage`. The caller guarantees every reachable index is inside the storage.
    public init(storage: TensorStorage, shape: [Int], strides: [Int], offset: Int = 0) {
        precondition(shape.count == strides.count, "Tensor: shape \(shape) and strides \(strides) differ in rank")
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// A new contiguous tensor with uninitialized values.
    public init(uninitializedShape shape: [Int]) {
        let n = Tensor.elementCount(shape)
        self.init(storage: TensorStorage(count: n), shape: shape, strides: Tensor.contiguousStrides(shape))
    }

    /// A new contiguous tensor filled with `value`.
    public init(shape: [Int], repeating value: Float) {
        self.init(uninitializedShape: shape)
        storage.base.update(repeating: value, count: count)
    }

    /// A new contiguous tensor holding `values` in row-major order (`values.count` must equal the shape's element count).
    public init(shape: [Int], _ values: [Float]) {
        precondition(values.count == Tensor.elementCount(shape),
                     "Tensor: \(values.count) values do not fill shape \(shape)")
        self.init(uninitializedShape: shape)
        values.withUnsafeBufferPointer { storage.base.update(from: $0.baseAddress!, count: values.count) }
    }

    /// A rank-0 tensor.
    public init(scalar: Float) { self.init(shape: [], [scalar]) }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }

    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { Tensor.elementCount(shape) }

    /// True when the elements are laid out row-major with no gaps, so `pointer[0 ..< count]` is the tensor.
    public var isContiguous: Bool {
        var expected = 1
        for axis in stride(from: rank - 1, through: 0, by: -1) where shape[axis] != 1 {
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    /// Address of the element at all-zero coordinates.
    public var pointer: UnsafeMutablePointer<Float> { storage.base + offset }

    /// Size of `axis`; negative axes count from the end.
    public func size(_ axis: Int) -> Int { shape[normalize(axis)] }

    /// Maps a possibly negative axis onto `0 ..< rank`.
    public func normalize(_ axis: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < Swift.max(rank, 1), "Tensor: axis \(axis) out of range for rank \(rank)")
        return a
    }

    /// The elements in row-major order.
    public var scalars: [Float] {
        let c = contiguous()
        return Array(UnsafeBufferPointer(start: c.pointer, count: c.count))
    }

    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "Tensor.item: tensor of shape \(shape) has \(count) elements")
        return pointer.pointee
    }

    /// Element at `indices` (slow; for tests and debugging).
    public subscript(_ indices: Int...) -> Float {
        precondition(indices.count == rank, "Tensor: \(indices.count) indices for rank \(rank)")
        var at = offset
        for (i, index) in indices.enumerated() {
            precondition(index >= 0 && index < shape[i], "Tensor: index \(index) out of range for axis \(i) of size \(shape[i])")
            at += index * strides[i]
        }
        return storage.base[at]
    }

    public static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = scalars
        let shown = values.prefix(8).map { String(format: "%.5g", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(values.count > 8 ? ", …" : "")])"
    }
}
