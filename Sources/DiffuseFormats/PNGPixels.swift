/// Reverses PNG filtering and converts scanlines to 8-bit interleaved pixels (internal).
struct PNGPixelDecoder {
    let header: PNGDecoder.Header
    /// RGB triples (palette images only).
    let palette: [UInt8]
    /// Raw `tRNS` body, if any.
    let transparency: [UInt8]?
    let name: String
    /// Output channels: see `PNGDecoder`.
    let channels: Int

    init(header: PNGDecoder.Header, palette: [UInt8], transparency: [UInt8]?, name: String) {
        self.header = header
        self.palette = palette
        self.transparency = transparency
        self.name = name
        switch header.colorType {
        case 0: channels = transparency == nil ? 1 : 2
        case 2, 3: channels = transparency == nil ? 3 : 4
        case 4: channels = 2
        default: channels = 4
        }
    }

    /// Unfilters `raw` in place (all passes' scanlines, each with its filter byte) and returns the
    /// pixels.
    func decode(_ raw: inout [UInt8]) throws -> (samples: [UInt8], channels: Int) {
        var out = [UInt8](repeating: 0, count: header.width * header.height * channels)
        try raw.withUnsafeMutableBufferPointer { rawBuffer in
            try out.withUnsafeMutableBufferPointer { outBuffer in
                guard let rawBase = rawBuffer.baseAddress, let outBase = outBuffer.baseAddress else { return }
                let passes = header.interlaced ? PNGFormat.adam7 : [(x0: 0, y0: 0, dx: 1, dy: 1)]
                var offset = 0
                for (index, pass) in passes.enumerated() {
                    let w = PNGFormat.passExtent(header.width, start: pass.x0, step: pass.dx)
                    let rows = PNGFormat.passExtent(header.height, start: pass.y0, step: pass.dy)
                    guard w > 0 && rows > 0 else { continue }
                    let rowBytes = header.rowBytes(w)
                    try unfilter(rawBase + offset, rows: rows, rowBytes: rowBytes, pass: header.interlaced ? index + 1 : 0)
                    for y in 0..<rows {
                        let line = UnsafePointer(rawBase + offset + y * (rowBytes + 1) + 1)
                        let outY = pass.y0 + y * pass.dy
                        try convertRow(line, width: w, into: outBase + (outY * header.width + pass.x0) * channels,
                                       pixelStride: pass.dx * channels, row: outY)
                    }
                    offset += rows * (rowBytes + 1)
                }
            }
        }
        return (out, channels)
    }

    /// Undoes the per-row filters in place. `pass` is the Adam7 pass (1...7) or 0, for messages.
    private func unfilter(_ base: UnsafeMutablePointer<UInt8>, rows: Int, rowBytes: Int, pass: Int) throws {
        let bpp = header.filterStride
        let stride = rowBytes + 1
        for y in 0..<rows {
            let filter = base[y * stride]
            let cur = base + y * stride + 1
            let prev: UnsafeMutablePointer<UInt8>? = y > 0 ? base + (y - 1) * stride + 1 : nil
            switch filter {
            case 0:
                break
            case 1:  // Sub
                if rowBytes > bpp { for i in bpp..<rowBytes { cur[i] &+= cur[i - bpp] } }
            case 2:  // Up
                if let prev { for i in 0..<rowBytes { cur[i] &+= prev[i] } }
            case 3:  // Average
                if let prev {
                    for i in 0..<min(bpp, rowBytes) { cur[i] &+= prev[i] >> 1 }
                    if rowBytes > bpp {
                        for i in bpp..<rowBytes { cur[i] &+= UInt8((UInt16(cur[i - bpp]) + UInt16(prev[i])) >> 1) }
                    }
                } else if rowBytes > bpp {
                    for i in bpp..<rowBytes { cur[i] &+= cur[i - bpp] >> 1 }
                }
            case 4:  // Paeth
                if let prev {
                    for i in 0..<min(bpp, rowBytes) { cur[i] &+= prev[i] }  // Paeth(0, up, 0) = up
                    if rowBytes > bpp {
                        for i in bpp..<rowBytes { cur[i] &+= paeth(cur[i - bpp], prev[i], prev[i - bpp]) }
                    }
                } else if rowBytes > bpp {
                    for i in bpp..<rowBytes { cur[i] &+= cur[i - bpp] }  // Paeth(left, 0, 0) = left
                }
            default:
                let location = pass > 0 ? "row \(y) of Adam7 pass \(pass)" : "row \(y)"
                throw PNGError.corruptImageData(file: name, detail: "\(location) has invalid filter type \(filter)")
            }
        }
    }

