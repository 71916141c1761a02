import DiffuseData
import DiffuseFormats
import Foundation
import Testing

/// The reader on a font built from scratch (`SyntheticFont`): every supported structure.
@Suite struct SyntheticFontTests {
    static func font(_ kind: SyntheticFont.CmapKind = .format12) throws -> OpenTypeFont {
        try OpenTypeFont(bytes: try SyntheticFont(cmap: kind).bytes(), name: "synthetic")
    }

    @Test func tableDirectory() throws {
        let font = try Self.font()
        #expect(font.directory.sfntVersion == 0x0001_0000)
        #expect(font.directory.records.map(\.tag) == ["CBDT", "CBLC", "GSUB", "cmap", "maxp"])
        #expect(font.glyphCount == SyntheticFont.glyphCount)
    }

    @Test(arguments: [SyntheticFont.CmapKind.format12, .format4, .both])
    func characterMap(kind: SyntheticFont.CmapKind) throws {
        let font = try Self.font(kind)
        #expect(font.characterMap.format == (kind == .format4 ? 4 : 12))
        let expected = SyntheticFont.cmap.filter { kind != .format4 || $0.0 <= 0xFFFF }
        #expect(font.characterMap.mappings.map { [Int($0.scalar.value), Int($0.glyph)] } == expected.map { [Int($0.0), $0.1] })
        #expect(font.characterMap.glyph(for: "A") == nil)
        #expect(font.characterMap.glyph(for: "\u{2764}") == 4)
    }

    @Test func ligaturesThroughBothLookupKinds() throws {
        let font = try Self.font()
        #expect(font.ligatures.lookups.map(\.index) == [0, 1])
        #expect(font.glyph(for: scalars("1F600 1F3FD")) == 5)           // plain type 4
        #expect(font.glyph(for: scalars("2764 200D 1F600")) == 6)       // type 7 wrapping type 4
        #expect(font.glyph(for: scalars("1F1EB 1F1F7")) == 9)
        #expect(font.glyph(for: scalars("1F1E8 1F1F5")) == 9)
        #expect(font.glyph(for: scalars("1F600")) == 1)
        #expect(font.glyph(for: scalars("2764 FE0F 200D 1F600")) == nil, "FE0F is not in the font's cmap")
        #expect(font.glyph(for: scalars("1F3FD 1F600")) == nil)
        #expect(font.glyphs(for: scalars("2764 200D 1F600 1F3FD")) == [6, 2])
        #expect(font.glyph(for: []) == nil)
        let sequences = font.definedSequences()
        #expect(sequences[9]?.count == 2)
        #expect(sequences[8] == nil)
    }

    @Test func colorBitmapsOfEveryIndexAndImageFormat() throws {
        let font = try Self.font()
        #expect(font.strikes.map(\.ppemY) == [109, 20])
        #expect(font.largestStrikeIndex == 0)
        #expect(font.strikes[0].locations.keys.sorted() == SyntheticFont.strike0Glyphs.map { GlyphID($0) })
        #expect(font.strikes[1].locations.keys.sorted() == SyntheticFont.strike1Glyphs.map { GlyphID($0) })
        for (strike, glyphs, width, height) in [(0, SyntheticFont.strike0Glyphs, 4, 3), (1, SyntheticFont.strike1Glyphs, 3, 2)] {
            for glyph in glyphs {
                let bitmap = try #require(try font.colorBitmap(for: GlyphID(glyph), strikeIndex: strike))
                #expect(bitmap.metrics.width == width && bitmap.metrics.height == height)
                let image = try PNGDecoder.decode(Data(bitmap.png), name: "glyph \(glyph)")
                #expect(image.width == width && image.height == height)
                #expect(Array(image.pixels.prefix(4)) == SyntheticFont.color(glyph), "strike \(strike) glyph \(glyph)")
            }
        }
        let formats = try SyntheticFont.strike0Glyphs.map { try #require(try font.colorBitmap(for: GlyphID($0))).imageFormat }
        #expect(formats == [17, 17, 18, 18, 18, 19, 19, 19])
        #expect(try font.colorBitmap(for: 3) == nil, "empty range in index format 1: no image")
        #expect(try font.colorBitmap(for: 10) == nil)
        #expect(try font.colorBitmap(for: 5, strikeIndex: 1) == nil)
        #expect(try font.colorBitmap(for: 1, strikeIndex: 7) == nil)
    }

    @Test func catalogNamesDuplicatesFallbackAndSkips() throws {
        let font = try Self.font()
        let entries = try EmojiTestFile.parse(SyntheticFont.names, file: "names")
        let catalog = EmojiCatalog(font: font, entries: entries)
        #expect(catalog.glyphsWithImages == 8)
        // U+2764 is named only by an unqualified line (not used): its Unicode name is the fallback.
        #expect(catalog.items.map(\.name) == ["grinning face", "grinning face: medium skin tone", "heart face",
                                              "flag: France", "medium skin tone", "digit six", "heavy black heart"])
        #expect(catalog.items.map(\.glyph) == [1, 5, 6, 9, 2, 7, 4])
        let heart = try #require(catalog.item(for: scalars("2764 200D 1F600")))
        #expect(heart.codePointsText == "2764 FE0F 200D 1F600", "the fully-qualified sequence is kept")
        #expect(heart.group == "Smileys & Emotion" && heart.subgroup == "heart")
        #expect(catalog.item(for: scalars("1F1E8 1F1F5"))?.name == "flag: France", "the earlier Emoji version wins")
        #expect(catalog.item(for: scalars("0036"))?.source == .unicodeScalarName)
        #expect(catalog.duplicates.map(\.dropped.name) == ["heart face", "flag: Clipperton Island"])
        #expect(catalog.duplicates.map(\.keptName) == ["heart face", "flag: France"])
        #expect(catalog.skipped.map(\.glyph) == [8] && catalog.skipped[0].sequences.isEmpty, "glyph 8 is unreachable")
        #expect(catalog.entriesNotInFont.map(\.name) == ["heart face: medium skin tone"])
        #expect(catalog.entriesWithoutImage.isEmpty)

