import DiffuseFormats
import DiffusePipelines
import Foundation
import Hummingbird

/// The web page's job API:
/// - `POST /api/jobs` with `prompt`, `negative_prompt`, `sampler`, `steps`, `guidance`, `seed`
///   (−1 or absent = random), `width`, `height`, `n`, `init_image` (base64 or data URL),
///   `strength`, `mask`, `eta`, `prompt_syntax` (`plain`, the default, or `a1111`), `loras`
///   (`ServerLoRAs.parse`) → 202 `{id, status, seeds, position}`;
/// - `GET /api/jobs/<id>`: its state (with the images as data URLs once done);
/// - `GET /api/jobs/<id>/events`: Server-Sent Events `queued`, `started`, `progress` (step,
///   total, preview as a data URL), then one of `done` (the images), `error` or `cancelled`.
///   When the last listener disconnects from a job that has not ended, the job is cancelled;
/// - `DELETE /api/jobs/<id>`: cancels it.
struct JobRoutes {
    let server: DiffuseServer

    func register(on router: Router<DiffuseRequestContext>) {
        router.post("/api/jobs") { request, _ -> Response in
            let fields = try await HTTPSupport.readFields(request, limit: server.configuration.effectiveMaxBodyBytes)
            let job = server.makeJob(try parse(fields))
            server.jobs.add(job)
            do {
                try server.queue.submit(job)
            } catch {
                server.jobs.remove(job)
                throw error
            }
            return HTTPSupport.json(describe(job), status: .accepted, headers: [.location: "/api/jobs/\(job.id)"])
        }
        router.get("/api/jobs/:id") { _, context -> Response in
            HTTPSupport.json(describe(try job(context)))
        }
        router.delete("/api/jobs/:id") { _, context -> Response in
            let job = try job(context)
            job.cancel()
            return HTTPSupport.json(describe(job))
        }
        router.get("/api/jobs/:id/events") { request, context -> Response in
            let job = try job(context)
            return events(job, request: request)
        }
    }

    private func job(_ context: DiffuseRequestContext) throws -> GenerationJob {
        let id = context.parameters.get("id") ?? ""
        guard let job = server.jobs.job(id: id) else { throw APIError.notFound("no job \(id)") }
        return job
    }

    // MARK: Parsing

    func parse(_ fields: RequestFields) throws -> GenerationParameters {
        let config = server.configuration
        let native = server.model.defaultImageSize
        var initImage: PNGImage?, mask: PNGImage?
        if let text = try fields.string("init_image") {
            initImage = try ImageCoding.decode(text, field: "init_image", maxSize: config.maxSize)
        }
        if let text = try fields.string("mask") {
            mask = try ImageCoding.decode(text, field: "mask", maxSize: config.maxSize)
        }
        let width = try fields.int("width").map(Int.init) ?? initImage.map { max(8, $0.width / 8 * 8) } ?? native
        let height = try fields.int("height").map(Int.init) ?? initImage.map { max(8, $0.height / 8 * 8) } ?? native
        var parameters = GenerationParameters(prompt: try fields.string("prompt") ?? "", width: width, height: height)
        parameters.negativePrompt = try fields.string("negative_prompt") ?? ""
        parameters.promptSyntax = try GenerationParameters.promptSyntax(fields, default: .plain)
        parameters.sampler = try server.samplers.resolve(try fields.string("sampler"), field: "sampler")
        parameters.steps = Int(try fields.int("steps") ?? Int64(min(20, config.maxSteps)))
        parameters.guidance = try fields.double("guidance") ?? Double(server.model.guidance(nil))
        let seed = try fields.int("seed", in: -1 ... Int64.max) ?? -1
        parameters.seed = seed < 0 ? DiffuseServer.randomSeed() : UInt64(seed)
        parameters.count = Int(try fields.int("n") ?? 1)
        if initImage != nil { parameters.strength = try fields.double("strength") ?? 0.75 }
        parameters.eta = try fields.double("eta")
        parameters.mask = mask
        parameters.initImage = initImage
        parameters.loras = try ServerLoRAs.parse(fields, field: "loras", server: server)
        try parameters.validate(against: config, samplers: server.samplers)
        if let image = initImage {
            parameters.initImage = try ImageResize.resized(image, width: parameters.width, height: parameters.height)
        }
        if let mask {
            parameters.mask = try ImageResize.resized(mask, width: parameters.width, height: parameters.height)
        }
        return parameters
    }

