import DiffuseTensor

/// A node of a model: its stored properties that are `Parameter`s, `Module`s, arrays of modules or
/// optionals of either are found by reflection, so a checkpoint's names map onto Swift properties:
/// `downBlocks[1].resnets[0].conv1.weight` is `down_blocks.1.resnets.0.conv1.weight`.
///
/// Property names are converted from camelCase to snake_case (`timeEmbedding` → `time_embedding`,
/// `conv1` → `conv1`); `keyOverrides` gives other names (`["toOut": "to_out.0"]`). Properties whose
/// names start with an underscore and non-module values are ignored.
public protocol Module: AnyObject {
    /// Checkpoint keys for properties whose snake_case name is not the key: property name → key.
    static var keyOverrides: [String: String] { get }
}

extension Module {
    public static var keyOverrides: [String: String] { [:] }

    /// Every parameter of the tree, with its full dotted key, in declaration order.
    public func namedParameters(prefix: String = "") -> [(key: String, parameter: Parameter)] {
        var result: [(String, Parameter)] = []
        ModuleReflection.collect(self, prefix: prefix, into: &result)
        return result.map { (key: $0.0, parameter: $0.1) }
    }

    /// Every module of the tree, this one first, depth-first in declaration order.
    public func modules() -> [Module] {
        var result: [Module] = []
        ModuleReflection.collectModules(self, into: &result)
        return result
    }

    /// Number of scalar parameters.
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.parameter.shape.reduce(1, *) } }

    /// Loads every parameter from `source` (keys prefixed by `prefix`), checking shapes; with
    /// `precision` `.float16`, each is stored as float16 as soon as it is read, so the float32 copy
    /// of the whole model never exists at once. With `.float16` and `.asStored`, float16 tensors
    /// of memory-mapped files are not copied at all but read in place
    /// (`WeightSource.float16Values`). Float32 weights from memory-mapped files
    /// (`WeightSource.isMemoryMapped`) are not read here but at each parameter's first use
    /// (`DeferredWeight`).
    ///
    /// With `allowingMissing`, parameters the source lacks keep their current values (a model
    /// that gained layers since the checkpoint was written) and are returned.
    ///
    /// - Throws: `WeightLoadingError` naming the missing (unless allowed), mis-shaped or (when
    ///   `strict`) unexpected tensors. Keys listed in `ignoring` (exact names or suffixes such as
    ///   `position_ids`) are never unexpected.
    /// - Returns: the keys of the parameters that kept their values (empty unless `allowingMissing`).
    @discardableResult
    public func load(from source: WeightSource, prefix: String = "", strict: Bool = true, ignoring: [String] = [],
                     precision: WeightPrecision = .float32, allowingMissing: Bool = false) throws -> [String] {
        let parameters = namedParameters(prefix: prefix)
        // Float32 weights from mapped files are read at their first use (`DeferredWeight`).
        let deferring = precision != .float16 && source.isMemoryMapped
        func assign(_ parameter: Parameter, key: String, deferring: Bool, read: @escaping () throws -> Tensor) throws {
            if precision != .float32, parameter.leaf == nil, let mapped = source.float16Values(of: key) {
                parameter.storeFloat16(mapped.bits, owner: mapped.owner, preferred: precision == .float16)
            } else if deferring && parameter.leaf == nil {
                let origin = source.origin(of: key).map { "\(key) (\($0)) in \(source.name)" } ?? "\(key) in \(source.name)"
                parameter.store(DeferredWeight(shape: parameter.shape, origin: origin, read: read))
            } else {
                parameter.value = try read()
                if precision == .float16 { parameter.storeAsFloat16() }
            }
        }
        var missing: [String] = []
        var mismatched: [String] = []
        for (key, parameter) in parameters {
            guard let shape = source.shape(of: key) else { missing.append(key); continue }
            if shape != parameter.shape {
                // A [C, C, 1, 1] convolution stored for a [C, C] linear layer (or back) is the same matrix.
                if shape.reduce(1, *) == parameter.shape.reduce(1, *) && shape.filter({ $0 != 1 }) == parameter.shape.filter({ $0 != 1 }) {
                    let target = parameter.shape
                    try assign(parameter, key: key, deferring: deferring) { try source.tensor(named: key).reshaped(target) }
                    continue
                }
                let origin = source.origin(of: key).map { " (\($0))" } ?? ""
                mismatched.append("\(key) is \(shape) in \(source.name)\(origin), expected \(parameter.shape)")
                continue
            }
            try assign(parameter, key: key, deferring: deferring) { try source.tensor(named: key) }
        }
        if precision == .float16 { BufferPool.trim() }
        var unexpected: [String] = []
        if strict {
            let known = Set(parameters.map(\.key))
            unexpected = source.tensorNames.filter { name in
                name.hasPrefix(prefix) && !known.contains(name) && !ignoring.contains(where: { name == $0 || name.hasSuffix($0) })
            }
        }
        if (!missing.isEmpty && !allowingMissing) || !mismatched.isEmpty || !unexpected.isEmpty {
            throw WeightLoadingError(source: source.name, missing: allowingMissing ? [] : missing, mismatched: mismatched,
                                     unexpected: unexpected.sorted())
        }
        return missing
    }
}

