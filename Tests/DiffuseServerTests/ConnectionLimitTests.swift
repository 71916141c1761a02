import Foundation
import XCTest

/// `--max-connections` (the `capped` test server: 4 connections) and `--idle-timeout` (the
/// `guarded` one: 1 s).
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

    /// A flood of half-sent requests at the cap does not keep requests out: each new connection
    /// takes the place of the oldest one not being answered.
    func testAtTheCapTheOldestIdleConnectionMakesRoom() async throws {
        let (server, port) = try await TestServers.shared.server(.capped)  // 4 connections, no timeout
        try await eventually("earlier connections are gone", timeout: 10) { server.openConnections == 0 }
        try await RawHTTP.onThread {
            var open: [RawConnection] = []
            defer { open.forEach { $0.close() } }
            for _ in 0 ..< 4 {
                let connection = try RawConnection(port: port, timeout: 10)
                try connection.send(Data("POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50\r\n\r\n{".utf8))
                open.append(connection)
                let deadline = Date().addingTimeInterval(10)
                while server.openConnections < open.count, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            }
            guard server.openConnections == 4 else { throw TestFailure("\(server.openConnections) connections open, not 4") }
            // Three more clients, each kept open: every one is served, and the oldest half-sent
            // request is closed to make room for it.
            for i in 0 ..< 3 {
                let client = try RawConnection(port: port, timeout: 10)
                open.append(client)
                try client.send(RawHTTP.requestData(method: "GET", path: "/health", port: port, headers: [:], body: nil))
                let reply = try RawHTTP.readReply(client)
                guard reply.status == 200 else { throw TestFailure("client \(i) at the cap: \(reply.status) \(reply.text)") }
                guard try open[i].receive().isEmpty else { throw TestFailure("half-sent request \(i) was not closed") }
            }
            guard server.openConnections == 4 else { throw TestFailure("\(server.openConnections) connections open, not 4") }
        }
    }

    /// When every connection is being answered, one more gets a 503 and is closed; the server
    /// serves again once they are done.
    func testWhenEveryConnectionIsBusyANewOneIs503() async throws {
        let (server, port) = try await TestServers.shared.server(.capped)
        try await eventually("the server is idle", timeout: 10) {
            server.openConnections == 0 && server.queue.runningJobs.isEmpty && server.queue.pendingCount == 0
        }
        let body = Data(#"{"prompt": "slow", "steps": 150, "sampler_name": "Euler", "width": 32, "height": 32, "batch_size": 8}"#.utf8)
        let busy = try await RawHTTP.onThread { () -> [RawConnection] in
            try (0 ..< 4).map { _ in
                let connection = try RawConnection(port: port, timeout: 30)
                try connection.send(RawHTTP.requestData(method: "POST", path: "/sdapi/v1/txt2img", port: port, headers: [:], body: body))
                return connection
            }
        }
        try await eventually("4 generations run or wait") { server.queue.runningJobs.count + server.queue.pendingCount == 4 }
        let refused = try await TestClient(port: port).get("/health")
        XCTAssertEqual(refused.status, 503, refused.text)
        XCTAssertEqual(refused.headers["connection"], "close")
        XCTAssertNotNil(refused.headers["retry-after"])
        XCTAssertTrue(refused.text.contains("too_many_connections"), refused.text)
        for connection in busy { connection.close() }  // their jobs are cancelled
        try await eventually("the connections and jobs are gone", timeout: 20) {
            server.openConnections == 0 && server.queue.runningJobs.isEmpty && server.queue.pendingCount == 0
        }
        let health = try await TestClient(port: port).get("/health")
        XCTAssertEqual(health.status, 200)
    }
}
