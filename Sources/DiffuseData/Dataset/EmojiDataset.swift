import DiffuseFormats
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds a text-to-image training set from a color emoji font: one small square image per named
/// emoji, with its CLDR short name as the caption.
///
/// The folder follows the convention diffusers' `imagefolder` loader and kohya's scripts read:
/// ```
/// 0001.png   0001.txt ("grinning face")
/// 0002.png   0002.txt
/// …
/// metadata.jsonl   {"file_name": "0001.png", "text": "grinning face", "codepoints": "1F600", "group": "Smileys & Emotion", "subgroup": "face-smiling",
///                   "keywords": ["face", "grin"]}
/// ```
/// `keywords` (CLDR's emoji keywords other than the name, `EmojiKeywords`) is written when
/// keyword files are given and know the emoji; `diffuse train --keyword-captions` can train on them.
/// Images are RGB PNGs (`EmojiThumbnail`); captions are UTF-8 without a trailing newline; numbers
/// have at least four digits and follow `EmojiCatalog` order (emoji-test.txt's CLDR order).
/// Every file is written atomically (temporary file, `fsync`, rename; the folder is `fsync`ed once
/// after the images). An existing `metadata.jsonl` is removed first and the new one written last,
/// so whenever the folder has a `metadata.jsonl`, the images it lists are complete. Numbered `.png`/`.txt` files left from
/// an earlier build that this build did not write are removed; other files are left alone.
/// The output is deterministic: the same font, names and size give byte-identical files.
public enum EmojiDataset {
    /// Builds the dataset.
    ///
    /// - Parameters:
    ///   - fontURL: a color emoji font with `CBLC`/`CBDT` PNG bitmaps, e.g.
    ///     `/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf`.
    ///   - namesURL: Unicode's `emoji-test.txt`, e.g. `/usr/share/unicode/emoji/emoji-test.txt`.
    ///   - size: the image side in pixels (default 64).
    ///   - keywords: CLDR keywords to add to the metadata (none by default).
    ///   - outputDirectory: created if missing.
    ///   - threads: worker threads for decoding, resampling and writing (default: every active
    ///     processor). The output does not depend on it.
    /// - Throws: `OpenTypeError`, `EmojiTestFileError`, `EmojiDatasetError`.
    public static func build(fontURL: URL, namesURL: URL, size: Int = 64, outputDirectory: URL,
                             keywords: EmojiKeywords = EmojiKeywords(), threads: Int? = nil) throws -> EmojiDatasetReport {
        guard (1...4096).contains(size) else { throw EmojiDatasetError.invalidSize(size) }
        let font = try OpenTypeFont(contentsOf: fontURL)
        let entries = try EmojiTestFile.read(namesURL)
        let catalog = EmojiCatalog(font: font, entries: entries)
        guard let strikeIndex = catalog.strikeIndex else { throw EmojiDatasetError.noColorBitmaps(font: font.name) }
        try createDirectory(outputDirectory)
        // An earlier build's metadata.jsonl goes first: while images are being replaced, no
        // metadata.jsonl describes them.
        let metadataURL = outputDirectory.appendingPathComponent("metadata.jsonl")
        if unlink(metadataURL.path) == 0 {
            AtomicFile.syncDirectory(outputDirectory.path)
        } else if errno != ENOENT {
            throw EmojiDatasetError.io(path: metadataURL.path, reason: "cannot remove the old file: \(String(cString: strerror(errno)))")
        }

        let items = catalog.items
        let width = max(4, String(items.count).count)
        let stems = items.indices.map { DatasetMetadata.stem($0 + 1, width: width) }

        // Each item is independent: decode, resample, encode, write. Errors are kept per item and
        // the first one (in item order) is thrown, so the result does not depend on scheduling.
        let workers = max(1, min(threads ?? ProcessInfo.processInfo.activeProcessorCount, items.count))
        var failures = [Error?](repeating: nil, count: items.count)
        failures.withUnsafeMutableBufferPointer { slots in
            let slots = SendableSlots(slots)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                for i in stride(from: worker, to: items.count, by: workers) {
                    do {
                        try writeItem(items[i], font: font, strikeIndex: strikeIndex, size: size,
                                      directory: outputDirectory, stem: stems[i])
                    } catch {
                        slots.buffer[i] = error
                    }
                }
            }
        }
        if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
        AtomicFile.syncDirectory(outputDirectory.path)  // the images' names, before metadata.jsonl

