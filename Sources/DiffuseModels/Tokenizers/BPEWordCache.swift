import Foundation

/// A thread-safe memo of BPE results, word bytes → token ids, so that words seen before (most of a
/// prompt, usually) skip the merge loop. It stops growing at `capacity` entries, like the
/// `tokenizers` library's cache.
final class BPEWordCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [TokenizerByteKey: [Int32]] = [:]
    private let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    func value(for word: [UInt8]) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return entries[TokenizerByteKey(word)]
    }

    func store(_ ids: [Int32], for word: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        if entries.count < capacity { entries[TokenizerByteKey(word)] = ids }
    }
}
