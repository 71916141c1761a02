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
/// underlying source's name (for example single-file LDM keys seen as diffusers keys).
public struct RenamedWeights: WeightSource {
    public let base: WeightSource
    public let names: [String: String]
    public var name: String { base.name }

    public init(_ base: WeightSource, names: [String: String]) {
        self.base = base
        self.names = names
    }

    public var tensorNames: [String] { names.keys.sorted() }
    public func shape(of name: String) -> [Int]? { names[name].flatMap { base.shape(of: $0) } }
    public func tensor(named name: String) throws -> Tensor {
        guard let original = names[name] else {
            throw WeightLoadingError(source: self.name, missing: [name], mismatched: [], unexpected: [])
        }
        return try base.tensor(named: original)
    }
}
