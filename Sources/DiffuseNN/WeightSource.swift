import DiffuseTensor

/// Named float32 tensors to load into a module: a checkpoint file, a set of shards, or an in-memory map.
public protocol WeightSource {
    /// A name for messages (usually the file path).
    var name: String { get }
    /// Every tensor name available.
    var tensorNames: [String] { get }
    /// The shape of `name`, or nil when absent.
    func shape(of name: String) -> [Int]?
    /// The tensor `name`, decoded to float32.
    func tensor(named name: String) throws -> Tensor
    /// Where `name` comes from, for messages, when it is not simply `name` in `self.name`
    /// (e.g. "rows 0..<1024 of in_proj_weight [3072, 1024]"); nil otherwise.
    func origin(of name: String) -> String?
    /// Whether the tensors are read from memory-mapped files whose headers were checked when they
    /// were opened, so that a read of a present tensor cannot fail: `Module.load` then defers
    /// reading each one to its first use (`DeferredWeight`). False unless a source says otherwise.
    var isMemoryMapped: Bool { get }
    /// Tensor `name`'s float16 values where they lie in a memory-mapped file (no copy), with the
    /// object that keeps the mapping alive; nil when the tensor is stored otherwise. A model kept
    /// in float16 (`WeightPrecision.float16`) then reads the file's pages instead of a copy.
    func float16Values(of name: String) -> (bits: UnsafePointer<UInt16>, owner: AnyObject)?
}

extension WeightSource {
    public func origin(of name: String) -> String? { nil }
    public var isMemoryMapped: Bool { false }
    public func float16Values(of name: String) -> (bits: UnsafePointer<UInt16>, owner: AnyObject)? { nil }
}

/// Tensors held in memory (tests, conversions, key-mapped checkpoints).
public struct TensorDictionary: WeightSource {
    public var name: String
    public var tensors: [String: Tensor]

    public init(name: String = "tensors", _ tensors: [String: Tensor]) {
        self.name = name
        self.tensors = tensors
    }

    public var tensorNames: [String] { tensors.keys.sorted() }
    public func shape(of name: String) -> [Int]? { tensors[name]?.shape }
    public func tensor(named name: String) throws -> Tensor {
        guard let t = tensors[name] else { throw WeightLoadingError(source: self.name, missing: [name], mismatched: [], unexpected: []) }
        return t
    }
}

/// Another source under different names: `names` maps each name this source offers to the
/// underlying source's name (for example single-file LDM keys seen as diffusers keys). A renamed
/// tensor may be a block of rows of the original (`rows`, along axis 0): one third of OpenCLIP's
/// fused query/key/value projection seen as `q_proj`, `k_proj` or `v_proj`.
public struct RenamedWeights: WeightSource {
    public let base: WeightSource
    public let names: [String: String]
    public let rows: [String: Range<Int>]
    public var name: String { base.name }

    public init(_ base: WeightSource, names: [String: String], rows: [String: Range<Int>] = [:]) {
        self.base = base
        self.names = names
        self.rows = rows
    }

    public var tensorNames: [String] { names.keys.sorted() }
    public var isMemoryMapped: Bool { base.isMemoryMapped }
    /// A row block that the original tensor is too small for has the rows it does have (possibly
    /// none), so that loading reports it as mis-shaped rather than missing.
    public func shape(of name: String) -> [Int]? {
        guard var shape = names[name].flatMap({ base.shape(of: $0) }) else { return nil }
        if let range = rows[name] {
            guard !shape.isEmpty else { return [0] }
            shape[0] = Swift.max(0, Swift.min(range.upperBound, shape[0]) - range.lowerBound)
        }
        return shape
    }
    public func origin(of name: String) -> String? {
        guard let original = names[name] else { return nil }
        let shape = base.shape(of: original).map { " \($0)" } ?? ""
        if let range = rows[name] { return "rows \(range) of \(original)\(shape)" }
        return original == name ? base.origin(of: original) : original
    }
    public func float16Values(of name: String) -> (bits: UnsafePointer<UInt16>, owner: AnyObject)? {
        guard let original = names[name], let values = base.float16Values(of: original) else { return nil }
        guard let range = rows[name] else { return values }
        guard let shape = base.shape(of: original), !shape.isEmpty, range.upperBound <= shape[0] else { return nil }
        return (values.bits + range.lowerBound * shape.dropFirst().reduce(1, *), values.owner)
    }
    public func tensor(named name: String) throws -> Tensor {
        guard let original = names[name] else {
            throw WeightLoadingError(source: self.name, missing: [name], mismatched: [], unexpected: [])
        }
        let tensor = try base.tensor(named: original)
        guard let range = rows[name] else { return tensor }
        guard !tensor.shape.isEmpty, range.upperBound <= tensor.shape[0] else {
            throw WeightLoadingError(source: self.name, missing: [],
                                     mismatched: ["\(original) is \(tensor.shape), too small for rows \(range) (\(name))"], unexpected: [])
        }
        return tensor.narrowed(axis: 0, start: range.lowerBound, length: range.count).contiguous()
    }
}
