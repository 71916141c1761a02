import DiffuseFormats
import DiffusePipelines
import DiffuseServer
import DiffuseTensor
import Foundation
import XCTest

/// Servers on free loopback ports inside the test process, started once per configuration and
/// shared by the tests (the tiny random-weight model is loaded once).
actor TestServers {
    static let shared = TestServers()

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let modelFolder = fixtures.appendingPathComponent("sd/sd1")

    /// The configurations the tests use.
    enum Kind: String, CaseIterable {
        /// Defaults, except generous step caps for the cancellation tests.
        case standard
        /// `--api-key`.
        case authenticated
        /// `--api-key user:pass`, as A1111's `--api-auth` spells credentials.
        case basicAuth
        /// Small caps: body, size, steps, images; queue of 2 for the burst.
        case limited
        /// Two workers.
        case twoWorkers
        /// Connections closed after 1 s idle.
        case guarded
        /// At most 4 connections, no idle timeout.
        case capped
        /// The 9-channel inpainting fixture (it needs an init image and a mask).
        case inpainting
        /// The sd1 fixture with every UNet weight NaN: each generation diverges.
        case diverging
        /// The sd1 fixture with the textual-inversion embeddings of Fixtures/prompts/embeddings
        /// (mystyle, learned_embeds / <cat-toy>), as `serve --embedding` loads them.
        case embeddings
        /// Its own sd1 model, two workers, `--lora-dir` the LoRA fixtures.
        case loras
        /// The tiny SDXL folder (Fixtures/sdxl/base).
        case sdxl

        var configuration: ServerConfiguration {
            var c = ServerConfiguration()
            c.port = 0
            switch self {
            case .standard:
                c.maxSteps = 5000
            case .authenticated:
                c.apiKey = TestServers.apiKey
            case .basicAuth:
                c.apiKey = "webui:secret-pass"
            case .limited:
                c.maxBodyBytes = 64 * 1024
                c.maxSize = 64
                c.maxSteps = 10
                c.maxImages = 2
                c.queueLimit = 2
                c.keptImages = 3
            case .twoWorkers:
                c.workers = 2
                c.maxSteps = 5000
            case .guarded:
                c.idleTimeout = 1
            case .capped:
                c.maxConnections = 4
                c.idleTimeout = nil
            case .loras:
                c.workers = 2
                c.loraDirectory = TestServers.fixtures.appendingPathComponent("lora")
            case .inpainting, .diverging, .embeddings, .sdxl:
                break
            }
            return c
        }
    }

    static let apiKey = "test-key-0123456789"

    private var model: StableDiffusion?
    private var running: [Kind: (server: DiffuseServer, port: Int)] = [:]

    /// The shared model.
    func loadModel() throws -> StableDiffusion {
        if let model { return model }
        let loaded = try StableDiffusion.load(folder: TestServers.modelFolder)
        model = loaded
        return loaded
    }

    /// The running server of this kind (started on first use).
    func server(_ kind: Kind) async throws -> (server: DiffuseServer, port: Int) {
        if let existing = running[kind] { return existing }
        let model: StableDiffusion
        switch kind {
        case .inpainting:
            model = try StableDiffusion.load(folder: TestServers.fixtures.appendingPathComponent("sd/inpaint"))
        case .loras:
            model = try StableDiffusion.load(folder: TestServers.modelFolder)
        case .sdxl:
            model = try DiffusionPipeline.load(folder: TestServers.fixtures.appendingPathComponent("sdxl/base"))
        case .diverging:
            model = try StableDiffusion.load(folder: TestServers.modelFolder)
            for (_, parameter) in model.unet.namedParameters() {
                parameter.value = Tensor(shape: parameter.shape, repeating: .nan)
            }
        case .embeddings:
            model = try StableDiffusion.load(folder: TestServers.modelFolder)
            let folder = TestServers.fixtures.appendingPathComponent("prompts/embeddings")
            try (model.textEncoder as! CLIPPromptEncoder).useEmbeddings(
                try ["mystyle", "learned_embeds"].map { try TextualInversion.load(folder.appendingPathComponent("\($0).safetensors")) })
        default:
            model = try loadModel()
        }
        let server = try DiffuseServer(model: model, configuration: kind.configuration)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        Task.detached {
            defer { continuation.finish() }
            do {
                try await server.run(handleSignals: false, logLevel: .warning) { port in continuation.yield(port) }
            } catch {
                print("test server \(kind) stopped: \(error)")
            }
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw TestFailure("the \(kind) server did not start") }
        running[kind] = (server, port)
        return (server, port)
    }

    /// A client for the server of this kind.
    static func client(_ kind: Kind = .standard) async throws -> TestClient {
        let (_, port) = try await shared.server(kind)
        return TestClient(port: port, apiKey: kind == .authenticated ? apiKey : nil)
    }
}

/// Helpers shared by the test files.
enum TestImages {
    /// A smooth RGB test picture.
    static func gradient(width: Int, height: Int) throws -> PNGImage {
        var pixels = [UInt8]()
        for y in 0 ..< height {
            for x in 0 ..< width {
                pixels += [UInt8(x * 255 / max(1, width - 1)), UInt8(y * 255 / max(1, height - 1)), 128]
            }
        }
        return try PNGImage(width: width, height: height, channels: 3, pixels: pixels)
    }

    /// A gray mask: white (repaint) on the left half.
    static func leftHalfMask(width: Int, height: Int) throws -> PNGImage {
        var pixels = [UInt8]()
        for _ in 0 ..< height { for x in 0 ..< width { pixels.append(x < width / 2 ? 255 : 0) } }
        return try PNGImage(width: width, height: height, channels: 1, pixels: pixels)
    }

    static func base64(_ image: PNGImage) throws -> String {
        try PNGEncoder.encode(image).base64EncodedString()
    }

    /// Decodes a base64 PNG (with or without a data: URL prefix).
    static func decode(_ text: String) throws -> PNGImage {
        let payload = text.hasPrefix("data:") ? String(text[text.index(after: text.firstIndex(of: ",")!)...]) : text
        guard let data = Data(base64Encoded: payload) else { throw TestFailure("not base64: \(text.prefix(40))") }
        return try PNGDecoder.decode(data, name: "reply")
    }
}

/// Waits (polling) until `condition` holds, failing after `timeout` seconds.
func eventually(_ what: String, timeout: Double = 30, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
    throw TestFailure("timed out after \(timeout) s waiting for: \(what)")
}
