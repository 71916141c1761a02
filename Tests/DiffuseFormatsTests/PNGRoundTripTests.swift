import DiffuseFormats
import Foundation
import Testing

private func randomImage(width: Int, height: Int, channels: Int, seed: UInt64,
                         text: [PNGTextEntry] = []) throws -> PNGImage {
    var rng = SeededGenerator(seed: seed)
    // Half noise, half smooth gradient, so every filter type wins on some rows.
    let pixels = (0..<(width * height * channels)).map { i -> UInt8 in
        let y = i / (width * channels)
        return y % 2 == 0 ? UInt8.random(in: 0...255, using: &rng) : UInt8(truncatingIfNeeded: i / channels + y * 3)
    }
    return try PNGImage(width: width, height: height, channels: channels, pixels: pixels, text: text)
}

@Suite struct PNGRoundTripTests {
    @Test(arguments: [1, 2, 3, 4])
    func encodeDecodeRoundTrip(channels: Int) throws {
        let text = [
            PNGTextEntry(keyword: "parameters", text: "a cat, café\nSteps: 20, Sampler: Euler a"),
            PNGTextEntry(keyword: "Title", text: "猫 — unicode goes to iTXt"),
            PNGTextEntry(keyword: "Empty", text: ""),
        ]
        let image = try randomImage(width: 37, height: 23, channels: channels, seed: UInt64(channels), text: text)
        for level in [0, 1, 6, 9] {
            let data = try PNGEncoder.encode(image, compressionLevel: level)
            #expect(Array(data.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            let decoded = try PNGDecoder.decode(data, name: "roundtrip.png")
            #expect(decoded == image, "channels \(channels) level \(level)")
            #expect(decoded.textValue(forKeyword: "parameters") == text[0].text)
        }
    }

