/// CLIP's word-splitting regular expression, matched by hand over Unicode scalars:
///
///     <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
///
/// At each position the alternatives are tried in that order and the first that matches wins
/// (a regex engine's leftmost-first alternation); whitespace matches nothing and is dropped, as
/// `re.findall` drops it. So "don't" gives "don", "'t"; "4k" gives "4", "k"; "!!" stays one word.
enum CLIPPreTokenizer {
    /// One word found by the expression.
    struct Word: Equatable {
        /// Where the word is in the text.
        var range: Range<Int>
        /// Whether the word was matched by the `<|startoftext|>` / `<|endoftext|>` alternatives.
        var isSpecialLiteral: Bool
    }

    private static let specialLiterals: [[Unicode.Scalar]] = [
        Array("<|startoftext|>".unicodeScalars), Array("<|endoftext|>".unicodeScalars),
    ]
    private static let contractionSuffixes: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map {
        Array($0.unicodeScalars)
    }

    /// The words of `text`. With `ignoringCase` (Python's `re.IGNORECASE`, which the slow
    /// transformers tokenizer uses) the literal alternatives also match their simple case folds,
    /// e.g. "'ſ" (long s) matches `'s`; the `tokenizers` library compiles the expression without it.
    static func words(in text: [Unicode.Scalar], ignoringCase: Bool) -> [Word] {
        var words: [Word] = []
        var index = 0
        let count = text.count
        while index < count {
            let scalar = text[index]
            if TokenizerUnicode.isWhitespace(scalar) {
                index += 1
                continue
            }
            if scalar == "<", let length = specialLiteralLength(in: text, at: index, ignoringCase: ignoringCase) {
                words.append(Word(range: index..<(index + length), isSpecialLiteral: true))
                index += length
                continue
            }
            if scalar == "'", let length = contractionLength(in: text, at: index, ignoringCase: ignoringCase) {
                words.append(Word(range: index..<(index + length), isSpecialLiteral: false))
                index += length
                continue
            }
            let start = index
            if TokenizerUnicode.isLetter(scalar) {
                index += 1
                while index < count, TokenizerUnicode.isLetter(text[index]) { index += 1 }
            } else if TokenizerUnicode.isNumber(scalar) {
                index += 1
            } else {
                index += 1
                while index < count {
                    let next = text[index]
                    if TokenizerUnicode.isWhitespace(next) || TokenizerUnicode.isLetter(next)
                        || TokenizerUnicode.isNumber(next) { break }
                    index += 1
                }
            }
            words.append(Word(range: start..<index, isSpecialLiteral: false))
        }
        return words
    }

    @inline(__always)
    private static func matches(_ scalar: Unicode.Scalar, _ pattern: Unicode.Scalar, ignoringCase: Bool) -> Bool {
        if scalar == pattern { return true }
        guard ignoringCase else { return false }
        // The patterns are ASCII lowercase letters and punctuation; their simple case folds are the
        // ASCII capital and, for "s", U+017F LATIN SMALL LETTER LONG S.
        let value = pattern.value
        guard value >= 0x61 && value <= 0x7A else { return false }
        return scalar.value == value - 0x20 || (value == 0x73 && scalar.value == 0x17F)
    }

    private static func specialLiteralLength(in text: [Unicode.Scalar], at index: Int, ignoringCase: Bool) -> Int? {
        literals: for literal in specialLiterals where literal.count <= text.count - index {
            for offset in 0..<literal.count where !matches(text[index + offset], literal[offset], ignoringCase: ignoringCase) {
                continue literals
            }
            return literal.count
        }
        return nil
    }

    private static func contractionLength(in text: [Unicode.Scalar], at index: Int, ignoringCase: Bool) -> Int? {
        suffixes: for suffix in contractionSuffixes where suffix.count < text.count - index {
            for offset in 0..<suffix.count where !matches(text[index + 1 + offset], suffix[offset], ignoringCase: ignoringCase) {
                continue suffixes
            }
            return suffix.count + 1
        }
        return nil
    }
}
