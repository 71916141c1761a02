/// Metrics of one bitmap glyph, in pixels of its strike (`smallGlyphMetrics`/`bigGlyphMetrics`;
/// for small metrics the vertical fields repeat the horizontal ones).
public struct BitmapGlyphMetrics: Equatable, Sendable {
    /// The bitmap's width in pixels.
    public var width: Int
    /// The bitmap's height in pixels.
    public var height: Int
    /// Horizontal distance from the pen position to the bitmap's left edge.
    public var bearingX: Int
    /// Vertical distance from the baseline to the bitmap's top edge.
    public var bearingY: Int
    /// Horizontal advance.
    public var advance: Int
}

/// One strike of the `CBLC` table (the color bitmap location table): a pixel size and where in
/// `CBDT` each of its glyphs' images lies.
public struct ColorBitmapStrike: Sendable {
    /// Where one glyph's image lies in `CBDT`.
    public struct Location: Equatable, Sendable {
        /// Byte offset of the glyph's image record from the start of `CBDT`.
        public var offset: Int
        /// Length of the image record in bytes.
        public var length: Int
        /// The image format (17, 18 or 19 for PNG).
        public var imageFormat: Int
        /// Metrics from the index subtable (index formats 2 and 5, which image format 19 needs).
        public var metrics: BitmapGlyphMetrics?
    }

    /// Pixels per em, horizontally.
    public var ppemX: Int
    /// Pixels per em, vertically.
    public var ppemY: Int
    /// Bits per pixel (32 for color).
    public var bitDepth: Int
    /// The first glyph of the range the strike declares.
    public var startGlyph: Int
    /// The last glyph of the range the strike declares.
    public var endGlyph: Int
    /// The glyphs that have an image in this strike.
    public var locations: [GlyphID: Location]
}

/// Parsing of `CBLC` (internal): strikes, index subtable formats 1–5.
enum ColorBitmapLocations {
    /// The most glyph locations read from one `CBLC`.
    static let maxLocations = 4_000_000

    /// Parses every strike. `cbdtLength` bounds the image offsets; `glyphCount` is `maxp.numGlyphs`.
    ///
    /// Validation: version 3.0 (or 2.0, `EBLC`-style); the size records, index subtable arrays and
    /// index subtables lie inside the table; index subtables' glyph ranges are ordered, do not
    /// overlap, and lie inside the strike's range and below `glyphCount`; every image lies inside
    /// `CBDT` (offsets are ascending in formats 1, 3 and 4). An empty range (offset equal to the
    /// next one) means the glyph has no image in the strike.
    static func read(_ table: TableReader, cbdtLength: Int, glyphCount: Int) throws -> [ColorBitmapStrike] {
        let major = try table.u16(0)
        guard major == 3 || major == 2 else {
            throw OpenTypeError.unsupported(font: table.font, table: table.table, detail: "version \(major).x (expected 3.0)")
        }
        let sizeCount = Int(try table.u32(4))
        try table.require(8, 48 * sizeCount, "\(sizeCount) BitmapSize records")
        var strikes: [ColorBitmapStrike] = []
        var budget = maxLocations
        for s in 0..<sizeCount {
            let r = 8 + 48 * s
            let arrayOffset = Int(table.u32Unchecked(r))
            let subtableCount = Int(table.u32Unchecked(r + 8))
            let startGlyph = Int(table.u16Unchecked(r + 40)), endGlyph = Int(table.u16Unchecked(r + 42))
            var strike = ColorBitmapStrike(ppemX: Int(table.bytes[table.base + r + 44]), ppemY: Int(table.bytes[table.base + r + 45]),
                                           bitDepth: Int(table.bytes[table.base + r + 46]),
                                           startGlyph: startGlyph, endGlyph: endGlyph, locations: [:])
            let context = "strike \(s) (\(strike.ppemX) ppem)"
            guard startGlyph <= endGlyph, endGlyph < glyphCount else {
                throw table.error("\(context): glyph range \(startGlyph)...\(endGlyph) is reversed or beyond the font's \(glyphCount) glyphs")
            }
            try table.require(arrayOffset, 8 * subtableCount, "\(context): IndexSubTableArray of \(subtableCount) entries")
            var previousLast = -1
            for i in 0..<subtableCount {
                let e = arrayOffset + 8 * i
                let first = Int(table.u16Unchecked(e)), last = Int(table.u16Unchecked(e + 2))
                let subtable = arrayOffset + Int(table.u32Unchecked(e + 4))
                let where_ = "\(context), index subtable \(i) (glyphs \(first)...\(last))"
                guard first <= last, first > previousLast, first >= startGlyph, last <= endGlyph else {
                    throw table.error("\(where_): glyph range is reversed, overlaps the previous one or lies outside the strike")
                }
                previousLast = last
                budget -= last - first + 1
                guard budget >= 0 else { throw table.error("more than \(maxLocations) glyph locations") }
                try readIndexSubtable(table, at: subtable, first: first, last: last, context: where_,
                                      cbdtLength: cbdtLength, into: &strike.locations)
            }
            strikes.append(strike)
        }
        return strikes
    }

