/// The table directory at the start of an OpenType (sfnt) file: which tables the font has and
/// where each one lies.
///
/// Validated on reading: the sfnt version (TrueType `0x00010000`, `'true'` or CFF `'OTTO'`; font
/// collections `'ttcf'` are refused), the directory fits in the file, every tag is printable
/// ASCII and appears once, and every table's `offset + length` lies inside the file. Table
/// checksums are not verified (fonts in the wild often have stale ones and they protect nothing
/// here).
public struct OpenTypeTableDirectory: Sendable {
    /// One table record.
    public struct Record: Equatable, Sendable {
        /// The four-character tag, e.g. `"cmap"`, `"OS/2"`.
        public var tag: String
        /// The checksum stored in the directory (not verified).
        public var checksum: UInt32
        /// The table's byte offset from the start of the file.
        public var offset: Int
        /// The table's length in bytes.
        public var length: Int
    }

    /// The sfnt version field (`0x00010000` for TrueType outlines, `0x4F54544F` `'OTTO'` for CFF).
    public let sfntVersion: UInt32
    /// The tables in directory order.
    public let records: [Record]

    /// Parses the table directory of the font `bytes`; `font` names it in errors.
    /// - Throws: `OpenTypeError.badTableDirectory`.
    public init(bytes: [UInt8], font: String) throws {
        func fail(_ detail: String) -> OpenTypeError { .badTableDirectory(font: font, detail: detail) }
        guard bytes.count >= 12 else {
            throw fail("the file has \(bytes.count) bytes, fewer than the 12-byte sfnt header")
        }
        func u16(_ p: Int) -> Int { Int(bytes[p]) << 8 | Int(bytes[p + 1]) }
        func u32(_ p: Int) -> UInt32 {
            UInt32(bytes[p]) << 24 | UInt32(bytes[p + 1]) << 16 | UInt32(bytes[p + 2]) << 8 | UInt32(bytes[p + 3])
        }
        let version = u32(0)
        switch version {
        case 0x0001_0000, 0x7472_7565 /* true */, 0x4F54_544F /* OTTO */: break
        case 0x7474_6366 /* ttcf */: throw fail("font collections (ttcf) are not supported; extract one font first")
        default: throw fail("unknown sfnt version 0x\(String(version, radix: 16)): not an OpenType font")
        }
        let count = u16(4)
        guard count > 0 else { throw fail("the directory lists no tables") }
        let end = 12 + 16 * count
        guard end <= bytes.count else {
            throw fail("\(count) table records need \(end) bytes, the file has only \(bytes.count)")
        }
        var records: [Record] = []
        records.reserveCapacity(count)
        var seen = Set<String>()
        for i in 0..<count {
            let p = 12 + 16 * i
            let tagBytes = bytes[p..<(p + 4)]
            guard tagBytes.allSatisfy({ (0x20...0x7E).contains($0) }) else {
                throw fail("table record \(i) has a non-ASCII tag \(tagBytes.map { String($0, radix: 16) })")
            }
            let tag = String(decoding: tagBytes, as: UTF8.self)
            guard seen.insert(tag).inserted else { throw fail("table '\(tag)' is listed twice") }
            let offset = Int(u32(p + 8)), length = Int(u32(p + 12))
            guard offset <= bytes.count, length <= bytes.count - offset else {
                throw fail("table '\(tag)' (offset \(offset), length \(length)) extends past the end of the file (\(bytes.count) bytes)")
            }
            records.append(Record(tag: tag, checksum: u32(p + 4), offset: offset, length: length))
        }
        self.sfntVersion = version
        self.records = records
    }

    /// The record of table `tag`, if the font has it.
    public func record(_ tag: String) -> Record? {
        records.first { $0.tag == tag }
    }
}
