import ArgumentParser
import DiffuseData
import DiffuseTensor
import Foundation

struct Dataset: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build training datasets (images with same-name .txt captions).",
        subcommands: [Emoji.self]
    )

    struct Emoji: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Extract the colour emoji of Noto Color Emoji as captioned images.",
            discussion: """
            Reads the PNG bitmaps in the font's CBDT table (found through CBLC, cmap and the GSUB \
            ligatures for sequences), names them from emoji-test.txt (Debian unicode-data) or, as a \
            fallback, from Unicode character names, composites each on white, pads it to a square \
            and downsamples it. Writes NNNN.png + NNNN.txt (the caption, e.g. "red apple") and \
            metadata.jsonl, which also lists each emoji's CLDR keywords ("apple", "fruit") when the \
            annotation files are there. Debian packages: fonts-noto-color-emoji, unicode-data, \
            unicode-cldr-core (make deps).
            """
        )

        @Option(help: "Output folder (created if needed).")
        var output: String

        @Option(help: "Image side in pixels.")
        var size = 64

        @Option(help: "The colour emoji font.")
        var font = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"

        @Option(help: "Unicode's emoji-test.txt (emoji names).")
        var names = "/usr/share/unicode/emoji/emoji-test.txt"

        @Option(help: "CLDR emoji annotation XML files (keywords); repeat for several. Default: Debian unicode-cldr-core's English ones, when installed.")
        var keywords: [String] = []

        @Flag(help: "Write no keywords.")
        var noKeywords = false

        func validate() throws {
            guard (8 ... 1024).contains(size) else { throw ValidationError("--size \(size) is outside 8…1024") }
        }

        func run() throws {
            for (path, package) in [(font, "fonts-noto-color-emoji"), (names, "unicode-data")] where !FileManager.default.fileExists(atPath: path) {
                throw CLIError("\(path) is missing (install the Debian package \(package), or run make deps)")
            }
            var keywordFiles = keywords.map { URL(fileURLWithPath: $0) }
            if keywordFiles.isEmpty && !noKeywords {
                keywordFiles = EmojiKeywords.debianFiles.filter { FileManager.default.fileExists(atPath: $0.path) }
                if keywordFiles.isEmpty {
                    FileHandle.standardError.write(Data("warning: no CLDR keywords (install unicode-cldr-core, or run make deps); captions only\n".utf8))
                }
            }
            let start = Date()
            let report = try EmojiDataset.build(fontURL: URL(fileURLWithPath: font), namesURL: URL(fileURLWithPath: names),
                                                size: size, outputDirectory: URL(fileURLWithPath: output),
                                                keywords: noKeywords ? EmojiKeywords() : EmojiKeywords(files: keywordFiles),
                                                threads: Parallel.threadCount)
            print(report.summary)
            print(String(format: "%.1f s", Date().timeIntervalSince(start)))
        }
    }
}
