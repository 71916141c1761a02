import DiffuseData
import DiffuseFormats
import Foundation
import Testing

/// Tests on the installed Noto Color Emoji font; skipped (with the reason) where it is absent.
@Suite(.enabled(if: SystemEmoji.available, SystemEmoji.skipMessage))
struct RealFontTests {
    @Test func fontStructure() throws {
        let (font, _, _) = try SystemEmoji.loaded.get()
        #expect(font.characterMap.format == 12)
        #expect(font.strikes.count >= 1)
        let strike = try #require(font.largestStrikeIndex.map { font.strikes[$0] })
        #expect(strike.bitDepth == 32)
        #expect(strike.ppemY >= 100, "Noto's strike is 109 ppem")
        #expect(!font.ligatures.lookups.isEmpty)
        // A ZWJ family sequence is a ligature, not separate glyphs.
        let family = try #require(font.glyphs(for: scalars("1F468 200D 1F469 200D 1F467")))
        #expect(family.count == 1)
        // An unknown ZWJ combination stays several glyphs.
        #expect(font.glyph(for: scalars("1F34E 200D 1F431")) == nil)
        // Image of red apple: a PNG 136x128 in format 17.
        let apple = try #require(font.characterMap.glyph(for: "\u{1F34E}"))
        let bitmap = try #require(try font.colorBitmap(for: apple))
        #expect(bitmap.png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        let decoded = try PNGDecoder.decode(Data(bitmap.png), name: "apple")
        #expect(decoded.width == bitmap.metrics.width && decoded.height == bitmap.metrics.height)
        #expect((120...140).contains(decoded.height))
    }

    @Test(arguments: [
        ("1F34E", "red apple", "Food & Drink", "food-fruit"),
        ("1F431", "cat face", "Animals & Nature", "animal-mammal"),
        ("1F44D 1F3FD", "thumbs up: medium skin tone", "People & Body", "hand-fingers-closed"),
        ("1F1EF 1F1F5", "flag: Japan", "Flags", "country-flag"),
        ("1F468 200D 1F469 200D 1F467", "family: man, woman, girl", "People & Body", "family"),
        ("0023 FE0F 20E3", "keycap: #", "Symbols", "keycap"),
        ("0023 20E3", "keycap: #", "Symbols", "keycap"),                       // without FE0F
        ("2764 FE0F 200D 1F525", "heart on fire", "Smileys & Emotion", "heart"), // ZWJ with FE0F
        ("1F3F4 E0067 E0062 E0073 E0063 E0074 E007F", "flag: Scotland", "Flags", "subdivision-flag"), // tag sequence
        ("1F3FD", "medium skin tone", "Component", "skin-tone"),               // component line
        ("1F1EB 1F1F7", "flag: France", "Flags", "country-flag"),              // shared with CP, MF
        ("1F1F3 1F1F4", "flag: Norway", "Flags", "country-flag"),              // shared with BV, SJ
        ("1F1FA 1F1F8", "flag: United States", "Flags", "country-flag"),       // shared with UM
        ("263A FE0F", "smiling face", "Smileys & Emotion", "face-affection"),
    ])
    func knownEmojiHaveTheirNames(codePoints: String, name: String, group: String, subgroup: String) throws {
        let (_, _, catalog) = try SystemEmoji.loaded.get()
        let item = try #require(catalog.item(for: scalars(codePoints)), "\(codePoints) is not in the catalog")
        #expect(item.name == name)
        #expect(item.group == group)
        #expect(item.subgroup == subgroup)
    }