/// How a loaded model keeps its weights in memory.
public enum WeightPrecision: String, Sendable, CaseIterable {
    /// As the checkpoint stores them: float16 tensors of memory-mapped files stay float16, read in
    /// place (no copy; converted to float32 each time a layer reads them), the rest float32. The
    /// same values as `.float32` (float16 widens exactly) at half the memory for float16
    /// checkpoints, and no conversion of the whole model before its first image.
    case asStored = "auto"
    /// 4 bytes per weight, read as they are.
    case float32
    /// 2 bytes per weight (IEEE half), converted to float32 each time a layer reads them.
    case float16
}

/// Why a checkpoint does not fit a model.
public struct WeightLoadingError: Error, CustomStringConvertible {
    public var source: String
    public var missing: [String]
    public var mismatched: [String]
    public var unexpected: [String]

    public var description: String {
        func list(_ names: [String]) -> String {
            names.count <= 4 ? names.joined(separator: ", ") : names.prefix(4).joined(separator: ", ") + " and \(names.count - 4) more"
        }
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing \(missing.count) tensor(s): \(list(missing))") }
        if !mismatched.isEmpty { parts.append("wrong shape: \(list(mismatched))") }
        if !unexpected.isEmpty { parts.append("unexpected \(unexpected.count) tensor(s): \(list(unexpected))") }
        return "\(source): " + parts.joined(separator: "; ")
    }
}

enum ModuleReflection {
    static func collect(_ module: Module, prefix: String, into result: inout [(String, Parameter)]) {
        var mirror: Mirror? = Mirror(reflecting: module)
        var chain: [Mirror] = []
        while let m = mirror { chain.append(m); mirror = m.superclassMirror }
        let overrides = type(of: module).keyOverrides
        for m in chain.reversed() {
            for child in m.children {
                guard let label = child.label, !label.hasPrefix("_") else { continue }
                visit(child.value, key: prefix + (overrides[label] ?? snakeCase(label)), into: &result)
            }
        }
    }

    static func collectModules(_ module: Module, into result: inout [Module]) {
        result.append(module)
        var mirror: Mirror? = Mirror(reflecting: module)
        while let m = mirror {
            for child in m.children {
                guard let label = child.label, !label.hasPrefix("_") else { continue }
                visitModules(child.value, into: &result)
            }
            mirror = m.superclassMirror
        }
    }

    static func visitModules(_ value: Any, into result: inout [Module]) {
        switch value {
        case is Parameter:
            return
        case let module as Module:
            collectModules(module, into: &result)
        default:
            let mirror = Mirror(reflecting: value)
            if mirror.displayStyle == .optional || mirror.displayStyle == .collection {
                for element in mirror.children { visitModules(element.value, into: &result) }
            }
        }
    }

    static func visit(_ value: Any, key: String, into result: inout [(String, Parameter)]) {
        switch value {
        case let parameter as Parameter:
            result.append((key, parameter))
        case let module as Module:
            collect(module, prefix: key + ".", into: &result)
        case let modules as [Module]:
            for (i, module) in modules.enumerated() { collect(module, prefix: "\(key).\(i).", into: &result) }
        default:
            let mirror = Mirror(reflecting: value)
            if mirror.displayStyle == .optional, let wrapped = mirror.children.first?.value {
                visit(wrapped, key: key, into: &result)
            } else if mirror.displayStyle == .collection {
                // Arrays of a concrete module type ([ResnetBlock2D]) do not cast to [Module].
                for (i, element) in mirror.children.enumerated() where element.value is Module || element.value is Parameter {
                    visit(element.value, key: "\(key).\(i)", into: &result)
                }
            }
        }
    }

    /// `timeEmbedding` → `time_embedding`; digits stay attached (`conv1`, `norm2`).
    static func snakeCase(_ name: String) -> String {
        var out = ""
        for ch in name {
            if ch.isUppercase {
                if !out.isEmpty { out.append("_") }
                out.append(contentsOf: ch.lowercased())
            } else {
                out.append(ch)
            }
        }
        return out
    }
}
