import Foundation

/// The character classes and case mappings the tokenizers need, over Unicode scalars, each with an
/// ASCII fast path. They use the Unicode tables of the Swift runtime, so a character assigned in a
/// Unicode version newer than Python's or the `tokenizers` library's may be classified differently.
enum TokenizerUnicode {
    /// `\p{L}`: general category Lu, Ll, Lt, Lm or Lo.
    @inline(__always)
    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x80 { return (value | 0x20) >= 0x61 && (value | 0x20) <= 0x7A }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// `\p{N}`: general category Nd, Nl or No.
    @inline(__always)
    static func isNumber(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x80 { return value >= 0x30 && value <= 0x39 }
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// The Unicode `White_Space` property: what `\s` matches in Python's `regex` module and in
    /// Oniguruma (the `tokenizers` library), and Rust's `char::is_whitespace`.
    @inline(__always)
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x80 { return value == 0x20 || (value >= 0x09 && value <= 0x0D) }
        return scalar.properties.isWhitespace
    }

    /// Python's `str.isspace()` for one character (what `str.split()` splits on): `White_Space`
    /// plus the information separators U+001C...U+001F.
    @inline(__always)
    static func isPythonSpace(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value >= 0x1C && scalar.value <= 0x1F) || isWhitespace(scalar)
    }

    /// General category C* (Cc, Cf, Cs, Co, Cn) except tab, newline and carriage return: what BERT's
    /// text cleaning removes (`_is_control` in transformers, `is_control` in `tokenizers`).
    @inline(__always)
    static func isBertControl(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x80 { return (value < 0x20 && value != 0x09 && value != 0x0A && value != 0x0D) || value == 0x7F }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// BERT's punctuation: every ASCII non-alphanumeric printable character (so `$`, `+`, `^` and
    /// the like count) plus general category P*.
    @inline(__always)
    static func isBertPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x80 {
            return (value >= 33 && value <= 47) || (value >= 58 && value <= 64)
                || (value >= 91 && value <= 96) || (value >= 123 && value <= 126)
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// A CJK ideograph of the blocks BERT surrounds with spaces (`_is_chinese_char`). Hangul,
    /// Hiragana and Katakana are not among them.
    @inline(__always)
    static func isCJKIdeograph(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x3400 { return false }
        return (0x4E00...0x9FFF).contains(value) || (0x3400...0x4DBF).contains(value)
            || (0x20000...0x2A6DF).contains(value) || (0x2A700...0x2B73F).contains(value)
            || (0x2B740...0x2B81F).contains(value) || (0x2B820...0x2CEAF).contains(value)
            || (0xF900...0xFAFF).contains(value) || (0x2F800...0x2FA1F).contains(value)
    }

    /// Appends the full lowercase mapping of `scalar` (one scalar, or several as in
    /// U+0130 → "i̇"), without context: U+03A3 Σ always becomes σ. This is Rust's `char::to_lowercase`,
    /// what the `tokenizers` library's lowercasing does.
    @inline(__always)
    static func appendLowercase(_ scalar: Unicode.Scalar, to output: inout [Unicode.Scalar]) {
        let value = scalar.value
        if value < 0x80 {
            output.append(value >= 0x41 && value <= 0x5A ? Unicode.Scalar(UInt8(value + 0x20)) : scalar)
            return
        }
        let properties = scalar.properties
        if !properties.changesWhenLowercased {
            output.append(scalar)
            return
        }
        output.append(contentsOf: properties.lowercaseMapping.unicodeScalars)
    }

    /// Python's `str.lower()` of `word`, appended to `output`: the full lowercase mapping with the
    /// Final_Sigma rule (Σ becomes ς after a cased letter, case-ignorable characters skipped, when
    /// no cased letter follows).
    static func appendPythonLowercase(_ word: ArraySlice<Unicode.Scalar>, to output: inout [Unicode.Scalar]) {
        for index in word.indices {
            let scalar = word[index]
            if scalar.value == 0x03A3 {
                output.append(isFinalSigma(in: word, at: index) ? "\u{03C2}" : "\u{03C3}")
            } else {
                appendLowercase(scalar, to: &output)
            }
        }
    }

    /// CPython's `handle_capital_sigma`: `\p{cased}\p{case-ignorable}* Σ !(\p{case-ignorable}* \p{cased})`.
    private static func isFinalSigma(in word: ArraySlice<Unicode.Scalar>, at index: Int) -> Bool {
        var before = index - 1
        while before >= word.startIndex, word[before].properties.isCaseIgnorable { before -= 1 }
        guard before >= word.startIndex, word[before].properties.isCased else { return false }
        var after = index + 1
        while after < word.endIndex, word[after].properties.isCaseIgnorable { after += 1 }
        return after == word.endIndex || !word[after].properties.isCased
    }

    /// Unicode canonical composition (NFC), skipped when every scalar is below U+0300 (such text is
    /// already in NFC).
    static func nfc(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard scalars.contains(where: { $0.value >= 0x300 }) else { return scalars }
        var string = String.UnicodeScalarView()
        string.append(contentsOf: scalars)
        return Array(String(string).precomposedStringWithCanonicalMapping.unicodeScalars)
    }

    /// Unicode canonical decomposition (NFD), skipped when every scalar is below U+00C0 (such text
    /// has no decomposition).
    static func nfd(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard scalars.contains(where: { $0.value >= 0xC0 }) else { return scalars }
        var string = String.UnicodeScalarView()
        string.append(contentsOf: scalars)
        return Array(String(string).decomposedStringWithCanonicalMapping.unicodeScalars)
    }

    /// Appends the UTF-8 encoding of `scalar` to `bytes`.
    @inline(__always)
    static func appendUTF8(_ scalar: Unicode.Scalar, to bytes: inout [UInt8]) {
        let value = scalar.value
        switch value {
        case 0..<0x80:
            bytes.append(UInt8(value))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | value >> 6))
            bytes.append(UInt8(0x80 | value & 0x3F))
        case 0x800..<0x10000:
            bytes.append(UInt8(0xE0 | value >> 12))
            bytes.append(UInt8(0x80 | (value >> 6) & 0x3F))
            bytes.append(UInt8(0x80 | value & 0x3F))
        default:
            bytes.append(UInt8(0xF0 | value >> 18))
            bytes.append(UInt8(0x80 | (value >> 12) & 0x3F))
            bytes.append(UInt8(0x80 | (value >> 6) & 0x3F))
            bytes.append(UInt8(0x80 | value & 0x3F))
        }
    }
}
