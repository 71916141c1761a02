import DiffuseFormats

/// The text files of the dataset folder (internal).
enum DatasetMetadata {
    /// One `metadata.jsonl` line (with its newline): the keys in a fixed order,
    /// `{"file_name": …, "text": …, "codepoints": …, "group": …, "subgroup": …}`, then
    /// `"keywords": [...]` when there are any.
    static func jsonLine(fileName: String, item: EmojiCatalog.Item, keywords: [String] = []) -> String {
        let fields = [("file_name", fileName), ("text", item.name), ("codepoints", item.codePointsText),
                      ("group", item.group), ("subgroup", item.subgroup)]
        var parts = fields.map { "\(JSONValue.quoted($0.0)): \(JSONValue.quoted($0.1))" }
        if !keywords.isEmpty { parts.append("\"keywords\": [" + keywords.map(JSONValue.quoted).joined(separator: ", ") + "]") }
        return "{" + parts.joined(separator: ", ") + "}\n"
    }

    /// The file name stem of item `number` (1-based): zero-padded to `width` digits.
    static func stem(_ number: Int, width: Int) -> String {
        let digits = String(number)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// Whether `name` looks like a dataset image or caption file (`<digits>.png` / `<digits>.txt`,
    /// at least four digits).
    static func isNumberedFile(_ name: String) -> Bool {
        for suffix in [".png", ".txt"] where name.hasSuffix(suffix) {
            let stem = name.dropLast(suffix.count)
            return stem.count >= 4 && stem.allSatisfy { $0.isASCII && $0.isNumber }
        }
        return false
    }
}
