import Foundation
import NIOCore

/// The server's open connections: at most `limit` at once, each with the `ConnectionWatch` its
/// routes find by channel. At the limit, a new connection takes the place of the oldest one that
/// is not being answered (idle, or with a request sent half-way), which is closed; only when every
/// connection is being answered is the new one refused. So a flood of idle or half-sent requests
/// churns among itself while real requests, which complete, get through. Counts refusals,
/// evictions and idle-timeout closes so that `ConnectionGuard` logs them as summaries (one line
/// per `logInterval`), not one line per connection of a flood.
final class ConnectionTracker: @unchecked Sendable {
    /// Connections served at once.
    let limit: Int
    /// Seconds between two log lines about refusals, evictions or timeouts.
    let logInterval: Double

    /// One open connection.
    private struct Entry {
        var channel: any Channel
        var watch: ConnectionWatch
        /// Admission order (oldest first).
        var number: Int
        /// A request has been read and its reply has not ended.
        var busy = false
    }

    /// What happened to a new connection.
    enum Admission {
        /// Admitted.
        case admitted(ConnectionWatch)
        /// Admitted in the place of this connection, which the caller closes.
        case admittedEvicting(ConnectionWatch, evicted: any Channel)
        /// Refused: every connection is being answered.
        case refused
    }

    private let lock = NSLock()
    private var entries: [ObjectIdentifier: Entry] = [:]
    private var admitted = 0
    private var refused = Tally()
    private var evicted = Tally()
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
        return entries.count
    }

    /// Admits a new connection, evicting the oldest one not being answered when `limit` are open.
    func admit(_ channel: any Channel) -> Admission {
        lock.lock()
        defer { lock.unlock() }
        var victim: Entry?
        if entries.count >= limit {
            guard let oldest = entries.values.filter({ !$0.busy }).min(by: { $0.number < $1.number }) else { return .refused }
            entries[ObjectIdentifier(oldest.channel)] = nil
            victim = oldest
        }
        let watch = ConnectionWatch()
        admitted += 1
        entries[ObjectIdentifier(channel)] = Entry(channel: channel, watch: watch, number: admitted)
        return victim.map { .admittedEvicting(watch, evicted: $0.channel) } ?? .admitted(watch)
    }

    /// Records whether a connection is being answered (it may not be evicted then).
    func setBusy(_ channel: any Channel, _ busy: Bool) {
        lock.lock()
        entries[ObjectIdentifier(channel)]?.busy = busy
        lock.unlock()
    }

    /// Forgets a closed connection.
    func release(_ channel: any Channel) {
        lock.lock()
        entries[ObjectIdentifier(channel)] = nil
        lock.unlock()
    }

    /// The watch of an open connection.
    func watch(for channel: any Channel) -> ConnectionWatch? {
        lock.lock()
        defer { lock.unlock() }
        return entries[ObjectIdentifier(channel)]?.watch
    }

    /// Counts a refused connection; returns how many to report if a log line is due.
    func countRefusal() -> Int? { count(\.refused) }

    /// Counts an evicted connection; returns how many to report if a log line is due.
    func countEviction() -> Int? { count(\.evicted) }

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
