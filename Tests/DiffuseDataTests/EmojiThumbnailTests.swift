import DiffuseData
import DiffuseFormats
import Foundation
import Testing

@Suite struct EmojiThumbnailTests {
    func solid(_ width: Int, _ height: Int, _ rgba: [UInt8]) throws -> PNGImage {
        try PNGImage(width: width, height: height, channels: 4, pixels: Array(repeatElement(rgba, count: width * height).joined()))
    }

    @Test func transparentBecomesWhite() throws {
        let image = try EmojiThumbnail.make(try solid(136, 128, [10, 200, 30, 0]), size: 64)
        #expect(image.width == 64 && image.height == 64 && image.channels == 3)
        #expect(image.pixels.allSatisfy { $0 == 255 })
    }

    @Test func flatColorsStayExact() throws {
        for color: [UInt8] in [[200, 30, 40, 255], [0, 0, 0, 255], [1, 128, 254, 255]] {
            let image = try EmojiThumbnail.make(try solid(128, 128, color), size: 64)
            for i in stride(from: 0, to: image.pixels.count, by: 3) where Array(image.pixels[i..<(i + 3)]) != Array(color.prefix(3)) {
                Issue.record("pixel \(i / 3) is \(image.pixels[i..<(i + 3)]) not \(color)")
                break
            }
        }
    }

    @Test func paddingIsCenteredAndWhite() throws {
        // 136x128 red → 136x136 with 4 white rows above and below → 64x64: the edge rows cover
        // 2.125 source rows each, so row 0 is white, row 1 mixed, row 2 red (and mirrored).
        let image = try EmojiThumbnail.make(try solid(136, 128, [255, 0, 0, 255]), size: 64)
        func row(_ y: Int) -> [UInt8] { Array(image.pixels[(y * 64 * 3)..<((y * 64 + 1) * 3)]) }
        #expect(row(0) == [255, 255, 255] && row(63) == [255, 255, 255])
        #expect(row(2) == [255, 0, 0] && row(61) == [255, 0, 0])
        #expect(row(1) == row(62), "symmetric")
        #expect(row(1)[0] == 255 && row(1)[1] > 0 && row(1)[1] < 255)
        // Every column is the same (the image spans the full width).
        for y in 0..<64 {
            let first = Array(image.pixels[(y * 64 * 3)..<(y * 64 * 3 + 3)])
            #expect((0..<64).allSatisfy { Array(image.pixels[((y * 64 + $0) * 3)..<((y * 64 + $0) * 3 + 3)]) == first })
        }
        // Taller than wide: padded left and right instead.
        let tall = try EmojiThumbnail.make(try solid(2, 4, [0, 0, 255, 255]), size: 4)
        #expect(Array(tall.pixels[0..<3]) == [255, 255, 255] && Array(tall.pixels[3..<6]) == [0, 0, 255])
        #expect(Array(tall.pixels[6..<9]) == [0, 0, 255] && Array(tall.pixels[9..<12]) == [255, 255, 255])
    }

    @Test func averagingIsInLinearLight() throws {
        // Black and white halves averaged to one pixel: 50% light is sRGB 188, not 128.
        let pixels: [UInt8] = [0, 0, 0, 255, 255, 255, 255, 255]
        let image = try EmojiThumbnail.make(try PNGImage(width: 2, height: 2, channels: 4, pixels: pixels + pixels), size: 1)
        #expect(image.pixels == [188, 188, 188])
    }

    @Test func alphaIsCompositedInSRGB() throws {
        // Black at alpha 128 over white: 255 * 127 / 255 = 127 (how browsers draw it).
        let image = try EmojiThumbnail.make(try solid(3, 3, [0, 0, 0, 128]), size: 3)
        #expect(image.pixels.allSatisfy { $0 == 127 })
        // Gray input works as well.
        let gray = try EmojiThumbnail.make(try PNGImage(width: 1, height: 1, channels: 1, pixels: [77]), size: 2)
        #expect(gray.pixels == [UInt8](repeating: 77, count: 12))
    }

    @Test func rejectsBadSizes() throws {
        #expect(throws: PNGError.self) { try EmojiThumbnail.make(try self.solid(2, 2, [0, 0, 0, 255]), size: 0) }
        #expect(throws: PNGError.self) { try EmojiThumbnail.make(try self.solid(2, 2, [0, 0, 0, 255]), size: 5000) }
    }
}