    @Test func textChunksPrecedeImageDataAndUseTheRightChunkType() throws {
        let image = try PNGImage(width: 1, height: 1, channels: 3, pixels: [1, 2, 3], text: [
            PNGTextEntry(keyword: "latin", text: "é"), PNGTextEntry(keyword: "utf", text: "猫"),
        ])
        let bytes = [UInt8](try PNGEncoder.encode(image))
        var types: [String] = []
        var pos = 8
        while pos + 8 <= bytes.count {
            let length = Int(bytes[pos]) << 24 | Int(bytes[pos + 1]) << 16 | Int(bytes[pos + 2]) << 8 | Int(bytes[pos + 3])
            types.append(String(decoding: bytes[(pos + 4)..<(pos + 8)], as: UTF8.self))
            let crcInput = Array(bytes[(pos + 4)..<(pos + 8 + length)])
            let stored = bytes[(pos + 8 + length)..<(pos + 12 + length)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            #expect(stored == testCRC32(crcInput), "CRC of \(types.last ?? "")")
            pos += 12 + length
        }
        #expect(pos == bytes.count)
        #expect(types == ["IHDR", "tEXt", "iTXt", "IDAT", "IEND"])
    }

    @Test func writeAndReadFile() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("out.png")
            let image = try randomImage(width: 64, height: 48, channels: 3, seed: 9,
                                        text: [PNGTextEntry(keyword: "parameters", text: "x")])
            try image.write(to: url)
            #expect(try PNGImage(contentsOf: url) == image)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.png"])
            let missing = dir.appendingPathComponent("missing.png")
            let error = #expect(throws: PNGError.self) { try PNGImage(contentsOf: missing) }
            #expect(error?.description.contains("missing.png") == true)
        }
    }

    @Test func smoothImagesCompressWell() throws {
        let width = 256, height = 256
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                pixels[(y * width + x) * 3] = UInt8(x)
                pixels[(y * width + x) * 3 + 1] = UInt8(y)
                pixels[(y * width + x) * 3 + 2] = UInt8((x + y) / 2)
            }
        }
        let image = try PNGImage(width: width, height: height, channels: 3, pixels: pixels)
        let data = try PNGEncoder.encode(image)
        #expect(data.count < pixels.count / 20, "filtering should make a gradient tiny: \(data.count) bytes")
        #expect(try PNGDecoder.decode(data, name: "gradient") == image)
    }

    @Test func invalidImagesAndTextAreRejected() throws {
        #expect(throws: PNGError.self) { try PNGImage(width: 2, height: 2, channels: 3, pixels: [0, 1, 2]) }
        #expect(throws: PNGError.self) { try PNGImage(width: 0, height: 2, channels: 3, pixels: []) }
        #expect(throws: PNGError.self) { try PNGImage(width: 1, height: 1, channels: 5, pixels: [0, 0, 0, 0, 0]) }
        var image = try PNGImage(width: 1, height: 1, channels: 1, pixels: [7])
        #expect(throws: PNGError.self) { try PNGEncoder.encode(image, compressionLevel: 10) }
        image.pixels = [1, 2]  // inconsistent after mutation
        #expect(throws: PNGError.self) { try PNGEncoder.encode(image) }
        image.pixels = [7]
        for bad in ["", String(repeating: "k", count: 80), " lead", "trail ", "two  spaces", "猫", "tab\there"] {
            image.text = [PNGTextEntry(keyword: bad, text: "v")]
            let error = #expect(throws: PNGError.self) { try PNGEncoder.encode(image) }
            guard case .invalidText(let keyword, _)? = error, keyword == bad else {
                Issue.record("keyword \(bad.debugDescription): \(String(describing: error))"); continue
            }
        }
        for text in ["nul\u{0}inside", "猫\u{0}"] {  // tEXt and iTXt
            image.text = [PNGTextEntry(keyword: "ok", text: text)]
            #expect(throws: PNGError.self) { try PNGEncoder.encode(image) }
        }
        image.text = [PNGTextEntry(keyword: String(repeating: "k", count: 79), text: "max length keyword")]
        #expect(try PNGDecoder.decode(PNGEncoder.encode(image), name: "k").text == image.text)
    }

    @Test func channelConversions() throws {
        let rgba = try PNGImage(width: 2, height: 1, channels: 4, pixels: [255, 0, 0, 128, 10, 20, 30, 255])
        let overWhite = try rgba.converted(toChannels: 3)
        #expect(overWhite.pixels == [255, 127, 127, 10, 20, 30])  // (0*128 + 255*127 + 127) / 255 = 127
        let overBlack = try rgba.converted(toChannels: 3, background: 0)
        #expect(overBlack.pixels == [128, 0, 0, 10, 20, 30])
        #expect(try rgba.converted(toChannels: 2).pixels == [76, 128, 18, 255])  // luma of (255,0,0) = 76
        #expect(try rgba.converted(toChannels: 1, background: 0).pixels == [38, 18])

        let gray = try PNGImage(width: 2, height: 1, channels: 1, pixels: [0, 200])
        #expect(try gray.converted(toChannels: 3).pixels == [0, 0, 0, 200, 200, 200])
        #expect(try gray.converted(toChannels: 4).pixels == [0, 0, 0, 255, 200, 200, 200, 255])
        #expect(try gray.converted(toChannels: 2).pixels == [0, 255, 200, 255])
        #expect(try gray.converted(toChannels: 1) == gray)

        let grayAlpha = try PNGImage(width: 1, height: 1, channels: 2, pixels: [100, 0])
        #expect(try grayAlpha.converted(toChannels: 1).pixels == [255])
        #expect(try grayAlpha.converted(toChannels: 3, background: 0).pixels == [0, 0, 0])
        #expect(try grayAlpha.converted(toChannels: 4).pixels == [100, 100, 100, 0])

        let rgb = try PNGImage(width: 1, height: 1, channels: 3, pixels: [10, 20, 30], text: [.init(keyword: "k", text: "v")])
        let rgbToRGBA = try rgb.converted(toChannels: 4)
        #expect(rgbToRGBA.pixels == [10, 20, 30, 255])
        #expect(rgbToRGBA.text == rgb.text)
        #expect(try rgb.converted(toChannels: 1).pixels == [18])  // (2990 + 11740 + 3420 + 500) / 1000
        #expect(throws: PNGError.self) { try rgb.converted(toChannels: 0) }
    }
}
