/// Iterates several same-shaped strided operands together, as rows of a contiguous-ish inner loop.
///
/// Size-1 dimensions are dropped and neighbouring dimensions that are laid out back to back in every
/// operand are merged, so a broadcast `[N, C, H, W] + [1, C, 1, 1]` becomes `N·C` rows of `H·W`
/// elements. Work is split into blocks of at most `blockSize` inner elements and spread over the cores.
struct LoopNest {
    private(set) var shape: [Int]
    private(set) var strides: [[Int]]

    static let blockSize = 1 << 14

    init(shape: [Int], strides: [[Int]]) {
        var dims: [Int] = []
        var st: [[Int]] = Array(repeating: [], count: strides.count)
        for axis in 0 ..< shape.count where shape[axis] != 1 {
            if let last = dims.last,
               strides.indices.allSatisfy({ st[$0].last! == strides[$0][axis] * shape[axis] }) {
                dims[dims.count - 1] = last * shape[axis]
                for k in strides.indices { st[k][st[k].count - 1] = strides[k][axis] }
            } else {
                dims.append(shape[axis])
                for k in strides.indices { st[k].append(strides[k][axis]) }
            }
        }
        if dims.isEmpty {
            dims = [1]
            for k in strides.indices { st[k] = [0] }
        }
        self.shape = dims
        self.strides = st
    }

    var innerCount: Int { shape[shape.count - 1] }
    func innerStride(_ operand: Int) -> Int { strides[operand][shape.count - 1] }

    /// Calls `body(offsets, n)` for each block: `offsets[k]` is operand k's element offset of the block's
    /// first element, and the block has `n` elements along the inner dimension.
    func run(_ body: (UnsafeMutableBufferPointer<Int>, Int) -> Void) {
        let inner = innerCount
        let blocksPerRow = (inner + LoopNest.blockSize - 1) / LoopNest.blockSize
        let rows = shape.dropLast().reduce(1, *)
        let items = rows * blocksPerRow
        let operands = strides.count
        let outerRank = shape.count - 1
        let minItems = Swift.max(1, (1 << 15) / Swift.max(1, Swift.min(inner, LoopNest.blockSize)))
        Parallel.forRange(items, minPerThread: minItems) { range in
            let offsets = UnsafeMutableBufferPointer<Int>.allocate(capacity: operands)
            defer { offsets.deallocate() }
            for item in range {
                var row = item / blocksPerRow
                let block = item - row * blocksPerRow
                for k in 0 ..< operands { offsets[k] = block * LoopNest.blockSize * strides[k][outerRank] }
                var axis = outerRank - 1
                while axis >= 0 {
                    let size = shape[axis]
                    let index = row % size
                    row /= size
                    for k in 0 ..< operands { offsets[k] += index * strides[k][axis] }
                    axis -= 1
                }
                body(offsets, Swift.min(LoopNest.blockSize, inner - block * LoopNest.blockSize))
            }
        }
    }
}

/// Copies any strided view into a contiguous buffer.
enum StridedCopy {
    static func copy(from source: Tensor, into destination: UnsafeMutablePointer<Float>) {
        let nest = LoopNest(shape: source.shape, strides: [Tensor.contiguousStrides(source.shape), source.strides])
        let src = source.pointer
        let s = nest.innerStride(1)
        nest.run { offsets, n in
            let d = destination + offsets[0], p = src + offsets[1]
            if s == 1 {
                d.update(from: p, count: n)
            } else if s == 0 {
                d.update(repeating: p.pointee, count: n)
            } else {
                for i in 0 ..< n { d[i] = p[i * s] }
            }
        }
    }
}
