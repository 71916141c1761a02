import CZlib

/// Thin wrappers over zlib (internal).
enum Zlib {
    /// Why inflating failed.
    enum InflateError: Error {
        /// zlib rejected the stream (corrupt data, bad header, bad checksum).
        case corrupt(String)
        /// The stream ended before producing the requested number of bytes.
        case tooShort(produced: Int, expected: Int)
        /// The stream would produce more than the allowed number of bytes.
        case tooLong(limit: Int)
        /// The input ended before the end of the zlib stream.
        case truncated(produced: Int)
    }

    /// CRC-32 (ISO 3309, as used by PNG) of `bytes`, continuing from `crc`.
    static func crc32(_ bytes: UnsafeRawBufferPointer, crc: UInt32 = 0) -> UInt32 {
        var value = UInt(crc)
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, 1 << 30)
            value = CZlib.crc32(value, bytes.baseAddress!.assumingMemoryBound(to: Bytef.self) + offset, uInt(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: value)
    }

    /// Inflates a zlib stream into exactly `expected` bytes.
    ///
    /// Data after `expected` bytes of output (extra image data some encoders emit) is ignored;
    /// fewer bytes are an error. The output size is fixed in advance, so a hostile stream cannot
    /// make this allocate more.
    static func inflate(_ input: UnsafeRawBufferPointer, expected: Int) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: expected)
        let produced = try output.withUnsafeMutableBytes { out in
            try inflate(input, into: out, stopWhenFull: true)
        }
        guard produced == expected else { throw InflateError.tooShort(produced: produced, expected: expected) }
        return output
    }

    /// Inflates a whole zlib stream of unknown output size, up to `limit` bytes.
    static func inflate(_ input: UnsafeRawBufferPointer, limit: Int) throws -> [UInt8] {
        var capacity = min(max(input.count * 4, 1024), limit)
        while true {
            var output = [UInt8](repeating: 0, count: capacity)
            do {
                let produced = try output.withUnsafeMutableBytes { out in
                    try inflate(input, into: out, stopWhenFull: false)
                }
                output.removeSubrange(produced...)
                return output
            } catch InflateError.tooLong {
                guard capacity < limit else { throw InflateError.tooLong(limit: limit) }
                capacity = min(capacity * 4, limit)
            }
        }
    }

    /// Inflates `input` into `out`; returns the number of bytes produced.
    /// With `stopWhenFull`, returns as soon as `out` is full; otherwise a full buffer before the
    /// end of the stream throws `.tooLong`.
    private static func inflate(_ input: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer,
                                stopWhenFull: Bool) throws -> Int {
        var stream = z_stream()
        var status = inflateInit_(&stream, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw InflateError.corrupt("inflateInit failed (\(status))") }
        defer { inflateEnd(&stream) }

        var inOffset = 0
        var outOffset = 0
        var scratch: UInt8 = 0
        while true {
            let inChunk = min(input.count - inOffset, Int(UInt32.max >> 1))
            let outChunk = min(out.count - outOffset, Int(UInt32.max >> 1))
            if outChunk == 0 && stopWhenFull { return outOffset }
            stream.next_in = inChunk > 0
                ? UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self) + inOffset)
                : nil
            stream.avail_in = uInt(inChunk)
            let result: Int32 = withUnsafeMutablePointer(to: &scratch) { scratchPointer in
                if outChunk > 0 {
                    stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self) + outOffset
                    stream.avail_out = uInt(outChunk)
                } else {
                    // Output is full: offer one scratch byte to find out whether the stream ends here.
                    stream.next_out = scratchPointer
                    stream.avail_out = 1
                }
                let r = CZlib.inflate(&stream, Z_NO_FLUSH)
                return r
            }
            status = result
            let consumed = inChunk - Int(stream.avail_in)
            let produced = outChunk > 0 ? outChunk - Int(stream.avail_out) : 0
            inOffset += consumed
            outOffset += produced
            if outChunk == 0 && stream.avail_out == 0 { throw InflateError.tooLong(limit: out.count) }
            switch status {
            case Z_STREAM_END:
                return outOffset
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                // No progress possible: either the input is exhausted or the output is full.
                if inOffset >= input.count { throw InflateError.truncated(produced: outOffset) }
                if outOffset >= out.count { continue }
                throw InflateError.corrupt("no progress")
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                throw InflateError.corrupt(message)
            }
        }
    }

    /// Compresses `input` as one zlib stream at `level` (0...9).
    static func deflate(_ input: UnsafeRawBufferPointer, level: Int32) -> [UInt8]? {
        let bound = Int(compressBound(uLong(input.count)))
        var output = [UInt8](repeating: 0, count: bound)
        var outLength = uLong(bound)
        var empty: UInt8 = 0
        let status = output.withUnsafeMutableBytes { out -> Int32 in
            withUnsafeMutablePointer(to: &empty) { emptyPointer in
                let source = input.count > 0
                    ? input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    : UnsafePointer(emptyPointer)
                return compress2(out.baseAddress!.assumingMemoryBound(to: Bytef.self), &outLength,
                                 source, uLong(input.count), level)
            }
        }
        guard status == Z_OK else { return nil }
        output.removeSubrange(Int(outLength)...)
        return output
    }
}
