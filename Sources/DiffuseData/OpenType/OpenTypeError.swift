/// Why a font could not be read. Every case names the font (its path or the name given to the
/// reader) and, where it applies, the table and the glyph; `description` is one line.
public enum OpenTypeError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be read.
    case io(font: String, reason: String)
    /// The file is not an OpenType/TrueType font (bad sfnt version), or its table directory is cut
    /// short or inconsistent.
    case badTableDirectory(font: String, detail: String)
    /// A table the operation needs is absent.
    case missingTable(font: String, table: String)
    /// A table's contents are malformed: an offset or count points outside the table, a field has
    /// an invalid value, or a structure is inconsistent.
    case badTable(font: String, table: String, detail: String)
    /// A glyph's entry in a table is malformed (for example, its bitmap data lies outside `CBDT`).
    case badGlyph(font: String, table: String, glyph: Int, detail: String)
    /// A valid structure this reader does not implement (another table version or subtable format).
    case unsupported(font: String, table: String, detail: String)

    /// One line naming the font, the table and (where it applies) the glyph.
    public var description: String {
        switch self {
        case .io(let font, let reason): return "\(font): cannot read font: \(reason)"
        case .badTableDirectory(let font, let detail): return "\(font): bad table directory: \(detail)"
        case .missingTable(let font, let table): return "\(font): font has no '\(table)' table"
        case .badTable(let font, let table, let detail): return "\(font): bad '\(table)' table: \(detail)"
        case .badGlyph(let font, let table, let glyph, let detail):
            return "\(font): bad '\(table)' entry for glyph \(glyph): \(detail)"
        case .unsupported(let font, let table, let detail): return "\(font): unsupported '\(table)' table: \(detail)"
        }
    }

    /// The table the error is about (`""` for I/O and table-directory errors).
    public var table: String {
        switch self {
        case .io, .badTableDirectory: return ""
        case .missingTable(_, let t), .badTable(_, let t, _), .badGlyph(_, let t, _, _), .unsupported(_, let t, _): return t
        }
    }

    /// The glyph the error is about, if any.
    public var glyph: Int? {
        if case .badGlyph(_, _, let glyph, _) = self { return glyph }
        return nil
    }
}
