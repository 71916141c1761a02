import DiffuseSchedulers

/// The samplers the loaded model can use, under Diffuse's names (`euler_a`) and AUTOMATIC1111's
/// display names (`Euler a`) and aliases (`k_euler_a`), so that either kind of client can ask.
public struct SamplerCatalog: Sendable {
    /// One usable sampler.
    public struct Entry: Sendable {
        /// Diffuse's name (`Schedulers.names`).
        public var name: String
        /// AUTOMATIC1111's display name, as infotext writes it.
        public var displayName: String
        /// Other accepted spellings (A1111's `k_…` aliases and Diffuse's name).
        public var aliases: [String]
    }

    /// In `Schedulers.names` order.
    public let entries: [Entry]
    /// The model's scheduler config (for `checkSteps`).
    public let config: SchedulerConfig
    /// The display name of the model's own scheduler (used when a request names none).
    public let defaultDisplayName: String

    /// A1111 aliases for the display names Diffuse implements.
    private static let a1111Aliases: [String: [String]] = [
        "Euler a": ["k_euler_a", "k_euler_ancestral"],
        "Euler": ["k_euler"],
        "LMS": ["k_lms"],
        "Heun": ["k_heun"],
        "DPM++ 2M": ["k_dpmpp_2m"],
        "DPM++ 2M Karras": ["k_dpmpp_2m_ka"],
        "PNDM": ["PLMS", "plms"],
        "DDIM": [],
        "DDPM": [],
        "UniPC": [],
    ]

    /// The samplers `Schedulers.make` can build from `config` (those it rejects are left out).
    /// - Parameter defaultDisplayName: the display name of the config's own scheduler.
    public init(config: SchedulerConfig, defaultDisplayName: String) {
        entries = Schedulers.names.compactMap { name in
            guard let scheduler = try? Schedulers.make(name: name, config: config) else { return nil }
            let display = scheduler.displayName
            return Entry(name: name, displayName: display, aliases: [name] + (SamplerCatalog.a1111Aliases[display] ?? []))
        }
        self.defaultDisplayName = defaultDisplayName
        self.config = config
    }

    /// Checks that `sampler` can run `steps` steps on this model (`Schedulers.make(name:config:steps:)`),
    /// before queueing, so that a step count the samplers cannot follow is a 400.
    ///
    /// - Throws: `APIError.invalid(field)` saying why.
    public func checkSteps(_ steps: Int, sampler: String?, field: String = "steps") throws {
        do {
            _ = try Schedulers.make(name: sampler, config: config, steps: steps)
        } catch SchedulerError.invalidArgument(let message) where message.hasPrefix("steps ") {
            // Name the request's own field.
            throw APIError.invalid(field, field + message.dropFirst("steps".count))
        }
    }

    /// The Diffuse name for `text` (a Diffuse name, an A1111 display name or alias; case and
    /// surrounding spaces ignored). nil or empty text means the model's own scheduler (nil).
    ///
    /// - Parameters:
    ///   - scheduler: A1111 ≥ 1.9's separate `scheduler` field: `Automatic` (or nil) keeps the
    ///     sampler as is, `Karras` asks for its Karras-sigma variant.
    ///   - field: the request field named in errors.
    /// - Throws: `APIError.invalid` listing the valid names.
    public func resolve(_ text: String?, scheduler: String? = nil, field: String = "sampler") throws -> String? {
        let wanted = (text ?? "").trimmingCharacters(in: .whitespaces)
        let schedule = (scheduler ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        guard ["", "automatic", "karras"].contains(schedule) else {
            throw APIError.invalid("scheduler", "scheduler \"\(scheduler ?? "")\" is not supported; use Automatic or Karras")
        }
        if wanted.isEmpty {
            guard schedule != "karras" else { throw APIError.invalid("scheduler", "scheduler Karras needs a sampler_name") }
            return nil
        }
        let key = wanted.lowercased()
        guard let entry = entries.first(where: { $0.displayName.lowercased() == key || $0.aliases.contains { $0.lowercased() == key } }) else {
            let valid = entries.map { "\($0.displayName) (\($0.name))" }.joined(separator: ", ")
            throw APIError.invalid(field, "unknown sampler \"\(wanted)\"; valid samplers: \(valid)")
        }
        guard schedule == "karras", !entry.displayName.hasSuffix("Karras") else { return entry.name }
        guard let karras = entries.first(where: { $0.displayName == entry.displayName + " Karras" }) else {
            throw APIError.invalid("scheduler", "sampler \"\(entry.displayName)\" has no Karras variant")
        }
        return karras.name
    }

    /// The display name for a Diffuse name (nil = the model's own scheduler).
    public func displayName(for name: String?) -> String {
        guard let name else { return defaultDisplayName }
        return entries.first(where: { $0.name == name })?.displayName ?? name
    }
}
