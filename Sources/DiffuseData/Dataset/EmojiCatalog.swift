/// Which emoji of a font get into the dataset, under which name: the join of the font's glyphs
/// (with images in one `CBDT` strike) and the names of `emoji-test.txt`.
///
/// Naming rules:
/// 1. Each fully-qualified, minimally-qualified or component line of `emoji-test.txt` is shaped
///    with the font (`OpenTypeFont.glyph(for:)`), as written and, failing that, without its U+FE0F
///    variation selectors. Unqualified lines are not used (their fully-qualified form names the
///    same glyph).
/// 2. When several lines reach the same glyph, one is kept: fully-qualified before component
///    before minimally-qualified; then the earliest Emoji version (`flag: France`, E0.6, over
///    `flag: Clipperton Island`, E2.0, which Noto draws with the same glyph); then the shortest
///    name (`flag: Norway` over `flag: Svalbard & Jan Mayen`); then file order. The others are
///    reported in `duplicates`.
/// 3. A glyph with an image that no line names but that `cmap` maps from a single code point is
///    named by `unicodeScalarCaption` (lowest named code point; group and subgroup empty).
/// 4. Every other glyph with an image is left out and reported in `skipped`: sequences the font
///    defines that `emoji-test.txt` does not know (newer emoji, non-RGI subdivision flags), and
///    glyphs no sequence reaches.
///
/// Items are in `emoji-test.txt` order (CLDR order), then the fallback-named ones by code point.
public struct EmojiCatalog: Sendable {
    /// Where an item's name came from.
    public enum NameSource: Equatable, Sendable {
        /// An `emoji-test.txt` line with this status.
        case emojiTest(EmojiTestEntry.Status)
        /// `unicodeScalarCaption` of a single code point.
        case unicodeScalarName
    }

    /// One emoji of the dataset.
    public struct Item: Equatable, Sendable {
        /// The glyph whose image this is.
        public var glyph: GlyphID
        /// The caption, e.g. `"red apple"`.
        public var name: String
        /// The code point sequence the name belongs to (as `emoji-test.txt` writes it, FE0F included).
        public var scalars: [Unicode.Scalar]
        /// The `emoji-test.txt` group, e.g. `"Food & Drink"` (empty for fallback names).
        public var group: String
        /// The `emoji-test.txt` subgroup, e.g. `"food-fruit"` (empty for fallback names).
        public var subgroup: String
        /// Where the name came from.
        public var source: NameSource
        /// The `emoji-test.txt` line, or 0 for fallback names.
        public var line: Int

        /// The code points as upper-case hex separated by spaces (`"0023 FE0F 20E3"`).
        public var codePointsText: String { scalars.map { hex($0.value) }.joined(separator: " ") }
    }

    /// A named sequence that reaches a glyph already named by a preferred one.
    public struct Duplicate: Equatable, Sendable {
        /// The glyph both sequences reach.
        public var glyph: GlyphID
        /// The kept name.
        public var keptName: String
        /// The dropped line.
        public var dropped: EmojiTestEntry
    }

    /// A glyph with an image that gets no name.
    public struct Skipped: Equatable, Sendable {
        /// The glyph left out.
        public var glyph: GlyphID
        /// The sequences the font defines for it (empty: nothing reaches the glyph).
        public var sequences: [[Unicode.Scalar]]
    }

    /// `maxp.numGlyphs`.
    public let glyphCount: Int
    /// Glyphs with an image in the strike used.
    public let glyphsWithImages: Int
    /// The strike used (`OpenTypeFont.largestStrikeIndex`), or nil if the font has no bitmaps.
    public let strikeIndex: Int?
    /// The named glyphs with images, in dataset order.
    public let items: [Item]
    /// Named sequences dropped because their glyph already has a preferred name.
    public let duplicates: [Duplicate]
    /// Glyphs with images left out for want of a name, by glyph ID.
    public let skipped: [Skipped]
    /// Used `emoji-test.txt` lines that the font does not shape to one glyph.
    public let entriesNotInFont: [EmojiTestEntry]
    /// Used `emoji-test.txt` lines whose glyph has no image in the strike (their glyph is not an item).
    public let entriesWithoutImage: [EmojiTestEntry]

    private let itemIndexByGlyph: [GlyphID: Int]
    private let font: OpenTypeFont