    @Test func keptSequenceIsFullyQualified() throws {
        let (_, _, catalog) = try SystemEmoji.loaded.get()
        let keycap = try #require(catalog.item(for: scalars("0023 20E3")))
        #expect(keycap.codePointsText == "0023 FE0F 20E3")
        #expect(keycap.source == .emojiTest(.fullyQualified))
        let smiling = try #require(catalog.item(for: scalars("263A")))
        #expect(smiling.codePointsText == "263A FE0F")
        // The minimally-qualified form was dropped as a duplicate of it.
        #expect(catalog.duplicates.contains { $0.dropped.codePointsText == "263A" } == false,
                "263A is unqualified: not used at all")
        #expect(catalog.duplicates.contains { $0.dropped.codePointsText == "1F441 FE0F 200D 1F5E8" && $0.keptName == "eye in speech bubble" })
    }

    @Test func unicodeNameFallbackForSingleCodePoints() throws {
        let (_, _, catalog) = try SystemEmoji.loaded.get()
        let six = try #require(catalog.item(for: scalars("0036")))
        #expect(six.name == "digit six")
        #expect(six.source == .unicodeScalarName)
        let letterJ = try #require(catalog.item(for: scalars("1F1EF")))
        #expect(letterJ.name == "regional indicator symbol letter j")
    }

    @Test func countsAreInTheExpectedRange() throws {
        let (font, entries, catalog) = try SystemEmoji.loaded.get()
        // Noto Color Emoji 2.042 (Debian 12): 3968 glyphs, 3926 PNGs in CBDT.
        #expect((3800...4200).contains(font.glyphCount))
        #expect((3800...4100).contains(catalog.glyphsWithImages))
        #expect(catalog.glyphsWithImages <= font.glyphCount)
        #expect((3550...3900).contains(catalog.items.count))
        #expect(catalog.items.count + catalog.skipped.count == catalog.glyphsWithImages)
        #expect(Set(catalog.items.map(\.glyph)).count == catalog.items.count, "one item per glyph")
        // Every fully-qualified line of emoji-test.txt is in the font (the font is newer).
        #expect(catalog.entriesNotInFont.isEmpty)
        #expect(entries.filter { $0.status == .fullyQualified }.count >= 3600)
        // Skipped glyphs are sequences emoji-test.txt does not know, none are plain code points.
        #expect(catalog.skipped.allSatisfy { !$0.sequences.isEmpty && $0.sequences.allSatisfy { $0.count > 1 } })
    }

    @Test func redAppleImageIsMostlyRed() throws {
        let (font, _, catalog) = try SystemEmoji.loaded.get()
        let item = try #require(catalog.item(for: scalars("1F34E")))
        let image = try EmojiDataset.image(for: item, font: font, size: 64)
        #expect(image.width == 64 && image.height == 64 && image.channels == 3)
        var colored = 0, red = 0
        for i in stride(from: 0, to: image.pixels.count, by: 3) {
            let r = Int(image.pixels[i]), g = Int(image.pixels[i + 1]), b = Int(image.pixels[i + 2])
            if min(r, g, b) > 235 { continue }  // white background
            colored += 1
            if r > g + 60 && r > b + 60 { red += 1 }
        }
        #expect(colored > 64 * 64 / 4, "the apple covers a good part of the image")
        #expect(Double(red) / Double(colored) > 0.6, "\(red) of \(colored) non-white pixels are red")
        // Corners are white (background and padding).
        for (x, y) in [(0, 0), (63, 0), (0, 63), (63, 63)] {
            let p = (y * 64 + x) * 3
            #expect(image.pixels[p..<(p + 3)].allSatisfy { $0 == 255 }, "corner (\(x), \(y))")
        }
    }

    @Test func japanFlagHasARedDiscCenteredOnWhite() throws {
        let (font, _, catalog) = try SystemEmoji.loaded.get()
        let item = try #require(catalog.item(for: scalars("1F1EF 1F1F5")))
        let size = 64
        let image = try EmojiDataset.image(for: item, font: font, size: size)
        func pixel(_ x: Int, _ y: Int) -> (Int, Int, Int) {
            let p = (y * size + x) * 3
            return (Int(image.pixels[p]), Int(image.pixels[p + 1]), Int(image.pixels[p + 2]))
        }
        var count = 0, sumX = 0, sumY = 0
        for y in 0..<size {
            for x in 0..<size {
                let (r, g, b) = pixel(x, y)
                if r > 150 && g < 90 && b < 110 { count += 1; sumX += x; sumY += y }
            }
        }
        #expect(count > 150 && count < 1200, "\(count) red pixels: a disc, not the whole flag")
        let cx = Double(sumX) / Double(max(count, 1)), cy = Double(sumY) / Double(max(count, 1))
        #expect(abs(cx - 31.5) < 4 && abs(cy - 31.5) < 4, "red centroid (\(cx), \(cy))")
        let center = pixel(Int(cx), Int(cy))
        #expect(center.0 > 150 && center.1 < 90, "center pixel \(center) is red")
        // White flag cloth left and right of the disc.
        for x in [Int(cx) - 20, Int(cx) + 20] {
            let (r, g, b) = pixel(x, Int(cy))
            #expect(min(r, g, b) > 200, "pixel (\(x), \(Int(cy))) = \((r, g, b)) is white")
        }
    }

    @Test func fullBuildIsDeterministicAndComplete() throws {
        try withTemporaryDirectory { root in
            let first = root.appendingPathComponent("first"), second = root.appendingPathComponent("second")
            let clock = ContinuousClock()
            var report: EmojiDatasetReport? = nil
            let elapsed = try clock.measure {
                report = try EmojiDataset.build(fontURL: SystemEmoji.fontURL, namesURL: SystemEmoji.namesURL,
                                                size: 64, outputDirectory: first)
            }
            let r = try #require(report)
            print("full 64x64 build: \(elapsed)\n\(r.summary)")
            #expect(r.imagesWritten == r.namedFromEmojiTest + r.namedFromUnicodeNames)
            #expect(r.imagesWritten + r.skippedCount == r.glyphsWithImages)

            // An earlier build's leftovers: a stale numbered file goes, other files stay.
            try FileManager.default.createDirectory(at: second, withIntermediateDirectories: true)
            try Data("old".utf8).write(to: second.appendingPathComponent("99999.png"))
            try Data("notes".utf8).write(to: second.appendingPathComponent("README.md"))
            let r2 = try EmojiDataset.build(fontURL: SystemEmoji.fontURL, namesURL: SystemEmoji.namesURL,
                                            size: 64, outputDirectory: second)
            #expect(r2.staleFilesRemoved == 1)

            let files1 = try FileManager.default.contentsOfDirectory(atPath: first.path).sorted()
            let files2 = try FileManager.default.contentsOfDirectory(atPath: second.path).filter { $0 != "README.md" }.sorted()
            #expect(files1 == files2)
            #expect(files1.count == 2 * r.imagesWritten + 1)
            var differing: [String] = []
            for name in files1 {
                let a = try Data(contentsOf: first.appendingPathComponent(name))
                let b = try Data(contentsOf: second.appendingPathComponent(name))
                if a != b { differing.append(name) }
            }
            #expect(differing.isEmpty, "files differ between two builds: \(differing.prefix(5))")

            // metadata.jsonl: one JSON object per image, matching the caption files.
            let metadata = try String(contentsOf: first.appendingPathComponent("metadata.jsonl"), encoding: .utf8)
            let lines = metadata.split(separator: "\n")
            #expect(lines.count == r.imagesWritten)
            var apple: [String: String]? = nil
            for line in lines {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
                if object["codepoints"] == "1F34E" { apple = object }
            }
            let a = try #require(apple)
            #expect(a["text"] == "red apple" && a["group"] == "Food & Drink" && a["subgroup"] == "food-fruit")
            let fileName = try #require(a["file_name"])
            let caption = try String(contentsOf: first.appendingPathComponent(fileName.replacingOccurrences(of: ".png", with: ".txt")), encoding: .utf8)
            #expect(caption == "red apple")
            let png = try PNGImage(contentsOf: first.appendingPathComponent(fileName))
            #expect(png.width == 64 && png.height == 64 && png.channels == 3)
            #expect(lines.first?.hasPrefix("{\"file_name\": \"0001.png\", \"text\": \"grinning face\"") == true)
        }
    }

    @Test func truncatedRealFontGivesErrors() throws {
        let bytes = try [UInt8](Data(contentsOf: SystemEmoji.fontURL))
        let directory = try OpenTypeTableDirectory(bytes: bytes, font: "real")
        let lastTableEnd = try #require(directory.records.map { $0.offset + $0.length }.max())
        for length in [0, 11, 100, 4096, bytes.count / 2, lastTableEnd - 1] {
            #expect(throws: OpenTypeError.self, "prefix of \(length) bytes") {
                _ = try OpenTypeFont(bytes: Array(bytes.prefix(length)), name: "truncated")
            }
        }
    }
}
