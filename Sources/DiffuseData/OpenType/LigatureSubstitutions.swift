/// The ligature substitutions of a font's `GSUB` table: glyph sequences that a shaper replaces with
/// one glyph. Color emoji fonts use them for ZWJ sequences, flags (regional-indicator pairs),
/// keycaps, skin-tone modifiers and tag sequences.
///
/// Read: every lookup that a feature in the `FeatureList` refers to (any feature, any script) and
/// that is of type 4 (ligature substitution), or of type 7 (extension) wrapping type 4. Lookups of
/// other types (single, multiple, contextual, …) are skipped: they do not form emoji from code
/// point sequences (in Noto Color Emoji they only draw fallbacks for unknown flags). Lookup flags
/// (ignore marks, mark filtering) are not applied; emoji sequences contain no marks.
///
/// Validation: the header version is 1.x; every offset (lists, lookups, subtables, extension
/// targets, coverage tables, ligature sets, ligatures) lies inside the table; extension subtables
/// do not wrap extensions; a ligature set exists for every coverage index; every glyph is below
/// `maxp.numGlyphs`. At most `maxLigatures` ligatures are read, so a table whose offsets point to
/// the same data over and over cannot make the reader run away.
public struct LigatureSubstitutions: Sendable {
    /// One ligature: `components` (first glyph included) become `glyph`.
    public struct Ligature: Equatable, Sendable {
        /// The glyphs replaced, first glyph included.
        public var components: [GlyphID]
        /// The ligature glyph.
        public var glyph: GlyphID
    }

    /// One ligature lookup, its ligatures keyed by first glyph in the order a shaper tries them.
    public struct Lookup: Sendable {
        /// The lookup's index in the `LookupList`.
        public var index: Int
        /// First glyph → candidate ligatures, in subtable and ligature order.
        public var byFirstGlyph: [GlyphID: [Ligature]]
    }

    /// The most ligatures read from one table.
    public static let maxLigatures = 1_000_000

    /// The ligature lookups in `LookupList` order (the order a shaper applies them).
    public let lookups: [Lookup]

    /// No substitutions (a font without `GSUB`).
    public init() { lookups = [] }

    /// Every ligature, lookup by lookup, first glyphs ascending.
    public var allLigatures: [Ligature] {
        lookups.flatMap { lookup in lookup.byFirstGlyph.sorted { $0.key < $1.key }.flatMap(\.value) }
    }

    /// Applies the lookups to a glyph run the way a shaper does: each lookup in turn scans the run
    /// from the start and, at each position, replaces the first ligature whose components match.
    public func apply(to glyphs: [GlyphID]) -> [GlyphID] {
        var run = glyphs
        for lookup in lookups {
            var i = 0
            while i < run.count {
                if let candidates = lookup.byFirstGlyph[run[i]],
                   let match = candidates.first(where: { lig in
                       lig.components.count <= run.count - i && run[i..<(i + lig.components.count)].elementsEqual(lig.components)
                   }) {
                    run.replaceSubrange(i..<(i + match.components.count), with: [match.glyph])
                }
                i += 1
            }
        }
        return run
    }

    /// Parses `GSUB`; `glyphCount` is `maxp.numGlyphs`.
    init(_ table: TableReader, glyphCount: Int) throws {
        let major = try table.u16(0)
        guard major == 1 else {
            throw OpenTypeError.unsupported(font: table.font, table: table.table, detail: "version \(major).x (expected 1.x)")
        }
        let featureList = Int(try table.u16(6)), lookupList = Int(try table.u16(8))
        guard featureList != 0, lookupList != 0 else {  // NULL offsets: no features or no lookups
            self.lookups = []
            return
        }
        let used = try Self.lookupsUsedByFeatures(table, featureList: featureList)

        try table.require(lookupList, 2, "LookupList")
        let lookupCount = Int(table.u16Unchecked(lookupList))
        try table.require(lookupList + 2, 2 * lookupCount, "LookupList of \(lookupCount) lookups")
        var lookups: [Lookup] = []
        var budget = Self.maxLigatures
        for index in 0..<lookupCount where used.contains(index) {
            let lookup = lookupList + Int(table.u16Unchecked(lookupList + 2 + 2 * index))
            try table.require(lookup, 6, "lookup \(index)")
            let type = table.u16Unchecked(lookup)
            let subtableCount = Int(table.u16Unchecked(lookup + 4))
            try table.require(lookup + 6, 2 * subtableCount, "lookup \(index): \(subtableCount) subtable offsets")
            guard type == 4 || type == 7 else { continue }
            var byFirst: [GlyphID: [Ligature]] = [:]
            for s in 0..<subtableCount {
                var subtable = lookup + Int(table.u16Unchecked(lookup + 6 + 2 * s))
                let context = "lookup \(index) subtable \(s)"
                if type == 7 {
                    try table.require(subtable, 8, "\(context): extension subtable")
                    let format = table.u16Unchecked(subtable)
                    let wrapped = table.u16Unchecked(subtable + 2)
                    guard format == 1 else { throw table.error("\(context): extension subtable format \(format), expected 1") }
                    guard wrapped != 7 else { throw table.error("\(context): an extension subtable wraps another extension") }
                    guard wrapped == 4 else { continue }  // an extension lookup of another type
                    subtable += Int(table.u32Unchecked(subtable + 4))
                }
                try Self.readLigatureSubtable(table, at: subtable, context: context, glyphCount: glyphCount,
                                              budget: &budget, into: &byFirst)
            }
            if !byFirst.isEmpty { lookups.append(Lookup(index: index, byFirstGlyph: byFirst)) }
        }
        self.lookups = lookups
    }

