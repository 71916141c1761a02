import DiffuseFormats
import DiffuseNN
import Foundation

/// A LoRA (or LyCORIS LoHa / LoKr / LoCon) file read against a loaded pipeline's layers
/// (`LoRATargets`): every tensor of the file has landed on a layer, and every layer's factors
/// have shapes that fit its weight. The factors stay in the memory-mapped file until merged
/// (`MergedLoRAs`).
///
/// Only `.safetensors` files are read (a pickle — `.ckpt`, `.pt`, `.pth`, `.bin` — could run code).
/// kohya/A1111, diffusers/PEFT and older diffusers names are accepted (`LoRAKey`); PEFT files take
/// their alpha from the header's `lora_adapter_metadata` (`lora_alpha`, `alpha_pattern`,
/// `use_rslora`) when present, else scale 1, as diffusers' `load_lora_weights` does.
public struct LoRA: @unchecked Sendable {
    /// The file.
    public let url: URL
    /// The layers it changes, sorted by component and key.
    public let layers: [LoRALayer]
    /// The header's `__metadata__` (kohya's `ss_*` training notes, PEFT's adapter config).
    public let metadata: [String: String]
    let weights: SafeTensorsWeights
    /// The layer table it was resolved against: it applies to that model only.
    public let targets: LoRATargets

    /// The name prompts and infotext use for it (A1111's `<lora:NAME:…>`): the file name without
    /// its extension.
    public var name: String { url.deletingPathExtension().lastPathComponent }

    /// Pickle formats, refused.
    public static let pickleExtensions: Set<String> = ["ckpt", "pt", "pth", "bin"]

    /// Reads `url` and resolves its keys against `targets`.
    /// - Throws: `LoRAError` naming the file and the key at fault: a pickle file, an unreadable or
    ///   truncated file, keys that match no layer (all of them listed, up to a few), a layer
    ///   missing a factor, ranks that disagree, factor shapes that do not give the layer's weight,
    ///   an alpha that is not one finite number, unsupported variants (LoHa / LoKr Tucker cores
    ///   `hada_t1`, `hada_t2`, `lokr_t2`; DoRA).
    public init(contentsOf url: URL, targets: LoRATargets) throws {
        let path = url.path
        if Self.pickleExtensions.contains(url.pathExtension.lowercased()) {
            throw LoRAError(file: path, "a pickle (.\(url.pathExtension)) file, which Diffuse does not read (it could run code); convert it to .safetensors")
        }
        do {
            weights = try SafeTensorsWeights(url)
        } catch let error as SafeTensorsError {
            let text = error.description
            throw LoRAError(file: path, text.hasPrefix(path + ": ") ? String(text.dropFirst(path.count + 2)) : text)
        }
        self.url = url
        self.targets = targets
        metadata = weights.files[0].metadata
        let peft = try PEFTAdapterConfig.parse(metadata, file: path)

        var groups: [LoRAKey: [LoRAKey.Role: String]] = [:]   // keyed by the layer (role = .alpha)
        var unknown: [String] = []
        for key in weights.tensorNames {
            guard var parsed = LoRAKey(key) else { unknown.append(key); continue }
            let role = parsed.role
            parsed.role = .alpha
            groups[parsed, default: [:]][role] = key
        }
        // Keys for SDXL's second text encoder on a model without one: said before any shape check.
        if groups.keys.contains(where: { $0.component == .textEncoder2 }), !targets.has(.textEncoder2) {
            let missing = groups.filter { targets.target(for: $0.key) == nil }.flatMap { $0.value.values }
            throw Self.unmatched(unknown + missing, of: weights.tensorNames.count, file: path,
                                 hint: "an SDXL LoRA: it has keys for a second text encoder, which this model does not have")
        }
        var layers: [LoRALayer] = []
        for (layerKey, roles) in groups {
            guard let target = targets.target(for: layerKey) else {
                unknown += roles.values
                continue
            }
            layers.append(try Self.layer(target, roles: roles, weights: weights, peft: peft[layerKey.diffusersPrefix ? layerKey.component : nil],
                                         module: layerKey.module, file: path))
        }
        guard unknown.isEmpty else {
            throw Self.unmatched(unknown, of: weights.tensorNames.count, file: path,
                                 hint: "a LoRA for another model family, or a layout Diffuse does not read")
        }
        guard !layers.isEmpty else { throw LoRAError(file: path, "no LoRA tensors in the file") }
        self.layers = layers.sorted { ($0.target.component.rawValue, $0.target.key) < ($1.target.component.rawValue, $1.target.key) }
    }

