/// The text clean-up of transformers' slow `CLIPTokenizer` when ftfy is not installed (transformers
/// 4.x): `" ".join(BasicTokenizer(strip_accents=False, do_split_on_punc=False).tokenize(text))`.
///
/// 1. drop U+0000, U+FFFD and control/format/unassigned/private-use characters (general
///    category C*, except tab, newline and carriage return); turn tab, newline, carriage return
///    and Zs spaces into " ";
/// 2. put spaces around CJK ideographs, so each becomes a word of its own;
/// 3. NFC;
/// 4. split on whitespace as Python's `str.split()` does, lowercase each word with Python's
///    `str.lower()` (full mappings and the final-sigma rule), and join the words with one space.
enum CLIPBasicTokenizerCleaner {
    static func clean(_ text: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        var cleaned: [Unicode.Scalar] = []
        cleaned.reserveCapacity(text.count + 8)
        for scalar in text {
            let value = scalar.value
            if value == 0 || value == 0xFFFD || TokenizerUnicode.isBertControl(scalar) { continue }
            if value == 0x20 || value == 0x09 || value == 0x0A || value == 0x0D
                || (value >= 0x80 && scalar.properties.generalCategory == .spaceSeparator) {
                cleaned.append(" ")
            } else if TokenizerUnicode.isCJKIdeograph(scalar) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        let composed = TokenizerUnicode.nfc(cleaned)
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(composed.count)
        var index = 0
        while index < composed.count {
            if TokenizerUnicode.isPythonSpace(composed[index]) {
                index += 1
                continue
            }
            let start = index
            while index < composed.count, !TokenizerUnicode.isPythonSpace(composed[index]) { index += 1 }
            if !output.isEmpty { output.append(" ") }
            TokenizerUnicode.appendPythonLowercase(composed[start..<index], to: &output)
        }
        return output
    }
}
