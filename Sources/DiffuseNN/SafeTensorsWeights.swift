import DiffuseFormats
import DiffuseTensor
import Foundation

/// Weights read from one or more `.safetensors` files (a checkpoint and its shards), decoded to
/// float32 on demand (F32, F16, BF16 and the other numeric dtypes); the mapped pages of a tensor
/// read are given back (`SafeTensorsFile.releasePages`), so the file does not stay resident
/// beside the decoded copy.
public struct SafeTensorsWeights: WeightSource {
    public let files: [SafeTensorsFile]
    private let index: [String: Int]
    public let name: String

    /// Opens `urls` (memory-mapped); tensor names must be unique across them.
    public init(_ urls: [URL]) throws {
        var files: [SafeTensorsFile] = []
        var index: [String: Int] = [:]
        for url in urls {
            let file = try SafeTensorsFile(url: url)
            for tensorName in file.tensorNames {
                if let other = index[tensorName] {
                    throw WeightLoadingError(source: url.path, missing: [], mismatched: ["\(tensorName) also in \(urls[other].path)"], unexpected: [])
                }
                index[tensorName] = files.count
            }
            files.append(file)
        }
        self.files = files
        self.index = index
        self.name = urls.count == 1 ? urls[0].path : "\(urls.count) files in \(urls[0].deletingLastPathComponent().path)"
    }

    public init(_ url: URL) throws { try self.init([url]) }

    public var tensorNames: [String] { index.keys.sorted() }
    public var isMemoryMapped: Bool { true }

    public func shape(of name: String) -> [Int]? {
        guard let i = index[name] else { return nil }
        return try? files[i].info(name).shape
    }

    public func float16Values(of name: String) -> (bits: UnsafePointer<UInt16>, owner: AnyObject)? {
        guard let i = index[name], let bits = files[i].float16Elements(name) else { return nil }
        return (bits, files[i])
    }

    public func tensor(named name: String) throws -> Tensor {
        guard let i = index[name] else {
            throw WeightLoadingError(source: self.name, missing: [name], mismatched: [], unexpected: [])
        }
        let file = files[i]
        let info = try file.info(name)
        let out = Tensor(uninitializedShape: info.shape)
        // Large tensors are decoded on every core (float16 → float32 is memory-bound per core).
        let count = out.count, destination = out.pointer
        if let bits = file.float16Elements(name) {
            Float16Widening.widen(bits, into: destination, count: count)
            file.releasePages(of: name)
            return out
        }
        var failure: Error?
        Parallel.forRange(count, minPerThread: 1 << 20) { range in
            do { try file.copyFloats(name, elements: range, into: destination + range.lowerBound) } catch { failure = error }
        }
        if let failure { throw failure }
        file.releasePages(of: name)
        return out
    }
}
