/// BERT's text normalization as the `tokenizers` library's `BertNormalizer` does it (what
/// transformers' `BertTokenizer` and sentence-transformers use):
///
/// 1. drop U+0000, U+FFFD and general category C* characters except tab, newline and carriage
///    return; turn every remaining White_Space character into " ";
/// 2. put spaces around CJK ideographs;
/// 3. with `lowercase`: strip accents (NFD, then drop nonspacing marks, Mn) and lowercase each
///    character on its own (so a final Σ becomes σ, where Python's `str.lower()` would give ς).
enum BertTextNormalizer {
    static func normalize(_ text: ArraySlice<Unicode.Scalar>, lowercase: Bool) -> [Unicode.Scalar] {
        var cleaned: [Unicode.Scalar] = []
        cleaned.reserveCapacity(text.count + 8)
        for scalar in text {
            let value = scalar.value
            if value == 0 || value == 0xFFFD || TokenizerUnicode.isBertControl(scalar) { continue }
            if TokenizerUnicode.isWhitespace(scalar) {
                cleaned.append(" ")
            } else if TokenizerUnicode.isCJKIdeograph(scalar) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        guard lowercase else { return cleaned }
        let decomposed = TokenizerUnicode.nfd(cleaned)
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(decomposed.count)
        for scalar in decomposed {
            if scalar.value >= 0x300, scalar.properties.generalCategory == .nonspacingMark { continue }
            TokenizerUnicode.appendLowercase(scalar, to: &output)
        }
        return output
    }
}