    /// The lookup indices referred to by any feature of the `FeatureList`.
    private static func lookupsUsedByFeatures(_ table: TableReader, featureList: Int) throws -> Set<Int> {
        try table.require(featureList, 2, "FeatureList")
        let count = Int(table.u16Unchecked(featureList))
        try table.require(featureList + 2, 6 * count, "FeatureList of \(count) features")
        var used = Set<Int>()
        for f in 0..<count {
            let record = featureList + 2 + 6 * f
            let tag = String(decoding: table.bytes[(table.base + record)..<(table.base + record + 4)], as: UTF8.self)
            let feature = featureList + Int(table.u16Unchecked(record + 4))
            try table.require(feature, 4, "feature \(f) ('\(tag)')")
            let indexCount = Int(table.u16Unchecked(feature + 2))
            try table.require(feature + 4, 2 * indexCount, "feature \(f) ('\(tag)'): \(indexCount) lookup indices")
            for i in 0..<indexCount { used.insert(Int(table.u16Unchecked(feature + 4 + 2 * i))) }
        }
        return used
    }

    /// Reads one ligature substitution subtable (format 1) into `byFirst`.
    private static func readLigatureSubtable(_ table: TableReader, at subtable: Int, context: String, glyphCount: Int,
                                             budget: inout Int, into byFirst: inout [GlyphID: [Ligature]]) throws {
        try table.require(subtable, 6, "\(context): ligature substitution subtable")
        let format = table.u16Unchecked(subtable)
        guard format == 1 else { throw table.error("\(context): ligature substitution format \(format), expected 1") }
        let coverage = try CoverageTable.read(table, at: subtable + Int(table.u16Unchecked(subtable + 2)), context: context)
        let setCount = Int(table.u16Unchecked(subtable + 4))
        try table.require(subtable + 6, 2 * setCount, "\(context): \(setCount) ligature set offsets")
        for s in 0..<setCount {
            guard let first = coverage[s] else {
                throw table.error("\(context): ligature set \(s) has no glyph in the coverage table (\(coverage.count) glyphs)")
            }
            guard Int(first) < glyphCount else { throw table.error("\(context): coverage glyph \(first) is beyond the font's \(glyphCount) glyphs") }
            let set = subtable + Int(table.u16Unchecked(subtable + 6 + 2 * s))
            try table.require(set, 2, "\(context): ligature set \(s)")
            let ligatureCount = Int(table.u16Unchecked(set))
            try table.require(set + 2, 2 * ligatureCount, "\(context): ligature set \(s) of \(ligatureCount) ligatures")
            for l in 0..<ligatureCount {
                let ligature = set + Int(table.u16Unchecked(set + 2 + 2 * l))
                try table.require(ligature, 4, "\(context): ligature \(l) of set \(s)")
                let glyph = table.u16Unchecked(ligature)
                let componentCount = Int(table.u16Unchecked(ligature + 2))
                guard componentCount >= 1 else { throw table.error("\(context): ligature \(l) of set \(s) has no components") }
                try table.require(ligature + 4, 2 * (componentCount - 1), "\(context): ligature \(l) of set \(s) with \(componentCount) components")
                var components = [first]
                components.reserveCapacity(componentCount)
                for c in 1..<componentCount { components.append(table.u16Unchecked(ligature + 4 + 2 * (c - 1))) }
                if let bad = (components + [glyph]).first(where: { Int($0) >= glyphCount }) {
                    throw table.error("\(context): ligature \(l) of set \(s) uses glyph \(bad), beyond the font's \(glyphCount) glyphs")
                }
                budget -= 1
                guard budget >= 0 else { throw table.error("more than \(maxLigatures) ligatures") }
                byFirst[first, default: []].append(Ligature(components: components, glyph: glyph))
            }
        }
    }
}
