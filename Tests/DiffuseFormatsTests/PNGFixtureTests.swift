import DiffuseFormats
import Foundation
import Testing

/// The name of a `PNGError` case, matching png-malformed/manifest.json.
private func caseName(_ error: PNGError) -> String {
    switch error {
    case .io: return "io"
    case .notPNG: return "notPNG"
    case .truncated: return "truncated"
    case .crcMismatch: return "crcMismatch"
    case .badChunk: return "badChunk"
    case .badIHDR: return "badIHDR"
    case .unsupported: return "unsupported"
    case .missingChunk: return "missingChunk"
    case .imageTooLarge: return "imageTooLarge"
    case .decompressionFailed: return "decompressionFailed"
    case .corruptImageData: return "corruptImageData"
    case .invalidImage: return "invalidImage"
    case .invalidText: return "invalidText"
    }
}

private func chunkName(_ error: PNGError) -> String? {
    switch error {
    case .crcMismatch(_, let chunk, _, _), .badChunk(_, let chunk, _), .missingChunk(_, let chunk),
         .decompressionFailed(_, let chunk, _):
        return chunk
    default:
        return nil
    }
}

/// PNGs written by tools/make_format_fixtures.py (Python's zlib + struct, an encoder independent
/// of ours), with the expected 8-bit pixels.
@Suite struct PNGFixtureTests {
    struct Case {
        var file: String
        var expected: String
        var width: Int
        var height: Int
        var channels: Int
        var text: [[String]]
    }

    static func cases() throws -> [Case] {
        let list = try #require(try Fixtures.json("png", "manifest.json") as? [[String: Any]])
        return try list.map { entry in
            Case(file: try #require(entry["file"] as? String), expected: try #require(entry["expected"] as? String),
                 width: try #require(entry["width"] as? Int), height: try #require(entry["height"] as? Int),
                 channels: try #require(entry["channels"] as? Int), text: try #require(entry["text"] as? [[String]]))
        }
    }

    @Test func decodesEveryFixtureExactly() throws {
        let cases = try Self.cases()
        #expect(cases.count >= 30)
        for item in cases {
            let url = Fixtures.url("png", item.file)
            let image: PNGImage
            do {
                image = try PNGImage(contentsOf: url)
            } catch {
                Issue.record("\(item.file): \(error)")
                continue
            }
            let expected = [UInt8](try Data(contentsOf: Fixtures.url("png", item.expected)))
            #expect(image.width == item.width, "\(item.file)")
            #expect(image.height == item.height, "\(item.file)")
            #expect(image.channels == item.channels, "\(item.file)")
            #expect(image.pixels.count == expected.count, "\(item.file)")
            if image.pixels != expected {
                let first = zip(image.pixels, expected).enumerated().first { $0.element.0 != $0.element.1 }
                Issue.record("\(item.file): pixels differ, first at sample \(first?.offset ?? -1)")
            }
            #expect(image.text.map { [$0.keyword, $0.text] } == item.text, "\(item.file)")
        }
    }

    @Test func fixturesCoverEveryLayout() throws {
        let names = Set(try Self.cases().map(\.file))
        for required in ["gray1.png", "gray2.png", "gray4.png", "gray8.png", "gray16.png", "rgb16.png", "ga8.png",
                         "ga16.png", "rgba8.png", "rgba16.png", "pal1_trns.png", "pal2.png", "pal4_trns.png", "pal8.png",
                         "rgba8_adam7.png", "rgb8_filter0.png", "rgb8_filter1.png", "rgb8_filter2.png",
                         "rgb8_filter3.png", "rgb8_filter4.png", "rgb8_text.png"] {
            #expect(names.contains(required), "\(required)")
        }
    }

    @Test func decodedFixturesReEncodeLosslessly() throws {
        for item in try Self.cases() {
            let image = try PNGImage(contentsOf: Fixtures.url("png", item.file))
            let again = try PNGDecoder.decode(PNGEncoder.encode(image), name: item.file)
            #expect(again == image, "\(item.file)")
        }
    }

    @Test func malformedFilesGiveTheirErrors() throws {
        let manifest = try #require(try Fixtures.json("png-malformed", "manifest.json") as? [String: [String: String]])
        let directory = Fixtures.url("png-malformed")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".png") }
        #expect(Set(files) == Set(manifest.keys))
        for (file, expected) in manifest.sorted(by: { $0.key < $1.key }) {
            let url = directory.appendingPathComponent(file)
            do {
                let image = try PNGImage(contentsOf: url)
                Issue.record("\(file) decoded (\(image.width)x\(image.height)), expected \(expected)")
            } catch let error as PNGError {
                #expect(caseName(error) == expected["error"], "\(file): \(error)")
                if let chunk = expected["chunk"] { #expect(chunkName(error) == chunk, "\(file): \(error)") }
                #expect(error.file == url.path)
                #expect(error.description.contains(file), "\(error)")
                #expect(!error.description.contains("\n"))
            } catch {
                Issue.record("\(file): unexpected error \(error)")
            }
        }
    }

    /// Every truncation of a fixture, and many corruptions of its compressed data (with the CRC
    /// fixed up so the decoder gets past the chunk check), must throw a PNGError or decode —
    /// never crash.
    @Test func corruptedInputsNeverCrash() throws {
        for file in ["rgba8_adam7.png", "pal4_trns.png", "gray2_adam7.png", "rgb16.png"] {
            let good = [UInt8](try Data(contentsOf: Fixtures.url("png", file)))
            for length in 0..<good.count {
                #expect(throws: PNGError.self) { try PNGDecoder.decode(Data(good[0..<length]), name: file) }
            }
            // Locate the IDAT chunk.
            var pos = 8
            var idat: Range<Int>? = nil
            while pos + 8 <= good.count {
                let length = Int(good[pos]) << 24 | Int(good[pos + 1]) << 16 | Int(good[pos + 2]) << 8 | Int(good[pos + 3])
                if String(decoding: good[(pos + 4)..<(pos + 8)], as: UTF8.self) == "IDAT" {
                    idat = (pos + 8)..<(pos + 8 + length)
                    break
                }
                pos += 12 + length
            }
            let body = try #require(idat)
            var rng = SeededGenerator(seed: UInt64(good.count))
            for _ in 0..<300 {
                var bytes = good
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: body, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                let crc = testCRC32(Array(bytes[(body.lowerBound - 4)..<body.upperBound]))
                for k in 0..<4 { bytes[body.upperBound + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * k)) }
                do {
                    _ = try PNGDecoder.decode(Data(bytes), name: file)
                } catch is PNGError {
                } catch {
                    Issue.record("\(file): unexpected error type \(error)")
                }
            }
        }
    }
}
