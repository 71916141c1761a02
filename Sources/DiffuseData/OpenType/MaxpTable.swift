/// The `maxp` table: only the glyph count is needed (internal).
enum MaxpTable {
    /// `numGlyphs` from `maxp` (version 0.5 or 1.0).
    static func glyphCount(_ table: TableReader) throws -> Int {
        let version = try table.u32(0)
        guard version == 0x0000_5000 || version == 0x0001_0000 else {
            throw OpenTypeError.unsupported(font: table.font, table: table.table,
                                            detail: "version 0x\(String(version, radix: 16)) (expected 0.5 or 1.0)")
        }
        let count = Int(try table.u16(4))
        guard count > 0 else { throw table.error("numGlyphs is 0 (a font has at least .notdef)") }
        return count
    }
}
