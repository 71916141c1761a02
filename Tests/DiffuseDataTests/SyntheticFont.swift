import DiffuseFormats
import Foundation

/// Big-endian byte appending for building font tables.
extension Array where Element == UInt8 {
    mutating func u8(_ v: Int) { append(UInt8(truncatingIfNeeded: v)) }
    mutating func u16(_ v: Int) { append(UInt8(truncatingIfNeeded: v >> 8)); append(UInt8(truncatingIfNeeded: v)) }
    mutating func u32(_ v: Int) { u16(v >> 16); u16(v & 0xFFFF) }
    mutating func tag(_ t: String) { append(contentsOf: Array(t.utf8)) }
    mutating func set16(_ p: Int, _ v: Int) { self[p] = UInt8(truncatingIfNeeded: v >> 8); self[p + 1] = UInt8(truncatingIfNeeded: v) }
    mutating func set32(_ p: Int, _ v: Int) { set16(p, v >> 16); set16(p + 2, v & 0xFFFF) }
}

/// A small color emoji font built from scratch, to test the reader on every structure it supports
/// (and, by patching fields, on malformed ones).
///
/// Glyphs (14): 0 .notdef; 1 U+1F600; 2 U+1F3FD; 3 U+200D (no image); 4 U+2764; 5 ligature
/// 1F600 1F3FD; 6 ligature 2764 200D 1F600 (through an extension lookup); 7 U+0036; 8 an image no
/// sequence reaches; 9 ligature of both 1F1EB 1F1F7 and 1F1E8 1F1F5; 10–13 U+1F1EB, U+1F1F7,
/// U+1F1E8, U+1F1F5 (no images).
///
/// `GSUB`: feature `ccmp` → lookup 0 (type 7 wrapping type 4, coverage format 1) and lookup 1
/// (type 4, coverage format 2). `CBLC`: strike 0 at 109 ppem with index formats 1 (glyphs 1–3,
/// image format 17, glyph 3 empty), 3 (4–6, format 18) and 5 (7, 8, 9; format 19); strike 1 at
/// 20 ppem with index formats 2 (1–2, format 19) and 4 (4 and 6, format 17).
struct SyntheticFont {
    enum CmapKind { case format12, format4, both }

    static let glyphCount = 14
    /// Code point → glyph.
    static let cmap: [(UInt32, Int)] = [(0x36, 7), (0x200D, 3), (0x2764, 4), (0x1F1E8, 12), (0x1F1EB, 10),
                                        (0x1F1F5, 13), (0x1F1F7, 11), (0x1F3FD, 2), (0x1F600, 1)]
    /// Glyphs with an image in strike 0 / strike 1.
    static let strike0Glyphs = [1, 2, 4, 5, 6, 7, 8, 9]
    static let strike1Glyphs = [1, 2, 4, 6]

    /// The tables in file order.
    var tables: [(tag: String, bytes: [UInt8])]
    /// Byte positions of interesting fields, inside their table, for tests that corrupt them.
    var positions: [String: Int] = [:]

    /// The PNG of `glyph` in a strike: a solid `width`×`height` RGBA color derived from the glyph.
    static func png(glyph: Int, width: Int, height: Int) throws -> [UInt8] {
        let pixel: [UInt8] = color(glyph)
        let image = try PNGImage(width: width, height: height, channels: 4,
                                 pixels: Array((0..<(width * height)).map { _ in pixel }.joined()))
        return [UInt8](try PNGEncoder.encode(image))
    }

    /// The RGBA color of `glyph`'s image.
    static func color(_ glyph: Int) -> [UInt8] {
        [UInt8(20 * glyph), UInt8(255 - 10 * glyph), UInt8(7 * glyph), 255]
    }

