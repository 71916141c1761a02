import Foundation

/// Writes safetensors files.
///
/// Layout: the header lists `__metadata__` (if any) and then the tensors in data order; the JSON
/// is padded with spaces to a multiple of 8 bytes so the data buffer starts 8-byte aligned.
/// Tensors are laid out contiguously (no gaps, as the specification requires) ordered by element
/// size, largest first, then by name — the order the reference `safetensors` library uses — so
/// every tensor starts at a multiple of its element size and can be read in place from a mapping.
public enum SafeTensorsWriter {
    /// One tensor to write.
    public struct Entry: Sendable {
        /// How `init(name:shape:floats:format:)` stores floats.
        public enum FloatFormat: Sendable {
            /// F32, bit-exact.
            case float32
            /// F16, rounded to nearest even (overflow to ±inf).
            case float16
            /// BF16, rounded to nearest even.
            case bfloat16

            var dtype: SafeTensorsDType {
                switch self {
                case .float32: return .float32
                case .float16: return .float16
                case .bfloat16: return .bfloat16
                }
            }
        }

        /// The tensor name (any string except `"__metadata__"`; names must be unique).
        public var name: String
        public var dtype: SafeTensorsDType
        /// Dimensions, outermost first; `[]` is a scalar.
        public var shape: [Int]
        /// Little-endian element data: exactly `product(shape) * dtype.byteSize` bytes.
        public var bytes: [UInt8]

        public init(name: String, dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        public init(name: String, dtype: SafeTensorsDType, shape: [Int], data: Data) {
            self.init(name: name, dtype: dtype, shape: shape, bytes: [UInt8](data))
        }

        /// A float tensor stored as F32, F16 or BF16. `floats.count` must equal `product(shape)`
        /// (checked when written).
        public init(name: String, shape: [Int], floats: [Float], format: FloatFormat = .float32) {
            let bytes: [UInt8]
            switch format {
            case .float32:
                bytes = floats.withUnsafeBytes { [UInt8]($0) }
            case .float16:
                bytes = HalfConversion.float16Bits(from: floats).withUnsafeBytes { [UInt8]($0) }
            case .bfloat16:
                bytes = HalfConversion.bfloat16Bits(from: floats).withUnsafeBytes { [UInt8]($0) }
            }
            self.init(name: name, dtype: format.dtype, shape: shape, bytes: bytes)
        }
    }

    /// Writes `entries` (and `metadata` as `__metadata__`, omitted when empty) to `url`
    /// atomically: a temporary file in the same directory is written, `fsync`ed and renamed over
    /// `url`, so `url` never holds a partial file.
    /// - Throws: `SafeTensorsError.invalidEntry` (duplicate or reserved name, negative dimension,
    ///   byte count not matching the shape), `.io`.
    public static func write(_ entries: [Entry], metadata: [String: String] = [:], to url: URL) throws {
        let (header, ordered) = try layout(entries, metadata: metadata, file: url.path)
        do {
            try FileIO.writeAtomically(to: url) { write in
                try header.withUnsafeBytes { try write($0) }
                for entry in ordered { try entry.bytes.withUnsafeBytes { try write($0) } }
            }
        } catch let error as FileIOError {
            throw SafeTensorsError.io(file: url.path, reason: "\(error.operation) failed: \(error.reason) (\(error.path))")
        }
    }

    /// The complete file as bytes in memory (same layout as `write`). `name` is used in errors.
    public static func serialize(_ entries: [Entry], metadata: [String: String] = [:],
                                 name: String = "<memory>") throws -> Data {
        let (header, ordered) = try layout(entries, metadata: metadata, file: name)
        var data = Data(header)
        for entry in ordered { data.append(contentsOf: entry.bytes) }
        return data
    }

    /// Validates the entries and builds the 8-byte length prefix plus padded header.
    private static func layout(_ entries: [Entry], metadata: [String: String],
                               file: String) throws -> (header: [UInt8], ordered: [Entry]) {
        var seen = Set<String>()
        for entry in entries {
            guard entry.name != "__metadata__" else {
                throw SafeTensorsError.invalidEntry(file: file, tensor: entry.name, detail: "the name is reserved")
            }
            guard seen.insert(entry.name).inserted else {
                throw SafeTensorsError.duplicateTensorName(file: file, tensor: entry.name)
            }
            guard entry.shape.allSatisfy({ $0 >= 0 }) else {
                throw SafeTensorsError.invalidEntry(file: file, tensor: entry.name, detail: "negative dimension in shape \(entry.shape)")
            }
            var expected = entry.dtype.byteSize
            var overflow = false
            for dim in entry.shape {
                let (product, o) = expected.multipliedReportingOverflow(by: dim)
                expected = product
                overflow = overflow || o
            }
            if entry.shape.contains(0) { expected = 0; overflow = false }
            guard !overflow, expected == entry.bytes.count else {
                throw SafeTensorsError.invalidEntry(
                    file: file, tensor: entry.name,
                    detail: "\(entry.bytes.count) bytes given but shape \(entry.shape) of \(entry.dtype.rawValue) needs \(overflow ? "too many" : String(expected))")
            }
        }
        let ordered = entries.sorted { a, b in
            a.dtype.byteSize != b.dtype.byteSize ? a.dtype.byteSize > b.dtype.byteSize : a.name < b.name
        }

        var json = "{"
        var first = true
        if !metadata.isEmpty {
            json += JSONValue.quoted("__metadata__") + ":{"
            json += metadata.keys.sorted().map { JSONValue.quoted($0) + ":" + JSONValue.quoted(metadata[$0] ?? "") }
                .joined(separator: ",")
            json += "}"
            first = false
        }
        var offset = 0
        for entry in ordered {
            if !first { json += "," }
            first = false
            let end = offset + entry.bytes.count
            json += JSONValue.quoted(entry.name)
            json += ":{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(entry.shape.map(String.init).joined(separator: ","))]"
            json += ",\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        json += "}"
        var headerBytes = Array(json.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var result = [UInt8]()
        result.reserveCapacity(8 + headerBytes.count)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { result.append(contentsOf: $0) }
        result.append(contentsOf: headerBytes)
        return (result, ordered)
    }
}
