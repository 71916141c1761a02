import DiffuseData
import Foundation
import Testing

/// The system emoji font and Unicode's emoji-test.txt (Debian packages fonts-noto-color-emoji and
/// unicode-data, installed by `make deps`).
enum SystemEmoji {
    static let fontURL = URL(fileURLWithPath: "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
    static let namesURL = URL(fileURLWithPath: "/usr/share/unicode/emoji/emoji-test.txt")

    static var available: Bool {
        FileManager.default.isReadableFile(atPath: fontURL.path) && FileManager.default.isReadableFile(atPath: namesURL.path)
    }

    static let skipMessage: Comment = "NotoColorEmoji.ttf or emoji-test.txt is not installed (run `make deps`: Debian packages fonts-noto-color-emoji and unicode-data)"

    /// The parsed font and names, loaded once for all tests.
    static let loaded: Result<(font: OpenTypeFont, entries: [EmojiTestEntry], catalog: EmojiCatalog), Error> = Result {
        let font = try OpenTypeFont(contentsOf: fontURL)
        let entries = try EmojiTestFile.read(namesURL)
        return (font, entries, EmojiCatalog(font: font, entries: entries))
    }
}

/// A fresh, empty temporary directory, removed when `body` returns.
func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("DiffuseDataTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

/// A small deterministic generator (SplitMix64) so test data is reproducible.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Code points from hex text: `"1F44D 1F3FD"`.
func scalars(_ hexText: String) -> [Unicode.Scalar] {
    hexText.split(separator: " ").compactMap { UInt32($0, radix: 16).flatMap(Unicode.Scalar.init) }
}