    init(cmap kind: CmapKind = .format12) throws {
        var positions: [String: Int] = [:]
        // maxp 0.5
        var maxp: [UInt8] = []
        maxp.u32(0x0000_5000); maxp.u16(Self.glyphCount)

        // cmap
        var cmap: [UInt8] = []
        let subtables: [(Int, Int, [UInt8])]
        switch kind {
        case .format12: subtables = [(3, 10, Self.format12())]
        case .format4: subtables = [(3, 1, Self.format4())]
        case .both: subtables = [(3, 1, Self.format4()), (3, 10, Self.format12())]
        }
        cmap.u16(0); cmap.u16(subtables.count)
        var offset = 4 + 8 * subtables.count
        for (platform, encoding, body) in subtables {
            cmap.u16(platform); cmap.u16(encoding); cmap.u32(offset)
            offset += body.count
        }
        positions["cmap.subtableOffset"] = 8
        for (_, _, body) in subtables { cmap += body }

        // GSUB
        var gsub: [UInt8] = []
        gsub.u16(1); gsub.u16(0); gsub.u16(10); gsub.u16(12); gsub.u16(28)
        gsub.u16(0)                                    // 10: ScriptList, no scripts
        gsub.u16(1); gsub.tag("ccmp"); gsub.u16(8)     // 12: FeatureList
        gsub.u16(0); gsub.u16(2); gsub.u16(0); gsub.u16(1)  // 20: Feature: lookups 0, 1
        let lookupList = gsub.count                    // 28
        let ligatures0 = Self.ligatureSubtable([([4, 3, 1], 6)], coverageFormat: 1)
        let ligatures1 = Self.ligatureSubtable([([1, 2], 5), ([10, 11], 9), ([12, 13], 9)], coverageFormat: 2)
        let lookup0 = 6, lookup1 = lookup0 + 8 + 8 + ligatures0.count
        gsub.u16(2); gsub.u16(lookup0); gsub.u16(lookup1)
        positions["GSUB.lookup0Offset"] = lookupList + 2
        // Lookup 0: extension → ligatures.
        gsub.u16(7); gsub.u16(0); gsub.u16(1); gsub.u16(8)
        positions["GSUB.extensionType"] = gsub.count + 2
        positions["GSUB.extensionOffset"] = gsub.count + 4
        gsub.u16(1); gsub.u16(4); gsub.u32(8)
        gsub += ligatures0
        // Lookup 1: ligatures.
        gsub.u16(4); gsub.u16(0); gsub.u16(1); gsub.u16(8)
        positions["GSUB.lookup1LigatureSetOffset"] = gsub.count + 6
        gsub += ligatures1

        // CBDT and CBLC
        var cbdt: [UInt8] = []
        cbdt.u16(3); cbdt.u16(0)
        var strikes: [(ppem: Int, start: Int, end: Int, subtables: [(first: Int, last: Int, body: [UInt8])])] = []

        func smallMetrics(_ w: Int, _ h: Int) -> [UInt8] { [UInt8(h), UInt8(w), 0, UInt8(h), UInt8(w)] }
        func bigMetrics(_ w: Int, _ h: Int) -> [UInt8] { [UInt8(h), UInt8(w), 0, UInt8(h), UInt8(w), 0, 0, UInt8(h)] }
        func record(_ format: Int, _ glyph: Int, _ w: Int, _ h: Int, pad: Int = 0) throws -> [UInt8] {
            var r: [UInt8] = format == 17 ? smallMetrics(w, h) : format == 18 ? bigMetrics(w, h) : []
            let png = try Self.png(glyph: glyph, width: w, height: h)
            r.u32(png.count); r += png
            return r + [UInt8](repeating: 0, count: max(0, pad - r.count))
        }
        func header(_ indexFormat: Int, _ imageFormat: Int, _ imageData: Int) -> [UInt8] {
            var h: [UInt8] = []; h.u16(indexFormat); h.u16(imageFormat); h.u32(imageData); return h
        }

        // Strike 0, index format 1 (Offset32), glyphs 1...3, image format 17, glyph 3 empty.
        var a = header(1, 17, cbdt.count)
        let aStart = cbdt.count
        var offsets32: [Int] = []
        for g in 1...3 {
            offsets32.append(cbdt.count - aStart)
            if g != 3 {
                if g == 1 { positions["CBDT.glyph1.length"] = cbdt.count + 5 }
                cbdt += try record(17, g, 4, 3)
            }
        }
        offsets32.append(cbdt.count - aStart)
        for o in offsets32 { a.u32(o) }
        // Index format 3 (Offset16), glyphs 4...6, image format 18.
        var b = header(3, 18, cbdt.count)
        let bStart = cbdt.count
        var offsets16: [Int] = []
        for g in 4...6 { offsets16.append(cbdt.count - bStart); cbdt += try record(18, g, 4, 3) }
        offsets16.append(cbdt.count - bStart)
        for o in offsets16 { b.u16(o) }
        b.u16(0)  // pad to 4 bytes
        // Index format 5 (sparse, constant size), glyphs 7, 8, 9, image format 19.
        let records5 = try [7, 8, 9].map { try record(19, $0, 4, 3) }
        let size5 = records5.map(\.count).max()! + 3
        var c = header(5, 19, cbdt.count)
        c.u32(size5); c += bigMetrics(4, 3); c.u32(3); c.u16(7); c.u16(8); c.u16(9); c.u16(0)
        for r in records5 { cbdt += r + [UInt8](repeating: 0, count: size5 - r.count) }
        strikes.append((109, 1, 9, [(1, 3, a), (4, 6, b), (7, 9, c)]))

        // Strike 1: index format 2 (constant size) glyphs 1...2, image format 19.
        let records2 = try [1, 2].map { try record(19, $0, 3, 2) }
        let size2 = records2.map(\.count).max()!
        var d = header(2, 19, cbdt.count)
        d.u32(size2); d += bigMetrics(3, 2)
        for r in records2 { cbdt += r + [UInt8](repeating: 0, count: size2 - r.count) }
        // Index format 4 (sparse pairs), glyphs 4 and 6 of 4...6, image format 17.
        var e = header(4, 17, cbdt.count)
        let eStart = cbdt.count
        e.u32(2)
        for g in [4, 6] { e.u16(g); e.u16(cbdt.count - eStart); cbdt += try record(17, g, 3, 2) }
        e.u16(0); e.u16(cbdt.count - eStart)
        strikes.append((20, 1, 6, [(1, 2, d), (4, 6, e)]))

        var cblc: [UInt8] = []
        cblc.u16(3); cblc.u16(0); cblc.u32(strikes.count)
        var arrays: [[UInt8]] = []
        var arrayOffset = 8 + 48 * strikes.count
        for (s, strike) in strikes.enumerated() {
            var array: [UInt8] = []
            var subtableOffset = 8 * strike.subtables.count
            for (i, sub) in strike.subtables.enumerated() {
                array.u16(sub.first); array.u16(sub.last); array.u32(subtableOffset)
                if s == 0 && i == 0 { positions["CBLC.strike0.subtable0"] = arrayOffset + subtableOffset }
                subtableOffset += sub.body.count
            }
            for sub in strike.subtables { array += sub.body }
            cblc.u32(arrayOffset); cblc.u32(array.count); cblc.u32(strike.subtables.count); cblc.u32(0)
            cblc += [UInt8](repeating: 0, count: 24)
            cblc.u16(strike.start); cblc.u16(strike.end); cblc.u8(strike.ppem); cblc.u8(strike.ppem); cblc.u8(32); cblc.u8(1)
            arrays.append(array)
            arrayOffset += array.count
        }
        for array in arrays { cblc += array }

        tables = [("CBDT", cbdt), ("CBLC", cblc), ("GSUB", gsub), ("cmap", cmap), ("maxp", maxp)]
        self.positions = positions
    }

