/// A glyph index in a font (0 is `.notdef`).
public typealias GlyphID = UInt16

/// The font's `cmap`: Unicode code point → glyph, from the best Unicode subtable.
///
/// Subtable choice, first match wins: a format 12 subtable for platform 3 encoding 10 (Windows,
/// full Unicode) or platform 0 (Unicode); then a format 4 subtable for platform 3 encoding 1
/// (Windows BMP) or platform 0. Other subtables (format 14 variation sequences, legacy encodings)
/// are ignored.
///
/// Validation: every encoding record and the chosen subtable lie inside the table; format 12
/// groups are sorted, non-overlapping, within U+0000...U+10FFFF; format 4 segments are sorted,
/// the last one ends at U+FFFF and every `glyphIdArray` read is inside the subtable; every mapped
/// glyph is below `maxp.numGlyphs`. Mappings to glyph 0 and surrogate code points are dropped.
public struct CharacterMap: Sendable {
    /// One code point → glyph mapping.
    public struct Mapping: Equatable, Sendable {
        /// The code point.
        public var scalar: Unicode.Scalar
        /// Its glyph (never 0).
        public var glyph: GlyphID
    }

    /// The chosen subtable's format (12 or 4).
    public let format: Int
    /// The chosen subtable's platform ID.
    public let platformID: Int
    /// The chosen subtable's encoding ID.
    public let encodingID: Int
    /// Every mapping, in code point order.
    public let mappings: [Mapping]
    private let lookup: [UInt32: GlyphID]

    /// The glyph for `scalar`, or nil if the font does not map it.
    public func glyph(for scalar: Unicode.Scalar) -> GlyphID? {
        lookup[scalar.value]
    }

    /// Every code point mapped to each glyph, in code point order.
    public func scalarsByGlyph() -> [GlyphID: [Unicode.Scalar]] {
        var result: [GlyphID: [Unicode.Scalar]] = [:]
        for m in mappings { result[m.glyph, default: []].append(m.scalar) }
        return result
    }

    /// Parses the `cmap` table; `glyphCount` is `maxp.numGlyphs`.
    init(_ table: TableReader, glyphCount: Int) throws {
        let version = try table.u16(0)
        guard version == 0 else { throw table.error("version \(version), expected 0") }
        let count = Int(try table.u16(2))
        try table.require(4, 8 * count, "\(count) encoding records")
        var best: (rank: Int, offset: Int, format: Int, platform: Int, encoding: Int)? = nil
        for i in 0..<count {
            let r = 4 + 8 * i
            let platform = Int(table.u16Unchecked(r)), encoding = Int(table.u16Unchecked(r + 2))
            let offset = Int(table.u32Unchecked(r + 4))
            try table.require(offset, 2, "subtable of encoding record \(i) (platform \(platform), encoding \(encoding))")
            let format = Int(table.u16Unchecked(offset))
            let rank: Int
            switch format {
            case 12 where platform == 0 || (platform == 3 && encoding == 10): rank = platform == 3 ? 0 : 1
            case 4 where platform == 0 || (platform == 3 && (encoding == 1 || encoding == 10)): rank = platform == 3 ? 2 : 3
            default: continue
            }
            if best == nil || rank < best!.rank { best = (rank, offset, format, platform, encoding) }
        }
        guard let chosen = best else {
            throw OpenTypeError.unsupported(font: table.font, table: table.table,
                                            detail: "no Unicode subtable of format 12 or 4")
        }
        let pairs = chosen.format == 12
            ? try Self.format12(table, at: chosen.offset, glyphCount: glyphCount)
            : try Self.format4(table, at: chosen.offset, glyphCount: glyphCount)
        var lookup: [UInt32: GlyphID] = [:]
        lookup.reserveCapacity(pairs.count)
        var mappings: [Mapping] = []
        mappings.reserveCapacity(pairs.count)
        for (code, glyph) in pairs where glyph != 0 {
            guard let scalar = Unicode.Scalar(code) else { continue }  // surrogates
            lookup[code] = glyph
            mappings.append(Mapping(scalar: scalar, glyph: glyph))
        }
        self.format = chosen.format
        self.platformID = chosen.platform
        self.encodingID = chosen.encoding
        self.mappings = mappings
        self.lookup = lookup
    }

