import DiffuseServer
import Foundation
import XCTest

/// The page's job API: `POST /api/jobs`, Server-Sent Events, `DELETE`, and cancellation when
/// clients go away.
final class JobAPITests: XCTestCase {
    /// Server-Sent Events as (name, data object) pairs.
    private func events(_ text: String) throws -> [(name: String, data: [String: Any])] {
        try text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { block in
            var name = "message", data = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data += line.dropFirst(6) }
            }
            let object = try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] ?? [:]
            return (name, object)
        }
    }

    private func submit(_ client: TestClient, _ json: String) async throws -> [String: Any] {
        let reply = try await client.post("/api/jobs", json)
        XCTAssertEqual(reply.status, 202, reply.text)
        return try reply.object()
    }

    func testJobStreamsProgressWithPreviewsThenImages() async throws {
        let client = try await TestServers.client()
        let job = try await submit(client, #"{"prompt": "a boat", "steps": 4, "width": 48, "height": 32, "n": 2, "seed": 77, "sampler": "Euler a"}"#)
        let id = try XCTUnwrap(job["id"] as? String)
        XCTAssertEqual(job["seeds"] as? [Int], [77, 78])
        XCTAssertEqual(job["sampler"] as? String, "Euler a")
        XCTAssertTrue(["queued", "running", "succeeded"].contains(job["status"] as? String ?? ""))

        let stream = try await client.get("/api/jobs/\(id)/events")
        XCTAssertEqual(stream.status, 200)
        XCTAssertEqual(stream.headers["content-type"], "text/event-stream")
        let all = try events(stream.text)
        let names = all.map(\.name)
        XCTAssertEqual(names.last, "done", "\(names)")
        // The stream may join late; whatever it saw of the run is in order.
        let progress = all.filter { $0.name == "progress" }.map(\.data)
        if let first = progress.first {
            XCTAssertNotNil(first["step"] as? Int)
            XCTAssertEqual(first["total"] as? Int, 4)
            XCTAssertEqual(first["images"] as? Int, 2)
        }
        let done = try XCTUnwrap(all.last?.data)
        let images = try XCTUnwrap(done["images"] as? [[String: Any]])
        XCTAssertEqual(images.map { $0["seed"] as? Int }, [77, 78])
        for entry in images {
            let url = try XCTUnwrap(entry["image"] as? String)
            XCTAssertTrue(url.hasPrefix("data:image/png;base64,"))
            let image = try TestImages.decode(url)
            XCTAssertEqual([image.width, image.height], [48, 32])
            XCTAssertTrue((entry["infotext"] as? String ?? "").contains("Seed: \(entry["seed"] as? Int ?? -1)"))
        }
        let state = try await client.get("/api/jobs/\(id)").object()
        XCTAssertEqual(state["status"] as? String, "succeeded")
        XCTAssertEqual(((state["result"] as? [String: Any])?["images"] as? [Any])?.count, 2)
    }

    func testAStreamJoinedBeforeTheStartSeesEveryStepWithPreviews() async throws {
        let (server, port) = try await TestServers.shared.server(.standard)
        let client = TestClient(port: port)
        // Hold the worker with a long job so the next one waits in the queue.
        let blocker = try await submit(client, #"{"prompt": "hold", "steps": 500, "sampler": "euler", "width": 32, "height": 32}"#)
        try await eventually("the blocker runs") { !server.queue.runningJobs.isEmpty }
        let job = try await submit(client, #"{"prompt": "a boat", "steps": 3, "width": 32, "height": 32, "sampler": "ddim", "seed": 5}"#)
        let id = try XCTUnwrap(job["id"] as? String)
        XCTAssertEqual(job["status"] as? String, "queued")
        XCTAssertEqual(job["position"] as? Int, 1)
        async let stream = client.get("/api/jobs/\(id)/events")
        try await eventually("the stream is open") { server.jobs.job(id: id)?.listenerCount == 1 }
        let deleteStatus = try await client.send("DELETE", "/api/jobs/\(try XCTUnwrap(blocker["id"] as? String))").status
        XCTAssertEqual(deleteStatus, 200)
        let all = try events(try await stream.text)
        XCTAssertEqual(all.map(\.name), ["queued", "started", "progress", "progress", "progress", "done"])
        XCTAssertEqual(all[0].data["position"] as? Int, 1)
        XCTAssertEqual(all[2...4].map { $0.data["step"] as? Int }, [1, 2, 3])
        for event in [all[2], all[4]] {  // steps in between get one at most every 0.2 s
            let preview = try TestImages.decode(try XCTUnwrap(event.data["preview"] as? String, "first and last steps carry a preview"))
            XCTAssertEqual([preview.width, preview.height], [16, 16], "one pixel per latent (this VAE halves the size)")
        }
    }

    func testDeleteCancelsARunningJob() async throws {
        let (server, port) = try await TestServers.shared.server(.standard)
        let client = TestClient(port: port)
        let job = try await submit(client, #"{"prompt": "slow", "steps": 500, "sampler": "euler", "width": 32, "height": 32}"#)
        let id = try XCTUnwrap(job["id"] as? String)
        try await eventually("the job runs") { try await client.get("/api/jobs/\(id)").object()["status"] as? String == "running" }
        let deleted = try await client.send("DELETE", "/api/jobs/\(id)")
        XCTAssertEqual(deleted.status, 200)
        try await eventually("the job is cancelled", timeout: 10) {
            try await client.get("/api/jobs/\(id)").object()["status"] as? String == "cancelled"
        }
        let stream = try events(try await client.get("/api/jobs/\(id)/events").text)
        XCTAssertEqual(stream.map(\.name), ["cancelled"])
        try await eventually("the worker is free", timeout: 10) { server.queue.runningJobs.isEmpty }
    }

    func testClosingTheEventStreamCancelsTheJob() async throws {
        let (server, port) = try await TestServers.shared.server(.standard)
        let client = TestClient(port: port)
        let job = try await submit(client, #"{"prompt": "slow", "steps": 500, "sampler": "euler", "width": 32, "height": 32}"#)
        let id = try XCTUnwrap(job["id"] as? String)
        let connection = try RawConnection(port: port, timeout: 30)
        try connection.send(RawHTTP.requestData(method: "GET", path: "/api/jobs/\(id)/events", port: port, headers: [:], body: nil))
        var seen = ""
        while !seen.contains("event: progress") {
            let chunk = try connection.receive()
            XCTAssertFalse(chunk.isEmpty, "stream ended early: \(seen)")
            if chunk.isEmpty { return }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        connection.close()
        try await eventually("the job is cancelled after its only watcher left", timeout: 10) {
            try await client.get("/api/jobs/\(id)").object()["status"] as? String == "cancelled"
        }
        try await eventually("the worker is free", timeout: 10) { server.queue.runningJobs.isEmpty }
    }

    func testDisconnectingA1111ClientCancelsItsJob() async throws {
        let (server, port) = try await TestServers.shared.server(.standard)
        try await eventually("the queue is idle") { server.queue.runningJobs.isEmpty && server.queue.pendingCount == 0 }
        let connection = try RawConnection(port: port, timeout: 30)
        let body = Data(#"{"prompt": "slow", "steps": 500, "sampler_name": "Euler", "width": 32, "height": 32, "batch_size": 2}"#.utf8)
        try connection.send(RawHTTP.requestData(method: "POST", path: "/sdapi/v1/txt2img", port: port,
                                                headers: ["Content-Type": "application/json"], body: body))
        try await eventually("the job runs") { !server.queue.runningJobs.isEmpty }
        let job = try XCTUnwrap(server.queue.runningJobs.first)
        let started = Date()
        connection.close()
        try await eventually("the job stops after the client left", timeout: 10) { server.queue.runningJobs.isEmpty }
        XCTAssertEqual(job.snapshot.status, .cancelled)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        // And the server goes on serving.
        let reply = try await TestClient(port: port).post("/sdapi/v1/txt2img", #"{"prompt": "x", "steps": 2, "width": 32, "height": 32}"#)
        XCTAssertEqual(reply.status, 200)
    }

    func testVaryIsImg2ImgFromAResult() async throws {
        let client = try await TestServers.client()
        let first = try await submit(client, #"{"prompt": "a tree", "steps": 2, "width": 32, "height": 32, "seed": 1}"#)
        let done = try events(try await client.get("/api/jobs/\(try XCTUnwrap(first["id"] as? String))/events").text).last
        XCTAssertEqual(done?.name, "done")
        let result = try XCTUnwrap((done?.data["images"] as? [[String: Any]])?.first?["image"] as? String)
        let vary = try await client.post("/api/jobs", object: ["prompt": "a tree", "steps": 4, "sampler": "ddim", "init_image": result, "strength": 0.5])
        XCTAssertEqual(vary.status, 202, vary.text)
        let varied = try vary.object()
        XCTAssertEqual(varied["width"] as? Int, 32, "size from the init image")
        let stream = try events(try await client.get("/api/jobs/\(try XCTUnwrap(varied["id"] as? String))/events").text)
        XCTAssertEqual(stream.last?.name, "done")
        let progress = stream.filter { $0.name == "progress" }
        if let last = progress.last { XCTAssertEqual(last.data["total"] as? Int, 2, "strength 0.5 of 4 steps runs 2") }
        let info = try XCTUnwrap((stream.last?.data["images"] as? [[String: Any]])?.first?["infotext"] as? String)
        XCTAssertTrue(info.contains("Denoising strength: 0.5"), info)
    }

    func testBadJobRequestsAre400() async throws {
        let client = try await TestServers.client()
        let cases: [(String, String, String)] = [
            (#"{"prompt": "x", "sampler": "nope"}"#, "sampler", "unknown sampler \"nope\""),
            (#"{"prompt": "x", "init_image": "data:image/png;base64,!!!!"}"#, "init_image", "init_image is not valid base64"),
            (#"{"prompt": "x", "init_image": "data:text/plain,hello"}"#, "init_image", "init_image is a data: URL that is not base64-encoded"),
            (#"{"prompt": "x", "width": 20}"#, "width", "width must be a positive multiple of 8, not 20"),
            (#"{"prompt": "x", "n": 0}"#, "n", "n must be at least 1, not 0"),
            (#"{"prompt": "x", "guidance": "7"}"#, "guidance", "guidance must be a number, not a string"),
            (#"{"prompt": {}}"#, "prompt", "prompt must be a string, not an object"),
        ]
        for (body, param, message) in cases {
            let reply = try await client.post("/api/jobs", body)
            XCTAssertEqual(reply.status, 400, "\(body) → \(reply.text)")
            let error = try XCTUnwrap(try reply.object()["error"] as? [String: Any])
            XCTAssertEqual(error["param"] as? String, param, body)
            XCTAssertTrue((error["message"] as? String ?? "").contains(message), "\(body): \(error["message"] ?? "")")
        }
    }
}
