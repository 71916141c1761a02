import DiffuseData
import DiffuseTensor

/// Batches of training images and captions, in the seeded epoch order of `EpochOrder` (so a
/// resumed run continues with the very next image), with optional random left–right flips and
/// caption dropout drawn from the trainer's `TrainingRandom`.
///
/// Decoded images are kept in memory when the whole dataset fits in `cacheLimitBytes`.
public final class TrainingData {
    public let dataset: ImageCaptionDataset
    public private(set) var order: EpochOrder
    public let flip: Bool
    /// Probability of replacing a caption by "" (trains the unconditional branch that
    /// classifier-free guidance needs).
    public let captionDropout: Double
    /// Probability of replacing a caption by one of the image's keywords (for images that have
    /// some), so that the model links more than one wording to each image.
    public let keywordCaptions: Double
    /// Probability of wrapping the chosen caption or keyword in one of `CaptionTemplates.all`
    /// ("a red apple", "red apple emoji"), chosen uniformly.
    public let captionTemplates: Double
    private var cache: [Int: [Float]] = [:]
    private let caching: Bool
    /// Leave out images that cannot be read (listed in `warnings`) instead of stopping.
    public var skipBadFiles = false
    /// Warnings not yet reported (the trainer drains them after each step).
    public var warnings: [String] = []
    private var unreadable = Set<Int>()

    public init(dataset: ImageCaptionDataset, seed: UInt64, flip: Bool, captionDropout: Double, keywordCaptions: Double = 0,
                captionTemplates: Double = 0, cacheLimitBytes: Int = 2 << 30) {
        self.dataset = dataset
        self.order = EpochOrder(count: dataset.count, seed: seed)
        self.flip = flip
        self.captionDropout = captionDropout
        self.keywordCaptions = keywordCaptions
        self.captionTemplates = captionTemplates
        caching = dataset.count * 3 * dataset.size * dataset.size * 4 <= cacheLimitBytes
    }

    /// Continues from an earlier run's position.
    public func restore(epoch: Int, position: Int) {
        order = EpochOrder(count: dataset.count, seed: order.seed, shuffle: order.shuffle, epoch: epoch, position: position)
    }

    /// The next `count` examples: pixels `[count, 3, size, size]` in [-1, 1] and captions.
    /// - Throws: `DatasetError` naming an unreadable image.
    public func nextBatch(_ count: Int, random: inout TrainingRandom) throws -> (pixels: Tensor, captions: [String]) {
        let size = dataset.size, plane = 3 * size * size
        let out = Tensor(uninitializedShape: [count, 3, size, size])
        var captions: [String] = []
        var n = 0
        while n < count {
            let index = order.next(1)[0]
            if unreadable.contains(index) { continue }
            let pixels: [Float]
            do { pixels = try image(index) } catch let error as DatasetError where skipBadFiles {
                unreadable.insert(index)
                guard unreadable.count < dataset.count else { throw DatasetError("\(dataset.directory.path): no image can be read") }
                warnings.append("warning: skipped \(error.description)")
                continue
            }
            let mirrored = flip && random.uniform() < 0.5
            let dropped = captionDropout > 0 && random.uniform() < captionDropout
            let dst = out.pointer + n * plane
            if mirrored {
                for row in 0 ..< 3 * size {
                    for x in 0 ..< size { dst[row * size + x] = pixels[row * size + size - 1 - x] }
                }
            } else {
                pixels.withUnsafeBufferPointer { src in dst.update(from: src.baseAddress!, count: plane) }
            }
            captions.append(dropped ? "" : caption(for: dataset.entries[index], random: &random))
            n += 1
        }
        return (out, captions)
    }

    /// The entry's caption, or with probability `keywordCaptions` one of its keywords; then, with
    /// probability `captionTemplates`, that text in a template sentence. Draws from `random` only
    /// for the options in use (keywords: only when the entry has some), so runs without them
    /// consume the stream as before.
    private func caption(for entry: ImageCaptionDataset.Entry, random: inout TrainingRandom) -> String {
        var text = entry.caption
        if keywordCaptions > 0, !entry.keywords.isEmpty, random.uniform() < keywordCaptions {
            text = entry.keywords[random.int(below: entry.keywords.count)]
        }
        if captionTemplates > 0, random.uniform() < captionTemplates {
            text = CaptionTemplates.apply(random.int(below: CaptionTemplates.all.count), to: text)
        }
        return text
    }

    /// Every caption `nextBatch` can return: captions, keywords (when used), their template
    /// sentences (when used) and "".
    public var possibleCaptions: [String] {
        var texts = dataset.entries.map(\.caption)
        if keywordCaptions > 0 { texts += dataset.entries.flatMap(\.keywords) }
        if captionTemplates > 0 { texts += texts.flatMap(CaptionTemplates.sentences(for:)) }
        return texts + [""]
    }

    private func image(_ index: Int) throws -> [Float] {
        if let cached = cache[index] { return cached }
        let pixels = try dataset.item(at: index).pixels
        if caching { cache[index] = pixels }
        return pixels
    }
}