    // MARK: Replies

    /// The job as JSON: id, status, seeds, sampler, queue position or progress, and once done the
    /// images (data URLs) or the error.
    func describe(_ job: GenerationJob) -> JSONValue {
        let snapshot = job.snapshot
        let p = job.parameters
        var fields: [(String, JSONValue)] = [
            ("id", .string(job.id)),
            ("status", .string(snapshot.status.rawValue)),
            ("seeds", .array(p.seeds.map { .int(Int64(truncatingIfNeeded: $0)) })),
            ("sampler", .string(job.samplerName)),
            ("width", .number(p.width)), ("height", .number(p.height)), ("steps", .number(p.steps)),
        ]
        if let position = server.queue.position(of: job) { fields.append(("position", .number(position))) }
        if let progress = snapshot.progress { fields.append(("progress", progressJSON(progress, preview: nil))) }
        if let result = snapshot.result { fields.append(("result", resultJSON(result))) }
        if let error = snapshot.error { fields.append(("error", errorJSON(error))) }
        return .object(fields)
    }

    /// A failed job's error: message, HTTP status and the request field at fault.
    private func errorJSON(_ error: APIError) -> JSONValue {
        ["message": .string(error.message), "status": .number(Int(error.status.code)), "param": .optional(error.field)]
    }

    private func progressJSON(_ progress: JobProgress, preview: Data?) -> JSONValue {
        [
            "image": .number(progress.image + 1), "images": .number(progress.images),
            "step": .number(progress.step), "total": .number(progress.totalSteps),
            "progress": .double(progress.fraction), "elapsed": .double(progress.elapsed),
            "preview": preview.map { .string(ImageCoding.dataURL($0)) } ?? nil,
        ]
    }

    private func resultJSON(_ result: GenerationResult) -> JSONValue {
        [
            "images": .array(result.images.map { image in
                ["image": .string(ImageCoding.dataURL(image.png)), "seed": .int(Int64(truncatingIfNeeded: image.seed)),
                 "infotext": .string(image.infotext)]
            }),
            "interrupted": .bool(result.interrupted),
            "seconds": .double(result.seconds),
        ]
    }

    // MARK: Server-Sent Events

    private func events(_ job: GenerationJob, request: Request) -> Response {
        // Position first: a job that starts meanwhile then reads "queued", "started" (replayed), in order.
        let position = server.queue.position(of: job)
        let stream = job.events { remaining in
            // The last watcher left before the end: nobody will see the images.
            if remaining == 0 { job.cancel() }
        }
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache", .connection: "keep-alive"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            do {
                try await request.body.consumeWithCancellationOnInboundClose { _ in
                    if let position {
                        try await writer.write(sse("queued", ["id": .string(job.id), "position": .number(position)]))
                    }
                    for await event in stream {
                        try await writer.write(sse(event, job: job))
                    }
                }
            } catch is CancellationError {
                return  // the client went away
            }
            try await writer.finish(nil)
        })
    }

    private func sse(_ event: JobEvent, job: GenerationJob) -> ByteBuffer {
        switch event {
        case .started: return sse("started", ["id": .string(job.id)])
        case .progress(let progress): return sse("progress", progressJSON(progress, preview: progress.preview))
        case .finished(let result): return sse("done", resultJSON(result))
        case .failed(let error): return sse("error", errorJSON(error))
        case .cancelled: return sse("cancelled", ["id": .string(job.id)])
        }
    }

    private func sse(_ name: String, _ data: JSONValue) -> ByteBuffer {
        ByteBuffer(string: "event: \(name)\ndata: \(data.serialized)\n\n")
    }
}
