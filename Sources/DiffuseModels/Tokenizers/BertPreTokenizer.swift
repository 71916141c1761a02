/// BERT's word splitting (`BertPreTokenizer`): words end at whitespace, which is dropped, and every
/// punctuation character (`TokenizerUnicode.isBertPunctuation`) is a word of its own.
enum BertPreTokenizer {
    /// The ranges of `text`'s words, in order.
    static func words(in text: [Unicode.Scalar]) -> [Range<Int>] {
        var words: [Range<Int>] = []
        var start: Int? = nil
        for index in text.indices {
            let scalar = text[index]
            if TokenizerUnicode.isWhitespace(scalar) {
                if let wordStart = start { words.append(wordStart..<index) }
                start = nil
            } else if TokenizerUnicode.isBertPunctuation(scalar) {
                if let wordStart = start { words.append(wordStart..<index) }
                words.append(index..<(index + 1))
                start = nil
            } else if start == nil {
                start = index
            }
        }
        if let wordStart = start { words.append(wordStart..<text.count) }
        return words
    }
}