    /// Converts one unfiltered scanline of `width` pixels to output pixels starting at `dst`,
    /// consecutive output pixels `pixelStride` samples apart. `row` is the image row, for messages.
    private func convertRow(_ line: UnsafePointer<UInt8>, width: Int, into dst: UnsafeMutablePointer<UInt8>,
                            pixelStride: Int, row: Int) throws {
        let depth = header.bitDepth
        let spp = header.samplesPerPixel
        switch (header.colorType, depth) {
        case (_, 8) where header.colorType != 3 && transparency == nil:
            // Straight copy of 8-bit samples.
            for x in 0..<width {
                for c in 0..<spp { dst[x * pixelStride + c] = line[x * spp + c] }
            }
        case (_, 16) where header.colorType != 3 && transparency == nil:
            for x in 0..<width {
                for c in 0..<spp { dst[x * pixelStride + c] = reduce16(line, x * spp + c) }
            }
        case (3, _):
            let paletteCount = palette.count / 3
            for x in 0..<width {
                let index = Int(sample(line, x, depth))
                guard index < paletteCount else {
                    throw PNGError.corruptImageData(file: name,
                        detail: "palette index \(index) at row \(row) is out of range (palette has \(paletteCount) entries)")
                }
                let d = dst + x * pixelStride
                d[0] = palette[3 * index]; d[1] = palette[3 * index + 1]; d[2] = palette[3 * index + 2]
                if let alpha = transparency { d[3] = index < alpha.count ? alpha[index] : 255 }
            }
        case (0, _):
            // Gray with tRNS (any depth), or gray below 8 bits.
            let key = transparency.map { Int($0[0]) << 8 | Int($0[1]) }
            for x in 0..<width {
                let value: Int
                let gray: UInt8
                if depth == 16 {
                    value = Int(line[2 * x]) << 8 | Int(line[2 * x + 1])
                    gray = reduce16(line, x)
                } else {
                    value = Int(sample(line, x, depth))
                    gray = UInt8(truncatingIfNeeded: value * (255 / ((1 << depth) - 1)))
                }
                let d = dst + x * pixelStride
                d[0] = gray
                if let key { d[1] = value == key ? 0 : 255 }
            }
        default:
            // RGB with tRNS (8 or 16 bits).
            let t = transparency ?? []
            let key = (0..<3).map { Int(t[2 * $0]) << 8 | Int(t[2 * $0 + 1]) }
            for x in 0..<width {
                let d = dst + x * pixelStride
                var matches = true
                for c in 0..<3 {
                    if depth == 16 {
                        let i = 3 * x + c
                        matches = matches && (Int(line[2 * i]) << 8 | Int(line[2 * i + 1])) == key[c]
                        d[c] = reduce16(line, i)
                    } else {
                        let v = line[3 * x + c]
                        matches = matches && Int(v) == key[c]
                        d[c] = v
                    }
                }
                d[3] = matches ? 0 : 255
            }
        }
    }

    /// The `index`-th sample of `depth` bits (1, 2, 4 or 8), packed most significant bits first.
    @inline(__always)
    private func sample(_ line: UnsafePointer<UInt8>, _ index: Int, _ depth: Int) -> UInt8 {
        if depth == 8 { return line[index] }
        let bit = index * depth
        let shift = 8 - depth - (bit & 7)
        return (line[bit >> 3] >> UInt8(shift)) & UInt8((1 << depth) - 1)
    }

    /// The `index`-th big-endian 16-bit sample rounded to 8 bits: `round(v / 257)`.
    @inline(__always)
    private func reduce16(_ line: UnsafePointer<UInt8>, _ index: Int) -> UInt8 {
        let v = UInt32(line[2 * index]) << 8 | UInt32(line[2 * index + 1])
        return UInt8(truncatingIfNeeded: (v * 255 + 32895) >> 16)
    }
}

/// The Paeth predictor of PNG filter type 4.
@inline(__always)
func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
    let p = Int(a) + Int(b) - Int(c)
    let pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
    if pa <= pb && pa <= pc { return a }
    return pb <= pc ? b : c
}
