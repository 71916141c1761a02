/// The element types of the safetensors format, spelled as in the header's `"dtype"` field.
/// All multi-byte types are stored little-endian.
public enum SafeTensorsDType: String, CaseIterable, Sendable {
    case bool = "BOOL"
    case uint8 = "U8"
    case int8 = "I8"
    case int16 = "I16"
    case uint16 = "U16"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int32 = "I32"
    case uint32 = "U32"
    case float32 = "F32"
    case float64 = "F64"
    case int64 = "I64"
    case uint64 = "U64"

    /// Bytes per element (BOOL is one byte per element, 0 = false, anything else = true).
    public var byteSize: Int {
        switch self {
        case .bool, .uint8, .int8: return 1
        case .int16, .uint16, .float16, .bfloat16: return 2
        case .int32, .uint32, .float32: return 4
        case .float64, .int64, .uint64: return 8
        }
    }

    /// Whether the type is a floating-point type (F16, BF16, F32, F64).
    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: return true
        default: return false
        }
    }
}

/// One tensor's header entry in a safetensors file.
public struct SafeTensorInfo: Equatable, Sendable {
    /// The tensor's name (the header key).
    public var name: String
    /// The element type.
    public var dtype: SafeTensorsDType
    /// The dimensions, outermost first (row-major). `[]` is a scalar (one element); a shape with a
    /// zero dimension has no elements.
    public var shape: [Int]
    /// The tensor's bytes, relative to the start of the data buffer (the byte after the header).
    public var dataOffsets: Range<Int>

    public init(name: String, dtype: SafeTensorsDType, shape: [Int], dataOffsets: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
    }

    /// The number of elements: the product of `shape` (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }

    /// The size of the tensor's data in bytes.
    public var byteCount: Int { dataOffsets.count }
}
