import Foundation

/// The parts of an OpenType font a color emoji reader needs: the table directory, `maxp`'s glyph
/// count, `cmap` (code point → glyph), `GSUB` ligatures (code point sequence → glyph) and the
/// `CBLC`/`CBDT` color bitmaps (glyph → PNG).
///
/// Everything except the bitmaps' PNG data is parsed and validated up front; a malformed font
/// gives an `OpenTypeError` naming the table (and the glyph, for per-glyph data), never a crash.
/// Required tables: `maxp` and `cmap`. `GSUB` is optional (no ligatures without it); `CBLC` and
/// `CBDT` are optional together (no bitmaps without them) but one without the other is an error.
public struct OpenTypeFont: Sendable {
    /// The font's name in messages (its path, or the name given to `init(bytes:name:)`).
    public let name: String
    /// The table directory.
    public let directory: OpenTypeTableDirectory
    /// `maxp.numGlyphs`: every glyph ID is below this.
    public let glyphCount: Int
    /// The Unicode character map.
    public let characterMap: CharacterMap
    /// The `GSUB` ligature lookups (empty without `GSUB`).
    public let ligatures: LigatureSubstitutions
    /// The `CBLC` strikes (empty without `CBLC`).
    public let strikes: [ColorBitmapStrike]

    private let bytes: [UInt8]
    private let cbdt: TableReader?

    /// Reads and parses the font file at `url`.
    /// - Throws: `OpenTypeError`.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw OpenTypeError.io(font: url.path, reason: error.localizedDescription)
        }
        try self.init(bytes: [UInt8](data), name: url.path)
    }

    /// Parses a font held in memory; `name` is used in error messages.
    /// - Throws: `OpenTypeError`.
    public init(bytes: [UInt8], name: String) throws {
        self.name = name
        self.bytes = bytes
        let directory = try OpenTypeTableDirectory(bytes: bytes, font: name)
        self.directory = directory
        func table(_ tag: String) -> TableReader? {
            directory.record(tag).map { TableReader(bytes: bytes, font: name, table: tag, base: $0.offset, length: $0.length) }
        }
        func required(_ tag: String) throws -> TableReader {
            guard let t = table(tag) else { throw OpenTypeError.missingTable(font: name, table: tag) }
            return t
        }
        glyphCount = try MaxpTable.glyphCount(try required("maxp"))
        characterMap = try CharacterMap(try required("cmap"), glyphCount: glyphCount)
        let count = glyphCount
        ligatures = try table("GSUB").map { try LigatureSubstitutions($0, glyphCount: count) } ?? LigatureSubstitutions()
        switch (table("CBLC"), table("CBDT")) {
        case (nil, nil):
            strikes = []
            cbdt = nil
        case (let cblc?, let cbdt?):
            try ColorBitmapData.checkHeader(cbdt)
            strikes = try ColorBitmapLocations.read(cblc, cbdtLength: cbdt.length, glyphCount: glyphCount)
            self.cbdt = cbdt
        case (nil, _):
            throw OpenTypeError.missingTable(font: name, table: "CBLC")
        case (_, nil):
            throw OpenTypeError.missingTable(font: name, table: "CBDT")
        }
    }

    /// The glyphs a shaper would produce for `scalars` with this font's `cmap` and ligatures, or nil
    /// if a code point is not mapped.
    public func glyphs(for scalars: [Unicode.Scalar]) -> [GlyphID]? {
        var run: [GlyphID] = []
        run.reserveCapacity(scalars.count)
        for scalar in scalars {
            guard let glyph = characterMap.glyph(for: scalar) else { return nil }
            run.append(glyph)
        }
        return ligatures.apply(to: run)
    }

    /// The single glyph that `scalars` shapes to, or nil if it does not become exactly one glyph.
    ///
    /// Variation selectors are not special here: a font that does not map U+FE0F gives nil for a
    /// sequence containing it (`EmojiCatalog` retries without it).
    public func glyph(for scalars: [Unicode.Scalar]) -> GlyphID? {
        guard !scalars.isEmpty, let run = glyphs(for: scalars), run.count == 1 else { return nil }
        return run[0]
    }

    /// Every code point sequence the font itself defines for each glyph: single code points from
    /// `cmap`, and each ligature's components spelled with `cmap` code points (the lowest one when a
    /// glyph has several) — kept only if the sequence really shapes to that glyph.
    public func definedSequences() -> [GlyphID: [[Unicode.Scalar]]] {
        var result: [GlyphID: [[Unicode.Scalar]]] = [:]
        let scalars = characterMap.scalarsByGlyph()
        for m in characterMap.mappings { result[m.glyph, default: []].append([m.scalar]) }
        for ligature in ligatures.allLigatures {
            let sequence = ligature.components.compactMap { scalars[$0]?.first }
            guard sequence.count == ligature.components.count, glyph(for: sequence) == ligature.glyph else { continue }
            result[ligature.glyph, default: []].append(sequence)
        }
        return result
    }

    /// The index of the strike with the largest pixel size (ties: the one with more glyphs, then
    /// the first), or nil without bitmaps.
    public var largestStrikeIndex: Int? {
        strikes.indices.max { a, b in
            (strikes[a].ppemY, strikes[a].locations.count, -a) < (strikes[b].ppemY, strikes[b].locations.count, -b)
        }
    }

    /// The color bitmap of `glyph` in strike `strikeIndex` (default: `largestStrikeIndex`), or nil if
    /// the glyph has no image there.
    /// - Throws: `OpenTypeError.badGlyph` if its image record is malformed, `.unsupported` for a
    ///   non-PNG image format.
    public func colorBitmap(for glyph: GlyphID, strikeIndex: Int? = nil) throws -> ColorBitmap? {
        guard let cbdt, let index = strikeIndex ?? largestStrikeIndex, strikes.indices.contains(index),
              let location = strikes[index].locations[glyph] else { return nil }
        return try ColorBitmapData.bitmap(cbdt, glyph: glyph, ppem: strikes[index].ppemY, location: location)
    }
}