    /// Format 12 subtable of `cmap`.
    static func format12() -> [UInt8] {
        var t: [UInt8] = []
        t.u16(12); t.u16(0); t.u32(16 + 12 * cmap.count); t.u32(0); t.u32(cmap.count)
        for (code, glyph) in cmap { t.u32(Int(code)); t.u32(Int(code)); t.u32(glyph) }
        return t
    }

    /// Format 4 subtable of `cmap` for the BMP code points: U+0036 and U+200D by delta, U+2764
    /// through `glyphIdArray`, and the final U+FFFF segment.
    static func format4() -> [UInt8] {
        let segments: [(start: Int, end: Int, delta: Int, useArray: Bool)] = [
            (0x36, 0x36, 7 - 0x36, false), (0x200D, 0x200D, (3 - 0x200D) & 0xFFFF, false),
            (0x2764, 0x2764, 0, true), (0xFFFF, 0xFFFF, 1, false),
        ]
        let n = segments.count
        var t: [UInt8] = []
        t.u16(4); t.u16(0); t.u16(0); t.u16(2 * n); t.u16(4); t.u16(1); t.u16(0)
        for s in segments { t.u16(s.end) }
        t.u16(0)
        for s in segments { t.u16(s.start) }
        for s in segments { t.u16(s.delta) }
        // idRangeOffset: for segment 2, point at glyphIdArray[0] right after the array.
        for (i, s) in segments.enumerated() { t.u16(s.useArray ? 2 * (n - i) : 0) }
        t.u16(4)  // glyphIdArray[0]: U+2764 → glyph 4
        t.set16(2, t.count)
        return t
    }

