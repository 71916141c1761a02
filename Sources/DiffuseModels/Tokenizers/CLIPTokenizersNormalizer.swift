/// The normalizer of transformers 5's `CLIPTokenizer` (and of `CLIPTokenizerFast`), built with the
/// `tokenizers` library: NFC, then every run of whitespace (`\s+`, the White_Space property)
/// becomes one " ", then each character is lowercased on its own (no final-sigma rule). Control
/// characters, CJK ideographs and the like are left as they are.
enum CLIPTokenizersNormalizer {
    static func normalize(_ text: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        let composed = TokenizerUnicode.nfc(Array(text))
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(composed.count)
        var previousWasSpace = false
        for scalar in composed {
            if TokenizerUnicode.isWhitespace(scalar) {
                if !previousWasSpace { output.append(" ") }
                previousWasSpace = true
            } else {
                previousWasSpace = false
                TokenizerUnicode.appendLowercase(scalar, to: &output)
            }
        }
        return output
    }
}
