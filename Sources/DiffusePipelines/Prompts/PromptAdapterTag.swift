import Foundation

/// An AUTOMATIC1111 extra-network tag, `<kind:arg1:arg2:…>` (`modules/extra_networks.py`:
/// `<(\w+):([^>]+)>`): `<lora:NAME:WEIGHT>`, `<hypernet:NAME:WEIGHT>`, or any other kind (A1111
/// removes every such tag from the prompt and skips kinds it has no handler for).
///
/// The tag is taken out of the text the encoder sees; what to load is the caller's business.
public struct PromptAdapterTag: Sendable, Equatable, CustomStringConvertible {
    /// The word before the first colon: "lora", "hypernet", "lyco" …
    public var kind: String
    /// The colon-separated arguments as written (A1111's `ExtraNetworkParams.items`).
    public var arguments: [String]

    public init(kind: String, arguments: [String]) {
        self.kind = kind
        self.arguments = arguments
    }

    /// Arguments without `=` (A1111's `positional`); `key=value` ones are `named`.
    public var positional: [String] { arguments.filter { $0.split(separator: "=", omittingEmptySubsequences: false).count != 2 } }
    public var named: [String: String] {
        var result: [String: String] = [:]
        for argument in arguments {
            let parts = argument.split(separator: "=", omittingEmptySubsequences: false)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
        return result
    }

    /// Whether A1111's LoRA handler reads this tag: `<lora:…>` and `<lyco:…>`.
    public var isLoRA: Bool { ["lora", "lyco"].contains(kind.lowercased()) }

    /// The network's name: the first positional argument ("" when there is none).
    public var name: String { positional.first ?? "" }

    /// The multiplier, as A1111's LoRA handler reads it: the second positional argument, or
    /// `te=`, else 1. It scales the text-encoder part (and the UNet part unless `unetMultiplier`
    /// says otherwise); `<hypernet:NAME:W>` reads it the same way.
    /// - Throws: `PromptSyntaxError` when it is not a number.
    public func multiplier() throws -> Double {
        let p = positional
        var value = p.count > 1 ? try Self.number(p[1]) : 1
        if let te = named["te"] { value = try Self.number(te) }
        return value
    }

    /// The UNet multiplier of a LoRA tag: the third positional argument, or `unet=`, else `multiplier()`.
    public func unetMultiplier() throws -> Double {
        let p = positional
        var value = p.count > 2 ? try Self.number(p[2]) : try multiplier()
        if let unet = named["unet"] { value = try Self.number(unet) }
        return value
    }

    /// Python's `float()` on a tag argument (surrounding whitespace allowed).
    static func number(_ text: String) throws -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let value = Double(trimmed), !trimmed.isEmpty else {
            throw PromptSyntaxError("the multiplier \(String(reflecting: text)) in an extra-network tag is not a number")
        }
        return value
    }

    public var description: String { "<\(kind):\(arguments.joined(separator: ":"))>" }

    /// `text` with every `<kind:…>` tag removed, and the tags in the order written (A1111's
    /// `extra_networks.parse_prompt`). Text that only looks like a tag (`<a b:c>`, `<x:>`, no
    /// closing `>`) stays.
    public static func extract(from text: String) -> (text: String, tags: [PromptAdapterTag]) {
        let s = Array(text.unicodeScalars)
        func isWord(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic || c.properties.numericType != nil }
        var kept = String.UnicodeScalarView()
        var tags: [PromptAdapterTag] = []
        var i = 0
        while i < s.count {
            if s[i] == "<" {
                var j = i + 1
                while j < s.count, isWord(s[j]) { j += 1 }
                if j > i + 1, j < s.count, s[j] == ":" {
                    var k = j + 1
                    while k < s.count, s[k] != ">" { k += 1 }
                    if k > j + 1, k < s.count {
                        let kind = String(String.UnicodeScalarView(s[(i + 1) ..< j]))
                        let arguments = String(String.UnicodeScalarView(s[(j + 1) ..< k]))
                        tags.append(PromptAdapterTag(kind: kind, arguments: arguments.split(separator: ":", omittingEmptySubsequences: false).map(String.init)))
                        i = k + 1
                        continue
                    }
                }
            }
            kept.append(s[i])
            i += 1
        }
        return (String(kept), tags)
    }
}
