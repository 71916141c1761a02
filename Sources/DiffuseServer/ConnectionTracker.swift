import Foundation
import NIOCore

/// The server's open connections: at most `limit` at once, each with the `ConnectionWatch` its
/// routes find by channel. Counts refusals and idle-timeout closes so that `ConnectionGuard` logs
/// them as summaries (one line per `logInterval`), not one line per connection of a flood.
final class ConnectionTracker: @unchecked Sendable {
    /// Connections served at once; more are refused (see `ConnectionGuard`).
    let limit: Int
    /// Seconds between two log lines about refusals or timeouts.
    let logInterval: Double

    private let lock = NSLock()
    private var watches: [ObjectIdentifier: ConnectionWatch] = [:]
    private var refused = Tally()
    private var timedOut = Tally()

    /// Events of one kind since they were last logged.
    private struct Tally {
        var count = 0
        var lastLog = Date.distantPast
    }

    init(limit: Int, logInterval: Double = 10) {
        self.limit = limit
        self.logInterval = logInterval
    }

    /// Connections open now.
    var openCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return watches.count
    }

    /// Admits a new connection: its watch, or nil when `limit` are open already.
    func admit(_ channel: any Channel) -> ConnectionWatch? {
        lock.lock()
        defer { lock.unlock() }
        guard watches.count < limit else { return nil }
        let watch = ConnectionWatch()
        watches[ObjectIdentifier(channel)] = watch
        return watch
    }

    /// Forgets a closed connection.
    func release(_ channel: any Channel) {
        lock.lock()
        watches[ObjectIdentifier(channel)] = nil
        lock.unlock()
    }

    /// The watch of an open connection.
    func watch(for channel: any Channel) -> ConnectionWatch? {
        lock.lock()
        defer { lock.unlock() }
        return watches[ObjectIdentifier(channel)]
    }

    /// Counts a refused connection; returns how many to report if a log line is due.
    func countRefusal() -> Int? { count(\.refused) }

    /// Counts a connection closed by the idle timeout; returns how many to report if a log line is due.
    func countTimeout() -> Int? { count(\.timedOut) }

    private func count(_ tally: ReferenceWritableKeyPath<ConnectionTracker, Tally>) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        self[keyPath: tally].count += 1
        let now = Date()
        guard now.timeIntervalSince(self[keyPath: tally].lastLog) >= logInterval else { return nil }
        let count = self[keyPath: tally].count
        self[keyPath: tally] = Tally(count: 0, lastLog: now)
        return count
    }
}
