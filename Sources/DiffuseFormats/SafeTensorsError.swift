/// Why a safetensors file could not be read or written. Every case carries the file (its path, or
/// the name given to `SafeTensorsFile(data:name:)`) and, where one is involved, the tensor; the
/// `description` is one line naming both.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened, mapped or written (see `FileIOError`).
    case io(file: String, reason: String)
    /// The file is shorter than the 8-byte header-length prefix.
    case fileTooShort(file: String, size: Int)
    /// The header length is larger than `SafeTensorsFile.maxHeaderLength` (100 MB).
    case headerTooLarge(file: String, headerLength: UInt64)
    /// The header length runs past the end of the file.
    case headerPastEndOfFile(file: String, headerLength: UInt64, fileSize: Int)
    /// The header bytes are not valid UTF-8.
    case headerNotUTF8(file: String)
    /// The header is not valid JSON.
    case invalidHeaderJSON(file: String, detail: String)
    /// The header's JSON value is not an object.
    case headerNotObject(file: String, found: String)
    /// A tensor name appears twice in the header.
    case duplicateTensorName(file: String, tensor: String)
    /// A tensor's entry is not a JSON object.
    case entryNotObject(file: String, tensor: String)
    /// A tensor's entry lacks `dtype`, `shape` or `data_offsets`.
    case missingField(file: String, tensor: String, field: String)
    /// A field has the wrong JSON type (e.g. `"shape": "2x3"`).
    case wrongFieldType(file: String, tensor: String, field: String, expected: String, found: String)
    /// The `dtype` string is not one of `SafeTensorsDType`.
    case unknownDType(file: String, tensor: String, dtype: String)
    /// A shape dimension is negative, not an integer, or the element count overflows.
    case invalidShape(file: String, tensor: String, detail: String)
    /// `data_offsets` is not a pair of non-negative integers `[begin, end]`.
    case invalidDataOffsets(file: String, tensor: String, detail: String)
    /// `data_offsets` has `begin > end`.
    case reversedDataOffsets(file: String, tensor: String, begin: Int, end: Int)
    /// `end - begin` differs from `product(shape) * byteSize`.
    case shapeSizeMismatch(file: String, tensor: String, expectedBytes: Int, actualBytes: Int)
    /// Two tensors' byte ranges overlap.
    case overlappingTensors(file: String, first: String, second: String)
    /// The tensors tile the data buffer contiguously but the file ends before the last one does:
    /// the file was cut short (e.g. an interrupted download).
    case dataTruncated(file: String, expectedDataBytes: Int, actualDataBytes: Int)
    /// A tensor's `data_offsets` end lies beyond the data buffer (and the file is not simply
    /// truncated: the tensors do not tile the buffer).
    case dataOffsetsOutOfRange(file: String, tensor: String, end: Int, dataBytes: Int)
    /// `__metadata__` is not an object whose values are all strings.
    case invalidMetadata(file: String, detail: String)
    /// No tensor with this name is in the file.
    case tensorNotFound(file: String, tensor: String)
    /// `copyFloats` was given a count that differs from the tensor's element count.
    case elementCountMismatch(file: String, tensor: String, expected: Int, requested: Int)
    /// The writer was given an invalid entry (bad name, byte count not matching the shape, …).
    case invalidEntry(file: String, tensor: String, detail: String)

    /// The file the error is about.
    public var file: String {
        switch self {
        case .io(let f, _), .fileTooShort(let f, _), .headerTooLarge(let f, _),
             .headerPastEndOfFile(let f, _, _), .headerNotUTF8(let f), .invalidHeaderJSON(let f, _),
             .headerNotObject(let f, _), .duplicateTensorName(let f, _), .entryNotObject(let f, _),
             .missingField(let f, _, _), .wrongFieldType(let f, _, _, _, _), .unknownDType(let f, _, _),
             .invalidShape(let f, _, _), .invalidDataOffsets(let f, _, _), .reversedDataOffsets(let f, _, _, _),
             .shapeSizeMismatch(let f, _, _, _), .overlappingTensors(let f, _, _), .dataTruncated(let f, _, _),
             .dataOffsetsOutOfRange(let f, _, _, _), .invalidMetadata(let f, _), .tensorNotFound(let f, _),
             .elementCountMismatch(let f, _, _, _), .invalidEntry(let f, _, _):
            return f
        }
    }

    public var description: String {
        switch self {
        case .io(let f, let reason):
            return "\(f): \(reason)"
        case .fileTooShort(let f, let size):
            return "\(f): not a safetensors file: \(size) bytes is shorter than the 8-byte header length"
        case .headerTooLarge(let f, let length):
            return "\(f): safetensors header length \(length) exceeds the \(SafeTensorsFile.maxHeaderLength)-byte limit"
        case .headerPastEndOfFile(let f, let length, let size):
            return "\(f): safetensors header length \(length) runs past the end of the \(size)-byte file"
        case .headerNotUTF8(let f):
            return "\(f): safetensors header is not valid UTF-8"
        case .invalidHeaderJSON(let f, let detail):
            return "\(f): safetensors header is not valid JSON: \(detail)"
        case .headerNotObject(let f, let found):
            return "\(f): safetensors header is a JSON \(found), expected an object"
        case .duplicateTensorName(let f, let t):
            return "\(f): tensor '\(t)' appears more than once in the header"
        case .entryNotObject(let f, let t):
            return "\(f): tensor '\(t)': header entry is not a JSON object"
        case .missingField(let f, let t, let field):
            return "\(f): tensor '\(t)': header entry has no \"\(field)\""
        case .wrongFieldType(let f, let t, let field, let expected, let found):
            return "\(f): tensor '\(t)': \"\(field)\" is a \(found), expected \(expected)"
        case .unknownDType(let f, let t, let dtype):
            return "\(f): tensor '\(t)': unknown dtype '\(dtype)'"
        case .invalidShape(let f, let t, let detail):
            return "\(f): tensor '\(t)': invalid shape: \(detail)"
        case .invalidDataOffsets(let f, let t, let detail):
            return "\(f): tensor '\(t)': invalid data_offsets: \(detail)"
        case .reversedDataOffsets(let f, let t, let begin, let end):
            return "\(f): tensor '\(t)': data_offsets begin \(begin) is after end \(end)"
        case .shapeSizeMismatch(let f, let t, let expected, let actual):
            return "\(f): tensor '\(t)': shape and dtype need \(expected) bytes but data_offsets span \(actual)"
        case .overlappingTensors(let f, let a, let b):
            return "\(f): tensors '\(a)' and '\(b)' have overlapping data_offsets"
        case .dataTruncated(let f, let expected, let actual):
            return "\(f): file is truncated: tensors need \(expected) data bytes but only \(actual) are present"
        case .dataOffsetsOutOfRange(let f, let t, let end, let dataBytes):
            return "\(f): tensor '\(t)': data_offsets end \(end) is beyond the \(dataBytes)-byte data buffer"
        case .invalidMetadata(let f, let detail):
            return "\(f): invalid __metadata__: \(detail)"
        case .tensorNotFound(let f, let t):
            return "\(f): no tensor named '\(t)'"
        case .elementCountMismatch(let f, let t, let expected, let requested):
            return "\(f): tensor '\(t)' has \(expected) elements but \(requested) were requested"
        case .invalidEntry(let f, let t, let detail):
            return "\(f): tensor '\(t)': \(detail)"
        }
    }
}
