/// A byte string as a dictionary key, hashed in one call over its bytes (`[UInt8]`'s own `Hashable`
/// feeds the hasher a byte at a time, several times slower) and compared exactly — unlike `String`,
/// whose equality is canonical equivalence ("é" == "e\u{301}") where the reference tokenizers
/// compare bytes.
struct TokenizerByteKey: Hashable, Sendable {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    init(_ string: String) {
        self.bytes = Array(string.utf8)
    }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (lhs: TokenizerByteKey, rhs: TokenizerByteKey) -> Bool {
        lhs.bytes == rhs.bytes
    }
}
