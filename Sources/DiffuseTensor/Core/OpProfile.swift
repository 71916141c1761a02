import Foundation

/// Wall time per tensor operation, to find where a model's time goes.
///
/// Off unless `EngineSettings.profile` (then each op costs two clock reads). Only
/// the outermost op is charged: an op that calls another (linear → matmul) counts once, under its
/// own name. Meant for one calling thread at a time (a benchmark or a `generate` run).
public enum OpProfile {
    /// Whether ops are timed (`EngineSettings.profile`).
    public static let enabled = EngineSettings.current.profile

    /// Time and call count of one op.
    public struct Entry: Sendable {
        public var seconds: Double = 0
        public var calls = 0
    }

    private nonisolated(unsafe) static var entries: [String: Entry] = [:]
    private nonisolated(unsafe) static var depth = 0
    private static let lock = NSLock()

    /// Runs `body`, charging its wall time to `name` when profiling is on and no op encloses it.
    @inlinable
    public static func measure<T>(_ name: StaticString, _ body: () -> T) -> T {
        guard enabled else { return body() }
        return timed(name, body)
    }

    /// `measure` for a name made at run time (e.g. an autograd node's backward pass).
    @inlinable
    public static func measure<T>(named name: @autoclosure () -> String, _ body: () -> T) -> T {
        guard enabled else { return body() }
        return timed(name(), body)
    }

    @usableFromInline
    static func timed<T>(_ name: StaticString, _ body: () -> T) -> T {
        timed("\(name)", body)
    }

    @usableFromInline
    static func timed<T>(_ name: String, _ body: () -> T) -> T {
        lock.lock()
        depth += 1
        let outermost = depth == 1
        lock.unlock()
        let start = DispatchTime.now().uptimeNanoseconds
        let result = body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        lock.lock()
        depth -= 1
        if outermost {
            entries[name, default: Entry()].seconds += seconds
            entries[name, default: Entry()].calls += 1
        }
        lock.unlock()
        return result
    }

    /// The times recorded since the last `reset`, largest first.
    public static func snapshot() -> [(name: String, entry: Entry)] {
        lock.lock()
        defer { lock.unlock() }
        return entries.map { ($0.key, $0.value) }.sorted { $0.entry.seconds > $1.entry.seconds }
    }

    public static func reset() {
        lock.lock()
        entries = [:]
        lock.unlock()
    }

    /// A table of op, calls, seconds and share of `total` (default: the sum of the ops).
    public static func report(total: Double? = nil) -> String {
        let rows = snapshot()
        let sum = rows.reduce(0) { $0 + $1.entry.seconds }
        let whole = Swift.max(total ?? sum, 1e-12)
        func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: Swift.max(width, text.count), withPad: " ", startingAt: 0) }
        var lines = [pad("op", 28) + "   calls   seconds   share"]
        for (name, entry) in rows {
            lines.append(pad(name, 28) + String(format: " %7d %9.3f %6.1f%%", entry.calls, entry.seconds, 100 * entry.seconds / whole))
        }
        if let total {
            lines.append(pad("(outside ops)", 28) + String(format: " %7@ %9.3f %6.1f%%", "" as NSString, total - sum, 100 * (total - sum) / whole))
        }
        return lines.joined(separator: "\n")
    }
}
