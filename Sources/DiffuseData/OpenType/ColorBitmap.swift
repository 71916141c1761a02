/// One glyph's embedded color bitmap from `CBDT`: PNG data and metrics.
public struct ColorBitmap: Equatable, Sendable {
    /// The glyph.
    public var glyph: GlyphID
    /// The strike's pixels per em (vertical).
    public var ppem: Int
    /// The image format it was stored in (17, 18 or 19).
    public var imageFormat: Int
    /// The glyph's metrics, in pixels.
    public var metrics: BitmapGlyphMetrics
    /// The PNG file's bytes (not yet decoded or checked).
    public var png: [UInt8]
}

/// Parsing of `CBDT` image records (internal): image formats 17, 18 and 19.
enum ColorBitmapData {
    /// Checks the `CBDT` header (version 3.0, or 2.0).
    static func checkHeader(_ table: TableReader) throws {
        let major = try table.u16(0)
        guard major == 3 || major == 2 else {
            throw OpenTypeError.unsupported(font: table.font, table: table.table, detail: "version \(major).x (expected 3.0)")
        }
    }

    /// The bitmap of `glyph` stored at `location` (validated by the `CBLC` reader to lie inside `CBDT`).
    ///
    /// - Format 17: `smallGlyphMetrics`, `uint32` data length, PNG.
    /// - Format 18: `bigGlyphMetrics`, `uint32` data length, PNG.
    /// - Format 19: `uint32` data length, PNG; metrics come from the index subtable (format 2 or 5).
    ///
    /// The data length must fit inside the image record.
    static func bitmap(_ table: TableReader, glyph: GlyphID, ppem: Int, location: ColorBitmapStrike.Location) throws -> ColorBitmap {
        let g = Int(glyph)
        // The record, as a reader of its own so every read is bounded by it.
        let record = TableReader(bytes: table.bytes, font: table.font, table: table.table,
                                 base: table.base + location.offset, length: location.length)
        let metrics: BitmapGlyphMetrics
        let header: Int
        do {
            switch location.imageFormat {
            case 17:
                metrics = try ColorBitmapLocations.smallMetrics(record, at: 0)
                header = 5
            case 18:
                metrics = try ColorBitmapLocations.bigMetrics(record, at: 0)
                header = 8
            case 19:
                guard let m = location.metrics else {
                    throw table.glyphError(g, "image format 19 needs metrics from an index subtable of format 2 or 5")
                }
                metrics = m
                header = 0
            default:
                throw OpenTypeError.unsupported(font: table.font, table: table.table,
                                                detail: "glyph \(g): image format \(location.imageFormat) (only the PNG formats 17, 18 and 19 are read)")
            }
            let length = Int(try record.u32(header))
            let png = try record.slice(header + 4, length, "PNG data")
            return ColorBitmap(glyph: glyph, ppem: ppem, imageFormat: location.imageFormat, metrics: metrics, png: png)
        } catch let error as OpenTypeError {
            if case .badTable(let font, let tag, let detail) = error {
                throw OpenTypeError.badGlyph(font: font, table: tag, glyph: g,
                                             detail: "image record at offset \(location.offset), \(location.length) bytes: \(detail)")
            }
            throw error
        }
    }
}