    /// Joins `font` and the parsed `emoji-test.txt` `entries`, using the bitmaps of `strikeIndex`
    /// (default: the largest strike; an index the font does not have means no bitmaps).
    public init(font: OpenTypeFont, entries: [EmojiTestEntry], strikeIndex: Int? = nil) {
        self.font = font
        let strike = strikeIndex.map { font.strikes.indices.contains($0) ? $0 : nil } ?? font.largestStrikeIndex
        self.strikeIndex = strike
        let withImages: [GlyphID: ColorBitmapStrike.Location] = strike.map { font.strikes[$0].locations } ?? [:]
        glyphCount = font.glyphCount
        glyphsWithImages = withImages.count

        // 1–2: emoji-test lines → glyphs, best line per glyph.
        var best: [GlyphID: EmojiTestEntry] = [:]
        var dropped: [(GlyphID, EmojiTestEntry)] = []
        var notInFont: [EmojiTestEntry] = [], withoutImage: [EmojiTestEntry] = []
        for entry in entries where entry.status != .unqualified {
            guard let glyph = Self.glyph(font, entry.scalars) else {
                notInFont.append(entry)
                continue
            }
            guard withImages[glyph] != nil else {
                withoutImage.append(entry)
                continue
            }
            if let current = best[glyph] {
                if Self.isPreferred(entry, over: current) {
                    best[glyph] = entry
                    dropped.append((glyph, current))
                } else {
                    dropped.append((glyph, entry))
                }
            } else {
                best[glyph] = entry
            }
        }
        var items = best.map { glyph, entry in
            Item(glyph: glyph, name: entry.name, scalars: entry.scalars, group: entry.group, subgroup: entry.subgroup,
                 source: .emojiTest(entry.status), line: entry.line)
        }.sorted { $0.line < $1.line }

        // 3: single code points by their Unicode names.
        var fallback: [Item] = []
        var fallbackGlyphs = Set<GlyphID>()
        for mapping in font.characterMap.mappings  // code point order
        where withImages[mapping.glyph] != nil && best[mapping.glyph] == nil && !fallbackGlyphs.contains(mapping.glyph) {
            guard let name = unicodeScalarCaption(mapping.scalar) else { continue }
            fallbackGlyphs.insert(mapping.glyph)
            fallback.append(Item(glyph: mapping.glyph, name: name, scalars: [mapping.scalar], group: "", subgroup: "",
                                 source: .unicodeScalarName, line: 0))
        }
        items += fallback

        // 4: the rest.
        let named = Set(items.map(\.glyph))
        let unnamed = withImages.keys.filter { !named.contains($0) }.sorted()
        let sequences = unnamed.isEmpty ? [:] : font.definedSequences()
        skipped = unnamed.map { Skipped(glyph: $0, sequences: sequences[$0] ?? []) }

        self.items = items
        duplicates = dropped.map { Duplicate(glyph: $0.0, keptName: best[$0.0]?.name ?? "", dropped: $0.1) }
            .sorted { $0.dropped.line < $1.dropped.line }
        entriesNotInFont = notInFont
        entriesWithoutImage = withoutImage
        itemIndexByGlyph = Dictionary(uniqueKeysWithValues: items.enumerated().map { ($1.glyph, $0) })
    }

    /// The item of `glyph`, if it is named.
    public func item(forGlyph glyph: GlyphID) -> Item? {
        itemIndexByGlyph[glyph].map { items[$0] }
    }

    /// The item that the code point sequence `scalars` shapes to (as given or without U+FE0F), if any.
    public func item(for scalars: [Unicode.Scalar]) -> Item? {
        Self.glyph(font, scalars).flatMap { item(forGlyph: $0) }
    }

    /// The glyph `scalars` shapes to, retrying without U+FE0F variation selectors.
    static func glyph(_ font: OpenTypeFont, _ scalars: [Unicode.Scalar]) -> GlyphID? {
        if let glyph = font.glyph(for: scalars) { return glyph }
        let stripped = scalars.filter { $0 != "\u{FE0F}" }
        return stripped.count == scalars.count ? nil : font.glyph(for: stripped)
    }

    /// Rule 2: status, then Emoji version, then name length, then file order.
    static func isPreferred(_ a: EmojiTestEntry, over b: EmojiTestEntry) -> Bool {
        func rank(_ s: EmojiTestEntry.Status) -> Int {
            switch s {
            case .fullyQualified: return 0
            case .component: return 1
            case .minimallyQualified: return 2
            case .unqualified: return 3
            }
        }
        if rank(a.status) != rank(b.status) { return rank(a.status) < rank(b.status) }
        if a.versionKey != b.versionKey { return a.versionKey.lexicographicallyPrecedes(b.versionKey) }
        if a.name.count != b.name.count { return a.name.count < b.name.count }
        return a.line < b.line
    }
}
