import Foundation

/// What `EmojiDataset.build` found and wrote.
public struct EmojiDatasetReport: Sendable {
    /// The output folder.
    public var outputDirectory: URL
    /// The image side in pixels.
    public var size: Int
    /// `maxp.numGlyphs` of the font (every glyph, with or without an image).
    public var glyphsInFont: Int
    /// Glyphs with a PNG in the `CBDT` strike used.
    public var glyphsWithImages: Int
    /// The strike's pixels per em.
    public var ppem: Int
    /// Images (and captions) written: `namedFromEmojiTest + namedFromUnicodeNames`.
    public var imagesWritten: Int
    /// Images named by an `emoji-test.txt` line.
    public var namedFromEmojiTest: Int
    /// Images named by the Unicode name of their single code point.
    public var namedFromUnicodeNames: Int
    /// Glyphs with images left out for want of a name (see `EmojiCatalog.skipped`).
    public var skipped: [EmojiCatalog.Skipped]
    /// Named sequences dropped because a preferred sequence names the same glyph.
    public var duplicates: [EmojiCatalog.Duplicate]
    /// `emoji-test.txt` lines used for naming that the font does not shape to one glyph.
    public var entriesNotInFont: Int
    /// Numbered `.png`/`.txt` files from an earlier, larger build that were removed.
    public var staleFilesRemoved: Int
    /// Images whose metadata lists CLDR keywords.
    public var imagesWithKeywords = 0

    /// The number of glyphs left out.
    public var skippedCount: Int { skipped.count }
    /// The number of dropped duplicate sequences.
    public var duplicateCount: Int { duplicates.count }

    /// A few human-readable lines.
    public var summary: String {
        let distinct = duplicates.filter { $0.keptName != $0.dropped.name }
        var lines = [
            "\(outputDirectory.path): \(imagesWritten) images \(size)x\(size) with captions and metadata.jsonl",
            "font: \(glyphsInFont) glyphs, \(glyphsWithImages) with PNG images (strike \(ppem) ppem)",
            "named: \(namedFromEmojiTest) from emoji-test.txt, \(namedFromUnicodeNames) from Unicode character names",
            "skipped (no name): \(skipped.count)",
            "duplicates dropped: \(duplicates.count) (\(duplicates.count - distinct.count) other qualifications of a kept emoji, \(distinct.count) other names for a kept glyph)",
        ]
        if entriesNotInFont > 0 { lines.append("emoji-test.txt lines not in the font: \(entriesNotInFont)") }
        if imagesWithKeywords > 0 { lines.append("keywords (CLDR): \(imagesWithKeywords) of \(imagesWritten) images") }
        if staleFilesRemoved > 0 { lines.append("stale files removed: \(staleFilesRemoved)") }
        return lines.joined(separator: "\n")
    }
}
