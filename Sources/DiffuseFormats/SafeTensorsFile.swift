import Foundation

/// A read-only safetensors file.
///
/// `init(url:)` memory-maps the whole file (`mmap` with `PROT_READ`, `MAP_PRIVATE`; unmapped when
/// the object is released), validates the header completely (see `SafeTensorsError` for what is
/// checked) and then does nothing more until a tensor is asked for: tensor data is neither read nor
/// converted at open time, so opening a multi-gigabyte checkpoint costs only the header parse.
///
/// After a successful `init`, every tensor's byte range is known to lie inside the file, so the
/// accessors cannot read out of bounds. Instances are immutable and safe to use from several
/// threads at once.
///
/// Data is interpreted as little-endian (the format's byte order; all supported hosts are
/// little-endian).
public final class SafeTensorsFile: @unchecked Sendable {
    /// The largest header accepted: 100 MB (real checkpoints have headers of a few hundred KB).
    public static let maxHeaderLength = 100_000_000

    /// The file's path (or the name given to `init(data:name:)`), used in error messages.
    public let fileName: String
    /// All tensor names, sorted.
    public let tensorNames: [String]
    /// The header's `__metadata__` map (empty if absent).
    public let metadata: [String: String]
    /// Byte offset of the data buffer in the file (8 + header length).
    public let dataStart: Int

    private let tensors: [String: SafeTensorInfo]
    private let bytes: UnsafeRawBufferPointer
    private let mapping: MappedFile?
    private let ownedBytes: UnsafeMutableRawBufferPointer?

    /// Opens and validates the safetensors file at `url` (memory-mapped).
    /// - Throws: `SafeTensorsError` (`.io` if the file cannot be opened or mapped).
    public init(url: URL) throws {
        let path = url.path
        let mapping: MappedFile
        do {
            mapping = try MappedFile(path: path)
        } catch let error as FileIOError {
            throw SafeTensorsError.io(file: path, reason: "\(error.operation) failed: \(error.reason)")
        }
        let header = try SafeTensorsHeader.parse(mapping.bytes, name: path)
        self.fileName = path
        self.mapping = mapping
        self.ownedBytes = nil
        self.bytes = mapping.bytes
        self.tensors = header.tensors
        self.metadata = header.metadata
        self.dataStart = header.dataStart
        self.tensorNames = header.tensors.keys.sorted()
    }

