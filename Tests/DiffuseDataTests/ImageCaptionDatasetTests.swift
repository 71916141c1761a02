import DiffuseData
import DiffuseFormats
import Foundation
import Testing

@Suite struct ImageCaptionDatasetTests {
    /// A W×H RGB image whose left half is red and right half blue.
    static func halves(_ w: Int, _ h: Int) throws -> PNGImage {
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0 ..< h { for x in 0 ..< w { pixels[(y * w + x) * 3 + (x < w / 2 ? 0 : 2)] = 255 } }
        return try PNGImage(width: w, height: h, channels: 3, pixels: pixels)
    }

    static func folder(_ files: [String: Any]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("diffuse-dataset-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, content) in files {
            let url = dir.appendingPathComponent(name)
            if let image = content as? PNGImage { try image.write(to: url) }
            if let text = content as? String { try text.write(to: url, atomically: true, encoding: .utf8) }
        }
        return dir
    }

    @Test func captionsFromTextFilesAndResizedCenterCrops() throws {
        let dir = try Self.folder(["a.png": try Self.halves(40, 20), "a.txt": "red and blue\n", "b.png": try Self.halves(8, 8), "b.txt": "small"])
        let data = try ImageCaptionDataset(directory: dir, size: 16)
        #expect(data.entries.map(\.caption) == ["red and blue", "small"])
        let item = try data.item(at: 0)
        #expect(item.pixels.count == 3 * 16 * 16)
        // 40×20 → 32×16, center 16 columns: left 8 red, right 8 blue. Channel 0 = red, 2 = blue.
        #expect(item.pixels[0 * 256 + 5 * 16 + 0] == 1 && item.pixels[2 * 256 + 5 * 16 + 0] == -1)
        #expect(item.pixels[0 * 256 + 5 * 16 + 15] == -1 && item.pixels[2 * 256 + 5 * 16 + 15] == 1)
        let flipped = try data.item(at: 0, flip: true)
        #expect(flipped.pixels[0 * 256 + 5 * 16 + 0] == -1 && flipped.pixels[0 * 256 + 5 * 16 + 15] == 1)
        // Enlarging an 8×8 image keeps its halves.
        let small = try data.item(at: 1)
        #expect(small.pixels[0 * 256 + 3 * 16 + 2] == 1 && small.pixels[2 * 256 + 3 * 16 + 13] == 1)
    }

    @Test func metadataJSONLWins() throws {
        let dir = try Self.folder(["x.png": try Self.halves(4, 4), "metadata.jsonl": "{\"file_name\": \"x.png\", \"text\": \"from jsonl\"}\n"])
        #expect(try ImageCaptionDataset(directory: dir, size: 4).entries.map(\.caption) == ["from jsonl"])
        let bad = try Self.folder(["metadata.jsonl": "{\"file\": 1}\n"])
        #expect(throws: DatasetError.self) { try ImageCaptionDataset(directory: bad, size: 4) }
    }

    @Test func metadataKeywordsAreReadAndCheckedByLine() throws {
        let dir = try Self.folder(["x.png": try Self.halves(4, 4), "y.png": try Self.halves(4, 4), "metadata.jsonl":
            "{\"file_name\": \"x.png\", \"text\": \"red apple\", \"keywords\": [\"fruit\", \" apple \", \"\"]}\n{\"file_name\": \"y.png\", \"text\": \"plain\"}\n"])
        let data = try ImageCaptionDataset(directory: dir, size: 4)
        #expect(data.entries.map(\.keywords) == [["fruit", "apple"], []])
        let bad = try Self.folder(["x.png": try Self.halves(4, 4), "metadata.jsonl":
            "{\"file_name\": \"x.png\", \"text\": \"a\"}\n{\"file_name\": \"x.png\", \"text\": \"b\", \"keywords\": \"fruit\"}\n"])
        do {
            _ = try ImageCaptionDataset(directory: bad, size: 4)
            Issue.record("accepted a keywords string")
        } catch let error as DatasetError {
            #expect(error.description.contains("metadata.jsonl:2") && error.description.contains("keywords"))
        }
    }

    @Test func missingCaptionsAndBadImagesNameTheFile() throws {
        let dir = try Self.folder(["a.png": try Self.halves(4, 4), "a.txt": "ok", "b.png": try Self.halves(4, 4)])
        do {
            _ = try ImageCaptionDataset(directory: dir, size: 4)
            Issue.record("a missing caption should stop the scan")
        } catch let error as DatasetError {
            #expect(error.description.contains("b.png has no caption"))
        }
        let lenient = try ImageCaptionDataset(directory: dir, size: 4, skipBadFiles: true)
        #expect(lenient.count == 1 && lenient.skipped.map(\.file) == ["b.png"])
        let broken = try Self.folder(["c.png": "not a png", "c.txt": "caption"])
        let data = try ImageCaptionDataset(directory: broken, size: 4)
        #expect(throws: DatasetError.self) { _ = try data.item(at: 0) }
        #expect(throws: DatasetError.self) { try ImageCaptionDataset(directory: broken.appendingPathComponent("nope"), size: 4) }
    }

    @Test func epochOrderIsSeededAndResumable() {
        var a = EpochOrder(count: 10, seed: 7)
        let first = a.next(25)
        #expect(Set(first.prefix(10)) == Set(0 ..< 10) && Set(first[10 ..< 20]) == Set(0 ..< 10))
        #expect(Array(first.prefix(10)) != Array(0 ..< 10))
        var b = EpochOrder(count: 10, seed: 7)
        let head = b.next(13)
        var resumed = EpochOrder(count: 10, seed: 7, epoch: b.epoch, position: b.position)
        #expect(head + resumed.next(12) == first)
        var other = EpochOrder(count: 10, seed: 8)
        #expect(other.next(10) != Array(first.prefix(10)))
    }
}
