/// Bounds-checked big-endian reads inside one table of a font file (internal).
///
/// Offsets are relative to the table's start; every read checks that it lies inside the table and
/// throws `OpenTypeError.badTable` naming the table otherwise, so a malformed font can never make
/// the reader touch memory outside the file.
struct TableReader {
    /// The whole font file.
    let bytes: [UInt8]
    /// The font's name, for messages.
    let font: String
    /// The table tag, for messages.
    let table: String
    /// Where the table starts in `bytes`.
    let base: Int
    /// The table's length in bytes (`base + length <= bytes.count`).
    let length: Int

    /// An error about this table.
    func error(_ detail: String) -> OpenTypeError {
        .badTable(font: font, table: table, detail: detail)
    }

    /// An error about one glyph's entry in this table.
    func glyphError(_ glyph: Int, _ detail: String) -> OpenTypeError {
        .badGlyph(font: font, table: table, glyph: glyph, detail: detail)
    }

    /// Throws unless `size` bytes at `offset` lie inside the table. `what` names the structure.
    func require(_ offset: Int, _ size: Int, _ what: @autoclosure () -> String) throws {
        guard offset >= 0, size >= 0, offset <= length, size <= length - offset else {
            throw error("\(what()) (\(size) bytes at offset \(offset)) extends past the end of the table (\(length) bytes)")
        }
    }

    /// A big-endian `UInt16` at `offset`.
    func u16(_ offset: Int) throws -> UInt16 {
        try require(offset, 2, "field")
        let p = base + offset
        return UInt16(bytes[p]) << 8 | UInt16(bytes[p + 1])
    }

    /// A big-endian `UInt32` at `offset`.
    func u32(_ offset: Int) throws -> UInt32 {
        try require(offset, 4, "field")
        let p = base + offset
        return UInt32(bytes[p]) << 24 | UInt32(bytes[p + 1]) << 16 | UInt32(bytes[p + 2]) << 8 | UInt32(bytes[p + 3])
    }

    /// An unchecked big-endian `UInt16` read; the caller has already validated the range with
    /// `require` (used in the hot loops over arrays).
    @inline(__always)
    func u16Unchecked(_ offset: Int) -> UInt16 {
        let p = base + offset
        return UInt16(bytes[p]) << 8 | UInt16(bytes[p + 1])
    }

    /// An unchecked big-endian `UInt32` read; see `u16Unchecked`.
    @inline(__always)
    func u32Unchecked(_ offset: Int) -> UInt32 {
        let p = base + offset
        return UInt32(bytes[p]) << 24 | UInt32(bytes[p + 1]) << 16 | UInt32(bytes[p + 2]) << 8 | UInt32(bytes[p + 3])
    }

    /// A copy of `size` bytes at `offset`.
    func slice(_ offset: Int, _ size: Int, _ what: @autoclosure () -> String) throws -> [UInt8] {
        try require(offset, size, what())
        return Array(bytes[(base + offset)..<(base + offset + size)])
    }
}