        var metadata = ""
        var withKeywords = 0
        for (item, stem) in zip(items, stems) {
            let words = keywords.keywords(for: item.scalars, excluding: item.name)
            if !words.isEmpty { withKeywords += 1 }
            metadata += DatasetMetadata.jsonLine(fileName: stem + ".png", item: item, keywords: words)
        }
        try AtomicFile.write(Array(metadata.utf8), to: metadataURL)
        let removed = try removeStaleFiles(in: outputDirectory, keeping: Set(stems.flatMap { [$0 + ".png", $0 + ".txt"] }))

        let fromNames = items.filter { $0.source == .unicodeScalarName }.count
        var report = EmojiDatasetReport(
            outputDirectory: outputDirectory, size: size, glyphsInFont: catalog.glyphCount,
            glyphsWithImages: catalog.glyphsWithImages, ppem: font.strikes[strikeIndex].ppemY,
            imagesWritten: items.count, namedFromEmojiTest: items.count - fromNames, namedFromUnicodeNames: fromNames,
            skipped: catalog.skipped, duplicates: catalog.duplicates, entriesNotInFont: catalog.entriesNotInFont.count,
            staleFilesRemoved: removed)
        report.imagesWithKeywords = withKeywords
        return report
    }

    /// The largest embedded PNG accepted, per side (`CBDT` metrics are single bytes, ≤ 255).
    public static let maxBitmapSide = 1024

    /// The training image of one catalog item: its bitmap, decoded and made square (`EmojiThumbnail`).
    /// - Throws: `OpenTypeError` for a bad image record, `EmojiDatasetError.badImage` for a bad PNG.
    public static func image(for item: EmojiCatalog.Item, font: OpenTypeFont, strikeIndex: Int? = nil, size: Int) throws -> PNGImage {
        guard let bitmap = try font.colorBitmap(for: item.glyph, strikeIndex: strikeIndex) else {
            throw EmojiDatasetError.badImage(glyph: Int(item.glyph), codePoints: item.codePointsText, detail: "the glyph has no image")
        }
        // Emoji bitmaps are small (their metrics are bytes); refuse a PNG header claiming a huge
        // image before the decoder allocates for it.
        if bitmap.png.count >= 24 {
            let width = bitmap.png[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = bitmap.png[20..<24].reduce(0) { $0 << 8 | Int($1) }
            guard width <= maxBitmapSide, height <= maxBitmapSide else {
                throw EmojiDatasetError.badImage(glyph: Int(item.glyph), codePoints: item.codePointsText,
                                                 detail: "the PNG claims \(width)x\(height) pixels, more than \(maxBitmapSide) per side")
            }
        }
        do {
            let decoded = try PNGDecoder.decode(Data(bitmap.png), name: "glyph \(item.glyph)")
            return try EmojiThumbnail.make(decoded, size: size)
        } catch let error as PNGError {
            throw EmojiDatasetError.badImage(glyph: Int(item.glyph), codePoints: item.codePointsText, detail: error.description)
        }
    }

    private static func writeItem(_ item: EmojiCatalog.Item, font: OpenTypeFont, strikeIndex: Int, size: Int,
                                  directory: URL, stem: String) throws {
        let image = try image(for: item, font: font, strikeIndex: strikeIndex, size: size)
        let png: Data
        do {
            png = try PNGEncoder.encode(image)
        } catch let error as PNGError {
            throw EmojiDatasetError.badImage(glyph: Int(item.glyph), codePoints: item.codePointsText, detail: error.description)
        }
        try AtomicFile.write([UInt8](png), to: directory.appendingPathComponent(stem + ".png"), syncDirectory: false)
        try AtomicFile.write(Array(item.name.utf8), to: directory.appendingPathComponent(stem + ".txt"), syncDirectory: false)
    }

    private static func createDirectory(_ url: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw EmojiDatasetError.io(path: url.path, reason: "exists and is not a folder") }
            return
        }
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw EmojiDatasetError.io(path: url.path, reason: "cannot create folder: \(error.localizedDescription)")
        }
    }

    /// Removes numbered `.png`/`.txt` files not in `keeping`; returns how many.
    private static func removeStaleFiles(in directory: URL, keeping: Set<String>) throws -> Int {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw EmojiDatasetError.io(path: directory.path, reason: "cannot list folder: \(error.localizedDescription)")
        }
        var removed = 0
        for name in names.sorted() where DatasetMetadata.isNumberedFile(name) && !keeping.contains(name) {
            let url = directory.appendingPathComponent(name)
            do {
                try FileManager.default.removeItem(at: url)
            } catch {
                throw EmojiDatasetError.io(path: url.path, reason: "cannot remove stale file: \(error.localizedDescription)")
            }
            removed += 1
        }
        return removed
    }
}

/// A buffer whose distinct elements are written by distinct threads (internal).
private struct SendableSlots: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Error?>
    init(_ buffer: UnsafeMutableBufferPointer<Error?>) { self.buffer = buffer }
}