    /// A ligature substitution subtable (format 1) for `ligatures` (components with the first glyph,
    /// result), with a coverage table of `coverageFormat`.
    static func ligatureSubtable(_ ligatures: [([Int], Int)], coverageFormat: Int) -> [UInt8] {
        let firsts = Array(Set(ligatures.map { $0.0[0] })).sorted()
        var coverage: [UInt8] = []
        coverage.u16(coverageFormat); coverage.u16(firsts.count)
        for (i, g) in firsts.enumerated() {
            if coverageFormat == 1 { coverage.u16(g) } else { coverage.u16(g); coverage.u16(g); coverage.u16(i) }
        }
        var sets: [[UInt8]] = []
        for first in firsts {
            let mine = ligatures.filter { $0.0[0] == first }
            var set: [UInt8] = []
            set.u16(mine.count)
            var offset = 2 + 2 * mine.count
            var bodies: [UInt8] = []
            for (components, glyph) in mine {
                set.u16(offset)
                var l: [UInt8] = []
                l.u16(glyph); l.u16(components.count)
                for c in components.dropFirst() { l.u16(c) }
                bodies += l
                offset += l.count
            }
            sets.append(set + bodies)
        }
        var t: [UInt8] = []
        let headerSize = 6 + 2 * firsts.count
        t.u16(1); t.u16(headerSize); t.u16(firsts.count)
        var offset = headerSize + coverage.count
        for s in sets { t.u16(offset); offset += s.count }
        t += coverage
        for s in sets { t += s }
        return t
    }

    /// Replaces table `tag`'s bytes.
    mutating func patch(_ tag: String, _ body: (inout [UInt8]) -> Void) {
        let i = tables.firstIndex { $0.tag == tag }!
        body(&tables[i].bytes)
    }

    /// The font file: the table directory, then each table padded to 4 bytes.
    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        out.u32(0x0001_0000); out.u16(tables.count); out.u16(0); out.u16(0); out.u16(0)
        var offset = 12 + 16 * tables.count
        for (tag, body) in tables {
            out.tag(tag); out.u32(0); out.u32(offset); out.u32(body.count)
            offset += (body.count + 3) & ~3
        }
        for (_, body) in tables { out += body + [UInt8](repeating: 0, count: ((body.count + 3) & ~3) - body.count) }
        return out
    }

    /// Where table `tag`'s record is in the directory.
    func recordPosition(_ tag: String) -> Int { 12 + 16 * tables.firstIndex { $0.tag == tag }! }

    /// Where table `tag` starts in `bytes()`.
    func tableOffset(_ tag: String) -> Int {
        var offset = 12 + 16 * tables.count
        for (t, body) in tables {
            if t == tag { return offset }
            offset += (body.count + 3) & ~3
        }
        return -1
    }

    /// An emoji-test.txt line for `codePoints` (hex).
    static func testLine(_ codePoints: String, _ status: String, _ version: String, _ name: String) -> String {
        let emoji = String(String.UnicodeScalarView(scalars(codePoints)))
        return "\(codePoints) ; \(status) # \(emoji) E\(version) \(name)"
    }

    /// Names for the synthetic font, in the format of emoji-test.txt.
    static let names = [
        "# group: Smileys & Emotion",
        "# subgroup: face-smiling",
        testLine("1F600", "fully-qualified", "1.0", "grinning face"),
        testLine("1F600 1F3FD", "fully-qualified", "1.0", "grinning face: medium skin tone"),
        "# subgroup: heart",
        testLine("2764 FE0F 200D 1F600", "fully-qualified", "13.1", "heart face"),
        testLine("2764 200D 1F600", "minimally-qualified", "13.1", "heart face"),
        testLine("2764 200D 1F600 1F3FD", "fully-qualified", "13.1", "heart face: medium skin tone"),  // not in the font
        "# group: Flags",
        "# subgroup: country-flag",
        testLine("1F1E8 1F1F5", "fully-qualified", "2.0", "flag: Clipperton Island"),
        testLine("1F1EB 1F1F7", "fully-qualified", "0.6", "flag: France"),
        "# group: Component",
        "# subgroup: skin-tone",
        testLine("1F3FD", "component", "1.0", "medium skin tone"),
        testLine("2764", "unqualified", "0.6", "red heart"),
    ].joined(separator: "\n") + "\n"
}