        // The smaller strike has images for glyphs 1, 2, 4 and 6 only; an unknown strike has none.
        let small = EmojiCatalog(font: font, entries: entries, strikeIndex: 1)
        #expect(small.items.map(\.glyph) == [1, 6, 2, 4])
        #expect(small.entriesWithoutImage.map(\.name) == ["grinning face: medium skin tone", "flag: Clipperton Island", "flag: France"])
        let none = EmojiCatalog(font: font, entries: entries, strikeIndex: 9)
        #expect(none.strikeIndex == nil && none.items.isEmpty && none.glyphsWithImages == 0)
    }

    @Test func datasetFromSyntheticFont() throws {
        try withTemporaryDirectory { root in
            let fontURL = root.appendingPathComponent("font.ttf"), namesURL = root.appendingPathComponent("emoji-test.txt")
            try Data(try SyntheticFont().bytes()).write(to: fontURL)
            try Data(SyntheticFont.names.utf8).write(to: namesURL)
            let out = root.appendingPathComponent("out")
            let report = try EmojiDataset.build(fontURL: fontURL, namesURL: namesURL, size: 8, outputDirectory: out, threads: 3)
            #expect(report.glyphsInFont == 14 && report.glyphsWithImages == 8 && report.ppem == 109)
            #expect(report.imagesWritten == 7 && report.namedFromEmojiTest == 5 && report.namedFromUnicodeNames == 2)
            #expect(report.skippedCount == 1 && report.duplicateCount == 2 && report.entriesNotInFont == 1)
            let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
            #expect(files == ["0001.png", "0001.txt", "0002.png", "0002.txt", "0003.png", "0003.txt", "0004.png", "0004.txt",
                              "0005.png", "0005.txt", "0006.png", "0006.txt", "0007.png", "0007.txt", "metadata.jsonl"])
            #expect(try String(contentsOf: out.appendingPathComponent("0003.txt"), encoding: .utf8) == "heart face")
            let metadata = try String(contentsOf: out.appendingPathComponent("metadata.jsonl"), encoding: .utf8)
            try #require(metadata.split(separator: "\n").count == 7)
            #expect(metadata.split(separator: "\n")[2] ==
                    #"{"file_name": "0003.png", "text": "heart face", "codepoints": "2764 FE0F 200D 1F600", "group": "Smileys & Emotion", "subgroup": "heart"}"#)
            #expect(metadata.split(separator: "\n")[5] ==
                    #"{"file_name": "0006.png", "text": "digit six", "codepoints": "0036", "group": "", "subgroup": ""}"#)
            // Image 0001 is glyph 1's solid color, padded from 4x3 to a square with white.
            let image = try PNGImage(contentsOf: out.appendingPathComponent("0001.png"))
            #expect(image.width == 8 && image.height == 8 && image.channels == 3)
            let color = Array(SyntheticFont.color(1).prefix(3))
            let middle = (4 * 8 + 4) * 3
            #expect(Array(image.pixels[middle..<(middle + 3)]) == color)
            let bottom = (7 * 8 + 4) * 3
            #expect(image.pixels[bottom..<(bottom + 3)].allSatisfy { $0 == 255 }, "the odd margin row is at the bottom, white")

            // Rebuilding with a smaller name list leaves no stale numbered files.
            let fewer = SyntheticFont.names.split(separator: "\n").filter { !$0.contains("France") && !$0.contains("Clipperton") }
            try Data((fewer.joined(separator: "\n") + "\n").utf8).write(to: namesURL)
            let again = try EmojiDataset.build(fontURL: fontURL, namesURL: namesURL, size: 8, outputDirectory: out)
            #expect(again.imagesWritten == 6 && again.staleFilesRemoved == 2)
            #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).count == 13)
        }
    }

    @Test func invalidSizeAndMissingBitmaps() throws {
        try withTemporaryDirectory { root in
            let namesURL = root.appendingPathComponent("emoji-test.txt")
            try Data(SyntheticFont.names.utf8).write(to: namesURL)
            var font = try SyntheticFont()
            let fontURL = root.appendingPathComponent("font.ttf")
            try Data(font.bytes()).write(to: fontURL)
            #expect(throws: EmojiDatasetError.invalidSize(0)) {
                try EmojiDataset.build(fontURL: fontURL, namesURL: namesURL, size: 0, outputDirectory: root)
            }
            font.tables.removeAll { $0.tag == "CBLC" || $0.tag == "CBDT" }
            try Data(font.bytes()).write(to: fontURL)
            #expect(throws: EmojiDatasetError.noColorBitmaps(font: fontURL.path)) {
                try EmojiDataset.build(fontURL: fontURL, namesURL: namesURL, size: 8, outputDirectory: root)
            }
            #expect(throws: OpenTypeError.self) {
                try EmojiDataset.build(fontURL: root.appendingPathComponent("missing.ttf"), namesURL: namesURL, size: 8, outputDirectory: root)
            }
        }
    }
}
