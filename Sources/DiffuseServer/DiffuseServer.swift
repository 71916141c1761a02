import DiffusePipelines
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// `diffuse serve`: one loaded Stable Diffusion model behind a web page and the HTTP APIs
/// image-generation clients script against (OpenAI images, AUTOMATIC1111 `sdapi`, and the page's
/// job API with Server-Sent Events), on Hummingbird 2.
///
/// ```swift
/// let server = try DiffuseServer(model: DiffusionPipeline.load(folder: url), configuration: ServerConfiguration())
/// try await server.run()  // until SIGINT / SIGTERM
/// ```
public final class DiffuseServer: Sendable {
    /// The model every request uses (loaded once, shared by the workers).
    public let model: DiffusionPipeline
    /// Listening address, API key, workers, queue and caps.
    public let configuration: ServerConfiguration
    /// The generation queue and its worker threads.
    public let queue: GenerationQueue
    /// Images kept for `response_format: url` replies.
    public let images: ImageStore
    /// The job API's jobs.
    public let jobs: JobRegistry
    /// The samplers this model can use.
    public let samplers: SamplerCatalog
    /// When the server was made (OpenAI `/v1/models` `created`).
    public let createdAt: Date
    /// The open connections (at most `configuration.maxConnections`).
    let connections: ConnectionTracker

    /// Connections open now.
    public var openConnections: Int { connections.openCount }

    /// - Throws: `ServerConfigurationError` for an unusable configuration, or the scheduler error
    ///   if the model's own scheduler config is one Diffuse cannot run.
    public init(model: DiffusionPipeline, configuration: ServerConfiguration) throws {
        try configuration.validate()
        self.model = model
        self.configuration = configuration
        self.samplers = SamplerCatalog(config: model.schedulerConfig, defaultDisplayName: try model.samplerDisplayName(nil))
        self.queue = GenerationQueue(runner: JobRunner(model: model), workers: configuration.workers, limit: configuration.queueLimit)
        self.images = ImageStore(capacity: configuration.keptImages)
        self.jobs = JobRegistry(keptFinished: configuration.keptJobs)
        self.createdAt = Date()
        self.connections = ConnectionTracker(limit: configuration.maxConnections)
    }

    /// Paths served without an API key: the page and its assets, and `/health`.
    static let publicPaths: Set<String> = Set(PageRoutes.assets.keys).union(["/health"])
    /// Path prefixes served without an API key: the image links (unguessable ids).
    static let publicPrefixes = ["/images/"]

    /// The router with every route and middleware; `HEAD` is answered wherever `GET` is.
    func makeRouter() -> Router<DiffuseRequestContext> {
        let router = Router(context: DiffuseRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: CORSMiddleware())
        router.add(middleware: ErrorMiddleware())
        if let key = configuration.apiKey {
            router.add(middleware: AuthMiddleware(key: key, publicPaths: DiffuseServer.publicPaths,
                                                  publicPrefixes: DiffuseServer.publicPrefixes))
        }
        PageRoutes(server: self).register(on: router)
        HealthRoutes(server: self).register(on: router)
        let openAI = OpenAIRoutes(server: self)
        openAI.register(on: router)
        OpenAIImageEditRoutes(server: self, openAI: openAI).register(on: router)
        A1111Routes(server: self).register(on: router)
        A1111InfoRoutes(server: self).register(on: router)
        JobRoutes(server: self).register(on: router)
        ImageRoutes(server: self).register(on: router)
        return router
    }

    /// Starts the workers and serves until cancelled or (when `handleSignals`) SIGINT / SIGTERM,
    /// then cancels outstanding jobs (their clients get a 503), stops the workers and lets the
    /// open connections finish.
    ///
    /// - Parameters:
    ///   - handleSignals: shut down gracefully on SIGINT and SIGTERM (false inside tests).
    ///   - logLevel: Hummingbird's log level (`info` prints the listening address).
    ///   - onRunning: called once the socket listens, with the actual port (useful with port 0).
    public func run(handleSignals: Bool = true, logLevel: Logger.Level = .info,
                    onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        queue.start()
        defer { queue.shutdown() }
        var logger = Logger(label: "diffuse.serve")
        logger.logLevel = logLevel
        let (tracker, idleTimeout) = (connections, configuration.idleTimeout.map { TimeAmount.nanoseconds(Int64($0 * 1e9)) })
        let connectionLogger = logger
        let app = Application(
            router: makeRouter(),
            server: .http1(configuration: HTTP1Channel.Configuration(additionalChannelHandlers: [
                ConnectionGuard(tracker: tracker, idleTimeout: idleTimeout, logger: connectionLogger),
            ])),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port),
                                                    serverName: "Diffuse"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        // On shutdown the queue goes first (it is last in the list): cancelling the jobs lets the
        // requests waiting for them end, so the server's drain does not wait for whole generations.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [app, QueueShutdown(queue: queue)],
            gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
            logger: logger
        ))
        try await group.run()
    }
}

/// Cancels every job when the service group starts shutting down.
private struct QueueShutdown: Service {
    let queue: GenerationQueue

    func run() async throws {
        try? await gracefulShutdown()
        queue.shutdown()
    }
}

extension DiffuseServer {
    /// Queues a job for `parameters` (429 when the queue is full) and waits for it. The job is
    /// cancelled when the request's client goes away (its connection's `ConnectionWatch`) or the
    /// calling task is cancelled.
    func generate(_ parameters: GenerationParameters, context: DiffuseRequestContext) async throws -> (GenerationJob, GenerationResult) {
        let job = makeJob(parameters)
        try queue.submit(job)
        let watch = connections.watch(for: context.channel)
        let key = watch?.onClientGone { job.cancel() }
        defer { if let key { watch?.remove(key) } }
        return (job, try await job.result())
    }

    /// A job for `parameters`, named with its sampler's display name.
    func makeJob(_ parameters: GenerationParameters) -> GenerationJob {
        GenerationJob(parameters: parameters, samplerName: samplers.displayName(for: parameters.sampler))
    }

    /// A random seed as A1111 draws them (0 ..< 2³² − 1).
    static func randomSeed() -> UInt64 { UInt64.random(in: 0 ..< 4_294_967_295) }
}
