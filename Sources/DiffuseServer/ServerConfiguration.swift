import Foundation

/// How `DiffuseServer` listens, authenticates and bounds its work.
public struct ServerConfiguration: Sendable {
    /// Address to listen on; loopback unless told otherwise.
    public var host = "127.0.0.1"
    /// TCP port; 0 picks a free one (see `DiffuseServer.run(onRunning:)`).
    public var port = 7860
    /// When set, every route except the page's static assets, `/health` and the image links needs
    /// the key: `Authorization: Bearer <key>`, or HTTP Basic with the key as password (or as
    /// `user:pass`).
    public var apiKey: String? = nil
    /// Generation threads (each runs one job at a time).
    public var workers = 1
    /// Jobs that may wait for a worker; one more is refused with 429.
    public var queueLimit = 16
    /// Largest width or height accepted, in pixels.
    public var maxSize = 1024
    /// Largest number of denoising steps accepted.
    public var maxSteps = 150
    /// Largest number of images one request may ask for.
    public var maxImages = 8
    /// Largest request body accepted (413 beyond); nil = derived from `maxSize`, room for a
    /// base64 init image and mask of that size.
    public var maxBodyBytes: Int? = nil
    /// Generated images kept for `response_format: url` replies (oldest evicted first).
    public var keptImages = 256
    /// Finished jobs of the job API kept for `GET /api/jobs/<id>` (oldest evicted first).
    public var keptJobs = 16
    /// Connections open at once. At the limit a new connection takes the place of the oldest one
    /// not being answered (idle, or with a request sent half-way), which is closed; when all are
    /// being answered it is answered 503 and closed. Below the usual limit of 1,024 file
    /// descriptors per process, so a flood cannot starve the server of them.
    public var maxConnections = 256
    /// Seconds a connection may go without a request part while no request is being answered —
    /// an idle keep-alive connection, or a request whose head or body stopped half-way — before it
    /// is closed; nil never closes one. A running generation is never cut.
    public var idleTimeout: Double? = 30
    /// The folder of LoRA files requests may name (`loras`, `GET /sdapi/v1/loras`); nil = requests
    /// take no LoRAs.
    public var loraDirectory: URL? = nil

    /// The defaults above (`diffuse serve`'s).
    public init() {}

    /// The body limit in force.
    public var effectiveMaxBodyBytes: Int {
        maxBodyBytes ?? (1 << 20) + 16 * maxSize * maxSize
    }

    /// Checks that every value is usable.
    /// - Throws: `ServerConfigurationError` naming the setting at fault.
    public func validate() throws {
        func require(_ ok: Bool, _ setting: String, _ message: String) throws {
            if !ok { throw ServerConfigurationError(setting: setting, message: message) }
        }
        try require(!host.isEmpty, "host", "host must not be empty")
        try require((0 ... 65535).contains(port), "port", "port \(port) is outside 0…65535")
        try require(apiKey.map { !$0.isEmpty } ?? true, "api-key", "api-key must not be empty")
        try require((1 ... 64).contains(workers), "workers", "workers must be 1…64, not \(workers)")
        try require(queueLimit >= 0, "queue-limit", "queue-limit must be 0 or more, not \(queueLimit)")
        try require(maxSize >= 8 && maxSize % 8 == 0 && maxSize <= 8192, "max-size",
                    "max-size must be a multiple of 8 in 8…8192, not \(maxSize)")
        try require(maxSteps >= 1 && maxSteps <= 10000, "max-steps", "max-steps must be 1…10000, not \(maxSteps)")
        try require(maxImages >= 1 && maxImages <= 1000, "max-images", "max-images must be 1…1000, not \(maxImages)")
        try require(effectiveMaxBodyBytes >= 1024, "max-body-bytes", "max-body-bytes must be at least 1024")
        try require(keptImages >= 1, "kept-images", "kept-images must be at least 1")
        try require(keptJobs >= 1, "kept-jobs", "kept-jobs must be at least 1")
        try require((1 ... 100_000).contains(maxConnections), "max-connections", "max-connections must be 1…100000, not \(maxConnections)")
        try require(idleTimeout.map { $0.isFinite && $0 > 0 && $0 <= 86400 } ?? true, "idle-timeout",
                    "idle-timeout must be more than 0 and at most 86400 seconds, not \(idleTimeout ?? 0)")
    }
}

/// A `ServerConfiguration` value that cannot be used.
public struct ServerConfigurationError: Error, CustomStringConvertible {
    /// The setting at fault, as the `diffuse serve` option names it.
    public var setting: String
    /// What is wrong with it.
    public var message: String
    public var description: String { message }
}
