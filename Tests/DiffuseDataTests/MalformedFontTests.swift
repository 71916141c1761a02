import DiffuseData
import Foundation
import Testing

/// Malformed fonts give `OpenTypeError`s naming the table (and glyph), never a crash.
@Suite struct MalformedFontTests {
    /// Parses `bytes`, expecting an `OpenTypeError`; returns it.
    func parseError(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> OpenTypeError? {
        do {
            _ = try OpenTypeFont(bytes: bytes, name: "bad")
            Issue.record("the malformed font was accepted", sourceLocation: sourceLocation)
        } catch let error as OpenTypeError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    @Test func truncatedTableDirectory() throws {
        let bytes = try SyntheticFont().bytes()
        for length in [0, 4, 11] {
            let error = try #require(parseError(Array(bytes.prefix(length))))
            guard case .badTableDirectory = error else { Issue.record("\(error)"); continue }
            #expect(error.description.contains("12-byte sfnt header"))
        }
        // The header promises 5 records (92 bytes); cut inside them.
        for length in [12, 30, 91] {
            let error = try #require(parseError(Array(bytes.prefix(length))))
            #expect(error.description.contains("5 table records need 92 bytes"), "\(error)")
        }
    }

    @Test func tableDirectoryErrors() throws {
        let font = try SyntheticFont()
        var bytes = font.bytes()
        bytes.set32(0, 0x1234_5678)
        #expect(parseError(bytes)?.description.contains("unknown sfnt version") == true)
        bytes = font.bytes()
        bytes.set32(0, 0x7474_6366)  // ttcf
        #expect(parseError(bytes)?.description.contains("collections") == true)
        // A table past the end of the file.
        bytes = font.bytes()
        bytes.set32(font.recordPosition("cmap") + 8, bytes.count - 2)
        let error = parseError(bytes)
        #expect(error?.description.contains("table 'cmap'") == true && error?.description.contains("past the end of the file") == true, "\(String(describing: error))")
        // A table longer than the file.
        bytes = font.bytes()
        bytes.set32(font.recordPosition("GSUB") + 12, 0x7FFF_FFFF)
        #expect(parseError(bytes)?.description.contains("table 'GSUB'") == true)
        // Duplicate tag.
        bytes = font.bytes()
        bytes.replaceSubrange(font.recordPosition("GSUB")..<(font.recordPosition("GSUB") + 4), with: Array("cmap".utf8))
        #expect(parseError(bytes)?.description.contains("listed twice") == true)
        // Missing required tables.
        var noMaxp = font
        noMaxp.tables.removeAll { $0.tag == "maxp" }
        #expect(parseError(noMaxp.bytes()) == .missingTable(font: "bad", table: "maxp"))
        var noCBDT = font
        noCBDT.tables.removeAll { $0.tag == "CBDT" }
        #expect(parseError(noCBDT.bytes()) == .missingTable(font: "bad", table: "CBDT"))
    }

    @Test func cmapErrors() throws {
        var font = try SyntheticFont()
        let subtableOffset = font.positions["cmap.subtableOffset"]!
        font.patch("cmap") { $0.set32(subtableOffset, 0xFFFF) }
        var error = parseError(font.bytes())
        #expect(error?.table == "cmap")
        #expect(error?.description.contains("subtable of encoding record 0") == true, "\(String(describing: error))")

        // A group mapping to a glyph beyond maxp.numGlyphs (last group's start glyph).
        font = try SyntheticFont()
        font.patch("cmap") { $0.set32($0.count - 4, 500) }
        error = parseError(font.bytes())
        #expect(error?.table == "cmap" && error?.description.contains("glyph 500") == true, "\(String(describing: error))")

        // Groups out of order.
        font = try SyntheticFont()
        font.patch("cmap") { $0.set32(12 + 16, 0x10_0000); $0.set32(12 + 20, 0x10_0000) }
        error = parseError(font.bytes())
        #expect(error?.table == "cmap" && error?.description.contains("out of order") == true, "\(String(describing: error))")

        // Group count larger than the subtable.
        font = try SyntheticFont()
        font.patch("cmap") { $0.set32(12 + 12, 0x0FFF_FFFF) }
        #expect(parseError(font.bytes())?.description.contains("groups do not fit") == true)

        // A format 4 glyphIdArray read outside the subtable.
        font = try SyntheticFont(cmap: .format4)
        font.patch("cmap") { table in
            // Segment 2's idRangeOffset: header 14 + 3 arrays of 4 segments + pad, then index 2.
            table.set16(12 + 14 + 8 * 3 + 2 + 4, 0x4000)
        }
        error = parseError(font.bytes())
        #expect(error?.table == "cmap" && error?.description.contains("glyphIdArray") == true, "\(String(describing: error))")
    }

    @Test func gsubErrors() throws {
        var font = try SyntheticFont()
        let lookupOffset = font.positions["GSUB.lookup0Offset"]!
        font.patch("GSUB") { $0.set16(lookupOffset, 0xFFF0) }
        var error = parseError(font.bytes())
        #expect(error?.table == "GSUB" && error?.description.contains("lookup 0") == true, "\(String(describing: error))")

        font = try SyntheticFont()
        let setOffset = font.positions["GSUB.lookup1LigatureSetOffset"]!
        font.patch("GSUB") { $0.set16(setOffset, 0xFFF0) }
        error = parseError(font.bytes())
        #expect(error?.table == "GSUB" && error?.description.contains("lookup 1 subtable 0: ligature set 0") == true, "\(String(describing: error))")

        font = try SyntheticFont()
        let extensionType = font.positions["GSUB.extensionType"]!
        font.patch("GSUB") { $0.set16(extensionType, 7) }
        #expect(parseError(font.bytes())?.description.contains("wraps another extension") == true)

        font = try SyntheticFont()
        let extensionOffset = font.positions["GSUB.extensionOffset"]!
        font.patch("GSUB") { $0.set32(extensionOffset, 0x7FFF_0000) }
        error = parseError(font.bytes())
        #expect(error?.table == "GSUB" && error?.description.contains("lookup 0 subtable 0") == true, "\(String(describing: error))")

        font = try SyntheticFont()
        font.patch("GSUB") { $0.set16(0, 2) }
        #expect(parseError(font.bytes()) == .unsupported(font: "bad", table: "GSUB", detail: "version 2.x (expected 1.x)"))
    }

    @Test func bitmapLocationErrorsNameTheGlyph() throws {
        // Index subtable 0 of strike 0 (glyphs 1...3, format 1): move its image data past CBDT.
        var font = try SyntheticFont()
        let subtable = font.positions["CBLC.strike0.subtable0"]!
        font.patch("CBLC") { $0.set32(subtable + 4, 0x00FF_0000) }
        let error = parseError(font.bytes())
        #expect(error?.table == "CBLC" && error?.glyph == 1, "\(String(describing: error))")
        #expect(error?.description.contains("lies outside CBDT") == true)

        // Descending offsets.
        font = try SyntheticFont()
        font.patch("CBLC") { $0.set32(subtable + 8 + 4, 0x0FFF) }
        #expect(parseError(font.bytes())?.glyph == 1)

        // Unknown index format.
        font = try SyntheticFont()
        font.patch("CBLC") { $0.set16(subtable, 9) }
        #expect(parseError(font.bytes())?.description.contains("index subtable format 9") == true)

        // The strike's range beyond numGlyphs.
        font = try SyntheticFont()
        font.patch("CBLC") { $0.set16(8 + 42, 600) }
        #expect(parseError(font.bytes())?.description.contains("beyond the font's 14 glyphs") == true)
    }

    @Test func bitmapDataErrorsNameTheGlyph() throws {
        // Glyph 1's PNG length larger than its image record: the font parses, the bitmap does not.
        var font = try SyntheticFont()
        let lengthField = font.positions["CBDT.glyph1.length"]!
        font.patch("CBDT") { $0.set32(lengthField, 100_000) }
        let parsed = try OpenTypeFont(bytes: font.bytes(), name: "bad")
        #expect(throws: OpenTypeError.self) { try parsed.colorBitmap(for: 1) }
        do {
            _ = try parsed.colorBitmap(for: 1)
        } catch let error as OpenTypeError {
            #expect(error.table == "CBDT" && error.glyph == 1, "\(error)")
            #expect(error.description.contains("PNG data"))
        }
        #expect(try parsed.colorBitmap(for: 2) != nil, "other glyphs are unaffected")

        // A corrupt PNG, and one claiming a huge size: the dataset builder names the glyph and
        // code points.
        for (patch, message) in [({ (t: inout [UInt8]) in t[lengthField + 4 + 29] ^= 0xFF }, "CRC mismatch"),  // IHDR CRC
                                 ({ (t: inout [UInt8]) in t.set32(lengthField + 4 + 16, 1 << 20) }, "claims 1048576x3 pixels")] {
            font = try SyntheticFont()
            font.patch("CBDT", patch)
            try withTemporaryDirectory { root in
                let fontURL = root.appendingPathComponent("font.ttf"), namesURL = root.appendingPathComponent("names.txt")
                try Data(font.bytes()).write(to: fontURL)
                try Data(SyntheticFont.names.utf8).write(to: namesURL)
                // An earlier build's metadata.jsonl must not survive a failed build.
                let out = root.appendingPathComponent("out")
                try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
                try Data("{}\n".utf8).write(to: out.appendingPathComponent("metadata.jsonl"))
                do {
                    _ = try EmojiDataset.build(fontURL: fontURL, namesURL: namesURL, size: 8, outputDirectory: out)
                    Issue.record("a bad PNG was accepted")
                } catch let error as EmojiDatasetError {
                    guard case .badImage(let glyph, let codePoints, let detail) = error else { Issue.record("\(error)"); return }
                    #expect(glyph == 1 && codePoints == "1F600")
                    #expect(detail.contains(message), "\(detail)")
                }
                #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("metadata.jsonl").path))
            }
        }
    }

    /// Every prefix of the font and thousands of random byte corruptions: each either parses (and
    /// then every query works) or throws `OpenTypeError`.
    @Test func truncationsAndCorruptionsNeverCrash() throws {
        let original = try SyntheticFont().bytes()
        var generator = SeededGenerator(seed: 2024)
        var inputs: [[UInt8]] = (0..<original.count).map { Array(original.prefix($0)) }
        for _ in 0..<4000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[position] = Bool.random(using: &generator) ? UInt8.random(in: 0...255, using: &generator) : 0xFF
            }
            inputs.append(bytes)
        }
        var parsed = 0, rejected = 0
        for bytes in inputs {
            do {
                let font = try OpenTypeFont(bytes: bytes, name: "fuzz")
                parsed += 1
                _ = font.definedSequences()
                _ = font.glyph(for: scalars("2764 200D 1F600"))
                for glyph in 0..<font.glyphCount {
                    for strike in font.strikes.indices {
                        _ = try? font.colorBitmap(for: GlyphID(glyph), strikeIndex: strike)
                    }
                }
            } catch is OpenTypeError {
                rejected += 1
            } catch {
                Issue.record("unexpected error type \(type(of: error)): \(error)")
            }
        }
        #expect(parsed + rejected == inputs.count)
        #expect(rejected > original.count - 50, "nearly every truncation is rejected")
        #expect(parsed > 100, "many single-byte changes (PNG data, padding) still parse")
    }
}
