/// The order examples are visited in: a fresh permutation per epoch from a seed, so that a run
/// resumed at (epoch, position) visits exactly what the uninterrupted run would have.
public struct EpochOrder: Sendable, Equatable {
    public let count: Int
    public let seed: UInt64
    public let shuffle: Bool
    /// Epoch of the next example (0-based).
    public private(set) var epoch = 0
    /// Position of the next example within the epoch.
    public private(set) var position = 0
    private var permutation: [Int]

    public init(count: Int, seed: UInt64, shuffle: Bool = true) {
        precondition(count > 0, "EpochOrder: empty dataset")
        self.count = count
        self.seed = seed
        self.shuffle = shuffle
        permutation = EpochOrder.permutation(count: count, seed: seed, epoch: 0, shuffle: shuffle)
    }

    /// Restores the state `(epoch, position)` of an earlier run with the same count and seed.
    public init(count: Int, seed: UInt64, shuffle: Bool = true, epoch: Int, position: Int) {
        self.init(count: count, seed: seed, shuffle: shuffle)
        self.epoch = epoch
        self.position = position
        permutation = EpochOrder.permutation(count: count, seed: seed, epoch: epoch, shuffle: shuffle)
    }

    /// The next `n` example indices (crossing into the next epoch when needed).
    public mutating func next(_ n: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(n)
        while out.count < n {
            if position == count {
                epoch += 1
                position = 0
                permutation = EpochOrder.permutation(count: count, seed: seed, epoch: epoch, shuffle: shuffle)
            }
            out.append(permutation[position])
            position += 1
        }
        return out
    }

    /// Fisher–Yates with SplitMix64 seeded by (seed, epoch).
    static func permutation(count: Int, seed: UInt64, epoch: Int, shuffle: Bool) -> [Int] {
        var order = Array(0 ..< count)
        guard shuffle else { return order }
        var state = seed ^ (UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            order.swapAt(i, j)
        }
        return order
    }
}
