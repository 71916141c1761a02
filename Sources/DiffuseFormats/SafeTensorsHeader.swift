/// The validated contents of a safetensors header (internal; see `SafeTensorsFile`).
struct SafeTensorsHeader {
    /// Tensors by name.
    var tensors: [String: SafeTensorInfo]
    /// The `__metadata__` map (empty when absent).
    var metadata: [String: String]
    /// Byte offset of the data buffer from the start of the file: 8 + header length.
    var dataStart: Int

    /// Parses and validates the first bytes of a safetensors file against the whole file's bytes.
    ///
    /// Checks, in this order (the first failure is thrown): the 8-byte prefix, the header length
    /// (≤ `SafeTensorsFile.maxHeaderLength`, within the file), UTF-8, JSON, top-level object, then
    /// each entry in header order (object; `dtype`, `shape`, `data_offsets` present and well
    /// typed; known dtype; shape dims non-negative integers; offsets `[begin, end]` with
    /// `begin <= end`; `end - begin == product(shape) * byteSize`), then overlaps between tensors,
    /// then that every tensor lies inside the data buffer.
    ///
    /// Gaps between tensors (bytes no tensor refers to) are accepted: the specification says
    /// files should not have them, but they are harmless to a reader.
    static func parse(_ file: UnsafeRawBufferPointer, name: String) throws -> SafeTensorsHeader {
        guard file.count >= 8 else { throw SafeTensorsError.fileTooShort(file: name, size: file.count) }
        let headerLength = UInt64(littleEndian: file.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard headerLength <= UInt64(SafeTensorsFile.maxHeaderLength) else {
            throw SafeTensorsError.headerTooLarge(file: name, headerLength: headerLength)
        }
        guard headerLength <= UInt64(file.count - 8) else {
            throw SafeTensorsError.headerPastEndOfFile(file: name, headerLength: headerLength, fileSize: file.count)
        }
        let dataStart = 8 + Int(headerLength)
        let headerBytes = UnsafeRawBufferPointer(rebasing: file[8..<dataStart])
        guard isValidUTF8(headerBytes) else { throw SafeTensorsError.headerNotUTF8(file: name) }
        let json: JSONValue
        do {
            json = try JSONParser.parse(headerBytes, maxDepth: JSONValue.defaultMaxDepth)  // UTF-8 checked above
        } catch let error as JSONParseError {
            throw SafeTensorsError.invalidHeaderJSON(file: name, detail: error.description)
        }
        guard case .object(let members) = json else {
            throw SafeTensorsError.headerNotObject(file: name, found: json.typeName)
        }

        var tensors: [String: SafeTensorInfo] = [:]
        tensors.reserveCapacity(members.count)
        var metadata: [String: String]? = nil
        for (key, value) in members {
            if key == "__metadata__" {
                guard metadata == nil else {
                    throw SafeTensorsError.invalidMetadata(file: name, detail: "__metadata__ appears more than once")
                }
                metadata = try parseMetadata(value, file: name)
                continue
            }
            guard tensors[key] == nil else { throw SafeTensorsError.duplicateTensorName(file: name, tensor: key) }
            tensors[key] = try parseEntry(key, value, file: name)
        }

        let dataBytes = file.count - dataStart
        try checkLayout(Array(tensors.values), dataBytes: dataBytes, file: name)
        return SafeTensorsHeader(tensors: tensors, metadata: metadata ?? [:], dataStart: dataStart)
    }

    private static func parseMetadata(_ value: JSONValue, file: String) throws -> [String: String] {
        guard case .object(let members) = value else {
            throw SafeTensorsError.invalidMetadata(file: file, detail: "expected an object, found a \(value.typeName)")
        }
        var result: [String: String] = [:]
        for (key, item) in members {
            guard case .string(let text) = item else {
                throw SafeTensorsError.invalidMetadata(
                    file: file, detail: "value of \"\(key)\" is a \(item.typeName), expected a string")
            }
            guard result[key] == nil else {
                throw SafeTensorsError.invalidMetadata(file: file, detail: "key \"\(key)\" appears more than once")
            }
            result[key] = text
        }
        return result
    }

    private static func parseEntry(_ tensor: String, _ value: JSONValue, file: String) throws -> SafeTensorInfo {
        guard case .object(let fields) = value else {
            throw SafeTensorsError.entryNotObject(file: file, tensor: tensor)
        }
        func field(_ name: String) throws -> JSONValue {
            guard let found = fields.first(where: { $0.0 == name }) else {
                throw SafeTensorsError.missingField(file: file, tensor: tensor, field: name)
            }
            return found.1
        }
        func wrongType(_ field: String, _ expected: String, _ found: JSONValue) -> SafeTensorsError {
            .wrongFieldType(file: file, tensor: tensor, field: field, expected: expected, found: found.typeName)
        }

        // dtype
        let dtypeValue = try field("dtype")
        guard case .string(let dtypeName) = dtypeValue else { throw wrongType("dtype", "a string", dtypeValue) }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw SafeTensorsError.unknownDType(file: file, tensor: tensor, dtype: dtypeName)
        }

        // shape
        let shapeValue = try field("shape")
        guard case .array(let dims) = shapeValue else { throw wrongType("shape", "an array", shapeValue) }
        var shape: [Int] = []
        shape.reserveCapacity(dims.count)
        var elementCount = 1
        var overflow = false
        for (axis, dim) in dims.enumerated() {
            guard dim.doubleValue != nil else {
                throw SafeTensorsError.invalidShape(
                    file: file, tensor: tensor, detail: "dimension \(axis) is a \(dim.typeName), expected an integer")
            }
            guard let size = dim.exactInt else {
                throw SafeTensorsError.invalidShape(
                    file: file, tensor: tensor, detail: "dimension \(axis) is \(dim.serialized), not an integer that fits in 64 bits")
            }
            guard size >= 0 else {
                throw SafeTensorsError.invalidShape(file: file, tensor: tensor, detail: "dimension \(axis) is negative (\(size))")
            }
            shape.append(size)
            let (product, didOverflow) = elementCount.multipliedReportingOverflow(by: size)
            elementCount = product
            overflow = overflow || didOverflow
        }

        // data_offsets
        let offsetsValue = try field("data_offsets")
        guard case .array(let offsets) = offsetsValue else {
            throw wrongType("data_offsets", "an array [begin, end]", offsetsValue)
        }
        guard offsets.count == 2 else {
            throw SafeTensorsError.invalidDataOffsets(
                file: file, tensor: tensor, detail: "expected [begin, end], found \(offsets.count) values")
        }
        guard let begin = offsets[0].exactInt, let end = offsets[1].exactInt, begin >= 0, end >= 0 else {
            throw SafeTensorsError.invalidDataOffsets(
                file: file, tensor: tensor, detail: "begin and end must be non-negative integers")
        }
        guard begin <= end else {
            throw SafeTensorsError.reversedDataOffsets(file: file, tensor: tensor, begin: begin, end: end)
        }

        // size
        let (byteCount, byteOverflow) = elementCount.multipliedReportingOverflow(by: dtype.byteSize)
        // A zero dimension makes the count 0 even when other dims overflowed: that is still valid.
        if (overflow || byteOverflow) && !shape.contains(0) {
            throw SafeTensorsError.invalidShape(
                file: file, tensor: tensor, detail: "\(shape) has too many elements (overflows 64-bit byte count)")
        }
        let expectedBytes = shape.contains(0) ? 0 : byteCount
        guard expectedBytes == end - begin else {
            throw SafeTensorsError.shapeSizeMismatch(
                file: file, tensor: tensor, expectedBytes: expectedBytes, actualBytes: end - begin)
        }
        return SafeTensorInfo(name: tensor, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// Overlap and bounds checks over all tensors (names break ties so errors are deterministic).
    private static func checkLayout(_ infos: [SafeTensorInfo], dataBytes: Int, file: String) throws {
        let sorted = infos.sorted {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound, $0.name)
                < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name)
        }
        let nonEmpty = sorted.filter { !$0.dataOffsets.isEmpty }
        var contiguous = true
        var previousEnd = 0
        var previous: SafeTensorInfo? = nil
        for info in nonEmpty {
            if let p = previous, info.dataOffsets.lowerBound < p.dataOffsets.upperBound {
                let names = [p.name, info.name].sorted()
                throw SafeTensorsError.overlappingTensors(file: file, first: names[0], second: names[1])
            }
            if info.dataOffsets.lowerBound != previousEnd { contiguous = false }
            previousEnd = info.dataOffsets.upperBound
            previous = info
        }
        let maxEnd = sorted.map(\.dataOffsets.upperBound).max() ?? 0
        guard maxEnd > dataBytes else { return }
        if contiguous && previousEnd == maxEnd {
            throw SafeTensorsError.dataTruncated(file: file, expectedDataBytes: maxEnd, actualDataBytes: dataBytes)
        }
        if let bad = sorted.first(where: { $0.dataOffsets.upperBound > dataBytes }) {
            throw SafeTensorsError.dataOffsetsOutOfRange(
                file: file, tensor: bad.name, end: bad.dataOffsets.upperBound, dataBytes: dataBytes)
        }
    }
}
