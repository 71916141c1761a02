/// MT19937, the 32-bit Mersenne Twister (Matsumoto & Nishimura 1998), seeded the way PyTorch's
/// CPU generator seeds it: only the low 32 bits of the seed are used (`torch.manual_seed(2**32 + 7)`
/// gives the same stream as `torch.manual_seed(7)`).
struct MersenneTwister {
    private static let n = 624
    private static let m = 397
    private static let matrixA: UInt32 = 0x9908_B0DF
    private static let upperMask: UInt32 = 0x8000_0000
    private static let lowerMask: UInt32 = 0x7FFF_FFFF

    private var state: [UInt32]
    private var index: Int

    init(seed: UInt64) {
        var state = [UInt32](repeating: 0, count: Self.n)
        state[0] = UInt32(truncatingIfNeeded: seed)
        for i in 1 ..< Self.n {
            let previous = state[i - 1]
            state[i] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(i)
        }
        self.state = state
        self.index = Self.n
    }

    /// The next 32 random bits.
    mutating func next() -> UInt32 {
        if index >= Self.n { regenerate() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func regenerate() {
        let n = Self.n, m = Self.m
        state.withUnsafeMutableBufferPointer { s in
            for i in 0 ..< n {
                let y = (s[i] & Self.upperMask) | (s[(i + 1) % n] & Self.lowerMask)
                var value = s[(i + m) % n] ^ (y >> 1)
                if y & 1 != 0 { value ^= Self.matrixA }
                s[i] = value
            }
        }
        index = 0
    }
}
