import Foundation

/// The last `capacity` generated PNGs, by id, for `response_format: url` replies and
/// `GET /images/<id>.png`; adding one more evicts the oldest, so memory stays bounded.
public final class ImageStore: @unchecked Sendable {
    private let lock = NSLock()
    private var images: [String: Data] = [:]
    private var order: [String] = []  // oldest first
    private var head = 0              // index of the oldest live id in `order`
    /// The most images kept.
    public let capacity: Int

    /// A store keeping at most `capacity` images (at least 1).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Keeps `png` and returns its new id (32 hex digits, unguessable).
    public func add(_ png: Data) -> String {
        let id = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        lock.lock()
        defer { lock.unlock() }
        images[id] = png
        order.append(id)
        while images.count > capacity {
            images[order[head]] = nil
            head += 1
        }
        if head > capacity {  // compact the eviction log now and then
            order.removeFirst(head)
            head = 0
        }
        return id
    }

    /// The PNG with this id, if it is still kept.
    public func image(id: String) -> Data? {
        lock.lock()
        defer { lock.unlock() }
        return images[id]
    }

    /// How many images are kept now.
    public var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return images.count
    }
}
