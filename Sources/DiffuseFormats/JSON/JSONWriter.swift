import Foundation

extension JSONValue {
    /// Compact JSON text (no spaces), object members in their stored order.
    public var serialized: String {
        var out = ""
        write(to: &out, indent: nil)
        return out
    }

    /// JSON text laid out as Python's `json.dumps(value, indent=2)` (and so diffusers'
    /// `config.json` files) lays it out: two spaces per level, `"key": value`, one member or element
    /// per line, members in their stored order (`object(sorting:)` gives a stable order).
    public var prettyPrinted: String {
        var out = ""
        write(to: &out, indent: "")
        return out
    }

    /// Writes the pretty form and a final newline to `url` (a config file as diffusers writes
    /// one), atomically: a temporary file renamed into place.
    /// - Throws: `FileIOError` naming the path.
    public func writeConfigFile(to url: URL) throws {
        try FileIO.writeAtomically(Data((prettyPrinted + "\n").utf8), to: url)
    }

    /// Quotes `s` as a JSON string the way Python's `json.dumps(s, ensure_ascii=False)` does:
    /// escapes `"`, `\`, and control characters below U+0020 (`\n`, `\r`, `\t`, `\b`, `\f`, else
    /// `\u00XX`); everything else, including non-ASCII, is written as is.
    public static func quoted(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count + 2)
        writeString(s, to: &out)
        return out
    }

    /// Writes the value; `indent` is the current line's indentation for the pretty form, nil for compact.
    private func write(to out: inout String, indent: String?) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += Self.numberText(d)
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let items):
            Self.writeContainer(items, open: "[", close: "]", to: &out, indent: indent) { item, out, inner in
                item.write(to: &out, indent: inner)
            }
        case .object(let members):
            Self.writeContainer(members, open: "{", close: "}", to: &out, indent: indent) { member, out, inner in
                Self.writeString(member.0, to: &out)
                out += inner == nil ? ":" : ": "
                member.1.write(to: &out, indent: inner)
            }
        }
    }

    /// `open`, the elements separated by commas (each on its own line, indented, in the pretty
    /// form), `close`; an empty container is `[]` / `{}` in both forms.
    private static func writeContainer<Element>(_ elements: [Element], open: String, close: String, to out: inout String,
                                                indent: String?, element: (Element, inout String, String?) -> Void) {
        out += open
        let inner = indent.map { $0 + "  " }
        for (i, item) in elements.enumerated() {
            if i > 0 { out += "," }
            if let inner { out += "\n" + inner }
            element(item, &out, inner)
        }
        if let indent, !elements.isEmpty { out += "\n" + indent }
        out += close
    }

    /// A finite number as JSON text: integral values below 10¹⁵ without a fraction (`7`, not
    /// `7.0`), others in Swift's shortest round-tripping form; NaN and ±∞, which JSON cannot
    /// express, as `null`.
    private static func numberText(_ d: Double) -> String {
        if !d.isFinite { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