    /// Segmented coverage: `(code point, glyph)` pairs in code point order.
    private static func format12(_ table: TableReader, at offset: Int, glyphCount: Int) throws -> [(UInt32, GlyphID)] {
        try table.require(offset, 16, "format 12 subtable header")
        let length = Int(table.u32Unchecked(offset + 4))
        let groups = Int(table.u32Unchecked(offset + 12))
        try table.require(offset, length, "format 12 subtable")
        guard groups <= (length - 16) / 12 else {
            throw table.error("format 12 subtable: \(groups) groups do not fit in its \(length) bytes")
        }
        var pairs: [(UInt32, GlyphID)] = []
        var previousEnd: Int64 = -1
        for g in 0..<groups {
            let p = offset + 16 + 12 * g
            let start = table.u32Unchecked(p), end = table.u32Unchecked(p + 4), startGlyph = table.u32Unchecked(p + 8)
            guard start <= end, end <= 0x10FFFF, Int64(start) > previousEnd else {
                throw table.error("format 12 group \(g) (U+\(hex(start))...U+\(hex(end))) is reversed, out of order, overlapping or beyond U+10FFFF")
            }
            previousEnd = Int64(end)
            let lastGlyph = UInt64(startGlyph) + UInt64(end - start)
            guard lastGlyph < UInt64(glyphCount) else {
                throw table.error("format 12 group \(g) (U+\(hex(start))...U+\(hex(end))) maps to glyph \(lastGlyph), but the font has \(glyphCount) glyphs")
            }
            for code in start...end {
                pairs.append((code, GlyphID(startGlyph + (code - start))))
            }
        }
        return pairs
    }

    /// Segment mapping to delta values: `(code point, glyph)` pairs in code point order.
    private static func format4(_ table: TableReader, at offset: Int, glyphCount: Int) throws -> [(UInt32, GlyphID)] {
        try table.require(offset, 14, "format 4 subtable header")
        let length = Int(table.u16Unchecked(offset + 2))
        try table.require(offset, length, "format 4 subtable")
        let segX2 = Int(table.u16Unchecked(offset + 6))
        guard segX2 > 0, segX2 % 2 == 0 else { throw table.error("format 4 subtable: segCountX2 is \(segX2)") }
        let segments = segX2 / 2
        let ends = offset + 14, starts = ends + segX2 + 2, deltas = starts + segX2, rangeOffsets = deltas + segX2
        guard rangeOffsets + segX2 <= offset + length else {
            throw table.error("format 4 subtable: \(segments) segments do not fit in its \(length) bytes")
        }
        var pairs: [(UInt32, GlyphID)] = []
        var previousEnd = -1
        for s in 0..<segments {
            let end = Int(table.u16Unchecked(ends + 2 * s)), start = Int(table.u16Unchecked(starts + 2 * s))
            let delta = Int(table.u16Unchecked(deltas + 2 * s))
            let rangeOffsetPosition = rangeOffsets + 2 * s
            let rangeOffset = Int(table.u16Unchecked(rangeOffsetPosition))
            guard start <= end, start > previousEnd else {
                throw table.error("format 4 segment \(s) (U+\(hex(UInt32(start)))...U+\(hex(UInt32(end)))) is reversed, out of order or overlapping")
            }
            previousEnd = end
            if s == segments - 1 && end != 0xFFFF {
                throw table.error("format 4 subtable: the last segment ends at U+\(hex(UInt32(end))), not U+FFFF")
            }
            for code in start...end where code != 0xFFFF {
                var glyph: Int
                if rangeOffset == 0 {
                    glyph = (code + delta) & 0xFFFF
                } else {
                    let address = rangeOffsetPosition + rangeOffset + 2 * (code - start)
                    guard address + 2 <= offset + length else {
                        throw table.error("format 4 segment \(s): glyphIdArray entry for U+\(hex(UInt32(code))) is outside the subtable")
                    }
                    glyph = Int(table.u16Unchecked(address))
                    if glyph != 0 { glyph = (glyph + delta) & 0xFFFF }
                }
                guard glyph < glyphCount else {
                    throw table.error("format 4 maps U+\(hex(UInt32(code))) to glyph \(glyph), but the font has \(glyphCount) glyphs")
                }
                pairs.append((UInt32(code), GlyphID(glyph)))
            }
        }
        return pairs
    }
}

/// Upper-case hexadecimal, at least four digits (`1F34E`, `0023`).
func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return digits.count >= 4 ? digits : String(repeating: "0", count: 4 - digits.count) + digits
}
