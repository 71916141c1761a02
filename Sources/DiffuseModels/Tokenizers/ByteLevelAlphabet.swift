/// GPT-2's reversible byte → character table (`bytes_to_unicode` in CLIP and transformers): the
/// printable bytes `!`...`~`, `¡`...`¬` and `®`...`ÿ` stand for themselves, the other 68 bytes
/// (controls, space, U+00AD …) for U+0100, U+0101, … in byte order. Byte-level BPE vocabularies
/// are written in these characters, so a BPE word starts as one such character per UTF-8 byte.
enum ByteLevelAlphabet {
    /// `characters[b]` is the character standing for byte `b`.
    static let characters: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 0x100
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                // 0x100 ..< 0x144: always valid scalars.
                table[byte] = Unicode.Scalar(next) ?? "\0"
                next += 1
            }
        }
        return table
    }()
}
