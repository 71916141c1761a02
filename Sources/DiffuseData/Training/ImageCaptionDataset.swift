import DiffuseFormats
import Foundation

/// A folder of training images with captions, in the convention diffusers and kohya users
/// already have: `NAME.png` beside `NAME.txt`, or a `metadata.jsonl` with `file_name` and `text`
/// per line (it wins when present).
///
/// Items load lazily (`item(at:)`), resized and center-cropped to `size`.
public struct ImageCaptionDataset: Sendable {
    public struct Entry: Sendable, Equatable {
        public var image: URL
        public var caption: String
        /// Other words for the image (metadata.jsonl `keywords`, e.g. CLDR's "fruit" for a red
        /// apple); empty when not given.
        public var keywords: [String] = []

        public init(image: URL, caption: String, keywords: [String] = []) {
            self.image = image
            self.caption = caption
            self.keywords = keywords
        }
    }

    /// One training example: RGB pixels `[3, size, size]` (channel-major) in [-1, 1], and its caption.
    public struct Item: Sendable {
        public var pixels: [Float]
        public var caption: String
    }

    public let directory: URL
    public let size: Int
    public private(set) var entries: [Entry]
    /// Files left out (only with `skipBadFiles`), with the reason.
    public private(set) var skipped: [(file: String, reason: String)] = []

    /// Scans `directory`.
    /// - Parameters:
    ///   - skipBadFiles: leave out images without a caption (and, at load time, unreadable images)
    ///     instead of stopping.
    /// - Throws: `DatasetError` naming the folder or file.
    public init(directory: URL, size: Int, skipBadFiles: Bool = false) throws {
        self.directory = directory
        self.size = size
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError("\(directory.path) is not a folder")
        }
        let metadata = directory.appendingPathComponent("metadata.jsonl")
        var entries: [Entry] = []
        if FileManager.default.fileExists(atPath: metadata.path) {
            let text = try String(contentsOf: metadata, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let object = (try? JSONValue.parse(String(line)))?.objectValue,
                      let file = object["file_name"]?.stringValue, let caption = object["text"]?.stringValue else {
                    throw DatasetError("\(metadata.path):\(number + 1): not a JSON object with string \"file_name\" and \"text\"")
                }
                var keywords: [String] = []
                if let value = object["keywords"], value != .null {
                    guard let items = value.arrayValue, case let list = items.compactMap(\.stringValue), list.count == items.count else {
                        throw DatasetError("\(metadata.path):\(number + 1): \"keywords\" must be an array of strings")
                    }
                    keywords = list.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                }
                entries.append(Entry(image: directory.appendingPathComponent(file), caption: caption, keywords: keywords))
            }
        } else {
            let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            for file in files where file.lowercased().hasSuffix(".png") {
                let image = directory.appendingPathComponent(file)
                let captionURL = image.deletingPathExtension().appendingPathExtension("txt")
                guard let caption = try? String(contentsOf: captionURL, encoding: .utf8) else {
                    if skipBadFiles { skipped.append((file, "no caption file \(captionURL.lastPathComponent)")); continue }
                    throw DatasetError("\(image.path) has no caption (\(captionURL.lastPathComponent) is missing or not UTF-8)")
                }
                entries.append(Entry(image: image, caption: caption.trimmingCharacters(in: .whitespacesAndNewlines)))
            }
            for file in files where [".jpg", ".jpeg", ".webp"].contains(where: file.lowercased().hasSuffix) {
                if skipBadFiles { skipped.append((file, "only PNG images are supported")); continue }
                throw DatasetError("\(directory.appendingPathComponent(file).path): only PNG images are supported (convert it, or pass --skip-bad-files)")
            }
        }
        guard !entries.isEmpty else { throw DatasetError("\(directory.path) has no captioned PNG images") }
        self.entries = entries
    }

    public var count: Int { entries.count }

    /// Loads entry `index`, resized and center-cropped; `flip` mirrors it left–right.
    public func item(at index: Int, flip: Bool = false) throws -> Item {
        let entry = entries[index]
        let image: PNGImage
        do { image = try PNGImage(contentsOf: entry.image) } catch {
            throw DatasetError("\(entry.image.path) cannot be read as an image: \(error)")
        }
        let square = try ImageResampler.resizeAndCenterCrop(image, size: size)
        var pixels = [Float](repeating: 0, count: 3 * size * size)
        for y in 0 ..< size {
            for x in 0 ..< size {
                let sx = flip ? size - 1 - x : x
                for c in 0 ..< 3 {
                    pixels[(c * size + y) * size + x] = Float(square.pixels[(y * size + sx) * 3 + c]) / 127.5 - 1
                }
            }
        }
        return Item(pixels: pixels, caption: entry.caption)
    }
}

/// A dataset problem, naming the file or folder.
public struct DatasetError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
