import ArgumentParser
import DiffuseNN
import DiffusePipelines
import DiffuseServer
import Dispatch
import Foundation

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a web page and image-generation HTTP APIs (OpenAI, AUTOMATIC1111) for one model.",
        discussion: """
        Loads the model once and serves until Ctrl-C:
          /                              the web page (works offline)
          POST /v1/images/generations    OpenAI images, and edits, variations;
                                         GET /v1/models, /v1/models/ID
          POST /sdapi/v1/txt2img         AUTOMATIC1111, and img2img, progress,
                                         interrupt, samplers, schedulers, sd-models,
                                         options, png-info, memory, cmd-flags, …
          POST /api/jobs                 the page's jobs: GET /api/jobs/ID/events
                                         (Server-Sent Events), DELETE /api/jobs/ID
          GET /health                    {"status":"ok"}

        Generation runs on --workers dedicated threads; at most --queue-limit jobs \
        wait, and further requests get 429 with Retry-After. Connections are kept \
        alive; at most --max-connections are open (a new one replaces the oldest \
        idle or half-sent one, or gets 503 when all are busy), and one idle for \
        --idle-timeout seconds (no request, or one sent half-way) is closed. With \
        --api-key (or DIFFUSE_API_KEY) every route but the page's own files, /health \
        and the image links needs `Authorization: Bearer KEY`, or HTTP Basic with \
        the key as password (any user name) or as the whole user:pass.

        Example:
          diffuse serve --model sd15 --port 7860
        """
    )

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup(title: "Textual inversion") var embeddingOptions: EmbeddingOptions

    @Option(help: "Address to listen on (0.0.0.0 for every interface).")
    var host = "127.0.0.1"

    @Option(help: "TCP port (0 picks a free one).")
    var port = 7860

    @Option(help: "Require `Authorization: Bearer KEY` or HTTP Basic with KEY as password or as user:pass (default: the DIFFUSE_API_KEY environment variable, if set).")
    var apiKey: String?

    @Option(help: "Generation threads (jobs that run at once).")
    var workers = 1

    @Option(help: "Jobs that may wait for a worker; more get 429.")
    var queueLimit = 16

    @Option(help: "Largest width or height accepted, in pixels.")
    var maxSize = 1024

    @Option(help: "Largest number of steps accepted.")
    var maxSteps = 150

    @Option(help: "Largest number of images per request.")
    var maxImages = 8

    @Option(help: "Connections open at once; a new one replaces the oldest idle or half-sent one, or gets 503 when all are busy.")
    var maxConnections = 256

    @Option(help: "Seconds before a connection without a request, or with one sent half-way, is closed (0 = never).")
    var idleTimeout = 30.0

    func run() throws {
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.apiKey = apiKey ?? ProcessInfo.processInfo.environment["DIFFUSE_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.workers = workers
        configuration.queueLimit = queueLimit
        configuration.maxSize = maxSize
        configuration.maxSteps = maxSteps
        configuration.maxImages = maxImages
        configuration.maxConnections = maxConnections
        configuration.idleTimeout = idleTimeout == 0 ? nil : idleTimeout
        configuration.loraDirectory = modelOptions.loraDir.map { URL(fileURLWithPath: $0) }
        do {
            try configuration.validate()
        } catch let error as ServerConfigurationError {
            throw CLIError("--\(error.setting): \(error.message)")
        }
        try prepareEngine()

        let start = Date()
        let pipeline = try modelOptions.load()
        try embeddingOptions.apply(to: pipeline)
        let server = try DiffuseServer(model: pipeline, configuration: configuration)
        print(String(format: "loaded %@ in %.1f s", pipeline.name, Date().timeIntervalSince(start)))
        fflush(stdout)

        // The server is async; this command blocks its (main) thread until the server stops.
        let done = DispatchSemaphore(value: 0)
        let outcome = ServeOutcome()
        let (host, authenticated) = (configuration.host, configuration.apiKey != nil)
        Task.detached {
            do {
                try await server.run { port in
                    print("serving on http://\(host):\(port)/\(authenticated ? " (API key required)" : "")")
                    fflush(stdout)
                }
            } catch {
                outcome.error = error
            }
            done.signal()
        }
        done.wait()
        if let error = outcome.error {
            throw CLIError("cannot serve on \(configuration.host):\(configuration.port): \(error)")
        }
    }
}

/// Carries the server task's error back to the blocked command thread.
private final class ServeOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: (any Error)?
    var error: (any Error)? {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
