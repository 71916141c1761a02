import Foundation

/// One PNG text chunk (`tEXt`, `zTXt` or `iTXt`): a keyword and its text.
public struct PNGTextEntry: Equatable, Hashable, Sendable {
    /// 1–79 Latin-1 characters (printable, no leading/trailing/double spaces), e.g. `"parameters"`.
    public var keyword: String
    /// The text. Written as `tEXt` when it is Latin-1, otherwise as uncompressed UTF-8 `iTXt`.
    public var text: String

    public init(keyword: String, text: String) {
        self.keyword = keyword
        self.text = text
    }
}

/// An 8-bit-per-channel image with interleaved channels, as read from or written to PNG.
public struct PNGImage: Equatable, Sendable {
    /// Width in pixels (≥ 1).
    public var width: Int
    /// Height in pixels (≥ 1).
    public var height: Int
    /// Channels per pixel: 1 = gray, 2 = gray + alpha, 3 = RGB, 4 = RGBA.
    public var channels: Int
    /// `width * height * channels` samples, row-major, top row first, channels interleaved.
    /// Alpha is straight (not premultiplied); 255 is opaque.
    public var pixels: [UInt8]
    /// Text chunks in file order.
    public var text: [PNGTextEntry]

    /// - Throws: `PNGError.invalidImage` if the sizes are not positive, `channels` is not 1...4
    ///   or `pixels.count != width * height * channels`.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8], text: [PNGTextEntry] = []) throws {
        guard width > 0, height > 0 else { throw PNGError.invalidImage(detail: "size \(width)x\(height) is not positive") }
        guard (1...4).contains(channels) else { throw PNGError.invalidImage(detail: "channels must be 1...4, not \(channels)") }
        let (wh, o1) = width.multipliedReportingOverflow(by: height)
        let (expected, o2) = wh.multipliedReportingOverflow(by: channels)
        guard !o1, !o2, pixels.count == expected else {
            throw PNGError.invalidImage(detail: "\(pixels.count) samples given for \(width)x\(height)x\(channels)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
        self.text = text
    }

    /// Internal unchecked initialiser for decoder results.
    init(uncheckedWidth width: Int, height: Int, channels: Int, pixels: [UInt8], text: [PNGTextEntry]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
        self.text = text
    }

    /// Reads and decodes the PNG file at `url` (see `PNGDecoder.decode`); images of more than
    /// `maxPixels` pixels are refused from their header.
    public init(contentsOf url: URL, maxPixels: Int = PNGDecoder.defaultMaxPixels) throws {
        let data: Data
        do {
            data = try FileIO.readFile(url)
        } catch let error as FileIOError {
            throw PNGError.io(file: url.path, reason: "\(error.operation) failed: \(error.reason)")
        }
        self = try PNGDecoder.decode(data, name: url.path, maxPixels: maxPixels)
    }

    /// Encodes the image (see `PNGEncoder.encode`) and writes it to `url` atomically (temporary
    /// file in the same directory, `fsync`, rename).
    public func write(to url: URL, compressionLevel: Int = 6) throws {
        let data = try PNGEncoder.encode(self, compressionLevel: compressionLevel)
        do {
            try FileIO.writeAtomically(to: url) { write in try data.withUnsafeBytes { try write($0) } }
        } catch let error as FileIOError {
            throw PNGError.io(file: url.path, reason: "\(error.operation) failed: \(error.reason) (\(error.path))")
        }
    }

    /// The text of the first text chunk with this keyword (e.g. `"parameters"` for A1111 infotext).
    public func textValue(forKeyword keyword: String) -> String? {
        text.first(where: { $0.keyword == keyword })?.text
    }

    /// The image with `channels` channels.
    ///
    /// - Gray → RGB replicates; adding alpha makes it 255 (opaque).
    /// - Removing alpha composites over the gray `background` level (255 = white, 0 = black):
    ///   `(c * a + background * (255 - a)) / 255`, rounded.
    /// - Color → gray uses Rec. 601 luma, `(299 R + 587 G + 114 B) / 1000`, rounded.
    /// - Throws: `PNGError.invalidImage` if `channels` is not 1...4.
    public func converted(toChannels target: Int, background: UInt8 = 255) throws -> PNGImage {
        guard (1...4).contains(target) else { throw PNGError.invalidImage(detail: "channels must be 1...4, not \(target)") }
        if target == channels { return self }
        let count = width * height
        let source = channels
        let bg = Int(background)
        var out = [UInt8](repeating: 0, count: count * target)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<count {
                    let s = i * source
                    // Decompose into (r, g, b, a, isGray).
                    var r = Int(src[s]), g = r, b = r, a = 255
                    switch source {
                    case 2: a = Int(src[s + 1])
                    case 3: g = Int(src[s + 1]); b = Int(src[s + 2])
                    case 4: g = Int(src[s + 1]); b = Int(src[s + 2]); a = Int(src[s + 3])
                    default: break
                    }
                    if target == 1 || target == 3 {  // no alpha in the result: composite
                        r = (r * a + bg * (255 - a) + 127) / 255
                        g = (g * a + bg * (255 - a) + 127) / 255
                        b = (b * a + bg * (255 - a) + 127) / 255
                    }
                    let d = i * target
                    let colorSource = source >= 3
                    switch target {
                    case 1, 2:
                        dst[d] = UInt8(colorSource ? (299 * r + 587 * g + 114 * b + 500) / 1000 : r)
                        if target == 2 { dst[d + 1] = UInt8(a) }
                    default:
                        dst[d] = UInt8(r); dst[d + 1] = UInt8(g); dst[d + 2] = UInt8(b)
                        if target == 4 { dst[d + 3] = UInt8(a) }
                    }
                }
            }
        }
        return PNGImage(uncheckedWidth: width, height: height, channels: target, pixels: out, text: text)
    }
}
