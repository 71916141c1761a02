/// The fallback caption for a single code point that `emoji-test.txt` does not list: its Unicode
/// character name from Swift's standard library, lower-cased (U+0036 → `"digit six"`,
/// U+1F1EF → `"regional indicator symbol letter j"`), or nil for unnamed scalars.
public func unicodeScalarCaption(_ scalar: Unicode.Scalar) -> String? {
    guard let name = scalar.properties.name, !name.isEmpty else { return nil }
    return name.lowercased()
}
