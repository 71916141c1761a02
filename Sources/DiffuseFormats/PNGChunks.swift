/// PNG container details shared by the decoder and encoder (internal).
enum PNGFormat {
    /// The 8-byte signature every PNG starts with.
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The largest text a `zTXt`/`iTXt` chunk may inflate to (16 MiB).
    static let maxInflatedTextBytes = 16 << 20

    /// Adam7 passes: (x start, y start, x step, y step).
    static let adam7: [(x0: Int, y0: Int, dx: Int, dy: Int)] = [
        (0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2),
    ]

    /// The number of samples along one axis that a pass with start `start` and step `step` covers.
    static func passExtent(_ size: Int, start: Int, step: Int) -> Int {
        size > start ? (size - start + step - 1) / step : 0
    }

    /// A chunk type as text (non-printable bytes escaped), for messages.
    static func typeName(_ bytes: UnsafeRawBufferPointer) -> String {
        var s = ""
        for b in bytes {
            if b >= 0x20 && b < 0x7F { s.unicodeScalars.append(Unicode.Scalar(b)) } else { s += "\\x" + String(b, radix: 16) }
        }
        return s
    }

    /// Appends one chunk (length, type, data, CRC-32 of type + data) to `out`.
    static func appendChunk(_ type: String, _ body: [UInt8], to out: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        appendUInt32(UInt32(body.count), to: &out)
        out.append(contentsOf: typeBytes)
        out.append(contentsOf: body)
        var crc = typeBytes.withUnsafeBytes { Zlib.crc32($0) }
        crc = body.withUnsafeBytes { Zlib.crc32($0, crc: crc) }
        appendUInt32(crc, to: &out)
    }

    static func appendUInt32(_ value: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: value >> 24))
        out.append(UInt8(truncatingIfNeeded: value >> 16))
        out.append(UInt8(truncatingIfNeeded: value >> 8))
        out.append(UInt8(truncatingIfNeeded: value))
    }

    static func readUInt32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
            | UInt32(bytes[offset + 3])
    }

    /// Decodes ISO 8859-1 bytes (every byte is the code point of the same value).
    static func latin1String<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(b)) }
        return String(s)
    }

    /// The ISO 8859-1 encoding of `s`, or nil if it has a character above U+00FF.
    static func latin1Bytes(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(s.unicodeScalars.count)
        for scalar in s.unicodeScalars {
            guard scalar.value <= 0xFF else { return nil }
            out.append(UInt8(scalar.value))
        }
        return out
    }

    /// Checks a text-chunk keyword against the PNG rules (1–79 printable Latin-1 characters, no
    /// leading, trailing or consecutive spaces) and returns its Latin-1 bytes.
    static func validatedKeyword(_ keyword: String) throws -> [UInt8] {
        guard let bytes = latin1Bytes(keyword) else {
            throw PNGError.invalidText(keyword: keyword, detail: "keyword is not Latin-1")
        }
        guard (1...79).contains(bytes.count) else {
            throw PNGError.invalidText(keyword: keyword, detail: "keyword must be 1-79 characters, not \(bytes.count)")
        }
        for b in bytes where !((0x20...0x7E).contains(b) || b >= 0xA1) {
            throw PNGError.invalidText(keyword: keyword, detail: "keyword contains a non-printable character (0x\(String(b, radix: 16)))")
        }
        if bytes.first == 0x20 || bytes.last == 0x20 {
            throw PNGError.invalidText(keyword: keyword, detail: "keyword has a leading or trailing space")
        }
        for i in 1..<bytes.count where bytes[i] == 0x20 && bytes[i - 1] == 0x20 {
            throw PNGError.invalidText(keyword: keyword, detail: "keyword has consecutive spaces")
        }
        return bytes
    }
}
