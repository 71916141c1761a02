import DiffuseFormats
import Foundation
import Testing

/// The decoder refuses images above its pixel limit from the IHDR, before inflating anything.
@Suite struct PNGPixelLimitTests {
    /// `bomb-16000.png`: a valid 16,000 × 16,000 1-bit gray PNG of 31 KB (made with Python's zlib:
    /// 32 MB of zero rows at level 9) that decodes to 256 MB of gray bytes, 3 GB as a float RGB tensor.
    @Test func aDecompressionBombIsRefusedFromItsHeaderNamingTheFile() throws {
        let url = Fixtures.url("bomb-16000.png")
        do {
            _ = try PNGImage(contentsOf: url)
            Issue.record("a 16000x16000 PNG was decoded")
        } catch let error as PNGError {
            #expect(error == .imageTooLarge(file: url.path, width: 16000, height: 16000, maxPixels: PNGDecoder.defaultMaxPixels), "\(error)")
            #expect(error.description.hasPrefix(url.path + ": ") && !error.description.contains("\n"))
        }
    }

    @Test func theLimitIsAParameter() throws {
        let image = try PNGImage(width: 100, height: 80, channels: 3, pixels: [UInt8](repeating: 7, count: 100 * 80 * 3))
        let data = try PNGEncoder.encode(image)
        #expect(try PNGDecoder.decode(data, name: "ok.png") == image)
        #expect(try PNGDecoder.decode(data, name: "ok.png", maxPixels: 8000) == image)
        #expect(throws: PNGError.imageTooLarge(file: "small-limit.png", width: 100, height: 80, maxPixels: 7999)) {
            try PNGDecoder.decode(data, name: "small-limit.png", maxPixels: 7999)
        }
        #expect(PNGDecoder.defaultMaxPixels == 64 << 20)
    }
}
