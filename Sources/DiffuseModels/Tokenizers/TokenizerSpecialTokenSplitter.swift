/// Cuts text at literal occurrences of special tokens ("<|endoftext|>", "[MASK]", …) so they map
/// straight to their ids instead of being tokenized as text, the way transformers' added-token
/// trie and the `tokenizers` library's added vocabulary do: at the leftmost position where some
/// token matches, the longest such token wins. Matching is exact (case-sensitive).
struct TokenizerSpecialTokenSplitter: Sendable {
    /// A piece of the split text.
    enum Segment: Equatable {
        /// Ordinary text, as a range of the input.
        case text(Range<Int>)
        /// A special token's id.
        case special(Int)
    }

    private let tokens: [(scalars: [Unicode.Scalar], id: Int)]
    private let firstScalars: [Unicode.Scalar]  // a handful: a linear scan beats hashing

    /// A splitter for `tokens` (content → id). Empty contents are ignored.
    init(tokens: [String: Int]) {
        self.tokens = tokens.filter { !$0.key.isEmpty }
            .map { (Array($0.key.unicodeScalars), $0.value) }
            .sorted { $0.scalars.count > $1.scalars.count }  // equal lengths cannot both match at one place
        var firsts: [Unicode.Scalar] = []
        for token in self.tokens where !firsts.contains(token.scalars[0]) { firsts.append(token.scalars[0]) }
        self.firstScalars = firsts
    }

    /// Whether there are no tokens to look for.
    var isEmpty: Bool { tokens.isEmpty }

    /// The segments of `text`: text ranges (never empty) and special tokens, in order.
    func split(_ text: [Unicode.Scalar]) -> [Segment] {
        guard !tokens.isEmpty else { return text.isEmpty ? [] : [.text(0..<text.count)] }
        var segments: [Segment] = []
        var textStart = 0
        var index = 0
        while index < text.count {
            if firstScalars.contains(text[index]), let match = longestMatch(in: text, at: index) {
                if index > textStart { segments.append(.text(textStart..<index)) }
                segments.append(.special(match.id))
                index += match.length
                textStart = index
            } else {
                index += 1
            }
        }
        if text.count > textStart { segments.append(.text(textStart..<text.count)) }
        return segments
    }

    private func longestMatch(in text: [Unicode.Scalar], at index: Int) -> (id: Int, length: Int)? {
        candidates: for token in tokens where token.scalars.count <= text.count - index {
            for offset in 0..<token.scalars.count where text[index + offset] != token.scalars[offset] {
                continue candidates
            }
            return (token.id, token.scalars.count)
        }
        return nil
    }
}
