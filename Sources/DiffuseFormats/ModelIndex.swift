import Foundation

/// A diffusers pipeline folder's `model_index.json`, read and written by this one type: the
/// pipeline class, the components as `[library, class]` pairs, and Diffuse's own `_diffuse_…`
/// keys. Keys it does not model are kept as written, so reading and writing an index loses nothing.
public struct ModelIndex: Sendable, Equatable {
    /// A component's `[library, class]` pair, e.g. `["diffusers", "UNet2DConditionModel"]`.
    public struct Component: Sendable, Equatable {
        public var library: String
        public var className: String
        public init(_ library: String, _ className: String) {
            self.library = library
            self.className = className
        }
    }

    /// An image size in pixels.
    public struct Size: Sendable, Equatable, CustomStringConvertible {
        public var width: Int
        public var height: Int
        public init(width: Int, height: Int) {
            self.width = width
            self.height = height
        }
        public var description: String { "\(width)x\(height)" }
    }

    /// `_class_name`: the pipeline class (`StableDiffusionPipeline` when absent).
    public var className: String
    /// `_diffusers_version`: the diffusers release the folder was written for.
    public var diffusersVersion: String?
    /// Component name → `[library, class]` (components listed as `[null, null]` are omitted).
    public var components: [String: Component]
    /// `_diffuse_text_encoder`: where the text encoder lives when the folder has no
    /// `text_encoder/` (a relative path, or a shared component folder's name).
    public var textEncoder: String?
    /// `_diffuse_prompt_length`: the token states per prompt of a sentence-encoder model.
    public var promptLength: Int?
    /// `_diffuse_patch_size`: the f × f pixel blocks a pixel model's UNet works on (1 = none).
    public var patchSize: Int
    /// `_diffuse_pooled_only`: the model is conditioned only through the pooled sentence embedding.
    public var pooledOnly: Bool
    /// `_diffuse_pooled_token`: the pooled embedding is also a token the UNet attends to.
    public var pooledToken: Bool
    /// `_diffuse_guidance`: the guidance scale to generate with when none is given.
    public var guidance: Double?
    /// `_diffuse_steps`: the denoising steps to run when none are given.
    public var steps: Int?
    /// `_diffuse_sizes` (`[[width, height], …]` in pixels): the sizes the model draws well; nil = any.
    public var sizes: [Size]?
    /// Every other key, as written (for example `requires_safety_checker`, `feature_extractor: [null, null]`).
    public var otherKeys: [String: JSONValue]

    public init(className: String, diffusersVersion: String? = "0.30.0", components: [String: Component] = [:]) {
        self.className = className
        self.diffusersVersion = diffusersVersion
        self.components = components
        textEncoder = nil
        promptLength = nil
        patchSize = 1
        pooledOnly = false
        pooledToken = false
        guidance = nil
        steps = nil
        sizes = nil
        otherKeys = [:]
    }

    /// The sizes a `_diffuse_sizes` entry may give (pixels per side).
    static let sizeRange = 1 ... 1_048_576

    private static let modelledKeys: Set<String> = [
        "_class_name", "_diffusers_version", "_diffuse_text_encoder", "_diffuse_prompt_length", "_diffuse_patch_size",
        "_diffuse_pooled_only", "_diffuse_pooled_token", "_diffuse_guidance", "_diffuse_steps", "_diffuse_sizes",
    ]

    /// Reads the index from the members of `file`.
    /// - Throws: `ConfigError` naming the file and the key of a wrongly typed or malformed value.
    public init(_ file: ConfigFile) throws {
        className = try file.string("_class_name", default: "StableDiffusionPipeline")
        diffusersVersion = try file.optionalString("_diffusers_version")
        textEncoder = try file.optionalString("_diffuse_text_encoder")
        promptLength = try file.optionalInt("_diffuse_prompt_length")
        patchSize = try file.int("_diffuse_patch_size", default: 1)
        pooledOnly = try file.bool("_diffuse_pooled_only", default: false)
        pooledToken = try file.bool("_diffuse_pooled_token", default: false)
        guidance = try file.optionalDouble("_diffuse_guidance")
        steps = try file.optionalInt("_diffuse_steps")
        sizes = try file.value("_diffuse_sizes").map { try Self.sizes($0, file: file) }
        components = [:]
        otherKeys = [:]
        for (key, value) in file.values where !Self.modelledKeys.contains(key) {
            if !key.hasPrefix("_"), let pair = value.arrayValue, pair.count == 2,
               let library = pair[0].stringValue, let className = pair[1].stringValue {
                components[key] = Component(library, className)
            } else {
                otherKeys[key] = value
            }
        }
    }

    /// Reads `model_index.json` at `url`.
    /// - Throws: `ConfigError` naming the file (and the key, for a bad value).
    public init(contentsOf url: URL) throws {
        try self.init(ConfigFile(contentsOf: url))
    }

    private static func sizes(_ value: JSONValue, file: ConfigFile) throws -> [Size] {
        let pairs = value.arrayValue ?? []
        let sizes = pairs.compactMap { pair -> Size? in
            guard let sides = pair.arrayValue?.compactMap(\.intValue), sides.count == 2, pair.arrayValue?.count == 2,
                  sides.allSatisfy(sizeRange.contains) else { return nil }
            return Size(width: sides[0], height: sides[1])
        }
        guard !sizes.isEmpty, sizes.count == pairs.count else {
            throw file.error("_diffuse_sizes", "is malformed: it should be a list of [width, height] pairs in pixels, e.g. [[32, 32]]")
        }
        return sizes
    }

    /// The index as a JSON object, keys sorted (as diffusers writes it); Diffuse's keys at their
    /// defaults (patch size 1, flags false, nil) are left out.
    public var json: JSONValue {
        var members = otherKeys
        members["_class_name"] = .string(className)
        if let diffusersVersion { members["_diffusers_version"] = .string(diffusersVersion) }
        for (name, component) in components {
            members[name] = [.string(component.library), .string(component.className)]
        }
        if let textEncoder { members["_diffuse_text_encoder"] = .string(textEncoder) }
        if let promptLength { members["_diffuse_prompt_length"] = .number(promptLength) }
        if patchSize != 1 { members["_diffuse_patch_size"] = .number(patchSize) }
        if pooledOnly { members["_diffuse_pooled_only"] = true }
        if pooledToken { members["_diffuse_pooled_token"] = true }
        if let guidance { members["_diffuse_guidance"] = .double(guidance) }
        if let steps { members["_diffuse_steps"] = .number(steps) }
        if let sizes { members["_diffuse_sizes"] = .array(sizes.map { [.number($0.width), .number($0.height)] }) }
        return .object(sorting: members)
    }

    /// Writes the index to `url` (pretty-printed, keys sorted, a final newline), atomically.
    /// - Throws: `FileIOError` naming the path.
    public func write(to url: URL) throws {
        try json.writeConfigFile(to: url)
    }
}
