import Foundation

/// Byte-level BPE with an end-of-word suffix, as CLIP uses it: a word's UTF-8 bytes become
/// `ByteLevelAlphabet` symbols, the last one carrying "</w>", and then the adjacent pair with the
/// lowest merge rank is merged — every non-overlapping occurrence, left to right — until no pair
/// has a rank. This is transformers' `CLIPTokenizer.bpe` (and gives what the `tokenizers`
/// library's BPE model gives), worked on vocabulary ids instead of strings.
struct BytePairEncoder: Sendable {
    /// The vocabulary id of each byte's symbol, without and with the end-of-word suffix.
    private let byteSymbols: [Int32]
    private let finalByteSymbols: [Int32]
    /// (left id, right id) packed in a `UInt64` → merge rank and the merged symbol's id.
    private let merges: [UInt64: (rank: Int32, merged: Int32)]
    private let cache = BPEWordCache()

    /// The number of merges.
    var mergeCount: Int { merges.count }

    /// An encoder over `vocabulary` (symbol → id) and `mergeList` (highest priority first).
    /// Every byte symbol, with and without `endOfWordSuffix`, must be in the vocabulary, and so must
    /// both sides and the result of every merge; the error names `vocabularyURL` or `mergesURL`.
    init(vocabulary: [String: Int], mergeList: [(first: String, second: String)], endOfWordSuffix: String,
         vocabularyURL: URL, mergesURL: URL) throws {
        var byteSymbols = [Int32](repeating: 0, count: 256)
        var finalByteSymbols = [Int32](repeating: 0, count: 256)
        for byte in 0..<256 {
            let symbol = String(Character(ByteLevelAlphabet.characters[byte]))
            guard let id = vocabulary[symbol], let finalID = vocabulary[symbol + endOfWordSuffix] else {
                throw TokenizerError.malformedFile(
                    vocabularyURL, reason: "the byte symbol \(String(reflecting: symbol)) (byte \(byte)) "
                        + "or its end-of-word form is not in the vocabulary")
            }
            byteSymbols[byte] = Int32(id)
            finalByteSymbols[byte] = Int32(finalID)
        }
        var merges: [UInt64: (rank: Int32, merged: Int32)] = [:]
        merges.reserveCapacity(mergeList.count)
        for (rank, merge) in mergeList.enumerated() {
            guard let left = vocabulary[merge.first], let right = vocabulary[merge.second] else {
                throw TokenizerError.malformedFile(
                    mergesURL, reason: "merge \(rank + 1) (\(String(reflecting: merge.first + " " + merge.second))) "
                        + "uses a symbol that is not in the vocabulary")
            }
            guard let merged = vocabulary[merge.first + merge.second] else {
                throw TokenizerError.malformedFile(
                    mergesURL, reason: "the result of merge \(rank + 1) "
                        + "(\(String(reflecting: merge.first + merge.second))) is not in the vocabulary")
            }
            // A repeated pair keeps its last rank, as Python's dict(zip(merges, range(...))) does.
            merges[Self.key(Int32(left), Int32(right))] = (Int32(rank), Int32(merged))
        }
        self.byteSymbols = byteSymbols
        self.finalByteSymbols = finalByteSymbols
        self.merges = merges
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Appends the token ids of the word whose UTF-8 bytes are `word` (not empty) to `output`.
    func encode(word: [UInt8], into output: inout [Int]) {
        if let cached = cache.value(for: word) {
            for id in cached { output.append(Int(id)) }
            return
        }
        var symbols = [Int32]()
        symbols.reserveCapacity(word.count)
        for byte in word.dropLast() { symbols.append(byteSymbols[Int(byte)]) }
        if let last = word.last { symbols.append(finalByteSymbols[Int(last)]) }
        var scratch = [Int32]()
        scratch.reserveCapacity(symbols.count)
        while symbols.count > 1 {
            var bestRank = Int32.max
            var best: (left: Int32, right: Int32, merged: Int32) = (0, 0, 0)
            for index in 0..<(symbols.count - 1) {
                if let merge = merges[Self.key(symbols[index], symbols[index + 1])], merge.rank < bestRank {
                    bestRank = merge.rank
                    best = (symbols[index], symbols[index + 1], merge.merged)
                }
            }
            if bestRank == Int32.max { break }
            scratch.removeAll(keepingCapacity: true)
            var index = 0
            while index < symbols.count {
                if index + 1 < symbols.count, symbols[index] == best.left, symbols[index + 1] == best.right {
                    scratch.append(best.merged)
                    index += 2
                } else {
                    scratch.append(symbols[index])
                    index += 1
                }
            }
            swap(&symbols, &scratch)
        }
        cache.store(symbols, for: word)
        for id in symbols { output.append(Int(id)) }
    }
}
