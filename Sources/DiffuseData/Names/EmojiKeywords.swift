import Foundation

/// Unicode CLDR's emoji keywords ("annotations"), e.g. 🍎 → `apple`, `fruit`, `red`, read from the
/// XML files Debian's `unicode-cldr-core` installs:
/// `/usr/share/unicode/cldr/common/annotations/en.xml` (the base emoji) and
/// `annotationsDerived/en.xml` (skin tones, flags, keycaps …). Each
/// `<annotation cp="🍎">apple | fruit | red</annotation>` line gives one emoji's keywords; the
/// `type="tts"` lines (the short names, which `emoji-test.txt` already gives) are skipped.
///
/// CLDR writes sequences without the variation selector U+FE0F; `keywords(for:)` looks them up
/// with and without it.
public struct EmojiKeywords: Sendable {
    /// Keywords by code point sequence (as CLDR writes it), in the file's order, duplicates removed.
    public private(set) var table: [String: [String]] = [:]

    /// Where Debian's `unicode-cldr-core` puts the English annotations.
    public static let debianFiles = [
        URL(fileURLWithPath: "/usr/share/unicode/cldr/common/annotations/en.xml"),
        URL(fileURLWithPath: "/usr/share/unicode/cldr/common/annotationsDerived/en.xml"),
    ]

    public init() {}

    /// Reads annotation files; later files add to (never replace) earlier ones.
    /// - Throws: `EmojiTestFileError` naming a file that cannot be read or has no annotations.
    public init(files: [URL]) throws {
        for url in files {
            guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8) else {
                throw EmojiTestFileError(file: url.path, line: 0, detail: "cannot be read as UTF-8")
            }
            let before = table.count
            add(xml: text)
            if table.count == before {
                throw EmojiTestFileError(file: url.path, line: 0, detail: "has no <annotation cp=\"…\"> keyword lines")
            }
        }
    }

    /// Adds the keyword lines of one annotations XML document.
    public mutating func add(xml text: String) {
        for line in text.split(separator: "\n") {
            guard let open = line.range(of: "<annotation cp=\""), !line.contains("type=\"tts\"") else { continue }
            let rest = line[open.upperBound...]
            guard let quote = rest.firstIndex(of: "\""),
                  let start = rest[quote...].firstIndex(of: ">"),
                  let end = rest.range(of: "</annotation>") else { continue }
            let sequence = Self.unescape(String(rest[..<quote]))
            let words = Self.unescape(String(rest[rest.index(after: start) ..< end.lowerBound]))
                .split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            var list = table[sequence] ?? []
            for word in words where !list.contains(word) { list.append(word) }
            if !list.isEmpty { table[sequence] = list }
        }
    }

    /// The keywords of a code point sequence (with or without U+FE0F), without those equal to
    /// `name` (case-insensitive): the words a caption does not already say. Empty when unknown.
    public func keywords(for scalars: [Unicode.Scalar], excluding name: String = "") -> [String] {
        var exact = String.UnicodeScalarView()
        exact.append(contentsOf: scalars)
        var stripped = String.UnicodeScalarView()
        stripped.append(contentsOf: scalars.filter { $0.value != 0xFE0F })
        let found = table[String(exact)] ?? table[String(stripped)] ?? []
        let lowered = name.lowercased()
        return found.filter { $0.lowercased() != lowered }
    }

    /// XML's five predefined entities and numeric character references.
    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else { break }
            let entity = rest[rest.index(after: amp) ..< semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                if entity.hasPrefix("#x"), let v = UInt32(entity.dropFirst(2), radix: 16), let s = Unicode.Scalar(v) {
                    out.unicodeScalars.append(s)
                } else if entity.hasPrefix("#"), let v = UInt32(entity.dropFirst()), let s = Unicode.Scalar(v) {
                    out.unicodeScalars.append(s)
                } else {
                    out += rest[amp ... semi]
                }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }
}