    /// Reads one index subtable (formats 1–5) into `locations`.
    private static func readIndexSubtable(_ table: TableReader, at subtable: Int, first: Int, last: Int, context: String,
                                          cbdtLength: Int, into locations: inout [GlyphID: ColorBitmapStrike.Location]) throws {
        try table.require(subtable, 8, "\(context): header")
        let indexFormat = Int(table.u16Unchecked(subtable))
        let imageFormat = Int(table.u16Unchecked(subtable + 2))
        let imageData = Int(table.u32Unchecked(subtable + 4))
        let count = last - first + 1

        func add(_ glyph: Int, _ start: Int, _ end: Int, _ metrics: BitmapGlyphMetrics?) throws {
            guard start <= end else {
                throw table.glyphError(glyph, "\(context): image offsets are descending (\(start) > \(end))")
            }
            guard end <= cbdtLength else {
                throw table.glyphError(glyph, "\(context): image at CBDT bytes \(start)..<\(end) lies outside CBDT (\(cbdtLength) bytes)")
            }
            guard start < end, locations[GlyphID(glyph)] == nil else { return }  // no image, or already listed
            locations[GlyphID(glyph)] = .init(offset: start, length: end - start, imageFormat: imageFormat, metrics: metrics)
        }

        switch indexFormat {
        case 1, 3:  // Offset32 / Offset16 arrays of count + 1 entries
            let width = indexFormat == 1 ? 4 : 2
            try table.require(subtable + 8, width * (count + 1), "\(context): format \(indexFormat) offset array")
            func offset(_ i: Int) -> Int {
                width == 4 ? Int(table.u32Unchecked(subtable + 8 + 4 * i)) : Int(table.u16Unchecked(subtable + 8 + 2 * i))
            }
            for i in 0..<count {
                try add(first + i, imageData + offset(i), imageData + offset(i + 1), nil)
            }
        case 2:  // constant image size, shared big metrics
            try table.require(subtable + 8, 12, "\(context): format 2 body")
            let size = Int(table.u32Unchecked(subtable + 8))
            let metrics = try bigMetrics(table, at: subtable + 12)
            for i in 0..<count {
                try add(first + i, imageData + size * i, imageData + size * (i + 1), metrics)
            }
        case 4:  // sparse (glyph, Offset16) pairs
            try table.require(subtable + 8, 4, "\(context): format 4 glyph count")
            let pairs = Int(table.u32Unchecked(subtable + 8))
            try table.require(subtable + 12, 4 * (pairs + 1), "\(context): format 4 array of \(pairs) glyphs")
            for i in 0..<pairs {
                let p = subtable + 12 + 4 * i
                let glyph = Int(table.u16Unchecked(p))
                guard (first...last).contains(glyph) else {
                    throw table.glyphError(glyph, "\(context): format 4 lists a glyph outside the subtable's range")
                }
                try add(glyph, imageData + Int(table.u16Unchecked(p + 2)), imageData + Int(table.u16Unchecked(p + 6)), nil)
            }
        case 5:  // constant image size, shared big metrics, sparse glyph list
            try table.require(subtable + 8, 16, "\(context): format 5 body")
            let size = Int(table.u32Unchecked(subtable + 8))
            let metrics = try bigMetrics(table, at: subtable + 12)
            let glyphs = Int(table.u32Unchecked(subtable + 20))
            try table.require(subtable + 24, 2 * glyphs, "\(context): format 5 array of \(glyphs) glyphs")
            for i in 0..<glyphs {
                let glyph = Int(table.u16Unchecked(subtable + 24 + 2 * i))
                guard (first...last).contains(glyph) else {
                    throw table.glyphError(glyph, "\(context): format 5 lists a glyph outside the subtable's range")
                }
                try add(glyph, imageData + size * i, imageData + size * (i + 1), metrics)
            }
        default:
            throw OpenTypeError.unsupported(font: table.font, table: table.table, detail: "\(context): index subtable format \(indexFormat)")
        }
    }

    /// `bigGlyphMetrics` (8 bytes; the horizontal fields).
    static func bigMetrics(_ table: TableReader, at offset: Int) throws -> BitmapGlyphMetrics {
        try table.require(offset, 8, "bigGlyphMetrics")
        let b = table.bytes, p = table.base + offset
        return BitmapGlyphMetrics(width: Int(b[p + 1]), height: Int(b[p]), bearingX: Int(Int8(bitPattern: b[p + 2])),
                                  bearingY: Int(Int8(bitPattern: b[p + 3])), advance: Int(b[p + 4]))
    }

    /// `smallGlyphMetrics` (5 bytes).
    static func smallMetrics(_ table: TableReader, at offset: Int) throws -> BitmapGlyphMetrics {
        try table.require(offset, 5, "smallGlyphMetrics")
        let b = table.bytes, p = table.base + offset
        return BitmapGlyphMetrics(width: Int(b[p + 1]), height: Int(b[p]), bearingX: Int(Int8(bitPattern: b[p + 2])),
                                  bearingY: Int(Int8(bitPattern: b[p + 3])), advance: Int(b[p + 4]))
    }
}