    /// Parses a safetensors file held in memory (the bytes are copied). `name` is used in errors.
    public init(data: Data, name: String) throws {
        let owned = UnsafeMutableRawBufferPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
        data.withUnsafeBytes { source in
            if let base = source.baseAddress, let destination = owned.baseAddress {
                destination.copyMemory(from: base, byteCount: source.count)
            }
        }
        let view = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(owned)[0..<data.count])
        let header: SafeTensorsHeader
        do {
            header = try SafeTensorsHeader.parse(view, name: name)
        } catch {
            owned.deallocate()
            throw error
        }
        self.fileName = name
        self.mapping = nil
        self.ownedBytes = owned
        self.bytes = view
        self.tensors = header.tensors
        self.metadata = header.metadata
        self.dataStart = header.dataStart
        self.tensorNames = header.tensors.keys.sorted()
    }

    deinit {
        ownedBytes?.deallocate()
        // `mapping` unmaps itself when released.
    }

    /// Whether the file has a tensor named `name`.
    public func contains(_ name: String) -> Bool { tensors[name] != nil }

    /// The header entry of tensor `name`.
    /// - Throws: `SafeTensorsError.tensorNotFound`.
    public func info(_ name: String) throws -> SafeTensorInfo {
        guard let info = tensors[name] else { throw SafeTensorsError.tensorNotFound(file: fileName, tensor: name) }
        return info
    }

    /// All header entries, sorted by name.
    public var allInfo: [SafeTensorInfo] { tensorNames.compactMap { tensors[$0] } }

    /// Calls `body` with the tensor's raw little-endian bytes (`info(name).byteCount` bytes, no
    /// copy; the memory is valid only during the call and must not be written).
    /// - Throws: `SafeTensorsError.tensorNotFound`, or whatever `body` throws.
    public func withRawBytes<R>(_ name: String, body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try info(name)
        let start = dataStart + info.dataOffsets.lowerBound
        return try body(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + info.byteCount)]))
    }

    /// Decodes tensor `name` to 32-bit floats at `destination`, which must have room for `count`
    /// elements; `count` must equal the tensor's element count.
    ///
    /// F32 is copied; F16 and BF16 are widened exactly (`HalfConversion`); F64 is rounded to
    /// nearest; integer types are converted to the nearest `Float`; BOOL becomes 0 or 1.
    /// - Throws: `SafeTensorsError.tensorNotFound`, `.elementCountMismatch`.
    public func copyFloats(_ name: String, into destination: UnsafeMutablePointer<Float>, count: Int) throws {
        let info = try info(name)
        let n = info.elementCount
        guard count == n else {
            throw SafeTensorsError.elementCountMismatch(file: fileName, tensor: name, expected: n, requested: count)
        }
        guard n > 0 else { return }
        try withRawBytes(name) { raw in
            SafeTensorsFile.decode(raw, dtype: info.dtype, count: n, into: destination)
        }
    }

    /// Decodes elements `range` (in the tensor's row-major order) of tensor `name` to 32-bit
    /// floats at `destination`, which must have room for `range.count` elements: a part of
    /// `copyFloats`, so that callers can decode a large tensor's parts on several threads.
    /// - Throws: `SafeTensorsError.tensorNotFound`, `.elementCountMismatch` when `range` is not
    ///   inside the tensor.
    public func copyFloats(_ name: String, elements range: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        let info = try info(name)
        guard range.lowerBound >= 0, range.upperBound <= info.elementCount else {
            throw SafeTensorsError.elementCountMismatch(file: fileName, tensor: name, expected: info.elementCount,
                                                        requested: range.upperBound)
        }
        guard !range.isEmpty else { return }
        let size = info.dtype.byteSize
        try withRawBytes(name) { raw in
            let part = UnsafeRawBufferPointer(rebasing: raw[(range.lowerBound * size)..<(range.upperBound * size)])
            SafeTensorsFile.decode(part, dtype: info.dtype, count: range.count, into: destination)
        }
    }

    /// Gives back the memory-mapped pages that lie wholly inside tensor `name`'s bytes
    /// (`madvise(MADV_DONTNEED)`): they leave the process's resident memory, and a later read of
    /// the tensor maps them in again from the page cache or the disk. For a caller that has
    /// decoded the tensor into its own memory. Does nothing for files parsed from memory.
    public func releasePages(of name: String) {
        guard let mapping, let base = mapping.base, let info = tensors[name] else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = dataStart + info.dataOffsets.lowerBound, end = start + info.byteCount
        let first = (start + page - 1) / page * page, last = end / page * page
        guard last > first else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + first), last - first, MADV_DONTNEED)
    }

    /// The elements of tensor `name` in place in the file's mapping when it is an F16 tensor at a
    /// 2-byte aligned address of a memory-mapped file (no copy; valid while this object lives,
    /// read-only); nil otherwise (another dtype, a file parsed from memory, an odd offset).
    public func float16Elements(_ name: String) -> UnsafePointer<UInt16>? {
        guard mapping != nil, let info = tensors[name], info.dtype == .float16, let base = bytes.baseAddress else { return nil }
        let start = base + dataStart + info.dataOffsets.lowerBound
        guard Int(bitPattern: start) % MemoryLayout<UInt16>.alignment == 0 else { return nil }
        return start.assumingMemoryBound(to: UInt16.self)
    }

    /// Decodes tensor `name` to a new `[Float]` (see `copyFloats`).
    public func floats(_ name: String) throws -> [Float] {
        let n = try info(name).elementCount
        return try [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
            if let base = buffer.baseAddress { try copyFloats(name, into: base, count: n) }
            initialized = n
        }
    }

    // MARK: - Decoding

    private static func decode(_ raw: UnsafeRawBufferPointer, dtype: SafeTensorsDType, count n: Int,
                               into dst: UnsafeMutablePointer<Float>) {
        guard let src = raw.baseAddress else { return }
        switch dtype {
        case .float32:
            UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: n * 4)
        case .float16, .bfloat16:
            // Copy through an aligned scratch block so unaligned tensors are handled too.
            let block = 4096
            withUnsafeTemporaryAllocation(of: UInt16.self, capacity: block) { scratch in
                guard let tmp = scratch.baseAddress else { return }
                var i = 0
                while i < n {
                    let m = min(block, n - i)
                    UnsafeMutableRawPointer(tmp).copyMemory(from: src + 2 * i, byteCount: 2 * m)
                    if dtype == .float16 {
                        HalfConversion.float16ToFloat(tmp, dst + i, m)
                    } else {
                        HalfConversion.bfloat16ToFloat(tmp, dst + i, m)
                    }
                    i += m
                }
            }
        case .float64:
            for i in 0..<n {
                dst[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        case .bool:
            for i in 0..<n { dst[i] = src.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0 }
        case .uint8:
            for i in 0..<n { dst[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
        case .int8:
            for i in 0..<n { dst[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
        case .int16:
            for i in 0..<n { dst[i] = Float(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
        case .uint16:
            for i in 0..<n { dst[i] = Float(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .int32:
            for i in 0..<n { dst[i] = Float(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
        case .uint32:
            for i in 0..<n { dst[i] = Float(UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .int64:
            for i in 0..<n { dst[i] = Float(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
        case .uint64:
            for i in 0..<n { dst[i] = Float(UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) }
        }
    }
}
