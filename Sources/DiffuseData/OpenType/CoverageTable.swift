/// An OpenType layout Coverage table (formats 1 and 2): coverage index → glyph (internal).
enum CoverageTable {
    /// The covered glyphs keyed by coverage index. `context` names the owner in errors.
    ///
    /// Format 2 ranges must be sorted and non-overlapping, which bounds the result to 65,536
    /// entries whatever the table claims.
    static func read(_ table: TableReader, at offset: Int, context: @autoclosure () -> String) throws -> [Int: GlyphID] {
        try table.require(offset, 4, "\(context()): coverage table header")
        let format = table.u16Unchecked(offset)
        let count = Int(table.u16Unchecked(offset + 2))
        var result: [Int: GlyphID] = [:]
        switch format {
        case 1:
            try table.require(offset + 4, 2 * count, "\(context()): coverage glyph array of \(count) glyphs")
            result.reserveCapacity(count)
            for i in 0..<count { result[i] = table.u16Unchecked(offset + 4 + 2 * i) }
        case 2:
            try table.require(offset + 4, 6 * count, "\(context()): \(count) coverage ranges")
            var previousEnd = -1
            for r in 0..<count {
                let p = offset + 4 + 6 * r
                let start = Int(table.u16Unchecked(p)), end = Int(table.u16Unchecked(p + 2))
                let startIndex = Int(table.u16Unchecked(p + 4))
                guard start <= end, start > previousEnd else {
                    throw table.error("\(context()): coverage range \(r) (glyphs \(start)...\(end)) is reversed, out of order or overlapping")
                }
                previousEnd = end
                for g in start...end { result[startIndex + (g - start)] = GlyphID(g) }
            }
        default:
            throw table.error("\(context()): unknown coverage format \(format)")
        }
        return result
    }
}
