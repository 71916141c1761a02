/// A run of prompt text and the weight its encoder output is multiplied by.
public struct PromptFragment: Sendable, Equatable, CustomStringConvertible {
    public var text: String
    /// The emphasis multiplier (1 = none); −1 on the `BREAK` marker.
    public var weight: Double

    public init(_ text: String, _ weight: Double) {
        self.text = text
        self.weight = weight
    }

    /// The marker AUTOMATIC1111 puts where the prompt said `BREAK`: text "BREAK", weight −1. Like
    /// A1111 we recognise it by those two values, so a `BREAK` inside brackets (whose weight the
    /// brackets multiply) is read as the word, as A1111 reads it.
    public static let breakMarker = PromptFragment("BREAK", -1)
    public var isBreak: Bool { self == Self.breakMarker }

    public var description: String { "(\(String(reflecting: text)), \(weight))" }
}

/// AUTOMATIC1111's emphasis syntax (`modules/prompt_parser.py`, `parse_prompt_attention`), rule
/// for rule:
///
/// - `(text)` multiplies the weight of `text` by 1.1, `[text]` by 1/1.1, `(text:w)` by `w`;
///   nested brackets multiply (`((a))` = 1.21);
/// - `\(`, `\)`, `\[`, `\]` and `\\` are the literal characters; any other backslash is dropped;
/// - a `)` or `]` with nothing open, a `:` outside `(…:w)` and `(…:w)` with no open `(` are text;
/// - brackets still open at the end apply to everything after them (round ones first, in the order
///   opened, then square ones);
/// - the word `BREAK` (`\s*\bBREAK\b\s*` within a run of plain text) becomes `PromptFragment.breakMarker`;
/// - neighbouring fragments of equal weight are merged; an empty prompt is one empty fragment.
///
/// Weights are computed in double precision, as Python's floats, so that "equal" means what it
/// means in A1111.
public enum A1111PromptParser {
    /// The fragments of `text`.
    /// - Throws: `PromptSyntaxError` when a `(…:w)` weight is not a number ("1.2.3"), where A1111
    ///   stops with Python's float() error.
    public static func parse(_ text: String) throws -> [PromptFragment] {
        let s = Array(text.unicodeScalars)
        var result: [PromptFragment] = []
        var round: [Int] = [], square: [Int] = []
        func multiply(from start: Int, by factor: Double) {
            for p in start ..< result.count { result[p].weight *= factor }
        }
        func appendText(_ piece: ArraySlice<Unicode.Scalar>) {
            for (i, part) in splitAtBreak(piece).enumerated() {
                if i > 0 { result.append(.breakMarker) }
                result.append(PromptFragment(String(String.UnicodeScalarView(part)), 1))
            }
        }
        var i = 0
        while i < s.count {
            let c = s[i]
            if c == "\\" {
                // `\(`, `\)`, `\[`, `\]`, `\\` → the character; a lone backslash → "" (A1111 appends text[1:]).
                if i + 1 < s.count, "()[]\\".unicodeScalars.contains(s[i + 1]) {
                    result.append(PromptFragment(String(s[i + 1]), 1))
                    i += 2
                } else {
                    result.append(PromptFragment("", 1))
                    i += 1
                }
            } else if c == "(" {
                round.append(result.count); i += 1
            } else if c == "[" {
                square.append(result.count); i += 1
            } else if c == ":", let end = weightEnd(s, from: i) {
                let literal = String(String.UnicodeScalarView(s[(i + 1) ..< (end - 1)]))
                if let open = round.popLast() {
                    guard let weight = Double(literal) else {
                        throw PromptSyntaxError("the emphasis weight \(String(reflecting: literal)) is not a number")
                    }
                    multiply(from: open, by: weight)
                } else {
                    appendText(s[i ..< end])
                }
                i = end
            } else if c == ")" && !round.isEmpty {
                multiply(from: round.removeLast(), by: 1.1); i += 1
            } else if c == "]" && !square.isEmpty {
                multiply(from: square.removeLast(), by: 1 / 1.1); i += 1
            } else if c == ")" || c == "]" || c == ":" {
                appendText(s[i ... i]); i += 1
            } else {
                var j = i
                while j < s.count, !"\\()[]:".unicodeScalars.contains(s[j]) { j += 1 }
                appendText(s[i ..< j]); i = j
            }
        }
        for start in round { multiply(from: start, by: 1.1) }
        for start in square { multiply(from: start, by: 1 / 1.1) }
        if result.isEmpty { result = [PromptFragment("", 1)] }
        var merged: [PromptFragment] = [result[0]]
        for fragment in result.dropFirst() {
            if merged[merged.count - 1].weight == fragment.weight {
                merged[merged.count - 1].text += fragment.text
            } else {
                merged.append(fragment)
            }
        }
        return merged
    }

    /// For `:` at `start`: the index after the `)` of `:[+-]?[.\d]+\)`, or nil when no such
    /// weight starts there.
    static func weightEnd(_ s: [Unicode.Scalar], from start: Int) -> Int? {
        var j = start + 1
        if j < s.count, s[j] == "+" || s[j] == "-" { j += 1 }
        let digits = j
        while j < s.count, s[j] == "." || ("0" ... "9").contains(s[j]) { j += 1 }
        guard j > digits, j < s.count, s[j] == ")" else { return nil }
        return j + 1
    }

    /// `re.split(r"\s*\bBREAK\b\s*", piece)`: the text around each standalone `BREAK` and the
    /// whitespace next to it.
    static func splitAtBreak(_ piece: ArraySlice<Unicode.Scalar>) -> [ArraySlice<Unicode.Scalar>] {
        let word = Array("BREAK".unicodeScalars)
        func isWord(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic || c.properties.numericType != nil }
        var parts: [ArraySlice<Unicode.Scalar>] = []
        var partStart = piece.startIndex, i = piece.startIndex
        while i + word.count <= piece.endIndex {
            let matches = piece[i ..< i + word.count].elementsEqual(word)
                && (i == piece.startIndex || !isWord(piece[i - 1]))
                && (i + word.count == piece.endIndex || !isWord(piece[i + word.count]))
            guard matches else { i += 1; continue }
            var lower = i
            while lower > partStart, piece[lower - 1].properties.isWhitespace { lower -= 1 }
            var upper = i + word.count
            while upper < piece.endIndex, piece[upper].properties.isWhitespace { upper += 1 }
            parts.append(piece[partStart ..< lower])
            partStart = upper
            i = upper
        }
        parts.append(piece[partStart ..< piece.endIndex])
        return parts
    }
}
