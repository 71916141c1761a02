import Foundation
import XCTest

/// `--max-connections` and `--idle-timeout` (the `guarded` test server: 4 connections, 1 s).
final class ConnectionLimitTests: XCTestCase {
    /// Seconds until the server closes `connection` (reads and drops whatever it sends first).
    private func secondsUntilClosed(_ connection: RawConnection, since start: Date) throws -> Double {
        while try !connection.receive().isEmpty {}
        return Date().timeIntervalSince(start)
    }

    func testHalfSentRequestsAreClosedAfterTheIdleTimeout() async throws {
        let (_, port) = try await TestServers.shared.server(.guarded)
        let waits = try await RawHTTP.onThread { () -> [Double] in
            let halfSent = [
                "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow",  // head cut short
                "POST /sdapi/v1/txt2img HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"prompt\": ",  // body cut short
                "",  // nothing at all
            ]
            return try halfSent.map { text in
                let connection = try RawConnection(port: port, timeout: 20)
                defer { connection.close() }
                let start = Date()
                try connection.send(Data(text.utf8))
                return try self.secondsUntilClosed(connection, since: start)
            }
        }
        for (i, wait) in waits.enumerated() {
            XCTAssertGreaterThan(wait, 0.8, "request \(i) closed before the timeout")
            XCTAssertLessThan(wait, 4, "request \(i) closed after \(wait) s")
        }
    }

    func testAGenerationLongerThanTheTimeoutIsNotCut() async throws {
        let client = try await TestServers.client(.guarded)
        let started = Date()
        let reply = try await client.post("/sdapi/v1/txt2img",
                                          #"{"prompt": "x", "steps": 100, "sampler_name": "Euler", "width": 32, "height": 32}"#)
        let seconds = Date().timeIntervalSince(started)
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertGreaterThan(seconds, 1.5, "the generation must outlast the 1 s timeout for this test to mean anything")
        print("generation on the guarded server: \(String(format: "%.2f", seconds)) s (idle timeout 1 s)")
    }

    func testConnectionsBeyondTheCapAreRefusedAndTheServerStillAnswers() async throws {
        let (server, port) = try await TestServers.shared.server(.guarded)
        try await eventually("earlier connections are gone", timeout: 10) { server.openConnections == 0 }
        try await RawHTTP.onThread {
            // One keep-alive connection first, then half-sent requests up to the cap of 4.
            let kept = try RawConnection(port: port, timeout: 20)
            try kept.send(RawHTTP.requestData(method: "GET", path: "/health", port: port, headers: [:], body: nil))
            guard try RawHTTP.readReply(kept).status == 200 else { throw TestFailure("health before the flood") }
            let halfOpen = try (0 ..< 3).map { _ -> RawConnection in
                let connection = try RawConnection(port: port, timeout: 20)
                try connection.send(Data("POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50\r\n\r\n{".utf8))
                return connection
            }
            Thread.sleep(forTimeInterval: 0.2)
            // Beyond the cap: 503 with Connection: close, then the server closes.
            for i in 0 ..< 5 {
                let extra = try RawConnection(port: port, timeout: 20)
                let reply = try RawHTTP.readReply(extra)
                guard reply.status == 503, reply.headers["connection"] == "close", reply.headers["retry-after"] != nil,
                      reply.text.contains("too_many_connections") else { throw TestFailure("extra connection \(i): \(reply.status) \(reply.headers) \(reply.text)") }
                guard try extra.receive().isEmpty else { throw TestFailure("extra connection \(i) left open") }
            }
            // The connection already open is still served.
            try kept.send(RawHTTP.requestData(method: "GET", path: "/health", port: port, headers: [:], body: nil))
            guard try RawHTTP.readReply(kept).status == 200 else { throw TestFailure("health on the kept connection") }
            // After the idle timeout the half-sent requests are closed and new connections are served.
            for connection in halfOpen { _ = try self.secondsUntilClosed(connection, since: Date()) }
        }
        try await eventually("the cap frees up", timeout: 10) { server.openConnections < 4 }
        let health = try await TestClient(port: port).get("/health")
        XCTAssertEqual(health.status, 200)
    }
}