    /// The error for `keys` (of `total` tensors in `file`) that match no layer: the first three named.
    static func unmatched(_ keys: [String], of total: Int, file: String, hint: String) -> LoRAError {
        let sorted = keys.sorted()
        let list = sorted.prefix(3).joined(separator: ", ") + (sorted.count > 3 ? " and \(sorted.count - 3) more" : "")
        return LoRAError(file: file, "\(sorted.count) of \(total) tensors match no layer of this model: \(list) (\(hint))")
    }

    /// One layer from its tensors by role, its shapes checked against the target's weight.
    static func layer(_ target: LoRATargets.Target, roles: [LoRAKey.Role: String], weights: SafeTensorsWeights,
                      peft: PEFTAdapterConfig?, module: String, file: String) throws -> LoRALayer {
        let any = roles.values.sorted()[0]
        func shape(_ role: LoRAKey.Role) -> [Int] { roles[role].flatMap { weights.shape(of: $0) } ?? [] }
        func fail(_ role: LoRAKey.Role?, _ message: String) -> LoRAError {
            LoRAError(file: file, key: role.flatMap { roles[$0] } ?? any, message)
        }
        func require(_ needed: [LoRAKey.Role], for kind: String) throws {
            for role in needed where roles[role] == nil {
                throw fail(nil, "\(kind) layer without its \(role == .down ? "lora_down / lora_A" : role == .up ? "lora_up / lora_B" : role.rawValue) tensor")
            }
        }
        for unsupported: LoRAKey.Role in [.hadaT1, .hadaT2, .lokrT2] where roles[unsupported] != nil {
            throw fail(unsupported, "\(unsupported.rawValue) (CP / Tucker-decomposed factors) is not supported")
        }
        let weightShape = target.parameter.shape
        let weightCount = weightShape.reduce(1, *)
        /// rows × columns of a factor viewed as a matrix (leading axis × the rest).
        func matrix(_ role: LoRAKey.Role) throws -> (rows: Int, columns: Int) {
            let s = shape(role)
            guard let rows = s.first, rows > 0 else { throw fail(role, "factor has shape \(s)") }
            return (rows, s.dropFirst().reduce(1, *))
        }
        func checkFits(_ rows: Int, _ columns: Int, role: LoRAKey.Role) throws {
            guard rows == weightShape[0], rows * columns == weightCount else {
                throw fail(role, "gives a [\(rows), \(columns)] change, which does not fit \(target.key) \(weightShape)")
            }
        }
        let factors: LoRALayer.Factors
        var rank: Int?
        if roles.keys.contains(where: { $0.rawValue.hasPrefix("hada_") }) {
            try require([.hadaW1A, .hadaW1B, .hadaW2A, .hadaW2B], for: "LoHa")
            let (w1a, w1b, w2a, w2b) = (try matrix(.hadaW1A), try matrix(.hadaW1B), try matrix(.hadaW2A), try matrix(.hadaW2B))
            guard w1a.columns == w1b.rows else { throw fail(.hadaW1B, "ranks disagree: hada_w1_a has \(w1a.columns) columns, hada_w1_b \(w1b.rows) rows") }
            guard w2a.columns == w2b.rows else { throw fail(.hadaW2B, "ranks disagree: hada_w2_a has \(w2a.columns) columns, hada_w2_b \(w2b.rows) rows") }
            guard (w1a.rows, w1b.columns) == (w2a.rows, w2b.columns) else {
                throw fail(.hadaW2A, "hada_w1 gives [\(w1a.rows), \(w1b.columns)] but hada_w2 [\(w2a.rows), \(w2b.columns)]")
            }
            try checkFits(w1a.rows, w1b.columns, role: .hadaW1A)
            factors = .hadamard(w1a: roles[.hadaW1A]!, w1b: roles[.hadaW1B]!, w2a: roles[.hadaW2A]!, w2b: roles[.hadaW2B]!)
            rank = w1b.rows
        } else if roles.keys.contains(where: { $0.rawValue.hasPrefix("lokr_") }) {
            func side(_ whole: LoRAKey.Role, _ a: LoRAKey.Role, _ b: LoRAKey.Role) throws -> (LoRALayer.KroneckerSide, rows: Int, columns: Int, rank: Int?) {
                if let key = roles[whole] {
                    let m = try matrix(whole)
                    return (.whole(key), m.rows, m.columns, nil)
                }
                try require([a, b], for: "LoKr")
                let (ma, mb) = (try matrix(a), try matrix(b))
                guard ma.columns == mb.rows else { throw fail(b, "ranks disagree: \(a.rawValue) has \(ma.columns) columns, \(b.rawValue) \(mb.rows) rows") }
                return (.product(roles[a]!, roles[b]!), ma.rows, mb.columns, mb.rows)
            }
            let w1 = try side(.lokrW1, .lokrW1A, .lokrW1B), w2 = try side(.lokrW2, .lokrW2A, .lokrW2B)
            try checkFits(w1.rows * w2.rows, w1.columns * w2.columns, role: roles[.lokrW1] != nil ? .lokrW1 : .lokrW1A)
            factors = .kronecker(w1: w1.0, w2: w2.0)
            rank = w2.rank ?? w1.rank
        } else {
            try require([.down, .up], for: "LoRA")
            let (down, up) = (try matrix(.down), try matrix(.up))
            guard up.columns == down.rows else {
                throw fail(.up, "ranks disagree: lora_down has rank \(down.rows), lora_up \(up.columns)")
            }
            if let midKey = roles[.mid] {
                let core = shape(.mid)
                guard core.count == 4, core[0] == down.rows, core[1] == down.rows else {
                    throw fail(.mid, "lora_mid has shape \(core), expected [\(down.rows), \(down.rows), kh, kw] (the rank of lora_down)")
                }
                try checkFits(up.rows, down.columns * core[2] * core[3], role: .mid)
                factors = .lowRank(down: roles[.down]!, up: roles[.up]!, mid: midKey)
            } else {
                try checkFits(up.rows, down.columns, role: .up)
                factors = .lowRank(down: roles[.down]!, up: roles[.up]!, mid: nil)
            }
            rank = down.rows
        }
        /// The one finite number a scalar tensor holds.
        func number(_ role: LoRAKey.Role) throws -> Float? {
            guard let key = roles[role] else { return nil }
            let value = try weights.tensor(named: key)
            guard value.count == 1, value.scalars[0].isFinite else {
                throw LoRAError(file: file, key: key, "\(role.rawValue) must be one finite number, not \(value.count == 1 ? "\(value.scalars[0])" : "a tensor of shape \(value.shape)")")
            }
            return value.scalars[0]
        }
        var scale: Float = 1
        let alpha = try number(.alpha)
        if let given = try number(.scale) {
            scale = given   // A1111: a .scale tensor wins over alpha / rank
        } else if let alpha {
            if let rank { scale = alpha / Float(rank) }
        } else if let peft, let rank, case .lowRank = factors {
            scale = try peft.scale(module: module, rank: rank, file: file)
        }
        return LoRALayer(target: target, factors: factors, scale: scale, keys: roles.values.sorted())
    }
}
